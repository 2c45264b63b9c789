// One TCP socket's I/O on the worker's io_uring for a protocol that reads into its own parser
// and writes byte strings (HTTP/1.1, plaintext HTTP/2): connect with a timeout, one recv at a
// time, writes gathered until the owner flushes and queued behind the one send in flight.
#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "agent/loop/Ring.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

class Loop;

class SocketIo {
 public:
  class Owner {
   public:
    /// connect() finished: 0, or -errno (-ETIMEDOUT after the timeout).
    virtual void on_connected(int res) = 0;
    /// read() brought bytes (valid until the next read()).
    virtual void on_received(std::span<const uint8_t> bytes) = 0;
    /// read() found the end of the stream (0) or an error (-errno).
    virtual void on_read_end(int res) = 0;
    /// Everything written so far has been sent (or the socket failed: `ok` false).
    virtual void on_drained(bool ok) = 0;
    /// Called after every completion, also those that arrive after close() (then only this):
    /// the owner touches itself, and its flush() in that turn sends what was written while a
    /// send was in flight.
    virtual void after_io() = 0;

   protected:
    ~Owner() = default;
  };

  SocketIo(Loop& loop, Owner& owner, Fd socket);
  SocketIo(const SocketIo&) = delete;
  SocketIo& operator=(const SocketIo&) = delete;

  void connect(const SockAddr& target, unsigned timeout_ms);
  /// Arms a recv unless one is in flight.
  void read();
  /// Queues `bytes` behind what is being sent; nothing leaves before flush().
  void write(std::string_view bytes);
  /// The bytes queued and not yet handed to the kernel, for an owner that produces its output
  /// in place (appends only; nothing leaves before flush()).
  std::vector<uint8_t>& queue() { return queued_; }
  /// Sends what write() queued unless a send is in flight (then the owner's flush after its
  /// completion sends it). Owners flush once per turn of the worker, so that a response head
  /// and its body, written separately, leave in one send and wake the peer once.
  void flush();
  /// Bytes written and not yet sent.
  std::size_t backlog() const { return sending_.size() - sent_ + queued_.size(); }
  /// Stops all I/O: shuts the socket down (with RST when `reset`); in-flight requests complete
  /// with errors and the owner hears nothing more.
  void close(bool reset);
  bool closed() const { return closed_; }
  /// Nothing in flight: the object may be destroyed or the socket handed on.
  bool idle() const { return inflight_ == 0; }
  /// Hands the socket on (only when idle).
  Fd release() { return std::move(socket_); }

 private:
  struct Op final : Operation {
    SocketIo* io = nullptr;
    void (SocketIo::*handler)(int) = nullptr;
    void complete(int res, unsigned flags) override;
  };

  void on_connect(int res);
  void on_recv(int res);
  void on_send(int res);
  void arm_send();

  Loop& loop_;
  Owner& owner_;
  Fd socket_;
  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  __kernel_timespec timeout_{};
  Op connect_op_;
  Op recv_op_;
  Op send_op_;
  std::unique_ptr<uint8_t[]> rbuf_;
  std::vector<uint8_t> sending_;
  std::size_t sent_ = 0;
  std::vector<uint8_t> queued_;
  unsigned inflight_ = 0;
  bool reading_ = false;
  bool send_armed_ = false;
  bool closed_ = false;
};

}  // namespace weft::proxy
