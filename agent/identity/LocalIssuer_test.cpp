#include "agent/identity/LocalIssuer.hpp"

#include <doctest/doctest.h>
#include <openssl/x509v3.h>

#include "agent/identity/CertificateBuilder.hpp"
#include "agent/identity/MeshCa.hpp"
#include "agent/identity/TestSupport.hpp"

namespace weft::identity {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;
using testing::chain_of;

constexpr const char* kId = "spiffe://cluster.local/ns/demo/sa/echo";

X509ReqPtr request_for(EVP_PKEY* key, EVP_PKEY* signer) {
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_pubkey(req.get(), key);
  X509_REQ_sign(req.get(), signer, EVP_sha256());
  return req;
}

TEST_CASE("the local issuer signs a workload certificate that chains to the trust anchor") {
  auto ca = MeshCa::create("cluster.local", hours(24), hours(12));
  REQUIRE(ca);
  auto trust = testing::trust_of(*ca);
  auto issuer = testing::issuer_of(*ca);
  auto key = generate_p256_key();
  REQUIRE(key);
  auto chain = issuer->sign(request_for(key->get(), key->get()).get(), kId, seconds(3600));
  REQUIRE(chain);
  REQUIRE(chain->size() == 2);
  X509* leaf = (*chain)[0].get();
  CHECK(spiffe_id_of(leaf) == kId);
  CHECK(X509_check_private_key(leaf, key->get()) == 1);
  CHECK(X509_check_ca(leaf) == 0);
  CHECK((X509_get_extended_key_usage(leaf) & (XKU_SSL_SERVER | XKU_SSL_CLIENT)) ==
        (XKU_SSL_SERVER | XKU_SSL_CLIENT));
  CHECK(trust.verify(*chain));

  // Starts at most LocalIssuer::kClockSkew in the past, ends after the requested lifetime.
  auto now = system_clock::to_time_t(system_clock::now());
  CHECK(X509_cmp_time(X509_get0_notBefore(leaf), &now) < 0);
  time_t early = now - 61 - 5;
  CHECK(X509_cmp_time(X509_get0_notBefore(leaf), &early) > 0);
  time_t after_life = now + 3600 + 5;
  time_t before_life = now + 3600 - 5;
  CHECK(X509_cmp_time(X509_get0_notAfter(leaf), &after_life) < 0);
  CHECK(X509_cmp_time(X509_get0_notAfter(leaf), &before_life) > 0);

  // Never beyond the issuer's own end (12 h here).
  auto long_chain = issuer->sign(request_for(key->get(), key->get()).get(), kId, hours(48));
  REQUIRE(long_chain);
  CHECK(X509_cmp(long_chain->at(1).get(), ca->issuer.get()) == 0);
  CHECK(ASN1_TIME_compare(X509_get0_notAfter((*long_chain)[0].get()),
                          X509_get0_notAfter(ca->issuer.get())) <= 0);
}

TEST_CASE("the local issuer refuses a request not signed by its own key") {
  auto ca = MeshCa::create("cluster.local", hours(24), hours(12));
  REQUIRE(ca);
  auto issuer = testing::issuer_of(*ca);
  auto key = generate_p256_key();
  auto other = generate_p256_key();
  REQUIRE((key && other));
  auto chain = issuer->sign(request_for(key->get(), other->get()).get(), kId, seconds(60));
  REQUIRE_FALSE(chain);
  CHECK(chain.error().message.find("not signed by its own key") != std::string::npos);
}

TEST_CASE("an issuer from another mesh, a leaf or a foreign key is refused at load") {
  auto ca = MeshCa::create("cluster.local", hours(24), hours(12));
  auto stranger = MeshCa::create("cluster.local", hours(24), hours(12));
  REQUIRE((ca && stranger));
  auto trust = testing::trust_of(*ca);

  auto foreign =
      LocalIssuer::from(chain_of(stranger->issuer.get()), std::move(stranger->issuer_key), trust);
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().message.find("does not chain to the trust anchor") != std::string::npos);

  auto other_key = generate_p256_key();
  REQUIRE(other_key);
  auto mismatched = LocalIssuer::from(chain_of(ca->issuer.get()), std::move(*other_key), trust);
  REQUIRE_FALSE(mismatched);
  CHECK(mismatched.error().message.find("does not match") != std::string::npos);

  auto leaf_key = generate_p256_key();
  REQUIRE(leaf_key);
  auto now = system_clock::now();
  auto leaf = sign_certificate({{}, kId, false, -1, now - hours(1), now + hours(1)},
                               leaf_key->get(), ca->issuer.get(), ca->issuer_key.get());
  REQUIRE(leaf);
  auto not_ca = LocalIssuer::from(chain_of(leaf->get()), std::move(*leaf_key), trust);
  REQUIRE_FALSE(not_ca);
  CHECK(not_ca.error().message.find("not a CA") != std::string::npos);
}

TEST_CASE("a trust bundle refuses a leaf as anchor and a missing file") {
  auto key = generate_p256_key();
  REQUIRE(key);
  auto now = system_clock::now();
  auto leaf = sign_certificate({"leaf", kId, false, -1, now, now + hours(1)}, key->get(), nullptr,
                               key->get());
  REQUIRE(leaf);
  std::vector<X509Ptr> anchors;
  anchors.push_back(std::move(*leaf));
  CHECK_FALSE(TrustBundle::from(std::move(anchors)));
  auto missing = TrustBundle::load("/nonexistent/trust-anchor.crt");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("/nonexistent/trust-anchor.crt") != std::string::npos);
}

}  // namespace
}  // namespace weft::identity
