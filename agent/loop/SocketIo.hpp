// One TCP socket's I/O on the worker's io_uring, the one implementation for connections: relays,
// tunnel sessions and streams, and HTTP connections all read and write through it (the
// listeners' accepts and protocol detection's first reads are the dispatcher's). Connect with a
// timeout, one recv at a time (into a buffer of the worker's pool taken only when bytes arrive,
// or into the connection's own buffer that grows while reads fill it), writes gathered until
// the owner flushes (or a borrowed buffer sent without a copy) and queued behind the one send in
// flight, half-close, and a close that cancels what is in flight.
#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "agent/loop/RecvBuffers.hpp"
#include "agent/loop/Ring.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

class Loop;

class SocketIo {
 public:
  /// How much one recv takes once reads fill the pool's buffers (RecvBuffers::kSize): an own
  /// buffer of at least `initial` bytes, doubling after every read that filled it, up to `max`.
  /// A read that brings less than a pool buffer returns the connection to the pool, so a quiet
  /// connection holds no buffer while it waits.
  struct ReadBuffer {
    std::size_t initial;
    std::size_t max;
  };
  /// For a byte stream: most connections carry little, bulk transfers pay fewer syscalls per
  /// byte as the buffer grows.
  static constexpr ReadBuffer kGrowing{16 * 1024, 256 * 1024};
  /// For a protocol parsed as it arrives (HTTP): whatever came, up to 64 KiB at a time.
  static constexpr ReadBuffer kMessages{64 * 1024, 64 * 1024};

  enum class Close {
    Graceful,  ///< FIN now (shutdown), the peer reads the end of the stream
    Reset,     ///< RST when the socket is closed (SO_LINGER 0), nothing more is sent
  };

  class Owner {
   public:
    /// connect() finished: 0, or -errno (-ETIMEDOUT after the timeout).
    virtual void on_connected(int res) = 0;
    /// read() brought bytes, valid until the next read().
    virtual void on_received(std::span<const uint8_t> bytes) = 0;
    /// read() found the end of the stream (0) or an error (-errno).
    virtual void on_read_end(int res) = 0;
    /// A send handed `bytes` to the kernel.
    virtual void on_sent(std::size_t /*bytes*/) {}
    /// Everything written or sent so far is in the kernel's hands (0), or a send failed
    /// (-errno).
    virtual void on_drained(int res) = 0;
    /// Called after every completion, also those that arrive after close() (then only this):
    /// the owner flushes what it wrote meanwhile, and may finish.
    virtual void after_io() = 0;

   protected:
    ~Owner() = default;
  };

  /// Sets TCP_NODELAY: every proxied write is a whole message or a burst the peer waits for,
  /// and Nagle would hold its tail back until an ACK.
  SocketIo(Loop& loop, Owner& owner, Fd socket, ReadBuffer buffer);
  /// Gives the pool back the buffer of the last read.
  ~SocketIo();
  SocketIo(const SocketIo&) = delete;
  SocketIo& operator=(const SocketIo&) = delete;

  /// Nothing is sent before the connection is up. With `fresh_syn_every_ms`, a connect not
  /// answered within that long starts over with a new SYN (from a new port) until the timeout,
  /// the last one 50 ms before it:
  /// the kernel's own SYN retransmissions back off (1 s, then 2 s more), so a peer reachable
  /// again after the last of them is otherwise only seen by the next dial.
  void connect(const SockAddr& target, unsigned timeout_ms, unsigned fresh_syn_every_ms = 0);
  /// Arms a recv unless one is in flight; the bytes of the last on_received are gone.
  void read();
  /// Cancels the recv in flight, if any, before the socket is handed on (release()): its
  /// completion still comes, as on_received when bytes won the race, else silently; idle()
  /// says when it has.
  void stop_reading();
  /// Queues `bytes` behind what is being sent; nothing leaves before flush().
  void write(std::span<const uint8_t> bytes);
  void write(std::string_view bytes) {
    write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  }
  /// The bytes queued and not yet handed to the kernel, for an owner that produces its output
  /// in place (appends only; nothing leaves before flush()).
  std::vector<uint8_t>& queue() { return queued_; }
  /// Sends `bytes` without copying them: the caller keeps them unchanged until on_drained.
  /// Only when nothing is queued or in flight (backlog() == 0).
  void send(std::span<const uint8_t> bytes);
  /// Sends what write() queued unless a send is in flight or the socket is connecting (then the
  /// owner's flush after that completion sends it). Owners flush once per turn of the worker,
  /// so that a response head and its body, written separately, leave in one send.
  void flush();
  /// Sends what is queued at once, outside the ring, if no send is in flight: a last message
  /// before close(). Whether all of it went.
  bool send_now();
  /// Ends this side's stream (FIN) once everything written or sent is out.
  void shutdown_write();
  /// Memory held for reading: the connection's own buffer and the pool's buffer of the last
  /// read (0 for a connection that waits for bytes after small messages).
  std::size_t read_buffer_bytes() const { return rcap_ + (lent_ >= 0 ? RecvBuffers::kSize : 0); }
  /// Bytes written or sent and not yet in the kernel.
  std::size_t backlog() const { return unsent_.size() + queued_.size(); }
  /// Frees the send buffers (kept for their capacity while the connection is busy) when nothing
  /// is left to send: an idle connection holds no buffer.
  void release_send_buffers();
  /// Stops all I/O: in-flight requests complete with errors and the owner hears nothing more.
  void close(Close how);
  bool closed() const { return closed_; }
  /// Nothing in flight: the object may be destroyed or the socket handed on.
  bool idle() const { return inflight_ == 0; }
  int fd() const { return socket_.get(); }
  /// Hands the socket on (only when idle).
  Fd release() { return std::move(socket_); }

 private:
  struct Op final : Operation {
    SocketIo* io = nullptr;
    void (SocketIo::*handler)(int, unsigned) = nullptr;
    void complete(int res, unsigned flags) override;
  };

  /// One connect attempt, linked to a timeout: what is left of the connect's, or less (see
  /// connect()).
  void submit_connect();
  void on_connect(int res, unsigned flags);
  void on_recv(int res, unsigned flags);
  void on_send(int res, unsigned flags);
  /// Returns the pool's buffer of the last read, if it had one.
  void give_back();
  void arm_send();
  /// The FIN shutdown_write() asked for, once nothing is left to send.
  void maybe_fin();

  Loop& loop_;
  Owner& owner_;
  Fd socket_;
  ReadBuffer sizing_;
  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  __kernel_timespec timeout_{};
  std::chrono::steady_clock::time_point connect_deadline_;  ///< Loop::Clock
  std::chrono::milliseconds fresh_syn_every_{0};
  Op connect_op_;
  Op recv_op_;
  Op send_op_;
  std::unique_ptr<uint8_t[]> rbuf_;  ///< the connection's own buffer, while reads fill buffers
  std::size_t rcap_ = 0;
  std::size_t next_cap_ = 0;         ///< the own buffer the next recv takes; 0: one of the pool's
  int lent_ = -1;                    ///< the pool's buffer holding the last read's bytes
  std::span<const uint8_t> unsent_;  ///< what the send in flight (or a short one's rest) covers
  std::vector<uint8_t> sending_;     ///< owns unsent_ unless the bytes are borrowed (send())
  std::vector<uint8_t> queued_;
  unsigned inflight_ = 0;
  bool connecting_ = false;
  bool reading_ = false;
  bool stopping_read_ = false;  ///< stop_reading(): a cancelled recv is no end of stream
  bool send_armed_ = false;
  bool fin_pending_ = false;
  bool closed_ = false;
};

}  // namespace weft::proxy
