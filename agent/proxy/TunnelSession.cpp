#include "agent/proxy/TunnelSession.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <charconv>
#include <cstring>

#include "agent/proxy/TunnelStream.hpp"
#include "agent/proxy/Worker.hpp"
#include "agent/redirect/MeshAbi.hpp"
#include "common/Forwarded.hpp"
#include "common/Log.hpp"

namespace weft::proxy {
namespace {

/// CONNECT request header: the Service address (ip:port) the app dialled.
constexpr std::string_view kServiceAddressHeader = "weft-service-address";
constexpr std::size_t kRecvBuffer = 256 * 1024;
/// Ciphertext waiting for the socket beyond which nghttp2 is not asked for more frames.
constexpr std::size_t kMaxQueued = 1024 * 1024;
constexpr std::size_t kFrameBatch = 64 * 1024;
constexpr uint32_t kMaxConcurrentStreams = 1024;
/// Per-stream receive window: what one connection may have in flight towards a slow reader.
/// It must cover the bytes a stream moves while a busy CPU runs other tasks (a few ms at
/// several Gbit/s): with 1 MiB, a bulk stream stalled on window updates (bench/results).
constexpr int32_t kStreamWindow = 4 * 1024 * 1024;
constexpr int32_t kConnectionWindow = 32 * 1024 * 1024;
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kIdleTimeout = std::chrono::seconds(30);

nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

void TunnelSession::IoOp::complete(int res, unsigned /*flags*/) {
  TunnelSession* s = session;
  (s->*handler)(res);
  s->after_event();
}

TunnelSession::TunnelSession(Worker& worker, TunnelKey key, Fd socket,
                             std::shared_ptr<const tunnel::TlsIdentity> identity,
                             std::string expected_peer, SSL_SESSION* resume)
    : worker_(worker),
      role_(agent::TunnelRole::Client),
      key_(std::move(key)),
      socket_(std::move(socket)),
      identity_(std::move(identity)),
      expected_peer_(std::move(expected_peer)) {
  if (auto ch = tunnel::TlsChannel::client(identity_->client.get(), resume, this)) {
    tls_.emplace(std::move(*ch));
  }
  init_h2();
}

TunnelSession::TunnelSession(Worker& worker, std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                             std::shared_ptr<const tunnel::TlsIdentity> identity,
                             std::string expected_peer)
    : worker_(worker),
      role_(agent::TunnelRole::Server),
      pod_(std::move(pod)),
      socket_(std::move(socket)),
      identity_(std::move(identity)),
      expected_peer_(std::move(expected_peer)) {
  if (auto ch = tunnel::TlsChannel::server(identity_->server.get())) {
    tls_.emplace(std::move(*ch));
  }
  init_h2();
}

TunnelSession::~TunnelSession() {
  streams_.clear();  // before the nghttp2 session their data providers point into
  if (h2_ != nullptr) {
    nghttp2_session_del(h2_);
  }
  if (established_) {
    worker_.context().tunnel_metrics.session_closed(role_);
  }
}

void TunnelSession::init_h2() {
  for (auto [op, handler] : {std::pair{&connect_op_, &TunnelSession::on_connected},
                             std::pair{&recv_op_, &TunnelSession::on_recv},
                             std::pair{&send_op_, &TunnelSession::on_send}}) {
    op->session = this;
    op->handler = handler;
  }
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_send_data_callback(cbs, on_send_data);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Windows open only as bytes reach the local socket (TunnelStream::on_send): end-to-end
  // backpressure instead of unbounded buffering in the agent.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  if (role_ == agent::TunnelRole::Client) {
    nghttp2_session_client_new2(&h2_, cbs, this, opt);
  } else {
    nghttp2_session_server_new2(&h2_, cbs, this, opt);
  }
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
  };
  nghttp2_submit_settings(h2_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(h2_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

void TunnelSession::start(unsigned connect_timeout_ms) {
  rbuf_ = std::make_unique<char[]>(kRecvBuffer);
  plain_ = std::make_unique<uint8_t[]>(kRecvBuffer);
  if (!tls_) {
    fail(agent::HandshakeFailure::Protocol, "cannot create a TLS channel");
    return;
  }
  if (role_ == agent::TunnelRole::Server) {
    arm_recv();
    return;
  }
  SockAddr peer{key_.destination, WEFT_TUNNEL_PORT};
  peer_addr_len_ = peer.to_sockaddr(peer_addr_);
  connect_timeout_.tv_sec = connect_timeout_ms / 1000;
  connect_timeout_.tv_nsec = static_cast<long long>(connect_timeout_ms % 1000) * 1000000;
  Ring& ring = worker_.ring();
  ring.reserve(2);
  io_uring_sqe* sqe = ring.prepare(&connect_op_);
  io_uring_prep_connect(sqe, socket_.get(), reinterpret_cast<sockaddr*>(&peer_addr_),
                        peer_addr_len_);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_prep_link_timeout(ring.prepare(nullptr), &connect_timeout_, 0);
  ++inflight_;
}

void TunnelSession::on_connected(int res) {
  --inflight_;
  if (dead_) {
    return;
  }
  if (res < 0) {
    fail(res == -ECANCELED ? agent::HandshakeFailure::Timeout : agent::HandshakeFailure::Protocol,
         fmt::format("connect {}:{}: {}", key_.destination.str(), WEFT_TUNNEL_PORT,
                     std::strerror(res == -ECANCELED ? ETIMEDOUT : -res)));
    return;
  }
  int one = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  tls_->handshake();  // queues the ClientHello
  arm_recv();
}

void TunnelSession::arm_recv() {
  io_uring_prep_recv(worker_.ring().prepare(&recv_op_), socket_.get(), rbuf_.get(), kRecvBuffer, 0);
  ++inflight_;
}

void TunnelSession::on_recv(int res) {
  --inflight_;
  if (dead_) {
    return;
  }
  if (res <= 0) {
    if (!established_) {
      fail(agent::HandshakeFailure::Protocol,
           res == 0 ? "peer closed the connection during the handshake"
                    : fmt::format("recv: {}", std::strerror(-res)));
      return;
    }
    close_transport(/*graceful=*/res == 0);
    return;
  }
  tls_->feed(rbuf_.get(), static_cast<std::size_t>(res));
  if (!tls_->handshake_done()) {
    auto st = tls_->handshake();
    if (st == tunnel::TlsChannel::Status::Failed) {
      fail(tls_->verify_failed() ? agent::HandshakeFailure::Verify
                                 : agent::HandshakeFailure::Protocol,
           tls_->failure());
      return;
    }
    if (!tls_->handshake_done()) {
      arm_recv();
      return;
    }
    on_handshake_done();
    if (dead_) {
      return;
    }
  }
  auto st = tunnel::TlsChannel::Status::Ok;
  for (std::size_t got = kRecvBuffer; st == tunnel::TlsChannel::Status::Ok && got == kRecvBuffer;) {
    st = tls_->read(plain_.get(), kRecvBuffer, got);
    ssize_t rv = got > 0 ? nghttp2_session_mem_recv(h2_, plain_.get(), got) : 0;
    if (rv < 0) {
      log::warn("tunnel.h2_error", "worker={} role={} peer={} error=\"{}\"", worker_.index(),
                role_ == agent::TunnelRole::Client ? "client" : "server", peer_principal_,
                nghttp2_strerror(static_cast<int>(rv)));
      close_transport(/*graceful=*/false);
      return;
    }
  }
  if (st == tunnel::TlsChannel::Status::Failed || st == tunnel::TlsChannel::Status::Closed) {
    close_transport(/*graceful=*/st == tunnel::TlsChannel::Status::Closed);
    return;
  }
  arm_recv();
}

void TunnelSession::on_handshake_done() {
  SSL* ssl = tls_->ssl();
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
    fail(agent::HandshakeFailure::Protocol, "peer did not negotiate ALPN h2");
    return;
  }
  peer_principal_ = tunnel::peer_spiffe_id(ssl);
  const std::string& td = worker_.trust_domain();
  if (peer_principal_.empty() || !peer_principal_.starts_with(fmt::format("spiffe://{}/", td))) {
    fail(agent::HandshakeFailure::Verify,
         fmt::format("peer certificate has no SPIFFE ID of trust domain {}", td));
    return;
  }
  if (!expected_peer_.empty() && peer_principal_ != expected_peer_) {
    fail(agent::HandshakeFailure::IdentityMismatch,
         fmt::format("peer is {} but discovery says {}", peer_principal_, expected_peer_));
    return;
  }
  established_ = true;
  auto& metrics = worker_.context().tunnel_metrics;
  metrics.handshake(role_, tls_->resumed());
  metrics.session_opened(role_);
  log::debug("tunnel.established", "worker={} role={} local={} peer={} resumed={}", worker_.index(),
             role_ == agent::TunnelRole::Client ? "client" : "server", identity_->spiffe_id,
             peer_principal_, tls_->resumed());
}

void TunnelSession::flush() {
  if (dead_ || !tls_) {
    return;
  }
  if (tls_->handshake_done() && established_) {
    while (queued_.size() + sending_.size() - sent_ < kMaxQueued) {
      frames_.clear();
      while (frames_.size() < kFrameBatch) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(h2_, &data);
        if (n < 0) {
          log::warn("tunnel.h2_error", "worker={} peer={} error=\"{}\"", worker_.index(),
                    peer_principal_, nghttp2_strerror(static_cast<int>(n)));
          close_transport(/*graceful=*/false);
          return;
        }
        if (n == 0) {
          break;
        }
        frames_.insert(frames_.end(), data, data + n);
      }
      if (frames_.empty()) {
        break;
      }
      if (tls_->write(frames_.data(), frames_.size()) != tunnel::TlsChannel::Status::Ok) {
        close_transport(/*graceful=*/false);
        return;
      }
      tls_->take_output(queued_);
    }
  }
  tls_->take_output(queued_);
  if (!send_armed_ && !queued_.empty()) {
    if (sending_.empty()) {
      sending_.swap(queued_);
      sent_ = 0;
    }
    send_armed_ = true;
    io_uring_prep_send(worker_.ring().prepare(&send_op_), socket_.get(), sending_.data() + sent_,
                       sending_.size() - sent_, MSG_NOSIGNAL);
    ++inflight_;
  }
}

void TunnelSession::on_send(int res) {
  --inflight_;
  send_armed_ = false;
  if (dead_) {
    return;
  }
  if (res < 0) {
    if (!established_) {
      fail(agent::HandshakeFailure::Protocol, fmt::format("send: {}", std::strerror(-res)));
    } else {
      close_transport(/*graceful=*/false);
    }
    return;
  }
  sent_ += static_cast<std::size_t>(res);
  if (sent_ == sending_.size()) {
    sending_.clear();
    sent_ = 0;
  }
  if (draining_ && sending_.empty() && queued_.empty() && streams_.empty()) {
    close_transport(/*graceful=*/true);
  }
}

void TunnelSession::fail(agent::HandshakeFailure why, const std::string& detail) {
  if (!established_) {
    worker_.context().tunnel_metrics.handshake_failed(role_, why);
  }
  log::warn("tunnel.failed", "worker={} role={} identity={} peer={} destination={} error=\"{}\"",
            worker_.index(), role_ == agent::TunnelRole::Client ? "client" : "server",
            identity_->spiffe_id, peer_principal_.empty() ? expected_peer_ : peer_principal_,
            key_.destination.str(), detail);
  bool told_peer = false;
  if (tls_ && tls_->handshake_done() && !send_armed_ && sending_.empty()) {
    // Refused after the handshake (wrong identity, no h2): the peer still gets our Finished and
    // a close_notify, so it sees a refusal rather than a lost connection. A few hundred bytes
    // into a fresh socket buffer: one non-blocking send outside the ring, on this path only.
    tls_->shutdown();
    tls_->take_output(queued_);
    ssize_t n = ::send(socket_.get(), queued_.data(), queued_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    told_peer = n == static_cast<ssize_t>(queued_.size());
    queued_.clear();
  }
  close_transport(/*graceful=*/told_peer);
}

void TunnelSession::close_transport(bool graceful) {
  if (dead_) {
    return;
  }
  dead_ = true;
  worker_.tunnel_unusable(this);
  for (auto& [id, stream] : streams_) {
    stream->h2_closed(graceful ? NGHTTP2_NO_ERROR : NGHTTP2_CONNECT_ERROR);
    if (!stream->finished()) {
      stream->reset();  // a connection cut mid-stream must look cut to the app
    }
  }
  if (!graceful) {
    linger lg{1, 0};
    ::setsockopt(socket_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  if (inflight_ > 0) {
    io_uring_prep_cancel_fd(worker_.ring().prepare(nullptr), socket_.get(),
                            IORING_ASYNC_CANCEL_ALL);
  }
}

void TunnelSession::after_event() {
  flush();
  reap();
}

void TunnelSession::stream_touched(const TunnelStream& stream) {
  if (stream.id >= 0) {
    touched_.push_back(stream.id);
  }
}

void TunnelSession::reap() {
  // Only streams whose state changed since the last reap can have finished: no scan of every
  // stream on every completion.
  for (int32_t id : touched_) {
    if (auto it = streams_.find(id); it != streams_.end() && it->second->finished()) {
      streams_.erase(it);
    }
  }
  touched_.clear();
  if (!streams_.empty()) {
    idle_since_ = Clock::now();
  } else if (!dead_ && !draining_ && established_ && nghttp2_session_want_read(h2_) == 0 &&
             nghttp2_session_want_write(h2_) == 0) {
    close_transport(/*graceful=*/true);  // both sides said GOAWAY and nothing is left
  }
  if (dead_ && streams_.empty() && inflight_ == 0) {
    worker_.destroy(this);  // `this` is gone
  }
}

bool TunnelSession::accepts_streams(uint64_t generation) const {
  if (dead_ || draining_ || identity_->generation != generation) {
    return false;
  }
  uint32_t limit =
      nghttp2_session_get_remote_settings(h2_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() < std::min(limit, kMaxConcurrentStreams);
}

void TunnelSession::tick(Clock::time_point now) {
  if (dead_) {
    reap();  // e.g. failed while starting, before any completion could reap it
    return;
  }
  if (!established_ && now - created_ > kHandshakeTimeout) {
    fail(agent::HandshakeFailure::Timeout, "handshake timed out");
  } else if (role_ == agent::TunnelRole::Client && streams_.empty() && !draining_ &&
             (now - idle_since_ > kIdleTimeout ||
              worker_.identity_generation(identity_->spiffe_id) != identity_->generation)) {
    // Idle, or carrying a renewed-away certificate: say GOAWAY and close once it is out.
    draining_ = true;
    worker_.tunnel_unusable(this);
    nghttp2_session_terminate_session(h2_, NGHTTP2_NO_ERROR);
  }
  after_event();
}

void TunnelSession::store_ticket(tunnel::SslSessionPtr ticket) {
  worker_.store_ticket(key_, std::move(ticket));
}

void TunnelSession::open_stream(Fd local, FlowPlan plan, std::vector<agent::FlowCounters> counters,
                                std::span<const uint8_t> initial) {
  std::string authority = plan.target.str();
  auto stream = std::make_unique<TunnelStream>(*this, TunnelStream::Side::Source, std::move(local),
                                               std::move(plan), std::move(counters));
  if (dead_) {
    stream->reset();  // the session failed while starting: the app sees a reset at once
    return;
  }
  // forwarded (RFC 7239): which workload of the shared session this stream is for;
  // weft-service-address: the Service the app dialled, so the peer can label it too.
  const FlowPlan& p = stream->plan();
  std::string forwarded = p.client_ip ? forwarded_for(*p.client_ip) : std::string();
  std::string service = p.service_address ? p.service_address->str() : std::string();
  std::vector<nghttp2_nv> hdrs = {header(":method", "CONNECT"), header(":authority", authority)};
  if (!forwarded.empty()) {
    hdrs.push_back(header("forwarded", forwarded));
  }
  if (!service.empty()) {
    hdrs.push_back(header(kServiceAddressHeader, service));
  }
  nghttp2_data_provider body = stream->provider();
  int32_t id = nghttp2_submit_request(h2_, nullptr, hdrs.data(), hdrs.size(), &body, nullptr);
  if (id < 0) {
    log::warn("tunnel.stream_refused", "worker={} peer={} error=\"{}\"", worker_.index(),
              key_.destination.str(), nghttp2_strerror(id));
    stream->reset();
    return;  // the stream (and the app's socket, with RST) goes away here
  }
  stream->id = id;
  stream->preload(initial);
  stream->start_reading();
  streams_.emplace(id, std::move(stream));
  after_event();
}

void TunnelSession::respond(int32_t id, int status, nghttp2_data_provider* body) {
  std::string code = std::to_string(status);
  nghttp2_nv hdrs[] = {header(":status", code)};
  nghttp2_submit_response(h2_, id, hdrs, std::size(hdrs), body);
}

void TunnelSession::on_connect_request(int32_t id) {
  auto req = requests_.extract(id);
  if (req.empty()) {
    return;
  }
  auto target =
      req.mapped().method == "CONNECT" ? SockAddr::parse(req.mapped().authority) : std::nullopt;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getpeername(socket_.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  auto source = SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  std::optional<FlowPlan> plan;
  if (target && source) {
    TunnelRequest request{*target, parse_forwarded_for(req.mapped().forwarded).value_or(source->ip),
                          SockAddr::parse(req.mapped().service_address)};
    plan = worker_.plan_tunnel_stream(*pod_, request, peer_principal_);
  }
  if (!plan) {
    log::warn("tunnel.bad_request", "worker={} pod={} peer={} method={} authority=\"{}\"",
              worker_.index(), pod_->display_name(), peer_principal_, req.mapped().method,
              req.mapped().authority);
    respond(id, 400, nullptr);
    return;
  }
  if (!plan->denied.empty()) {
    respond(id, 403, nullptr);
    return;
  }
  auto upstream = worker_.open_upstream(*pod_, plan->target.ip.family, plan->client_ip);
  if (!upstream) {
    respond(id, 503, nullptr);
    return;
  }
  auto counters = worker_.counters_for(*plan);
  auto stream =
      std::make_unique<TunnelStream>(*this, TunnelStream::Side::Destination, std::move(*upstream),
                                     std::move(*plan), std::move(counters));
  stream->id = id;
  TunnelStream& ref = *stream;
  streams_.emplace(id, std::move(stream));
  ref.connect(worker_.context().connect_timeout_ms);
}

void TunnelSession::stream_connected(TunnelStream& stream, int res) {
  if (res < 0) {
    log::debug("tunnel.app_connect_failed", "worker={} target={} error=\"{}\"", worker_.index(),
               stream.plan().target.str(), std::strerror(-res));
    respond(stream.id, res == -ECONNREFUSED ? 502 : 504, nullptr);
    stream.reset();
    return;
  }
  nghttp2_data_provider body = stream.provider();
  respond(stream.id, 200, &body);
  stream.opened();
  stream.start_reading();
}

// --- nghttp2 callbacks -------------------------------------------------------------------------

int TunnelSession::on_begin_headers(nghttp2_session* /*h2*/, const nghttp2_frame* frame,
                                    void* user) {
  auto* s = static_cast<TunnelSession*>(user);
  if (s->role_ == agent::TunnelRole::Server && frame->hd.type == NGHTTP2_HEADERS &&
      frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    s->requests_[frame->hd.stream_id];
  }
  return 0;
}

int TunnelSession::on_header(nghttp2_session* /*h2*/, const nghttp2_frame* frame,
                             const uint8_t* name, size_t namelen, const uint8_t* value,
                             size_t valuelen, uint8_t /*flags*/, void* user) {
  auto* s = static_cast<TunnelSession*>(user);
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  int32_t id = frame->hd.stream_id;
  if (s->role_ == agent::TunnelRole::Server) {
    if (auto it = s->requests_.find(id); it != s->requests_.end()) {
      if (n == ":method") {
        it->second.method = v;
      } else if (n == ":authority") {
        it->second.authority = v;
      } else if (n == "forwarded") {
        it->second.forwarded = v;
      } else if (n == kServiceAddressHeader) {
        it->second.service_address = v;
      }
    }
  } else if (n == ":status") {
    if (auto it = s->streams_.find(id); it != s->streams_.end()) {
      int status = 0;
      std::from_chars(v.data(), v.data() + v.size(), status);
      it->second->status = status;
    }
  }
  return 0;
}

int TunnelSession::on_frame_recv(nghttp2_session* /*h2*/, const nghttp2_frame* frame, void* user) {
  auto* s = static_cast<TunnelSession*>(user);
  int32_t id = frame->hd.stream_id;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (s->role_ == agent::TunnelRole::Server && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      s->on_connect_request(id);
    } else if (s->role_ == agent::TunnelRole::Client &&
               frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      if (auto it = s->streams_.find(id); it != s->streams_.end()) {
        TunnelStream& st = *it->second;
        if (st.status / 100 == 2) {
          st.opened();
        } else {
          log::debug("tunnel.stream_refused", "worker={} target={} status={}", s->worker_.index(),
                     st.plan().target.str(), st.status);
          st.reset();  // refused (403: policy) or unreachable: the app sees a reset
        }
      }
    }
  }
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    if (auto it = s->streams_.find(id); it != s->streams_.end()) {
      it->second->peer_finished();
    }
  }
  return 0;
}

// DATA payload is not copied into nghttp2 (TunnelStream::read_cb sets NO_COPY): it goes from
// the stream's read buffer straight into the batch that becomes the next TLS write.
int TunnelSession::on_send_data(nghttp2_session* /*h2*/, nghttp2_frame* frame,
                                const uint8_t* framehd, size_t length, nghttp2_data_source* source,
                                void* user) {
  auto* s = static_cast<TunnelSession*>(user);
  if (s->frames_.size() >= kFrameBatch) {
    return NGHTTP2_ERR_WOULDBLOCK;  // flush() encrypts the batch and asks again
  }
  if (frame->data.padlen != 0) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;  // no padding is ever selected
  }
  s->frames_.insert(s->frames_.end(), framehd, framehd + 9);
  static_cast<TunnelStream*>(source->ptr)->take_payload(length, s->frames_);
  return 0;
}

int TunnelSession::on_data_chunk(nghttp2_session* h2, uint8_t /*flags*/, int32_t id,
                                 const uint8_t* data, size_t len, void* user) {
  auto* s = static_cast<TunnelSession*>(user);
  auto it = s->streams_.find(id);
  if (it == s->streams_.end()) {
    nghttp2_session_consume(h2, id, len);  // nobody will write it: give the window back
    return 0;
  }
  it->second->deliver(data, len);
  return 0;
}

int TunnelSession::on_stream_close(nghttp2_session* /*h2*/, int32_t id, uint32_t error_code,
                                   void* user) {
  auto* s = static_cast<TunnelSession*>(user);
  s->requests_.erase(id);
  if (auto it = s->streams_.find(id); it != s->streams_.end()) {
    it->second->h2_closed(error_code);
  }
  return 0;
}

}  // namespace weft::proxy
