// One plaintext HTTP/2 connection on the worker's io_uring: an app's connection accepted on a
// pod's outbound listener (server role), or the agent's pooled connection to an endpoint
// (client role). The protocol is l7::H2Session's; this class only moves bytes.
#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <memory>
#include <span>
#include <vector>

#include "agent/proxy/H2Carrier.hpp"
#include "agent/proxy/Ring.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

class Worker;

class H2Connection final : public H2Carrier {
 public:
  /// Told once the connection has closed and nothing is in flight: it may be destroyed.
  class Owner {
   public:
    virtual void connection_finished(H2Connection& connection) = 0;

   protected:
    ~Owner() = default;
  };

  H2Connection(Worker& worker, Owner& owner, Fd socket, l7::H2Session::Role role,
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
  bool finished() const { return closed_ && inflight_ == 0; }
  Owner& owner() { return owner_; }

 private:
  struct IoOp final : Operation {
    H2Connection* connection = nullptr;
    void (H2Connection::*handler)(int) = nullptr;
    void complete(int res, unsigned flags) override;
  };

  void on_connected(int res);
  void arm_recv();
  void on_recv(int res);
  void arm_send();
  void on_send(int res);
  /// Stops all I/O; `error_code` closes the streams still open.
  void close(uint32_t error_code);

  Worker& worker_;
  Owner& owner_;
  Fd socket_;
  l7::H2Session session_;
  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  __kernel_timespec timeout_{};
  IoOp connect_op_;
  IoOp recv_op_;
  IoOp send_op_;
  std::unique_ptr<uint8_t[]> rbuf_;
  std::vector<uint8_t> sending_;  ///< in the kernel's hands (one send in flight)
  std::size_t sent_ = 0;
  std::vector<uint8_t> queued_;
  unsigned inflight_ = 0;
  bool connected_ = false;
  bool send_armed_ = false;
  bool closing_ = false;  ///< protocol error or peer EOF: write what is queued, then close
  bool closed_ = false;
};

}  // namespace weft::proxy
