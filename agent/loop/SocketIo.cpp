#include "agent/loop/SocketIo.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "agent/loop/Loop.hpp"

namespace weft::proxy {
namespace {

constexpr std::size_t kRecvBuffer = 64 * 1024;

}  // namespace

void SocketIo::Op::complete(int res, unsigned /*flags*/) {
  Owner& owner = io->owner_;
  (io->*handler)(res);
  owner.after_io();
}

SocketIo::SocketIo(Loop& loop, Owner& owner, Fd socket)
    : loop_(loop),
      owner_(owner),
      socket_(std::move(socket)),
      rbuf_(std::make_unique<uint8_t[]>(kRecvBuffer)) {
  for (auto [op, handler] :
       {std::pair{&connect_op_, &SocketIo::on_connect}, std::pair{&recv_op_, &SocketIo::on_recv},
        std::pair{&send_op_, &SocketIo::on_send}}) {
    op->io = this;
    op->handler = handler;
  }
  int one = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void SocketIo::connect(const SockAddr& target, unsigned timeout_ms) {
  target_len_ = target.to_sockaddr(target_);
  timeout_.tv_sec = timeout_ms / 1000;
  timeout_.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  Ring& ring = loop_.ring();
  ring.reserve(2);
  io_uring_sqe* sqe = ring.prepare(&connect_op_);
  io_uring_prep_connect(sqe, socket_.get(), reinterpret_cast<sockaddr*>(&target_), target_len_);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_prep_link_timeout(ring.prepare(nullptr), &timeout_, 0);
  ++inflight_;
}

void SocketIo::on_connect(int res) {
  --inflight_;
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
  reading_ = true;
  io_uring_prep_recv(loop_.ring().prepare(&recv_op_), socket_.get(), rbuf_.get(), kRecvBuffer, 0);
  ++inflight_;
}

void SocketIo::on_recv(int res) {
  --inflight_;
  reading_ = false;
  if (closed_) {
    return;
  }
  if (res > 0) {
    owner_.on_received({rbuf_.get(), static_cast<std::size_t>(res)});
  } else {
    owner_.on_read_end(res);
  }
}

void SocketIo::write(std::string_view bytes) {
  if (closed_ || bytes.empty()) {
    return;
  }
  queued_.insert(queued_.end(), bytes.begin(), bytes.end());
}

void SocketIo::flush() {
  if (!send_armed_ && !closed_ && !queued_.empty()) {
    arm_send();
  }
}

void SocketIo::arm_send() {
  if (sent_ == sending_.size()) {
    sending_.clear();
    sending_.swap(queued_);
    sent_ = 0;
  }
  send_armed_ = true;
  io_uring_prep_send(loop_.ring().prepare(&send_op_), socket_.get(), sending_.data() + sent_,
                     sending_.size() - sent_, MSG_NOSIGNAL);
  ++inflight_;
}

void SocketIo::on_send(int res) {
  --inflight_;
  send_armed_ = false;
  if (closed_) {
    return;
  }
  if (res < 0) {
    owner_.on_drained(false);
    return;
  }
  sent_ += static_cast<std::size_t>(res);
  if (sent_ < sending_.size()) {
    arm_send();
    return;
  }
  // What was written meanwhile waits for the owner's flush() of this turn (after_io touches
  // it), so that it leaves in one send with whatever this turn adds.
  if (queued_.empty()) {
    owner_.on_drained(true);
  }
}

void SocketIo::close(bool reset) {
  if (closed_) {
    return;
  }
  closed_ = true;
  if (reset) {
    linger lg{1, 0};
    ::setsockopt(socket_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  ::shutdown(socket_.get(), SHUT_RDWR);
  if (inflight_ > 0) {
    io_uring_prep_cancel_fd(loop_.ring().prepare(nullptr), socket_.get(), IORING_ASYNC_CANCEL_ALL);
  }
}

}  // namespace weft::proxy
