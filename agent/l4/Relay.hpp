// One proxied TCP connection: downstream (accepted in a pod) <-> upstream (opened by the agent).
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <vector>

#include "agent/loop/Loop.hpp"
#include "agent/loop/SocketIo.hpp"
#include "agent/loop/SourceShares.hpp"
#include "agent/metrics/TcpMetrics.hpp"
#include "agent/observe/FlowLog.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "agent/plan/Redial.hpp"
#include "common/Fd.hpp"

namespace weft::proxy {

/// Copies bytes both ways with backpressure (a direction reads again only after its buffer was
/// fully written), propagates half-close (EOF on one side -> shutdown(SHUT_WR) on the other) and
/// resets (an error on either side -> RST on both). Owned by its Owner; retires itself once
/// its last in-flight request has completed, and the loop's settle() destroys it.
class Relay final : public Retirable {
 public:
  /// Who owns the relay (the Dispatcher); it also sends on a connection whose connect failed
  /// (Redialer).
  class Owner : public Redialer {
   public:
    /// The relay is over and nothing of it is in flight: destroy it (closes both sockets).
    virtual void relay_finished(Relay& relay) = 0;
    /// The flow history the relay writes its connection to when it ends.
    virtual agent::FlowLog& flows() = 0;

   protected:
    ~Owner() = default;
  };

  /// `share`: what the downstream connection counts against its source (given back with it);
  /// `redial`: set for a connection to a Service, which a failed connect hands back to the
  /// owner (Redialer::redial) instead of resetting it.
  Relay(Loop& loop, Owner& owner, Fd downstream, Fd upstream, FlowPlan plan,
        std::vector<agent::FlowCounters> counters, SourceShare share = {},
        std::optional<Redial> redial = std::nullopt);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  /// Bytes already read from downstream (protocol detection): sent upstream first. Call
  /// before start().
  void preload(std::span<const uint8_t> bytes);
  /// Connects upstream to plan.target, bounded by `timeout_ms`, then starts relaying.
  void start(unsigned timeout_ms);
  /// Tears the connection down with RST on both sides (pod removed, agent stopping).
  void abort();
  /// Ends the connection cleanly (the agent's drain is over): FIN to both sides once what they
  /// were sent is out; what arrives after is read and dropped until each side closes too.
  void end();
  /// Whether the relay holds bytes for one side and no byte moved either way since `since`
  /// (a peer that stopped reading, or a stall of the agent's own).
  bool stalled_since(std::chrono::steady_clock::time_point since) const;
  /// Counts the connection as stalled and resets it.
  void reset_stalled();
  /// Whether no byte moved either way since `since` (and the plan has an idle limit).
  bool idle_since(std::chrono::steady_clock::time_point since) const;

  const FlowPlan& plan() const { return plan_; }
  /// The client's address for the flow history when the plan has none (an outbound
  /// connection: the calling pod's).
  void observe_client(const IpAddr& ip) { client_ = ip; }
  /// Through Owner::relay_finished.
  void erase_now() override;

 private:
  /// One socket of the relay. Bytes read from a side are sent from its read buffer by the other
  /// side without a copy, and the side reads again once the other has sent them all.
  /// Downstream->upstream counts as "sent" (source to destination) for outbound and inbound.
  struct Side final : SocketIo::Owner {
    Side(Relay& relay, Fd socket, bool upstream);

    void on_connected(int res) override { relay.on_connected(res); }
    void on_received(std::span<const uint8_t> bytes) override;
    void on_read_end(int res) override;
    void on_sent(std::size_t bytes) override;
    void on_drained(int res) override;
    void after_io() override;

    Relay& relay;
    SocketIo io;
    Side* other = nullptr;
    bool upstream;
    bool eof = false;  ///< this side's peer finished sending
  };

  void on_connected(int res);
  /// The app reset its connection before a byte moved either way (it died or shed the
  /// connection as it was accepted): nothing reached it, so with redial_ the connection goes to
  /// another endpoint, as after a refused connect. False when it cannot.
  bool redial_unused();
  /// redial_unused(), once the downstream read it stopped is done.
  void hand_over();
  void fail(int err, const char* where);
  /// Retires the relay when nothing is in flight and both directions are finished.
  void maybe_finish();
  /// Writes the connection to the flow history: relayed (allowed) or its connect failed.
  void observe_end();

  Loop& loop_;
  Owner& owner_;
  FlowPlan plan_;
  std::vector<agent::FlowCounters> counters_;
  SourceShare share_;
  std::optional<Redial> redial_;
  /// With redial_: preload()'s bytes until connected; while handing over, what the client sent
  /// meanwhile.
  std::vector<uint8_t> preloaded_;
  Side down_;
  Side up_;
  std::chrono::steady_clock::time_point last_progress_;  ///< the last byte moved (ring time)
  bool connected_ = false;
  bool touched_ = false;       ///< a byte went to the app or came from it
  bool handing_over_ = false;  ///< redial_unused(): the downstream socket goes to the owner
  bool aborted_ = false;
  bool ended_ = false;  ///< end(): both sides were sent FIN, their input is dropped
  // For the flow history.
  std::optional<IpAddr> client_;
  std::chrono::steady_clock::time_point connected_at_;
  uint64_t sent_ = 0;         ///< bytes source -> destination
  uint64_t received_ = 0;     ///< bytes destination -> source
  int connect_error_ = 0;     ///< errno of a failed connect
  bool handed_over_ = false;  ///< the client's socket went to another endpoint (Redialer)
};

}  // namespace weft::proxy
