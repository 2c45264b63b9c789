#include "agent/tls/TlsIdentity.hpp"

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "agent/identity/OpenSsl.hpp"

namespace weft::tunnel {
namespace {

constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

int hand_ticket_to_sink(SSL* ssl, SSL_SESSION* session) {
  auto* sink = static_cast<TicketSink*>(SSL_get_app_data(ssl));
  if (sink == nullptr) {
    return 0;  // OpenSSL keeps ownership and frees it
  }
  // A copy: `session` stays the connection's own, which OpenSSL marks not resumable when the
  // connection ends without close_notify (an idle tunnel just closes), and the ticket must
  // outlive that.
  if (SslSessionPtr copy(SSL_SESSION_dup(session)); copy) {
    sink->store_ticket(std::move(copy));
  }
  return 0;
}

int select_h2(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
              const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnH2, sizeof(kAlpnH2), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol: only h2 is spoken here
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

Result<SslCtxPtr> make_ctx(const SSL_METHOD* method, EVP_PKEY* key, std::span<X509* const> chain,
                           X509_STORE* trust, std::chrono::seconds session_lifetime) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx || chain.empty()) {
    return fail(Error::Kind::System, "SSL_CTX_new failed or empty certificate chain");
  }
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  // Both ends are weft agents: AES-128-GCM first (hardware AES, a third fewer rounds than
  // AES-256); the other TLS 1.3 suites stay acceptable.
  SSL_CTX_set_ciphersuites(c,
                           "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                           "TLS_CHACHA20_POLY1305_SHA256");
  if (SSL_CTX_use_certificate(c, chain[0]) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1 ||
      SSL_CTX_check_private_key(c) != 1) {
    ERR_clear_error();
    return fail(Error::Kind::Config, "workload certificate does not match its key");
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    SSL_CTX_add1_chain_cert(c, chain[i]);
  }
  X509_STORE_up_ref(trust);
  SSL_CTX_set_cert_store(c, trust);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(c, 4);
  SSL_CTX_set_timeout(c, static_cast<long>(session_lifetime.count()));
  // A pooled session waits most of its life: its record buffers (about 34 KiB) go back to the
  // heap whenever they are empty.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<const TlsIdentity>> TlsIdentity::create(
    std::string spiffe_id, uint64_t generation, EVP_PKEY* key, std::span<X509* const> chain,
    X509_STORE* trust, std::chrono::seconds session_lifetime) {
  auto client = make_ctx(TLS_client_method(), key, chain, trust, session_lifetime);
  if (!client) {
    return std::unexpected(client.error());
  }
  auto server = make_ctx(TLS_server_method(), key, chain, trust, session_lifetime);
  if (!server) {
    return std::unexpected(server.error());
  }
  SSL_CTX_set_alpn_protos(client->get(), kAlpnH2, sizeof(kAlpnH2));
  // Tickets are stored by the tunnel pool (new-session callback), not in OpenSSL's cache.
  SSL_CTX_set_session_cache_mode(client->get(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(client->get(), hand_ticket_to_sink);
  SSL_CTX_set_alpn_select_cb(server->get(), select_h2, nullptr);
  // Resumption with client certificates needs a session ID context (OpenSSL refuses the
  // resumed handshake without one): the identity's name, hashed to fit.
  unsigned char sid_ctx[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(spiffe_id.data()), spiffe_id.size(), sid_ctx);
  static_assert(sizeof(sid_ctx) <= SSL_MAX_SID_CTX_LENGTH);
  SSL_CTX_set_session_id_context(server->get(), sid_ctx, sizeof(sid_ctx));
  SSL_CTX_set_num_tickets(server->get(), 1);
  auto id = std::make_shared<TlsIdentity>();
  id->spiffe_id = std::move(spiffe_id);
  id->generation = generation;
  id->client = std::move(*client);
  id->server = std::move(*server);
  return std::shared_ptr<const TlsIdentity>(std::move(id));
}

std::string peer_spiffe_id(SSL* ssl) {
  return identity::spiffe_id_of(SSL_get0_peer_certificate(ssl));
}

}  // namespace weft::tunnel
