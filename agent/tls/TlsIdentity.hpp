// The TLS side of one workload identity: client and server contexts that present the
// workload's certificate and accept only peers chaining to the mesh's trust anchor.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "agent/tls/TlsChannel.hpp"
#include "common/Error.hpp"

namespace weft::tunnel {

/// Immutable once built; shared by every worker (SSL_CTX is safe to use from several threads).
struct TlsIdentity {
  std::string spiffe_id;
  uint64_t generation = 0;  ///< the credential's renewal count: pooled sessions compare it
  SslCtxPtr client;         ///< dials other agents' :15008
  SslCtxPtr server;         ///< answers on this identity's pods' :15008

  /// TLS 1.3 only, ALPN "h2", peer certificate required and verified against `trust`;
  /// `chain` is leaf first. Sessions (tickets) live at most `session_lifetime`.
  static Result<std::shared_ptr<const TlsIdentity>> create(std::string spiffe_id,
                                                           uint64_t generation, EVP_PKEY* key,
                                                           std::span<X509* const> chain,
                                                           X509_STORE* trust,
                                                           std::chrono::seconds session_lifetime);
};

/// The peer's SPIFFE ID (its certificate's only URI SAN) after a completed handshake; empty
/// when the certificate has none or several.
std::string peer_spiffe_id(SSL* ssl);

}  // namespace weft::tunnel
