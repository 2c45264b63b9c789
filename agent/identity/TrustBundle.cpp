#include "agent/identity/TrustBundle.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace weft::identity {
namespace {

struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct CertStackDeleter {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};

}  // namespace

Result<TrustBundle> TrustBundle::load(const std::string& path) {
  auto anchors = read_certificates(path);
  if (!anchors) {
    return std::unexpected(anchors.error());
  }
  auto bundle = from(std::move(*anchors));
  if (!bundle) {
    return fail(Error::Kind::Config, path + ": " + bundle.error().message);
  }
  return bundle;
}

Result<TrustBundle> TrustBundle::from(std::vector<X509Ptr> anchors) {
  X509StorePtr store(X509_STORE_new());
  if (!store) {
    return fail(Error::Kind::System, "X509_STORE_new: out of memory");
  }
  for (const auto& cert : anchors) {
    if (X509_check_ca(cert.get()) == 0) {
      return fail(Error::Kind::Config, "a trust anchor is not a CA certificate");
    }
    if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
      return fail(Error::Kind::Config, "adding a trust anchor: " + drain_openssl_errors());
    }
  }
  return TrustBundle(std::move(store));
}

Result<void> TrustBundle::verify(std::span<const X509Ptr> chain) const {
  if (chain.empty()) {
    return fail(Error::Kind::Config, "empty certificate chain");
  }
  std::unique_ptr<STACK_OF(X509), CertStackDeleter> untrusted(sk_X509_new_null());
  for (std::size_t i = 1; i < chain.size(); ++i) {
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), chain[0].get(), untrusted.get()) != 1) {
    return fail(Error::Kind::System, "X509_STORE_CTX_init: " + drain_openssl_errors());
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return fail(Error::Kind::Config, std::string("does not chain to the trust anchor: ") +
                                         X509_verify_cert_error_string(err));
  }
  return {};
}

}  // namespace weft::identity
