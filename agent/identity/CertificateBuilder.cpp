#include "agent/identity/CertificateBuilder.hpp"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace weft::identity {
namespace {

bool add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) {
    return false;
  }
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return false;
  }
  bytes[0] &= 0x7f;  // positive, as RFC 5280 requires
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool set_validity(X509* cert, const CertificateSpec& spec) {
  using std::chrono::system_clock;
  return ASN1_TIME_set(X509_getm_notBefore(cert), system_clock::to_time_t(spec.not_before)) !=
             nullptr &&
         ASN1_TIME_set(X509_getm_notAfter(cert), system_clock::to_time_t(spec.not_after)) !=
             nullptr;
}

bool set_subject(X509* cert, const CertificateSpec& spec) {
  if (spec.common_name.empty()) {
    return true;
  }
  X509_NAME* name = X509_get_subject_name(cert);
  return X509_NAME_add_entry_by_txt(
             name, "CN", MBSTRING_UTF8,
             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0) == 1;
}

bool add_extensions(X509* cert, X509* issuer, const CertificateSpec& spec) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::string constraints = spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  if (spec.ca && spec.path_length >= 0) {
    constraints += ",pathlen:" + std::to_string(spec.path_length);
  }
  bool ok = add_extension(cert, &ctx, NID_basic_constraints, constraints) &&
            add_extension(cert, &ctx, NID_key_usage,
                          spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
            add_extension(cert, &ctx, NID_subject_key_identifier, "hash");
  if (ok && issuer != cert) {
    ok = add_extension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
  }
  if (ok && !spec.ca) {
    ok = add_extension(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (ok && !spec.spiffe_id.empty()) {
    // RFC 5280 4.2.1.6: with an empty subject the SAN must be critical.
    std::string prefix = spec.common_name.empty() ? "critical," : "";
    ok = add_extension(cert, &ctx, NID_subject_alt_name, prefix + "URI:" + spec.spiffe_id);
  }
  return ok;
}

}  // namespace

Result<X509Ptr> sign_certificate(const CertificateSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                 EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) {
    return fail(Error::Kind::System, "X509_new: out of memory");
  }
  X509* c = cert.get();
  X509* signer = issuer != nullptr ? issuer : c;
  bool ok = X509_set_version(c, 2) == 1 && set_random_serial(c) && set_validity(c, spec) &&
            set_subject(c, spec) && X509_set_issuer_name(c, X509_get_subject_name(signer)) == 1 &&
            X509_set_pubkey(c, subject_key) == 1 && add_extensions(c, signer, spec) &&
            X509_sign(c, issuer_key, EVP_sha256()) > 0;
  if (!ok) {
    return fail(Error::Kind::System, "signing a certificate: " + drain_openssl_errors());
  }
  return cert;
}

}  // namespace weft::identity
