#include "agent/tunnel/TunnelSession.hpp"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include <charconv>
#include <cstring>

#include "agent/loop/Loop.hpp"
#include "agent/plan/TunnelHeaders.hpp"
#include "agent/redirect/MeshAbi.hpp"
#include "agent/tunnel/TunnelStream.hpp"
#include "common/Forwarded.hpp"
#include "common/Log.hpp"

namespace weft::proxy {
namespace {

constexpr std::size_t kRecvBuffer = 256 * 1024;
/// Ciphertext waiting for the socket beyond which nghttp2 is not asked for more frames.
constexpr std::size_t kMaxQueued = 1024 * 1024;
constexpr std::size_t kFrameBatch = 64 * 1024;
/// Per-stream receive window: what one connection may have in flight towards a slow reader.
/// It must cover the bytes a stream moves while a busy CPU runs other tasks (a few ms at
/// several Gbit/s): with 1 MiB, a bulk stream stalled on window updates (bench/results).
constexpr uint32_t kStreamWindow = 4 * 1024 * 1024;
constexpr uint32_t kConnectionWindow = 32 * 1024 * 1024;
/// A session about to take a new stream is sent a PING at once, and the stream waits for the
/// answer, when nothing arrived from the peer for this long (the tick's PINGs wait for
/// tunnel_ping_interval). A cut on a quiet path shows nothing else: a stream sent into it
/// cannot go elsewhere once its bytes left, so a session used less often than this pays a
/// round trip for a new stream's certainty.
constexpr auto kQuietBeforeStream = std::chrono::milliseconds(250);
/// The tick pings a session with streams after this long without a word from the peer.
constexpr auto kQuietWithStreams = std::chrono::seconds(1);
/// Bytes of ours the peer's kernel has not acknowledged for this long, plus two round trips,
/// put a session in doubt (see unacknowledged()): above a delayed ACK (40 ms; the peer's
/// answers usually carry it sooner).
constexpr auto kUnacknowledgedFor = std::chrono::milliseconds(100);
/// A dial to a peer in doubt sends a new SYN this often (SocketIo::connect), so that a link
/// back within its limit is seen within this.
constexpr unsigned kSuspectSynEveryMs = 500;

l7::H2Limits tunnel_limits() {
  l7::H2Limits limits;
  limits.max_concurrent_streams = kMaxConcurrentStreams;
  limits.stream_window = kStreamWindow;
  limits.connection_window = kConnectionWindow;
  limits.check_http = false;  // the agent at either end checked each message on its way in
  return limits;
}

}  // namespace

TunnelSession::TunnelSession(TunnelHost& host, TunnelKey key, Fd socket,
                             std::shared_ptr<const tunnel::TlsIdentity> identity,
                             std::string expected_peer, SSL_SESSION* resume)
    : host_(host),
      role_(agent::TunnelRole::Client),
      key_(std::move(key)),
      identity_(std::move(identity)),
      expected_peer_(std::move(expected_peer)),
      h2_(l7::H2Session::Role::Client, tunnel_limits()),
      io_(host.loop(), *this, std::move(socket), {kRecvBuffer, kRecvBuffer}) {
  if (auto ch = tunnel::TlsChannel::client(identity_->client.get(), resume, this)) {
    tls_.emplace(std::move(*ch));
  }
}

TunnelSession::TunnelSession(TunnelHost& host, std::shared_ptr<const agent::MeshedPod> pod,
                             Fd socket, std::shared_ptr<const tunnel::TlsIdentity> identity,
                             std::string expected_peer, SourceShare share)
    : host_(host),
      role_(agent::TunnelRole::Server),
      pod_(std::move(pod)),
      identity_(std::move(identity)),
      expected_peer_(std::move(expected_peer)),
      share_(std::move(share)),
      h2_(l7::H2Session::Role::Server, tunnel_limits(), this),
      io_(host.loop(), *this, std::move(socket), {kRecvBuffer, kRecvBuffer}) {
  if (auto ch = tunnel::TlsChannel::server(identity_->server.get())) {
    tls_.emplace(std::move(*ch));
  }
}

TunnelSession::~TunnelSession() {
  host_.loop().forget(*this);
  http_.reset();
  streams_.clear();  // before the h2 session they are registered with
  if (established_) {
    host_.tunnel_metrics().session_closed(role_);
  }
}

void TunnelSession::start(unsigned connect_timeout_ms) {
  if (!tls_) {
    fail(agent::HandshakeFailure::Protocol, "cannot create a TLS channel");
    return;
  }
  if (role_ == agent::TunnelRole::Server) {
    io_.read();
    return;
  }
  io_.connect({key_.destination, WEFT_TUNNEL_PORT}, connect_timeout_ms,
              suspect_limit_ ? kSuspectSynEveryMs : 0);
}

void TunnelSession::on_connected(int res) {
  if (res < 0) {
    host_.peer_unreachable(key_.destination);
    dial_ran_out_ = res == -ETIMEDOUT && suspect_limit_.has_value();
    fail(res == -ETIMEDOUT ? agent::HandshakeFailure::Timeout : agent::HandshakeFailure::Protocol,
         fmt::format("connect {}:{}: {}", key_.destination.str(), WEFT_TUNNEL_PORT,
                     std::strerror(-res)));
    return;
  }
  tls_->handshake();  // queues the ClientHello
  io_.read();
}

void TunnelSession::on_read_end(int res) {
  if (!established_) {
    fail(agent::HandshakeFailure::Protocol, res == 0
                                                ? "peer closed the connection during the handshake"
                                                : fmt::format("recv: {}", std::strerror(-res)));
    return;
  }
  close_transport(/*graceful=*/res == 0);
}

void TunnelSession::on_received(std::span<const uint8_t> bytes) {
  last_heard_ = host_.loop().now();  // the peer is alive, whatever it sent (a PING's ACK too)
  ping_sent_.reset();
  if (held_) {
    held_ = false;
    touch();  // what waited for the peer's answer leaves now
  }
  tls_->feed(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!tls_->handshake_done()) {
    auto st = tls_->handshake();
    if (st == tunnel::TlsChannel::Status::Failed) {
      fail(tls_->verify_failed() ? agent::HandshakeFailure::Verify
                                 : agent::HandshakeFailure::Protocol,
           tls_->failure());
      return;
    }
    if (!tls_->handshake_done()) {
      io_.read();
      return;
    }
    on_handshake_done();
    if (dead_) {
      return;
    }
  }
  // nghttp2 takes in (and copies what it keeps of) every byte it is given before receive()
  // returns, so the decrypted records go through the worker's scratch buffer.
  std::span<uint8_t> plain = host_.loop().scratch();
  auto st = tunnel::TlsChannel::Status::Ok;
  for (std::size_t got = plain.size();
       st == tunnel::TlsChannel::Status::Ok && got == plain.size();) {
    st = tls_->read(plain.data(), plain.size(), got);
    if (got == 0) {
      continue;
    }
    if (auto ok = h2_.receive(plain.first(got)); !ok) {
      log::warn("tunnel.h2_error", "worker={} role={} peer={} error=\"{}\"", host_.loop().index(),
                role_ == agent::TunnelRole::Client ? "client" : "server", peer_principal_,
                ok.error().message);
      close_transport(/*graceful=*/false);
      return;
    }
  }
  if (st == tunnel::TlsChannel::Status::Failed || st == tunnel::TlsChannel::Status::Closed) {
    close_transport(/*graceful=*/st == tunnel::TlsChannel::Status::Closed);
    return;
  }
  io_.read();
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
  const std::string& td = host_.trust_domain();
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
  if (role_ == agent::TunnelRole::Client) {
    host_.peer_reachable(key_.destination);
  }
  auto& metrics = host_.tunnel_metrics();
  metrics.handshake(role_, tls_->resumed());
  metrics.session_opened(role_);
  log::debug("tunnel.established", "worker={} role={} local={} peer={} resumed={}",
             host_.loop().index(), role_ == agent::TunnelRole::Client ? "client" : "server",
             identity_->spiffe_id, peer_principal_, tls_->resumed());
}

void TunnelSession::flush() {
  if (close_when_sent_) {
    io_.flush();  // what close_transport left to send
    return;
  }
  if (dead_ || !tls_) {
    return;
  }
  if (tls_->handshake_done() && established_ && !held_) {
    while (io_.backlog() < kMaxQueued) {
      frames_.clear();
      // The ciphertext of these frames goes behind everything queued so far (or later, behind
      // what TLS still holds): a lower bound of where a request head lands, for never_left().
      h2_.mark_output(handed_to_kernel_ + io_.backlog());
      if (auto ok = h2_.produce(frames_, kFrameBatch); !ok) {
        log::warn("tunnel.h2_error", "worker={} peer={} error=\"{}\"", host_.loop().index(),
                  peer_principal_, ok.error().message);
        close_transport(/*graceful=*/false);
        return;
      }
      if (frames_.empty()) {
        break;
      }
      if (tls_->write(frames_.data(), frames_.size()) != tunnel::TlsChannel::Status::Ok) {
        close_transport(/*graceful=*/false);
        return;
      }
      tls_->take_output(io_.queue());
    }
  }
  tls_->take_output(io_.queue());
  io_.flush();
}

void TunnelSession::on_drained(int res) {
  if (close_when_sent_) {
    close_when_sent_ = false;
    io_.close(res == 0 ? SocketIo::Close::Graceful : SocketIo::Close::Reset);
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
  if (draining_ && h2_.stream_count() == 0) {
    close_transport(/*graceful=*/true);
  }
}

void TunnelSession::fail(agent::HandshakeFailure why, const std::string& detail) {
  if (!established_) {
    host_.tunnel_metrics().handshake_failed(role_, why);
  }
  log::warn("tunnel.failed", "worker={} role={} identity={} peer={} destination={} error=\"{}\"",
            host_.loop().index(), role_ == agent::TunnelRole::Client ? "client" : "server",
            identity_->spiffe_id, peer_principal_.empty() ? expected_peer_ : peer_principal_,
            key_.destination.str(), detail);
  bool told_peer = false;
  if (tls_ && tls_->handshake_done()) {
    // Refused after the handshake (wrong identity, no h2): the peer still gets our Finished and
    // a close_notify, so it sees a refusal rather than a lost connection. A few hundred bytes
    // into a fresh socket buffer: one non-blocking send outside the ring, on this path only.
    tls_->shutdown();
    tls_->take_output(io_.queue());
    told_peer = io_.send_now();
  }
  close_transport(/*graceful=*/told_peer);
}

void TunnelSession::close_transport(bool graceful) {
  if (dead_) {
    return;
  }
  dead_ = true;
  host_.tunnel_unusable(*this);
  // A connection cut mid-stream must look cut to the app; one whose h2 stream had ended both
  // ways (END_STREAM each way) only waits for its app socket (the bytes left to write, the
  // app's own FIN after ours): it ends as it would have. Told apart before close_all closes
  // every h2 stream.
  std::vector<TunnelStream*> cut;
  for (auto& [id, stream] : streams_) {
    if (!stream->finished() && !stream->ended_cleanly()) {
      cut.push_back(stream.get());
    }
  }
  // A session that never got through its handshake carried nothing: its streams may go
  // elsewhere (an HTTP request is rerouted; a TCP connection is reset either way). Of a session
  // that failed, so may the streams whose heads never left the host.
  h2_.close_all(!established_ ? NGHTTP2_REFUSED_STREAM
                : graceful    ? NGHTTP2_NO_ERROR
                              : NGHTTP2_CONNECT_ERROR,
                established_ && !graceful ? never_left() : l7::H2Session::kNotWritten);
  for (TunnelStream* stream : cut) {
    stream->reset();
  }
  if (graceful && io_.backlog() > 0) {
    // The last frames (an END_STREAM, the GOAWAY) are still on their way to the kernel: the
    // socket closes once they are out (on_drained), or the peer would lose them.
    close_when_sent_ = true;
    return;
  }
  io_.close(graceful ? SocketIo::Close::Graceful : SocketIo::Close::Reset);
}

uint64_t TunnelSession::never_left() const {
  // What the kernel took less what it has not sent yet (SIOCOUTQNSD: its write queue beyond
  // snd_nxt). A partition leaves more here than it seems: once TCP's retransmission timer has
  // fired, the kernel sends only the oldest unacknowledged segment until an ACK comes, and once
  // unacknowledged segments fill its send buffer it takes nothing more (the rest waits in our
  // queue, beyond handed_to_kernel_). Requests written then never left, and may go to another
  // endpoint even when they are not idempotent.
  int unsent = 0;
  if (::ioctl(io_.fd(), SIOCOUTQNSD, &unsent) != 0 || unsent < 0 ||
      static_cast<uint64_t>(unsent) > handed_to_kernel_) {
    return l7::H2Session::kNotWritten;
  }
  return handed_to_kernel_ - static_cast<uint64_t>(unsent);
}

void TunnelSession::flush_pending() {
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
  if (h2_.stream_count() > 0) {
    idle_since_ = Clock::now();
  } else if (!dead_ && !draining_ && established_ && !h2_.alive()) {
    close_transport(/*graceful=*/true);  // both sides said GOAWAY and nothing is left
  }
  if (dead_ && streams_.empty() && io_.idle() && !retired) {
    loop().retire(*this);
  }
}

void TunnelSession::erase_now() {
  host_.session_finished(*this);
}

Loop& TunnelSession::loop() {
  return host_.loop();
}

agent::FlowLog& TunnelSession::flows() {
  return host_.http().flows();
}

SessionLoad TunnelSession::load() const {
  return {!dead_ && !draining_ && h2_.accepts_requests(), identity_->generation,
          h2_.stream_count()};
}

void TunnelSession::tick(Clock::time_point now) {
  if (dead_) {
    touch();  // e.g. failed while starting, before any completion could reap it
    return;
  }
  const TimeLimits& limits = host_.limits();
  for (auto& [id, stream] : streams_) {
    if (limits.stall.count() > 0 && stream->stalled_since(now - limits.stall)) {
      stream->reset_stalled();  // reap() erases it once its I/O is cancelled
    } else if (limits.tcp_idle.count() > 0 && stream->idle_since(now - limits.tcp_idle)) {
      host_.loop().timed_out(agent::Timeout::TcpIdle);
      stream->end();  // END_STREAM to the peer, FIN to the app
    }
  }
  if (!established_ && now - created_ > suspect_limit_.value_or(limits.tls_handshake)) {
    host_.loop().timed_out(agent::Timeout::TlsHandshake);
    if (suspect_limit_) {
      host_.peer_unreachable(key_.destination);  // still gone: the next try waits again
      dial_ran_out_ = true;
    }
    fail(agent::HandshakeFailure::Timeout, "handshake timed out");
    touch();
    return;
  }
  if (established_ && ping_sent_ && now - *ping_sent_ >= limits.tunnel_ping_timeout) {
    unresponsive(now);
    touch();
    return;
  }
  // A session whose streams wait on a peer in doubt learns within the PING timeout whether the
  // peer is gone, not after tunnel_ping_interval of silence (their requests may be waiting for
  // answers that will never come, or may be worth sending elsewhere).
  if (established_ && !ping_sent_ &&
      (now - last_heard_ >= limits.tunnel_ping_interval ||
       (h2_.stream_count() > 0 && in_doubt(now, kQuietWithStreams)))) {
    ping(now);
  }
  bool idle = h2_.stream_count() == 0 && now - idle_since_ > limits.tunnel_idle;
  if (role_ == agent::TunnelRole::Client && h2_.stream_count() == 0 && !draining_ &&
      (idle || host_.identity_generation(identity_->spiffe_id) != identity_->generation)) {
    // Idle, or carrying a renewed-away certificate: say GOAWAY and close once it is out.
    if (idle) {
      host_.loop().timed_out(agent::Timeout::TunnelIdle);
    }
    draining_ = true;
    host_.tunnel_unusable(*this);
    h2_.goaway(NGHTTP2_NO_ERROR);
  }
  touch();
}

void TunnelSession::drain(DrainStep step) {
  if (dead_) {
    return;
  }
  if (step == DrainStep::End) {
    for (auto& [id, stream] : streams_) {
      stream->end();
    }
  }
  if (role_ == agent::TunnelRole::Client) {
    if (!draining_) {
      draining_ = true;  // closes once its last stream is done (on_drained)
      host_.tunnel_unusable(*this);
      h2_.goaway(NGHTTP2_NO_ERROR);
    }
  } else if (step == DrainStep::Notice) {
    h2_.shutdown_notice();  // the calling agent opens its next streams to our successor
  } else {
    h2_.goaway(NGHTTP2_NO_ERROR);
  }
  touch();
}

void TunnelSession::store_ticket(tunnel::SslSessionPtr ticket) {
  host_.store_ticket(key_, std::move(ticket));
}

void TunnelSession::open_stream(Fd local, FlowPlan plan, std::vector<agent::FlowCounters> counters,
                                std::span<const uint8_t> initial, SourceShare share,
                                std::optional<Redial> redial) {
  std::string authority = plan.target.str();
  auto stream = std::make_unique<TunnelStream>(*this, TunnelStream::Side::Source, std::move(local),
                                               std::move(plan), std::move(counters),
                                               std::move(share), std::move(redial));
  stream->preload(initial);
  if (dead_) {
    // The session failed while starting: another endpoint, or a reset the app sees at once.
    if (!stream->redial_elsewhere()) {
      stream->reset();
    }
    return;
  }
  // forwarded (RFC 7239): which workload of the shared session this stream is for;
  // weft-service-address: the Service the app dialled, so the peer can label it too.
  l7::Headers head{{":method", "CONNECT"}, {":authority", std::move(authority)}};
  add_tunnel_claims(head, stream->plan(), kConnectClientHeader);
  int32_t id = h2_.submit_request(std::move(head), /*has_body=*/true, stream.get());
  if (id < 0) {
    log::warn("tunnel.stream_refused", "worker={} peer={} error=\"{}\"", host_.loop().index(),
              key_.destination.str(), nghttp2_strerror(id));
    if (!stream->redial_elsewhere()) {
      stream->reset();
    }
    return;  // the stream (and the app's socket, unless sent elsewhere) goes away here
  }
  stream->id = id;
  stream->start_reading();
  streams_.emplace(id, std::move(stream));
  touch();
}

void TunnelSession::respond(int32_t id, int status) {
  h2_.submit_response(id, {{":status", std::to_string(status)}}, /*has_body=*/false);
}

void TunnelSession::probe_before_stream(Clock::time_point now) {
  if (!established_ || dead_ || held_ || !in_doubt(now, kQuietBeforeStream)) {
    return;
  }
  if (!ping_sent_) {
    ping(now);
  }         // else a PING is out already (the tick's): held streams wait for its answer too
  flush();  // the PING (and what was queued before it), not the stream to come
  held_ = true;
}

bool TunnelSession::in_doubt(Clock::time_point now, Clock::duration quiet) const {
  return now - last_heard_ >= quiet || unacknowledged(now);
}

bool TunnelSession::unacknowledged(Clock::time_point now) const {
  if (now - last_heard_ < kUnacknowledgedFor) {
    return false;  // every segment from the peer acknowledges what it got: no syscall
  }
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(io_.fd(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return false;
  }
  // Not the retransmission count: while new bytes keep leaving, Linux keeps pushing its loss
  // probe and retransmission timers back, so a busy session under a silent cut showed no
  // retransmission for over a second, sending every new stream into it.
  auto limit = kUnacknowledgedFor + 2 * std::chrono::microseconds(info.tcpi_rtt);
  return info.tcpi_unacked > 0 && std::chrono::milliseconds(info.tcpi_last_ack_recv) >= limit;
}

void TunnelSession::ping(Clock::time_point now) {
  h2_.ping();
  ping_sent_ = now;
  touch();
}

void TunnelSession::unresponsive(Clock::time_point now) {
  host_.loop().timed_out(agent::Timeout::TunnelPing);
  if (role_ == agent::TunnelRole::Client) {
    host_.peer_unreachable(key_.destination);
  }
  log::warn("tunnel.unresponsive",
            "worker={} role={} peer={} destination={} silent_ms={} streams={} (dead: its streams "
            "are reset, new ones go to a new session)",
            host_.loop().index(), role_ == agent::TunnelRole::Client ? "client" : "server",
            peer_principal_, key_.destination.str(),
            std::chrono::duration_cast<std::chrono::milliseconds>(now - last_heard_).count(),
            h2_.stream_count());
  close_transport(/*graceful=*/false);
}

void TunnelSession::touch() {
  if (!dirty) {
    dirty = true;
    host_.loop().needs_flush(*this);
  }
}

l7::H2Stream* TunnelSession::accept_stream(int32_t id, const l7::Headers& head,
                                           bool /*end_stream*/) {
  if (!source_) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getpeername(io_.fd(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      source_ = SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    }
  }
  const std::optional<SockAddr>& source = source_;
  const std::string* method = l7::find_header(head, ":method");
  if (method != nullptr && *method != "CONNECT" && source) {
    if (!http_) {
      http_ = std::make_unique<InboundHttp>(host_.http(), *this, pod_, peer_principal_, source->ip);
    }
    return http_->accept(id);
  }
  const std::string* authority = l7::find_header(head, ":authority");
  auto target =
      method != nullptr && authority != nullptr ? SockAddr::parse(*authority) : std::nullopt;
  std::optional<FlowPlan> plan;
  if (target && source) {
    plan = host_.plan_tunnel_stream(
        *pod_, read_tunnel_claims(head, kConnectClientHeader, *target, source->ip),
        peer_principal_);
  }
  if (!plan) {
    log::warn("tunnel.bad_request", "worker={} pod={} peer={} method={} authority=\"{}\"",
              host_.loop().index(), pod_->display_name(), peer_principal_,
              method != nullptr ? *method : "", authority != nullptr ? *authority : "");
    respond(id, 400);
    return nullptr;
  }
  if (!plan->denied.empty()) {
    respond(id, 403);
    return nullptr;
  }
  auto upstream = host_.sockets().open_upstream(*pod_, plan->target.ip.family, plan->client_ip);
  if (!upstream) {
    respond(id, 503);
    return nullptr;
  }
  auto counters = host_.counters_for(*plan);
  auto stream =
      std::make_unique<TunnelStream>(*this, TunnelStream::Side::Destination, std::move(*upstream),
                                     std::move(*plan), std::move(counters));
  stream->id = id;
  TunnelStream& ref = *stream;
  streams_.emplace(id, std::move(stream));
  ref.connect(static_cast<unsigned>(host_.limits().connect.count()));
  return &ref;
}

void TunnelSession::stream_connected(TunnelStream& stream, int res) {
  if (res < 0) {
    log::debug("tunnel.app_connect_failed", "worker={} target={} error=\"{}\"",
               host_.loop().index(), stream.plan().target.str(), std::strerror(-res));
    respond(stream.id, res == -ECONNREFUSED ? 502 : 504);
    // nghttp2 sends the RST_STREAM before the answer: REFUSED_STREAM tells the calling agent
    // that no app saw the stream, so it may send the connection to another endpoint.
    stream.reset(NGHTTP2_REFUSED_STREAM);
    return;
  }
  h2_.submit_response(stream.id, {{":status", "200"}}, /*has_body=*/true);
  stream.opened();
  stream.start_reading();
}

}  // namespace weft::proxy
