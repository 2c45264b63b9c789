// One proxied TCP connection: downstream (accepted in a pod) <-> upstream (opened by the agent).
#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <span>
#include <vector>

#include "agent/loop/Loop.hpp"
#include "agent/metrics/TcpMetrics.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "common/Fd.hpp"

namespace weft::proxy {

/// Copies bytes both ways with backpressure (a direction reads again only after its buffer was
/// fully written), propagates half-close (EOF on one side -> shutdown(SHUT_WR) on the other) and
/// resets (an error on either side -> RST on both). Owned by its Owner; retires itself once
/// its last in-flight request has completed, and the loop's settle() destroys it.
class Relay final : public Retirable {
 public:
  /// Who owns the relay (the Dispatcher).
  class Owner {
   public:
    /// The relay is over and nothing of it is in flight: destroy it (closes both sockets).
    virtual void relay_finished(Relay& relay) = 0;

   protected:
    ~Owner() = default;
  };

  Relay(Loop& loop, Owner& owner, Fd downstream, Fd upstream, FlowPlan plan,
        std::vector<agent::FlowCounters> counters);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  /// Bytes already read from downstream (protocol detection): sent upstream first. Call
  /// before start().
  void preload(std::span<const uint8_t> bytes);
  /// Connects upstream to plan.target, bounded by `timeout_ms`, then starts relaying.
  void start(unsigned timeout_ms);
  /// Tears the connection down with RST on both sides (pod removed, agent stopping).
  void abort();
  /// Whether the relay holds bytes for one side and no byte moved either way since `since`
  /// (a peer that stopped reading, or a stall of the agent's own).
  bool stalled_since(std::chrono::steady_clock::time_point since) const;
  /// Counts the connection as stalled and resets it.
  void reset_stalled();

  const FlowPlan& plan() const { return plan_; }
  /// Through Owner::relay_finished.
  void erase_now() override;

 private:
  struct Direction;

  /// Completion of one request of a direction (recv or send).
  struct DirectionOp final : Operation {
    Direction* dir = nullptr;
    void (Relay::*handler)(Direction&, int) = nullptr;
    void complete(int res, unsigned flags) override;
  };

  /// Bytes flowing from `from` to `to`. Downstream->upstream counts as "sent" (source to
  /// destination) for both outbound and inbound flows.
  struct Direction {
    Relay* relay = nullptr;
    int from = -1;
    int to = -1;
    bool to_upstream = false;
    std::unique_ptr<char[]> buf;
    std::size_t cap = 0;
    std::size_t len = 0;
    std::size_t off = 0;
    bool eof = false;
    DirectionOp recv_op;
    DirectionOp send_op;
  };

  struct ConnectOp final : Operation {
    Relay* relay = nullptr;
    void complete(int res, unsigned flags) override;
  };

  void on_connected(int res);
  void arm_recv(Direction& d);
  void on_recv(Direction& d, int res);
  void arm_send(Direction& d);
  void on_send(Direction& d, int res);
  void fail(int err, const char* where);
  /// Destroys the relay when nothing is in flight and both directions are finished.
  void maybe_finish();

  Loop& loop_;
  Owner& owner_;
  Fd downstream_;
  Fd upstream_;
  FlowPlan plan_;
  std::vector<agent::FlowCounters> counters_;
  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  __kernel_timespec connect_timeout_{};
  ConnectOp connect_op_;
  Direction down_to_up_;
  Direction up_to_down_;
  unsigned inflight_ = 0;
  std::chrono::steady_clock::time_point last_progress_;  ///< the last byte moved (ring time)
  bool connected_ = false;
  bool aborted_ = false;
};

}  // namespace weft::proxy
