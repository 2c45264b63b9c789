#include "agent/identity/LocalIssuer.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "agent/identity/CertificateBuilder.hpp"

namespace weft::identity {
namespace {

std::chrono::system_clock::time_point not_after_of(X509* cert) {
  tm t{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) != 1) {
    return {};
  }
  return std::chrono::system_clock::from_time_t(timegm(&t));
}

}  // namespace

Result<std::unique_ptr<LocalIssuer>> LocalIssuer::load(const std::string& cert_file,
                                                       const std::string& key_file,
                                                       const TrustBundle& trust) {
  auto chain = read_certificates(cert_file);
  if (!chain) {
    return std::unexpected(chain.error());
  }
  auto key = read_private_key(key_file);
  if (!key) {
    return std::unexpected(key.error());
  }
  auto issuer = from(std::move(*chain), std::move(*key), trust);
  if (!issuer) {
    return fail(Error::Kind::Config, "issuer " + cert_file + ": " + issuer.error().message);
  }
  return issuer;
}

Result<std::unique_ptr<LocalIssuer>> LocalIssuer::from(std::vector<X509Ptr> chain, EvpPkeyPtr key,
                                                       const TrustBundle& trust) {
  if (chain.empty() || X509_check_ca(chain[0].get()) == 0) {
    return fail(Error::Kind::Config, "the issuer certificate is not a CA certificate");
  }
  if (X509_check_private_key(chain[0].get(), key.get()) != 1) {
    ERR_clear_error();
    return fail(Error::Kind::Config, "the issuer key does not match the issuer certificate");
  }
  if (auto ok = trust.verify(chain); !ok) {
    return std::unexpected(ok.error());
  }
  return std::unique_ptr<LocalIssuer>(new LocalIssuer(std::move(chain), std::move(key)));
}

Result<std::vector<X509Ptr>> LocalIssuer::sign(X509_REQ* csr, const std::string& spiffe_id,
                                               std::chrono::seconds lifetime) {
  EVP_PKEY* subject_key = X509_REQ_get0_pubkey(csr);
  if (subject_key == nullptr || X509_REQ_verify(csr, subject_key) != 1) {
    ERR_clear_error();
    return fail(Error::Kind::Protocol,
                "certificate request for " + spiffe_id + " is not signed by its own key");
  }
  auto now = std::chrono::system_clock::now();
  CertificateSpec spec;
  spec.spiffe_id = spiffe_id;
  spec.not_before = now - kClockSkew;
  spec.not_after = std::min(now + lifetime, not_after_of(chain_[0].get()));
  if (spec.not_after <= now) {
    return fail(Error::Kind::Config, "the issuer certificate has expired");
  }
  auto leaf = sign_certificate(spec, subject_key, chain_[0].get(), key_.get());
  if (!leaf) {
    return std::unexpected(leaf.error());
  }
  std::vector<X509Ptr> out;
  out.push_back(std::move(*leaf));
  for (const auto& cert : chain_) {
    out.push_back(share(cert.get()));
  }
  return out;
}

}  // namespace weft::identity
