// One proxied TCP connection inside a TunnelSession: the local socket (the app's connection on
// the source node, the connection to the app on the destination node) <-> one HTTP/2 stream.
#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/loop/SocketIo.hpp"
#include "agent/loop/SourceShares.hpp"
#include "agent/metrics/TcpMetrics.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "agent/plan/Redial.hpp"
#include "common/Fd.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

class TunnelSession;

/// Backpressure both ways: bytes from the local socket are read again only after nghttp2 has
/// framed the previous read (and nghttp2 frames only within the peer's window); bytes from the
/// peer are acknowledged (nghttp2_session_consume -> WINDOW_UPDATE) only once written to the
/// local socket. END_STREAM <-> FIN, RST_STREAM <-> RST.
class TunnelStream final : public l7::H2Stream, private SocketIo::Owner {
 public:
  /// Source: `local` is the app's accepted connection (bytes read from it flow source ->
  /// destination). Destination: `local` is still to be connected to the app (connect()).
  enum class Side { Source, Destination };

  /// `share`: what the app's connection counts against its source (Source side). `redial`
  /// (Source side, a connection to a Service): the app's socket is read only once the peer
  /// agent has answered 2xx, and a refusal (502, 503, 504) or a stream closed before any
  /// answer hands it back to be sent to another endpoint (Redialer) instead of resetting it
  /// (unless what detection read may have reached an app: the stream left, then was lost).
  TunnelStream(TunnelSession& session, Side side, Fd local, FlowPlan plan,
               std::vector<agent::FlowCounters> counters, SourceShare share = {},
               std::optional<Redial> redial = std::nullopt);
  /// Counts the connection closed if it was counted open, writes it to the flow history;
  /// detaches from the h2 session.
  ~TunnelStream();
  TunnelStream(const TunnelStream&) = delete;
  TunnelStream& operator=(const TunnelStream&) = delete;

  int32_t id = -1;
  int status = 0;  ///< response :status (source side)

  // l7::H2Stream: the peer's side of the stream.
  /// Source side: the CONNECT response (2xx opens the connection, anything else resets it).
  void on_headers(l7::Headers headers, bool end_stream) override;
  void on_data(std::span<const uint8_t> data) override { deliver(data.data(), data.size()); }
  void on_end_stream() override { peer_finished(); }
  void on_close(uint32_t error_code) override { h2_closed(error_code); }
  /// What the last local read brought, without copying (take_body frames it), or deferred
  /// until the next read, or the end of the stream after the local FIN.
  l7::BodyChunk read_body(uint8_t* out, std::size_t max) override;
  void take_body(std::size_t length, std::vector<uint8_t>& out) override {
    take_payload(length, out);
  }
  l7::Headers trailers() override { return {}; }
  const FlowPlan& plan() const { return plan_; }
  FlowPlan& plan() { return plan_; }

  /// Source side: bytes already read from the app (protocol detection), framed first. Call
  /// before start_reading().
  void preload(std::span<const uint8_t> bytes);
  /// Server side: the local socket is connected to `plan().target` first.
  void connect(unsigned timeout_ms);
  /// Starts reading the local socket (client: at once; server: once connected).
  void start_reading();
  /// Marks the connection open in the metrics (2xx seen or sent).
  void opened();
  /// DATA from the peer.
  void deliver(const uint8_t* data, std::size_t len);
  /// END_STREAM from the peer: FIN to the local socket once everything is written.
  void peer_finished();
  /// The h2 stream is closed; `error_code` != NO_ERROR resets the local socket.
  void h2_closed(uint32_t error_code);
  /// Appends the next `length` bytes read from the local socket to `out` (the payload of the
  /// DATA frame read_body announced) and reads again once they are used up.
  void take_payload(std::size_t length, std::vector<uint8_t>& out);
  /// Resets the local socket (and the h2 stream if still open, with `error_code`).
  void reset(uint32_t error_code = NGHTTP2_CANCEL);
  /// Source side, still waiting for the peer's answer and given a Redial: hands the app's
  /// socket to the Redialer (the h2 stream is reset) and returns true; else false.
  bool redial_elsewhere();
  /// Ends the connection cleanly (the agent's drain is over): END_STREAM to the peer once what
  /// was read is framed, FIN to the app once what the peer sent before is written; what either
  /// sends after is dropped (the app's is read until it closes).
  void end();
  /// Nothing in flight and both sides done: the session may erase it.
  bool finished() const;
  /// The h2 stream closed with END_STREAM both ways (what is left is the local socket's).
  bool ended_cleanly() const { return h2_closed_ && !aborted_; }
  /// Whether the stream holds bytes for either side (read from the local socket and not yet
  /// framed, or received from the peer and not yet written) and no byte moved either way since
  /// `since`.
  bool stalled_since(std::chrono::steady_clock::time_point since) const;
  /// Counts the connection as stalled and resets it.
  void reset_stalled();
  /// Whether no byte moved either way since `since` (and the plan has an idle limit).
  bool idle_since(std::chrono::steady_clock::time_point since) const;

 private:
  // SocketIo::Owner: the local socket.
  void on_connected(int res) override;
  void on_received(std::span<const uint8_t> bytes) override;
  void on_read_end(int res) override;
  void on_sent(std::size_t bytes) override;
  void on_drained(int res) override;
  /// Flushes what the peer sent meanwhile and has the session look at the stream.
  void after_io() override;

  /// The local read is framed: a new one may start (preloaded bytes are framed first).
  void read_again();
  /// read_body found nothing last time: the h2 stream asks for DATA again.
  void resume_if_deferred();
  /// Writes the connection to the flow history: carried (allowed), refused by the peer's
  /// policy (denied), or refused or lost before it opened (failed).
  void observe_end();

  TunnelSession& session_;
  FlowPlan plan_;
  SourceShare share_;
  std::vector<agent::FlowCounters> counters_;
  SocketIo io_;                   ///< the local socket
  bool to_peer_is_sent_;          ///< Source side: local -> peer bytes are "sent"
  std::vector<uint8_t> preload_;  ///< read by protocol detection, framed first
  std::span<const uint8_t> in_;   ///< the last local read (or preload_), framed by read_body
  std::size_t in_off_ = 0;
  bool local_eof_ = false;
  bool deferred_ = false;  ///< read_body found nothing: resume the h2 stream after a read
  bool connected_ = false;
  bool h2_closed_ = false;
  bool aborted_ = false;
  bool ended_ = false;  ///< end(): local input is dropped
  bool counted_open_ = false;
  std::optional<Redial> redial_;
  bool awaiting_answer_ = false;  ///< redial_: the app's socket is not read before a 2xx
  // For the flow history.
  std::chrono::steady_clock::time_point opened_at_;
  uint64_t sent_ = 0;         ///< bytes source -> destination
  uint64_t received_ = 0;     ///< bytes destination -> source
  int connect_error_ = 0;     ///< Destination side: errno of the app's failed connect
  bool handed_over_ = false;  ///< the app's socket went to another endpoint (Redialer)
  std::chrono::steady_clock::time_point last_progress_;  ///< the last byte moved (ring time)
};

}  // namespace weft::proxy
