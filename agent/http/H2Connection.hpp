// One plaintext HTTP/2 connection on the worker's io_uring: an app's connection accepted on a
// pod's outbound listener (server role), or the agent's pooled connection to an endpoint
// (client role). The protocol is l7::H2Session's; this class only moves bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "agent/http/H2Carrier.hpp"
#include "agent/loop/DrainStep.hpp"
#include "agent/loop/Loop.hpp"
#include "agent/loop/SocketIo.hpp"
#include "agent/loop/TimeLimits.hpp"
#include "agent/metrics/TimeoutMetrics.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

class Loop;

class H2Connection final : public H2Carrier, private SocketIo::Owner {
 public:
  /// Told once the connection has closed and nothing is in flight: it may be destroyed.
  class Owner {
   public:
    virtual void connection_finished(H2Connection& connection) = 0;

   protected:
    ~Owner() = default;
  };

  H2Connection(Loop& loop, Owner& owner, Fd socket, l7::H2Session::Role role,
               const l7::H2Limits& limits, l7::H2Session::Acceptor* acceptor = nullptr);
  /// Every stream still open is told the connection is gone.
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  /// Client role: connects to `target` within `timeout_ms`; requests submitted meanwhile are
  /// sent once it is up.
  void connect(const SockAddr& target, unsigned timeout_ms);
  /// Server role: `received` are the bytes already read from the socket (protocol detection).
  void start(std::span<const uint8_t> received);

  l7::H2Session& session() override { return session_; }
  /// Whether a new request may go out on it (client role).
  bool accepts_requests() const { return !closing_ && session_.accepts_requests(); }
  void touch() override;
  /// flush(), then tells the owner once the connection is finished (which may destroy it).
  void flush_pending() override;
  /// Sends what the session has queued; closes once the session has nothing left to do.
  void flush();
  /// Server role, the agent draining: GOAWAY in two steps, then it closes once its streams are
  /// done; at End what is still open is cut.
  void drain(DrainStep step);
  bool finished() const { return io_.closed() && io_.idle(); }
  /// Server role, the worker's tick: a client that opened no stream within
  /// `limits.request_header` of the connection's start, or has had none open for
  /// `limits.http_idle`, is sent GOAWAY and the connection closes. Which limit ended it.
  std::optional<agent::Timeout> expire(Loop::Clock::time_point now, const TimeLimits& limits);
  Owner& owner() { return owner_; }

 private:
  // SocketIo::Owner.
  void on_connected(int res) override;
  void on_received(std::span<const uint8_t> bytes) override;
  void on_read_end(int res) override;
  void on_drained(int res) override;
  void after_io() override { touch(); }

  /// Feeds `bytes` to the session; after a protocol error it stops reading, and flush() sends
  /// the GOAWAY, then closes.
  void receive(std::span<const uint8_t> bytes);
  /// Stops all I/O; `error_code` closes the streams still open.
  void close(uint32_t error_code);

  Loop& loop_;
  Owner& owner_;
  l7::H2Session session_;
  SocketIo io_;
  bool connected_ = false;
  bool closing_ = false;  ///< protocol error: write what is queued, then close
  Loop::Clock::time_point started_;
  std::optional<Loop::Clock::time_point> quiet_since_;  ///< no stream open, as the tick saw it
};

}  // namespace weft::proxy
