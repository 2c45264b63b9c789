// One connection between two agents: TCP to a pod's :15008, TLS 1.3 (memory BIOs, socket I/O on
// the worker's io_uring), HTTP/2 inside. Each proxied TCP connection is one CONNECT stream
// (HBONE-style, the original destination in :authority), so many share one TLS session.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/http/H2Carrier.hpp"
#include "agent/http/InboundHttp.hpp"
#include "agent/loop/DrainStep.hpp"
#include "agent/loop/Loop.hpp"
#include "agent/loop/SocketIo.hpp"
#include "agent/loop/SourceShares.hpp"
#include "agent/metrics/TunnelMetrics.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/tls/TlsChannel.hpp"
#include "agent/tls/TlsIdentity.hpp"
#include "agent/tunnel/TunnelHost.hpp"
#include "agent/tunnel/TunnelPool.hpp"
#include "common/Fd.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

class TunnelStream;

class TunnelSession final : public tunnel::TicketSink,
                            public l7::H2Session::Acceptor,
                            public H2Carrier,
                            public Retirable,
                            private SocketIo::Owner {
 public:
  using Clock = std::chrono::steady_clock;

  /// Client side: `socket` was created in the source pod's netns; connects it to
  /// `key.destination`:15008 and expects the peer to prove `expected_peer`.
  TunnelSession(TunnelHost& host, TunnelKey key, Fd socket,
                std::shared_ptr<const tunnel::TlsIdentity> identity, std::string expected_peer,
                SSL_SESSION* resume);
  /// Server side: `socket` was accepted on `pod`'s :15008; `expected_peer` is the identity
  /// discovery gives the connecting IP (empty when unknown: any identity of the trust domain).
  TunnelSession(TunnelHost& host, std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                std::shared_ptr<const tunnel::TlsIdentity> identity, std::string expected_peer,
                SourceShare share);
  ~TunnelSession();
  TunnelSession(const TunnelSession&) = delete;
  TunnelSession& operator=(const TunnelSession&) = delete;

  /// Connects (client) or starts the handshake (server).
  void start(unsigned connect_timeout_ms);
  /// Client: the peer did not answer lately; connect and handshake get `limit` instead of the
  /// TLS handshake limit, and a failure to make it counts as the peer still unreachable.
  void suspect_peer(std::chrono::milliseconds limit) { suspect_limit_ = limit; }
  /// Client: the session failed because a connect or handshake begun while the peer was suspect
  /// ran out of time. The peer may have come back meanwhile (the dial sends a new SYN every
  /// 500 ms, so a link healed in its last half second is only seen by a new dial), and the work
  /// that waited here may try the same endpoint once more on one.
  bool dial_ran_out() const override { return dial_ran_out_; }
  /// Client: carries the app connection `local` in a new CONNECT stream; `initial` are bytes
  /// already read from it. With `redial` (a connection to a Service), a stream that cannot be
  /// opened or is refused goes back to the host (TunnelStream::redial_elsewhere).
  void open_stream(Fd local, FlowPlan plan, std::vector<agent::FlowCounters> counters,
                   std::span<const uint8_t> initial, SourceShare share,
                   std::optional<Redial> redial = std::nullopt);
  /// What the pool weighs before it gives the session one more stream (takes_stream()).
  SessionLoad load() const;
  /// Time limits: handshake, idle pooled sessions, liveness (a PING when the peer has been
  /// quiet, death when it does not answer).
  void tick(Clock::time_point now);
  /// The session is about to take a new stream: if the peer has been quiet for a while, a PING
  /// checks that it is still there (a partition kills the session within the PING timeout
  /// instead of holding the stream until TCP gives up). The PING leaves at once, and nothing
  /// more is sent until the peer is heard from: a stream opened meanwhile leaves with the
  /// answer, or, when none comes, is closed unsent (REFUSED_STREAM), so that its request may
  /// go to another endpoint even if it is not idempotent. So is a busy session whose bytes go
  /// unacknowledged (unacknowledged()), and one whose PING is out already.
  void probe_before_stream(Clock::time_point now);
  /// The agent is draining: a server session says GOAWAY in two steps (DrainStep), a client
  /// session takes no new stream and closes once its streams are done; at End its TCP streams
  /// end cleanly.
  void drain(DrainStep step);
  /// Whether it carries a connection: an h2 stream (TCP or HTTP) still open, or a TCP stream
  /// whose h2 side is done and whose app socket is not yet.
  bool carries_streams() const { return h2_.stream_count() > 0 || !streams_.empty(); }

  const TunnelKey& key() const { return key_; }
  agent::TunnelRole role() const { return role_; }

  // Used by TunnelStream.
  Loop& loop();
  /// The flow history the session's streams write their connections to.
  agent::FlowLog& flows();
  /// Through TunnelHost::session_finished, once dead with nothing left in flight.
  void erase_now() override;
  l7::H2Session& h2() { return h2_; }
  Redialer& redialer() { return host_; }
  // H2Carrier: HTTP exchanges send their requests (client) or answers (server) on the session.
  l7::H2Session& session() override { return h2_; }
  void touch() override;
  /// Produces and sends whatever nghttp2 and TLS have queued, then erases finished streams
  /// and, once closed and idle, retires the session.
  void flush_pending() override;
  void store_ticket(tunnel::SslSessionPtr ticket) override;
  /// The stream's state changed (an I/O completed, its h2 stream closed, it was reset): the
  /// next reap checks whether it has finished.
  void stream_touched(const TunnelStream& stream);
  /// Server side: the stream's connection to the app completed with `res` (0 or -errno).
  void stream_connected(TunnelStream& stream, int res);
  /// Server side: a request arrived; a CONNECT becomes a TunnelStream to the pod's app, any
  /// other request an HTTP exchange with it (InboundHttp).
  l7::H2Stream* accept_stream(int32_t id, const l7::Headers& head, bool end_stream) override;

 private:
  // SocketIo::Owner.
  void on_connected(int res) override;
  void on_received(std::span<const uint8_t> bytes) override;
  void on_read_end(int res) override;
  void on_drained(int res) override;
  void on_sent(std::size_t bytes) override { handed_to_kernel_ += bytes; }
  void after_io() override { touch(); }

  void flush();
  void on_handshake_done();
  void fail(agent::HandshakeFailure why, const std::string& detail);
  void close_transport(bool graceful);
  /// Where, in the bytes handed to the kernel since the connection began, the bytes start that
  /// never left the host (see close_transport); H2Session::kNotWritten when the kernel does not
  /// say.
  uint64_t never_left() const;
  /// Erases finished streams and, once everything is idle, the session itself.
  void reap();

  void respond(int32_t id, int status);
  void ping(Clock::time_point now);
  /// Nothing came from the peer for `quiet`, or unacknowledged(): whether it is still there is
  /// worth a PING before a stream is trusted to it.
  bool in_doubt(Clock::time_point now, Clock::duration quiet) const;
  /// The peer's kernel has acknowledged none of the bytes in flight to it for 100 ms and two
  /// round trips (TCP_INFO): the session is in doubt as a quiet one is, before the regular PING
  /// (a busy session is never silent that long).
  bool unacknowledged(Clock::time_point now) const;
  /// Nothing came back within the PING timeout: counted, logged, and closed with its streams
  /// reset.
  void unresponsive(Clock::time_point now);

  TunnelHost& host_;
  agent::TunnelRole role_;
  TunnelKey key_;
  std::shared_ptr<const agent::MeshedPod> pod_;  ///< server: the pod whose :15008 accepted
  std::shared_ptr<const tunnel::TlsIdentity> identity_;
  std::string expected_peer_;
  SourceShare share_;  ///< server: the session counts against the dialling agent's address
  std::string peer_principal_;
  std::optional<tunnel::TlsChannel> tls_;
  l7::H2Session h2_;  ///< before streams_: they detach from it when destroyed
  std::unordered_map<int32_t, std::unique_ptr<TunnelStream>> streams_;
  std::unique_ptr<InboundHttp> http_;  ///< server: HTTP requests, created on the first one
  std::vector<int32_t> touched_;       ///< ids reap() looks at (see stream_touched)
  std::optional<SockAddr> source_;     ///< server: the calling agent's address, read once

  SocketIo io_;
  std::vector<uint8_t> frames_;    ///< h2 frames gathered into one TLS write
  uint64_t handed_to_kernel_ = 0;  ///< bytes of the connection the kernel took (on_sent)
  bool established_ = false;       ///< handshake and identity check passed
  bool dead_ = false;              ///< transport closed or failed: no new I/O
  bool draining_ = false;          ///< GOAWAY sent: no new streams, close when idle
  bool close_when_sent_ = false;   ///< dead_, and the socket closes once its backlog is out
  Clock::time_point created_ = Clock::now();
  Clock::time_point idle_since_ = Clock::now();
  Clock::time_point last_heard_ = Clock::now();  ///< the peer's last bytes (ring time)
  std::optional<Clock::time_point> ping_sent_;   ///< a PING no byte has followed yet
  bool held_ = false;  ///< see probe_before_stream: frames wait for the peer's next bytes
  std::optional<std::chrono::milliseconds> suspect_limit_;  ///< see suspect_peer()
  bool dial_ran_out_ = false;                               ///< see dial_ran_out()
};

}  // namespace weft::proxy
