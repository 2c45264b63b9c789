#include "agent/identity/MeshCa.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "agent/identity/LocalIssuer.hpp"

namespace weft::identity {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

/// A fresh directory under TMPDIR, removed at scope end.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "weft-meshca.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST_CASE("a mesh CA written by weftctl loads back as the agent's trust anchor and issuer") {
  TempDir dir;
  auto ca = MeshCa::create("example.org", hours(48), hours(24));
  REQUIRE(ca);
  REQUIRE(ca->write(dir.path / "ca", false, false));
  auto anchor = dir.path / "ca" / MeshCa::kAnchorFile;
  auto issuer_crt = dir.path / "ca" / MeshCa::kIssuerFile;
  auto issuer_key = dir.path / "ca" / MeshCa::kIssuerKeyFile;
  CHECK(mode_of(anchor) == 0644);
  CHECK(mode_of(issuer_crt) == 0644);
  CHECK(mode_of(issuer_key) == 0600);
  CHECK_FALSE(fs::exists(dir.path / "ca" / MeshCa::kAnchorKeyFile));

  auto trust = TrustBundle::load(anchor);
  REQUIRE(trust);
  auto issuer = LocalIssuer::load(issuer_crt, issuer_key, *trust);
  REQUIRE(issuer);

  // Existing files are kept unless forced; nothing is half-replaced.
  auto again = MeshCa::create("example.org", hours(48), hours(24));
  REQUIRE(again);
  auto refused = again->write(dir.path / "ca", true, false);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("--force") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "ca" / MeshCa::kAnchorKeyFile));
  REQUIRE(again->write(dir.path / "ca", true, true));
  CHECK(mode_of(dir.path / "ca" / MeshCa::kAnchorKeyFile) == 0600);
  auto new_trust = TrustBundle::load(anchor);
  REQUIRE(new_trust);
  // The old issuer does not chain to the new anchor.
  CHECK_FALSE(LocalIssuer::from(read_certificates(issuer_crt).value(),
                                read_private_key(issuer_key).value(), *trust));
}

}  // namespace
}  // namespace weft::identity
