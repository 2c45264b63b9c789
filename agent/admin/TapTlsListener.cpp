#include "agent/admin/TapTlsListener.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "agent/admin/ObserveHandler.hpp"
#include "agent/admin/TapStream.hpp"
#include "agent/identity/OpenSsl.hpp"
#include "agent/tap/TapHub.hpp"
#include "common/IpAddr.hpp"
#include "common/Log.hpp"
#include "l7/Http1Parser.hpp"

namespace weft::agent {
namespace {

constexpr int kIoTimeoutSeconds = 10;
constexpr std::size_t kMaxHead = 16 * 1024;

/// The client's request head, as the agent's HTTP/1.1 parser reads it.
struct HeadReader final : l7::Http1Parser::Handler {
  std::optional<l7::Http1Head> head;
  void on_head(l7::Http1Head h) override { head = std::move(h); }
  void on_body(std::span<const uint8_t> /*data*/) override {}
  void on_trailers(l7::Headers /*trailers*/) override {}
  void on_message_end() override {}
};

/// A TLS connection as a TapAnswer (chunked by hand).
class TlsAnswer final : public TapAnswer {
 public:
  explicit TlsAnswer(SSL* ssl) : ssl_(ssl) {}
  void refuse(int status, const std::string& reason) override {
    std::string body = reason + "\n";
    write(
        fmt::format("HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
                    "Cache-Control: no-store\r\nConnection: close\r\n\r\n{}",
                    status,
                    status == 403   ? "Forbidden"
                    : status == 429 ? "Too Many Requests"
                    : status == 404 ? "Not Found"
                                    : "Bad Request",
                    body.size(), body));
  }
  void start(const char* content_type) override {
    write(
        fmt::format("HTTP/1.1 200 OK\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n"
                    "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                    content_type));
  }
  bool chunk(std::string_view data) override {
    return write(fmt::format("{:x}\r\n{}\r\n", data.size(), data));
  }
  void end() override { write("0\r\n\r\n"); }

 private:
  bool write(const std::string& text) {
    return !text.empty() && SSL_write(ssl_, text.data(), static_cast<int>(text.size())) ==
                                static_cast<int>(text.size());
  }
  SSL* ssl_;
};

/// Presents the agent's current certificate at each handshake (renewals take effect at once).
int use_current_certificate(SSL* ssl, void* arg) {
  auto* credential = static_cast<TapTlsListener::CurrentCredential*>(arg);
  auto current = (*credential)();
  if (!current || current->chain.empty()) {
    return 0;  // the handshake fails: no certificate to present yet
  }
  if (SSL_use_certificate(ssl, current->chain.front().get()) != 1 ||
      SSL_use_PrivateKey(ssl, current->key.get()) != 1) {
    return 0;
  }
  for (std::size_t i = 1; i < current->chain.size(); ++i) {
    SSL_add1_chain_cert(ssl, current->chain[i].get());
  }
  return 1;
}

}  // namespace

Result<std::unique_ptr<TapTlsListener>> TapTlsListener::start(const std::string& address,
                                                              TapAllowList allow, TapHub& hub,
                                                              const FlowLog& flows,
                                                              X509_STORE* trust,
                                                              CurrentCredential credential) {
  auto addr = SockAddr::parse(address);
  if (!addr) {
    return fail(Error::Kind::Config,
                fmt::format("tap_tls_address: expected ADDR:PORT, got \"{}\"", address));
  }
  std::unique_ptr<TapTlsListener> l(
      new TapTlsListener(std::move(allow), hub, flows, std::move(credential)));
  l->ctx_.reset(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* ctx = l->ctx_.get();
  if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set1_verify_cert_store(ctx, trust) != 1) {
    return fail(Error::Kind::System, "tap TLS context: " + identity::drain_openssl_errors());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_cb(ctx, use_current_certificate, &l->credential_);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);

  sockaddr_storage ss{};
  socklen_t len = addr->to_sockaddr(ss);
  l->listener_ = Fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int one = 1;
  if (!l->listener_ ||
      ::setsockopt(l->listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      // A successor (hand-over) listens beside this agent until it exits.
      ::setsockopt(l->listener_.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
      ::bind(l->listener_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(l->listener_.get(), 64) != 0) {
    return fail_errno(fmt::format("tap TLS listener on {}", address));
  }
  len = sizeof(ss);
  ::getsockname(l->listener_.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  l->port_ = SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value_or(*addr).port;
  l->wake_ = Fd(::eventfd(0, EFD_CLOEXEC));
  if (!l->wake_) {
    return fail_errno("tap TLS listener: eventfd");
  }
  l->acceptor_ = std::thread([raw = l.get()] { raw->accept_loop(); });
  log::info("tap.tls_listening", "address={} allowed_principals={}", address, l->allow_.size());
  return l;
}

TapTlsListener::~TapTlsListener() {
  stopping_ = true;
  if (wake_) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  }
  if (acceptor_.joinable()) {
    acceptor_.join();
  }
  {
    std::lock_guard lock(mutex_);
    for (Connection& c : connections_) {
      ::shutdown(c.socket.get(), SHUT_RDWR);  // a blocked read or write returns
    }
  }
  for (Connection& c : connections_) {
    c.thread.join();
  }
}

void TapTlsListener::reap() {
  std::lock_guard lock(mutex_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (it->done) {
      it->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void TapTlsListener::accept_loop() {
  const std::size_t cap = hub_.limits().max_sessions + 2;
  while (!stopping_) {
    pollfd fds[] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, 1000) <= 0 || (fds[1].revents & POLLIN) != 0) {
      reap();
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    Fd socket(::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC));
    reap();
    if (!socket) {
      continue;
    }
    auto peer = SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    std::lock_guard lock(mutex_);
    if (connections_.size() >= cap) {
      log::warn("tap.tls_refused", "peer={} reason=\"{} connections open\"",
                peer ? peer->str() : "?", connections_.size());
      continue;  // closed: the client sees a reset, not a handshake
    }
    Connection& c = connections_.emplace_back();
    c.socket = std::move(socket);
    c.peer = peer ? peer->str() : "?";
    c.thread = std::thread([this, &c] {
      serve(c);
      c.done = true;
    });
  }
}

void TapTlsListener::serve(Connection& c) {
  timeval limit{kIoTimeoutSeconds, 0};
  ::setsockopt(c.socket.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  ::setsockopt(c.socket.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  identity::SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl || SSL_set_fd(ssl.get(), c.socket.get()) != 1) {
    return;
  }
  if (SSL_accept(ssl.get()) != 1) {
    log::info("tap.tls_handshake_failed", "peer={} error=\"{}\"", c.peer,
              identity::drain_openssl_errors());
    return;
  }
  std::string principal = identity::spiffe_id_of(SSL_get0_peer_certificate(ssl.get()));
  HeadReader reader;
  l7::Http1Limits limits;
  limits.max_head_bytes = kMaxHead;
  l7::Http1Parser parser(l7::Http1Parser::Kind::Request, reader, limits);
  TlsAnswer answer(ssl.get());
  char buf[4096];
  while (!reader.head) {
    int n = SSL_read(ssl.get(), buf, sizeof(buf));
    if (n <= 0) {
      return;  // gone, or silent past the limit
    }
    auto fed = parser.feed({reinterpret_cast<const uint8_t*>(buf), static_cast<std::size_t>(n)});
    if (!fed) {
      return answer.refuse(400, "tap: " + fed.error().reason);
    }
  }
  const l7::Http1Head& head = *reader.head;
  std::string_view target = head.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (head.method != "GET" || (path != "/tap" && path != "/observe")) {
    return answer.refuse(404, "only GET /tap and GET /observe are served here");
  }
  auto allowed = allow_.find(principal);
  if (principal.empty() || allowed == allow_.end()) {
    log::warn("tap.tls_denied", "peer={} principal={}", c.peer,
              principal.empty() ? "none" : principal);
    return answer.refuse(
        403, fmt::format("tap: {} may tap no namespace on this agent (tap_allow)",
                         principal.empty() ? "a certificate without a SPIFFE ID" : principal));
  }
  TapAsk ask;
  ask.query = target.find('?') == std::string_view::npos
                  ? std::string()
                  : std::string(target.substr(target.find('?') + 1));
  const std::string* accept = l7::find_header(head.headers, "accept");
  ask.accept = accept != nullptr ? *accept : "";
  ask.who = fmt::format("{}@{}", principal, c.peer);
  if (std::ranges::find(allowed->second, "*") == allowed->second.end()) {
    ask.namespaces = allowed->second;
  }
  if (path == "/observe") {
    auto body = observe_body(flows_, ask.query, ask.namespaces);
    if (!body) {
      return answer.refuse(body.error().status, body.error().reason);
    }
    answer.start("application/x-ndjson");
    if (!body->empty()) {
      answer.chunk(*body);
    }
    answer.end();
  } else {
    serve_tap(ask, answer, hub_, stopping_);
  }
  SSL_shutdown(ssl.get());
}

}  // namespace weft::agent
