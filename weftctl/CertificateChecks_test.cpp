#include "weftctl/CertificateChecks.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>

#include "agent/identity/CertificateBuilder.hpp"
#include "agent/identity/MeshCa.hpp"

using namespace weft::weftctl;
using namespace std::chrono;
namespace fs = std::filesystem;
namespace id = weft::identity;

namespace {

struct CaDir {
  fs::path path;
  explicit CaDir(days anchor, days issuer) {
    char tmpl[] = "/tmp/weftctl-ca-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
    auto ca = id::MeshCa::create("cluster.local", anchor, issuer);
    REQUIRE(ca);
    REQUIRE(ca->write(path, true, false));
  }
  ~CaDir() { fs::remove_all(path); }
};

std::vector<CheckStatus> statuses(const std::vector<CheckResult>& results) {
  std::vector<CheckStatus> out;
  for (const CheckResult& r : results) {
    out.push_back(r.status);
  }
  return out;
}

}  // namespace

TEST_CASE("certificate checks: a new CA passes; 30 days or less left warns; expired fails") {
  CaDir ca(days(3650), days(365));
  auto now = system_clock::now();
  auto results = ca_checks(ca.path, now);
  REQUIRE(results.size() == 3);
  CHECK(statuses(results) == std::vector{CheckStatus::Ok, CheckStatus::Ok, CheckStatus::Ok});
  CHECK(results[0].check == "the trust anchor is valid for at least 30 days");
  CHECK(results[1].detail.find("issuer.crt expires ") != std::string::npos);
  CHECK(results[1].detail.ends_with("in 364 days"));

  // The same files read 340 days later: the issuer has 25 days left; 400 days later it is gone.
  auto later = ca_checks(ca.path, now + days(340));
  CHECK(statuses(later) == std::vector{CheckStatus::Ok, CheckStatus::Warning, CheckStatus::Ok});
  CHECK(later[1].hint.find("--keep-root-key") != std::string::npos);
  auto expired = ca_checks(ca.path, now + days(400));
  CHECK(statuses(expired) == std::vector{CheckStatus::Ok, CheckStatus::Error, CheckStatus::Ok});
  CHECK_MESSAGE(expired[1].detail.find("expired ") != std::string::npos, expired[1].detail);
  CHECK(expired[1].detail.ends_with("35 days ago"));
  auto anchor_gone = ca_checks(ca.path, now + days(3700));
  CHECK(anchor_gone[0].status == CheckStatus::Error);
  CHECK(anchor_gone[2].status == CheckStatus::Ok);  // chaining does not look at the clock
  auto early = ca_checks(ca.path, now - days(1));
  CHECK(early[0].status == CheckStatus::Error);
  CHECK(early[0].detail.find("is not valid before") != std::string::npos);
}

TEST_CASE("certificate checks: an issuer from another CA does not chain") {
  CaDir ca(days(3650), days(365));
  CaDir other(days(3650), days(365));
  fs::copy_file(other.path / "issuer.crt", ca.path / "issuer.crt",
                fs::copy_options::overwrite_existing);
  auto results = ca_checks(ca.path, system_clock::now());
  REQUIRE(results.size() == 3);
  CHECK(results[2].status == CheckStatus::Error);
  CHECK(results[2].detail.find("does not chain to") != std::string::npos);
}

TEST_CASE("certificate checks: missing files are errors that say where to point") {
  CaDir ca(days(3650), days(365));
  fs::remove(ca.path / "issuer.crt");
  auto results = ca_checks(ca.path, system_clock::now());
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == CheckStatus::Ok);
  CHECK(results[1].status == CheckStatus::Error);
  CHECK(results[1].hint.find("--identity-dir") != std::string::npos);
}

TEST_CASE("certificate checks: expiry reads in the largest unit that gives two or more") {
  auto t = system_clock::from_time_t(1767225600);  // 2026-01-01 00:00:00 UTC
  CHECK(expiry_text(t, t - hours(30)) == "expires 2026-01-01 00:00:00 UTC, in 30 hours");
  CHECK(expiry_text(t, t - days(3)) == "expires 2026-01-01 00:00:00 UTC, in 3 days");
  CHECK(expiry_text(t, t - seconds(90)) == "expires 2026-01-01 00:00:00 UTC, in 90 seconds");
  CHECK(expiry_text(t, t + minutes(5)) == "expired 2026-01-01 00:00:00 UTC, 5 minutes ago");
}
