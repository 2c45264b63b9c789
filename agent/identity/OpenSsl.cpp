#include "agent/identity/OpenSsl.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>

namespace weft::identity {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

Result<BioPtr> open_for_reading(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    int err = errno;
    ERR_clear_error();
    return fail_errno("open " + path, err);
  }
  return bio;
}

std::string to_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return {data, static_cast<std::size_t>(len)};
}

}  // namespace

std::string drain_openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out;
}

Result<EvpPkeyPtr> generate_p256_key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return fail(Error::Kind::System, "ECDSA P-256 key generation: " + drain_openssl_errors());
  }
  return key;
}

Result<std::vector<X509Ptr>> read_certificates(const std::string& path) {
  auto bio = open_for_reading(path);
  if (!bio) {
    return std::unexpected(bio.error());
  }
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop ends with "no start line" at the end of the file; anything else is a broken block.
  unsigned long last = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (last != 0 && !clean_end) {
    return fail(Error::Kind::Config, path + ": bad PEM certificate: " + drain_openssl_errors());
  }
  ERR_clear_error();
  if (certs.empty()) {
    return fail(Error::Kind::Config, path + ": no PEM certificate in the file");
  }
  return certs;
}

Result<EvpPkeyPtr> read_private_key(const std::string& path) {
  auto bio = open_for_reading(path);
  if (!bio) {
    return std::unexpected(bio.error());
  }
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, nullptr, nullptr));
  if (!key) {
    // The key's bytes never reach the message; OpenSSL's reason is enough to act on.
    return fail(Error::Kind::Config,
                path + ": no usable PEM private key: " + drain_openssl_errors());
  }
  return key;
}

std::string certificate_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return to_string(bio.get());
}

std::string private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return to_string(bio.get());
}

std::string spiffe_id_of(const X509* cert) {
  if (cert == nullptr) {
    return {};
  }
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return {};
  }
  std::string uri;
  int uris = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_URI) {
      ++uris;
      const ASN1_IA5STRING* s = n->d.uniformResourceIdentifier;
      uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                 static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(names);
  if (uris != 1 || !uri.starts_with("spiffe://")) {
    return {};
  }
  return uri;
}

}  // namespace weft::identity
