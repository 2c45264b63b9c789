// A new mesh's certificate authority: a self-signed trust anchor and an issuer certificate
// signed by it (both ECDSA P-256), as `weftctl ca create` writes them for the agents.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "agent/identity/OpenSsl.hpp"

namespace weft::identity {

struct MeshCa {
  X509Ptr anchor;
  EvpPkeyPtr anchor_key;
  X509Ptr issuer;
  EvpPkeyPtr issuer_key;

  /// Anchor CN "weft trust anchor <trust domain>" (path length 1), issuer CN "weft issuer
  /// <trust domain>" (path length 0: it signs workload certificates only).
  static Result<MeshCa> create(const std::string& trust_domain,
                               std::chrono::seconds anchor_lifetime,
                               std::chrono::seconds issuer_lifetime);

  /// The agent's default file names in `dir`.
  static constexpr const char* kAnchorFile = "trust-anchor.crt";
  static constexpr const char* kAnchorKeyFile = "trust-anchor.key";
  static constexpr const char* kIssuerFile = "issuer.crt";
  static constexpr const char* kIssuerKeyFile = "issuer.key";

  /// Writes trust-anchor.crt, issuer.crt (0644) and issuer.key (0600) into `dir` (created if
  /// missing), and trust-anchor.key (0600) when `keep_anchor_key`; otherwise the anchor key is
  /// dropped and a new issuer needs a new mesh. Refuses to replace existing files unless
  /// `force`, before writing anything.
  Result<void> write(const std::filesystem::path& dir, bool keep_anchor_key, bool force) const;
};

}  // namespace weft::identity
