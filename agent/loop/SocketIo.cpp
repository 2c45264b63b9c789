#include "agent/loop/SocketIo.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <utility>

#include "agent/loop/Loop.hpp"

namespace weft::proxy {

void SocketIo::Op::complete(int res, unsigned flags) {
  Owner& owner = io->owner_;
  (io->*handler)(res, flags);
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

SocketIo::~SocketIo() {
  give_back();
}

// CQE contract: the connect is linked to a timeout; when the timeout fires first the connect
// completes with -ECANCELED (the timeout's own CQE carries no operation and is ignored).
void SocketIo::connect(const SockAddr& target, unsigned timeout_ms, unsigned fresh_syn_every_ms) {
  target_len_ = target.to_sockaddr(target_);
  connect_deadline_ = loop_.now() + std::chrono::milliseconds(timeout_ms);
  fresh_syn_every_ = std::chrono::milliseconds(fresh_syn_every_ms);
  connecting_ = true;
  submit_connect();
}

void SocketIo::submit_connect() {
  using std::chrono::milliseconds;
  milliseconds left =
      std::max(milliseconds(1), std::chrono::ceil<milliseconds>(connect_deadline_ - loop_.now()));
  // The last SYN leaves kLastSynLead before the limit, so that a peer back in the last interval
  // is still seen (an in-cluster round trip is well below it).
  constexpr milliseconds kLastSynLead(50);
  milliseconds attempt =
      fresh_syn_every_.count() > 0 && left > kLastSynLead
          ? std::min(fresh_syn_every_, std::max(kLastSynLead, left - kLastSynLead))
          : left;
  timeout_.tv_sec = attempt.count() / 1000;
  timeout_.tv_nsec = (attempt.count() % 1000) * 1000000;
  Ring& ring = loop_.ring();
  ring.reserve(2);
  io_uring_sqe* sqe = ring.prepare(&connect_op_);
  io_uring_prep_connect(sqe, socket_.get(), reinterpret_cast<sockaddr*>(&target_), target_len_);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_prep_link_timeout(ring.prepare(nullptr), &timeout_, 0);
  ++inflight_;
}

void SocketIo::on_connect(int res, unsigned /*flags*/) {
  --inflight_;
  if (!closed_ && res == -ECANCELED && fresh_syn_every_.count() > 0 &&
      connect_deadline_ - loop_.now() >= std::chrono::milliseconds(1)) {
    // connect() with AF_UNSPEC takes the socket from SYN-SENT back to closed (tcp_disconnect),
    // so the next connect sends a new SYN instead of waiting for the kernel's retransmission.
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    if (::connect(socket_.get(), &unspec, sizeof(unspec)) == 0) {
      submit_connect();
      return;
    }
  }
  connecting_ = false;
  if (!closed_) {
    int one = 1;
    ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (res == -ECANCELED) {
      loop_.timed_out(agent::Timeout::Connect);
      res = -ETIMEDOUT;
    }
    owner_.on_connected(res);
  }
}

// CQE contract: a recv with IOSQE_BUFFER_SELECT completes with IORING_CQE_F_BUFFER and the
// buffer's id whenever the kernel took one of the pool's buffers (also for 0 and errors: it is
// given back at once), and with -ENOBUFS when none was free.
void SocketIo::read() {
  if (reading_ || closed_) {
    return;
  }
  give_back();  // the owner is done with the last read's bytes
  reading_ = true;
  ++inflight_;
  if (next_cap_ == 0) {
    rbuf_.reset();
    rcap_ = 0;
    RecvBuffers& pool = loop_.ring().recv_buffers();
    io_uring_sqe* sqe = loop_.ring().prepare(&recv_op_);
    io_uring_prep_recv(sqe, socket_.get(), nullptr, RecvBuffers::kSize, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = pool.group();
    return;
  }
  if (next_cap_ != rcap_) {
    rcap_ = next_cap_;
    rbuf_ = std::make_unique<uint8_t[]>(rcap_);
  }
  io_uring_prep_recv(loop_.ring().prepare(&recv_op_), socket_.get(), rbuf_.get(), rcap_, 0);
}

void SocketIo::stop_reading() {
  if (reading_ && !stopping_read_) {
    stopping_read_ = true;
    io_uring_prep_cancel(loop_.ring().prepare(nullptr), static_cast<Operation*>(&recv_op_), 0);
  }
}

void SocketIo::release_send_buffers() {
  if (unsent_.empty() && queued_.empty()) {
    sending_ = {};
    queued_ = {};
  }
}

void SocketIo::give_back() {
  if (lent_ >= 0) {
    loop_.ring().recv_buffers().give_back(static_cast<uint16_t>(std::exchange(lent_, -1)));
  }
}

void SocketIo::on_recv(int res, unsigned flags) {
  --inflight_;
  reading_ = false;
  if (std::exchange(stopping_read_, false) && (res == -ECANCELED || res == -ENOBUFS)) {
    return;  // stop_reading(): nothing came, nothing to say (the owner hears after_io)
  }
  bool pooled = (flags & IORING_CQE_F_BUFFER) != 0;
  if (pooled) {
    lent_ = static_cast<int>(flags >> IORING_CQE_BUFFER_SHIFT);
  }
  if (closed_ || res <= 0) {
    give_back();
  }
  if (closed_) {
    return;
  }
  if (res == -ENOBUFS) {
    // Every pool buffer holds bytes not yet passed on: this read takes a buffer of its own.
    next_cap_ = sizing_.initial;
    read();
    return;
  }
  if (res <= 0) {
    owner_.on_read_end(res);
    return;
  }
  auto n = static_cast<std::size_t>(res);
  std::size_t cap = pooled ? RecvBuffers::kSize : rcap_;
  if (n == cap) {
    next_cap_ = std::clamp(cap * 2, sizing_.initial, sizing_.max);  // a stream in full flow
  } else if (n < RecvBuffers::kSize) {
    next_cap_ = 0;  // small messages again (or the last of a transfer): back to the pool
  }
  owner_.on_received(pooled ? loop_.ring().recv_buffers().bytes(static_cast<uint16_t>(lent_), n)
                            : std::span<const uint8_t>(rbuf_.get(), n));
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

void SocketIo::on_send(int res, unsigned /*flags*/) {
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
