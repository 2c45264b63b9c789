#include "agent/identity/MeshCa.hpp"

#include <fmt/format.h>

#include <system_error>
#include <utility>
#include <vector>

#include "agent/identity/CertificateBuilder.hpp"
#include "common/AtomicFile.hpp"

namespace weft::identity {

Result<MeshCa> MeshCa::create(const std::string& trust_domain, std::chrono::seconds anchor_lifetime,
                              std::chrono::seconds issuer_lifetime) {
  auto anchor_key = generate_p256_key();
  if (!anchor_key) {
    return std::unexpected(anchor_key.error());
  }
  auto issuer_key = generate_p256_key();
  if (!issuer_key) {
    return std::unexpected(issuer_key.error());
  }
  auto now = std::chrono::system_clock::now();
  CertificateSpec anchor_spec{.common_name = "weft trust anchor " + trust_domain,
                              .spiffe_id = {},
                              .ca = true,
                              .path_length = 1,
                              .not_before = now - std::chrono::minutes(5),
                              .not_after = now + anchor_lifetime};
  auto anchor = sign_certificate(anchor_spec, anchor_key->get(), nullptr, anchor_key->get());
  if (!anchor) {
    return std::unexpected(anchor.error());
  }
  CertificateSpec issuer_spec = anchor_spec;
  issuer_spec.common_name = "weft issuer " + trust_domain;
  issuer_spec.path_length = 0;
  issuer_spec.not_after = std::min(now + issuer_lifetime, anchor_spec.not_after);
  auto issuer = sign_certificate(issuer_spec, issuer_key->get(), anchor->get(), anchor_key->get());
  if (!issuer) {
    return std::unexpected(issuer.error());
  }
  return MeshCa{std::move(*anchor), std::move(*anchor_key), std::move(*issuer),
                std::move(*issuer_key)};
}

Result<void> MeshCa::write(const std::filesystem::path& dir, bool keep_anchor_key,
                           bool force) const {
  std::vector<std::pair<const char*, std::string>> files = {
      {kAnchorFile, certificate_pem(anchor.get())},
      {kIssuerFile, certificate_pem(issuer.get())},
      {kIssuerKeyFile, private_key_pem(issuer_key.get())},
  };
  if (keep_anchor_key) {
    files.emplace_back(kAnchorKeyFile, private_key_pem(anchor_key.get()));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return fail(Error::Kind::System, fmt::format("create {}: {}", dir.string(), ec.message()));
  }
  for (const auto& [name, content] : files) {
    if (!force && std::filesystem::exists(dir / name)) {
      return fail(Error::Kind::Config,
                  fmt::format("{} exists (use --force to replace the CA)", (dir / name).string()));
    }
  }
  for (const auto& [name, content] : files) {
    std::string_view file = name;
    mode_t mode = file.ends_with(".key") ? 0600 : 0644;
    if (auto ok = write_file_atomically(dir / name, content, mode); !ok) {
      return ok;
    }
  }
  return {};
}

}  // namespace weft::identity
