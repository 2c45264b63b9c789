#include "agent/identity/WorkloadCertificates.hpp"

#include <doctest/doctest.h>
#include <poll.h>
#include <prometheus/text_serializer.h>
#include <sys/timerfd.h>

#include "agent/identity/TestSupport.hpp"

namespace weft::identity {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr const char* kEcho = "spiffe://cluster.local/ns/demo/sa/echo";
constexpr const char* kWeb = "spiffe://cluster.local/ns/demo/sa/web";

/// Refuses every request, like an unreachable remote issuer.
class BrokenIssuer final : public CertificateIssuer {
 public:
  Result<std::vector<X509Ptr>> sign(X509_REQ*, const std::string&, seconds) override {
    return fail(Error::Kind::Timeout, "issuer unreachable");
  }
};

double seconds_until_timer(int fd) {
  itimerspec spec{};
  REQUIRE(::timerfd_gettime(fd, &spec) == 0);
  return static_cast<double>(spec.it_value.tv_sec) + spec.it_value.tv_nsec / 1e9;
}

std::string metrics_text(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST_CASE("one certificate per wanted identity, renewed between 40% and 60% of its life") {
  auto ca = MeshCa::create("cluster.local", hours(24), hours(24));
  REQUIRE(ca);
  prometheus::Registry registry;
  auto certs = WorkloadCertificates::create(testing::issuer_of(*ca), seconds(1000), registry);
  REQUIRE(certs);
  auto& c = **certs;

  CHECK(c.sync({kEcho, kWeb}));
  REQUIRE(c.current().size() == 2);
  auto echo = c.current().at(kEcho);
  CHECK(echo->spiffe_id == kEcho);
  CHECK(spiffe_id_of(echo->chain[0].get()) == kEcho);
  CHECK(X509_check_private_key(echo->chain[0].get(), echo->key.get()) == 1);
  CHECK(echo->not_after - echo->not_before == seconds(1000) + LocalIssuer::kClockSkew);
  CHECK(echo->generation != c.current().at(kWeb)->generation);
  double due = seconds_until_timer(c.fd());
  CHECK(due >= 395.0);
  CHECK(due <= 600.0);
  auto text = metrics_text(registry);
  CHECK(text.find("weft_identity_certificate_expiry_timestamp_seconds{principal=\"" +
                  std::string(kEcho) + "\"}") != std::string::npos);

  // Nothing changes for identities already held; an identity no pod runs as is forgotten.
  CHECK_FALSE(c.sync({kEcho, kWeb}));
  CHECK(c.current().at(kEcho) == echo);
  CHECK(c.sync({kEcho}));
  CHECK(c.current().size() == 1);
  CHECK(metrics_text(registry).find(kWeb) == std::string::npos);
}

TEST_CASE("a due renewal brings a new key and generation; the old credential stays intact") {
  auto ca = MeshCa::create("cluster.local", hours(24), hours(24));
  REQUIRE(ca);
  prometheus::Registry registry;
  // 10 s of life (the agent's minimum): renewal is due 4 to 6 s after issuance.
  auto certs = WorkloadCertificates::create(testing::issuer_of(*ca), seconds(10), registry);
  REQUIRE(certs);
  auto& c = **certs;
  REQUIRE(c.sync({kEcho}));
  auto first = c.current().at(kEcho);
  pollfd pfd{c.fd(), POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 7000) == 1);
  CHECK(c.on_timer());
  auto second = c.current().at(kEcho);
  CHECK(second->generation > first->generation);
  CHECK(EVP_PKEY_eq(first->key.get(), second->key.get()) != 1);
  CHECK(X509_check_private_key(first->chain[0].get(), first->key.get()) == 1);
  CHECK(metrics_text(registry).find("weft_identity_certificate_renewals_total{result=\"ok\"} 1") !=
        std::string::npos);
}

TEST_CASE("a failed issuance is retried soon and leaves no credential") {
  prometheus::Registry registry;
  auto certs =
      WorkloadCertificates::create(std::make_unique<BrokenIssuer>(), seconds(100), registry);
  REQUIRE(certs);
  CHECK_FALSE((*certs)->sync({kEcho}));
  CHECK((*certs)->current().empty());
  double due = seconds_until_timer((*certs)->fd());
  CHECK(due > 0.0);
  CHECK(due <= static_cast<double>(WorkloadCertificates::kFirstRetry.count()));
}

}  // namespace
}  // namespace weft::identity
