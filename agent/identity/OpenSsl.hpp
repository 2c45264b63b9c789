// OpenSSL glue shared by the identity code and the tunnel: owning pointers, the error queue as
// text, PEM files, and the SPIFFE ID a certificate carries.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "common/Error.hpp"

namespace weft::identity {

struct OpenSslDeleter {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); }
};
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter>;
using SslPtr = std::unique_ptr<SSL, OpenSslDeleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, OpenSslDeleter>;

/// Another owning reference to `cert` (X509 objects are reference counted).
inline X509Ptr share(X509* cert) {
  X509_up_ref(cert);
  return X509Ptr(cert);
}

/// Empties OpenSSL's thread-local error queue into one line ("" when it was empty).
std::string drain_openssl_errors();

/// A fresh ECDSA P-256 key, in memory only.
Result<EvpPkeyPtr> generate_p256_key();

/// Every certificate in a PEM file, in file order; an error when there is none.
Result<std::vector<X509Ptr>> read_certificates(const std::string& path);
/// The private key in a PEM file (unencrypted).
Result<EvpPkeyPtr> read_private_key(const std::string& path);

std::string certificate_pem(X509* cert);
std::string private_key_pem(EVP_PKEY* key);

/// The certificate's SPIFFE ID: its only URI SAN when that starts with spiffe://, else "".
std::string spiffe_id_of(const X509* cert);

}  // namespace weft::identity
