#include "agent/loop/SocketIo.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>

#include "agent/loop/Loop.hpp"

namespace weft::proxy {

void SocketIo::Op::complete(int res, unsigned /*flags*/) {
  Owner& owner = io->owner_;
  (io->*handler)(res);
  owner.after_io();
}

SocketIo::SocketIo(Loop& loop, Owner& owner, Fd socket, ReadBuffer buffer)
    : loop_(loop), owner_(owner), socket_(std::move(socket)), sizing_(buffer) {
  for (auto [op, handler] :
       {std::pair{&connect_op_, &SocketIo::on_connect}, std::pair{&recv_op_, &SocketIo::on_recv},
        std::pair{&send_op_, &SocketIo::on_send}}) {
    op->io = this;
    op->handler = handler;
  }
  int one = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// CQE contract: the connect is linked to a timeout; when the timeout fires first the connect
// completes with -ECANCELED (the timeout's own CQE carries no operation and is ignored).
void SocketIo::connect(const SockAddr& target, unsigned timeout_ms) {
  socklen_t len = target.to_sockaddr(target_);
  timeout_.tv_sec = timeout_ms / 1000;
  timeout_.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  Ring& ring = loop_.ring();
  ring.reserve(2);
  io_uring_sqe* sqe = ring.prepare(&connect_op_);
  io_uring_prep_connect(sqe, socket_.get(), reinterpret_cast<sockaddr*>(&target_), len);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_prep_link_timeout(ring.prepare(nullptr), &timeout_, 0);
  connecting_ = true;
  ++inflight_;
}

void SocketIo::on_connect(int res) {
  --inflight_;
  connecting_ = false;
  if (!closed_) {
    int one = 1;
    ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    owner_.on_connected(res == -ECANCELED ? -ETIMEDOUT : res);
  }
}

void SocketIo::read() {
  if (reading_ || closed_) {
    return;
  }
  // The buffer is free: the owner is done with the last read's bytes.
  std::size_t cap = !rbuf_ ? sizing_.initial : rcap_;
  if (filled_) {
    cap = std::min(rcap_ * 2, sizing_.max);
  }
  if (cap != rcap_) {
    rcap_ = cap;
    rbuf_ = std::make_unique<uint8_t[]>(rcap_);
  }
  reading_ = true;
  io_uring_prep_recv(loop_.ring().prepare(&recv_op_), socket_.get(), rbuf_.get(), rcap_, 0);
  ++inflight_;
}

void SocketIo::on_recv(int res) {
  --inflight_;
  reading_ = false;
  if (closed_) {
    return;
  }
  if (res > 0) {
    filled_ = static_cast<std::size_t>(res) == rcap_;
    owner_.on_received({rbuf_.get(), static_cast<std::size_t>(res)});
  } else {
    owner_.on_read_end(res);
  }
}

void SocketIo::write(std::span<const uint8_t> bytes) {
  if (!closed_) {
    queued_.insert(queued_.end(), bytes.begin(), bytes.end());
  }
}

void SocketIo::send(std::span<const uint8_t> bytes) {
  if (closed_ || bytes.empty()) {
    return;
  }
  unsent_ = bytes;
  if (!connecting_) {
    arm_send();
  }
}

void SocketIo::flush() {
  if (send_armed_ || closed_ || connecting_) {
    return;
  }
  if (unsent_.empty() && !queued_.empty()) {
    sending_.clear();
    sending_.swap(queued_);
    unsent_ = sending_;
  }
  if (!unsent_.empty()) {
    arm_send();
  } else {
    maybe_fin();
  }
}

void SocketIo::arm_send() {
  send_armed_ = true;
  io_uring_prep_send(loop_.ring().prepare(&send_op_), socket_.get(), unsent_.data(), unsent_.size(),
                     MSG_NOSIGNAL);
  ++inflight_;
}

void SocketIo::on_send(int res) {
  --inflight_;
  send_armed_ = false;
  if (closed_) {
    return;
  }
  if (res < 0) {
    owner_.on_drained(res);
    return;
  }
  auto n = static_cast<std::size_t>(res);
  unsent_ = unsent_.subspan(n);
  owner_.on_sent(n);
  if (closed_) {
    return;
  }
  if (!unsent_.empty()) {
    arm_send();  // a short send: the peer is waiting for the rest first
    return;
  }
  // What was written meanwhile waits for the owner's flush() of this turn (after_io), so that
  // it leaves in one send with whatever this turn adds.
  if (queued_.empty()) {
    maybe_fin();
    owner_.on_drained(0);
  }
}

bool SocketIo::send_now() {
  if (send_armed_ || closed_ || !unsent_.empty()) {
    return false;
  }
  ssize_t n = ::send(socket_.get(), queued_.data(), queued_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  bool all = n == static_cast<ssize_t>(queued_.size());
  queued_.clear();
  return all;
}

void SocketIo::shutdown_write() {
  fin_pending_ = true;
  if (!send_armed_ && !connecting_ && backlog() == 0) {
    maybe_fin();
  }
}

void SocketIo::maybe_fin() {
  if (fin_pending_ && !closed_) {
    fin_pending_ = false;
    ::shutdown(socket_.get(), SHUT_WR);
  }
}

void SocketIo::close(Close how) {
  if (closed_) {
    return;
  }
  closed_ = true;
  if (how == Close::Reset) {
    // SO_LINGER {on, 0}: closing the socket sends RST instead of FIN, so a reset on one side
    // reaches the other as a reset, not as a clean end of stream.
    linger lg{1, 0};
    ::setsockopt(socket_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  } else {
    ::shutdown(socket_.get(), SHUT_RDWR);
  }
  if (inflight_ > 0) {
    io_uring_prep_cancel_fd(loop_.ring().prepare(nullptr), socket_.get(), IORING_ASYNC_CANCEL_ALL);
  }
}

}  // namespace weft::proxy
