#include "agent/l4/Relay.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cstring>

#include "agent/loop/ReadSizing.hpp"
#include "common/Log.hpp"

namespace weft::proxy {
void Relay::DirectionOp::complete(int res, unsigned /*flags*/) {
  (dir->relay->*handler)(*dir, res);
}

void Relay::ConnectOp::complete(int res, unsigned /*flags*/) {
  relay->on_connected(res);
}

Relay::Relay(Loop& loop, Owner& owner, Fd downstream, Fd upstream, FlowPlan plan,
             std::vector<agent::FlowCounters> counters)
    : loop_(loop),
      owner_(owner),
      downstream_(std::move(downstream)),
      upstream_(std::move(upstream)),
      plan_(std::move(plan)),
      counters_(std::move(counters)) {
  connect_op_.relay = this;
  for (auto [d, from, to, to_upstream] :
       {std::tuple{&down_to_up_, downstream_.get(), upstream_.get(), true},
        std::tuple{&up_to_down_, upstream_.get(), downstream_.get(), false}}) {
    d->relay = this;
    d->from = from;
    d->to = to;
    d->to_upstream = to_upstream;
    d->recv_op.dir = d;
    d->recv_op.handler = &Relay::on_recv;
    d->send_op.dir = d;
    d->send_op.handler = &Relay::on_send;
  }
}

void Relay::preload(std::span<const uint8_t> bytes) {
  if (bytes.empty()) {
    return;
  }
  Direction& d = down_to_up_;
  d.cap = std::max(kInitialReadBuffer, bytes.size());
  d.buf = std::make_unique<char[]>(d.cap);
  std::memcpy(d.buf.get(), bytes.data(), bytes.size());
  d.len = bytes.size();
  d.off = 0;
}

void Relay::start(unsigned timeout_ms) {
  target_len_ = plan_.target.to_sockaddr(target_);
  connect_timeout_.tv_sec = timeout_ms / 1000;
  connect_timeout_.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  Ring& ring = loop_.ring();
  ring.reserve(2);
  io_uring_sqe* sqe = ring.prepare(&connect_op_);
  io_uring_prep_connect(sqe, upstream_.get(), reinterpret_cast<sockaddr*>(&target_), target_len_);
  sqe->flags |= IOSQE_IO_LINK;
  // The linked timeout cancels the connect (-ECANCELED) when it fires; its own CQE carries no
  // operation and is ignored.
  io_uring_prep_link_timeout(ring.prepare(nullptr), &connect_timeout_, 0);
  ++inflight_;
}

void Relay::on_connected(int res) {
  --inflight_;
  if (res < 0) {
    int err = res == -ECANCELED ? ETIMEDOUT : -res;
    log::warn("flow.connect_failed", "worker={} target={} service={} error=\"{}\"", loop_.index(),
              plan_.target.str(), plan_.labels.destination_service, std::strerror(err));
    fail(err, "connect");
    return;
  }
  connected_ = true;
  last_progress_ = loop_.ring().now();
  for (auto& c : counters_) {
    c.opened->Increment();
  }
  int one = 1;
  ::setsockopt(upstream_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  log::debug("flow.open", "worker={} reporter={} src={}/{} dst={} service={}", loop_.index(),
             plan_.labels.reporter, plan_.labels.source.ns, plan_.labels.source.workload,
             plan_.target.str(), plan_.labels.destination_service);
  if (down_to_up_.len > 0) {
    arm_send(down_to_up_);  // what protocol detection read goes first
  } else {
    arm_recv(down_to_up_);
  }
  arm_recv(up_to_down_);
}

void Relay::arm_recv(Direction& d) {
  if (!d.buf) {
    d.cap = kInitialReadBuffer;
    d.buf = std::make_unique<char[]>(d.cap);
  }
  io_uring_sqe* sqe = loop_.ring().prepare(&d.recv_op);
  io_uring_prep_recv(sqe, d.from, d.buf.get(), d.cap, 0);
  ++inflight_;
}

void Relay::on_recv(Direction& d, int res) {
  --inflight_;
  if (aborted_) {
    maybe_finish();
    return;
  }
  if (res < 0) {
    fail(-res, "recv");
    return;
  }
  if (res == 0) {
    // Half-close: the reading side finished sending; pass the FIN on and keep the other
    // direction running until it ends too (RFC 9293 section 3.6).
    d.eof = true;
    ::shutdown(d.to, SHUT_WR);
    maybe_finish();
    return;
  }
  d.len = static_cast<std::size_t>(res);
  d.off = 0;
  last_progress_ = loop_.ring().now();
  arm_send(d);
}

void Relay::arm_send(Direction& d) {
  io_uring_sqe* sqe = loop_.ring().prepare(&d.send_op);
  io_uring_prep_send(sqe, d.to, d.buf.get() + d.off, d.len - d.off, MSG_NOSIGNAL);
  ++inflight_;
}

void Relay::on_send(Direction& d, int res) {
  --inflight_;
  if (aborted_) {
    maybe_finish();
    return;
  }
  if (res < 0) {
    fail(-res, "send");
    return;
  }
  auto sent = static_cast<std::size_t>(res);
  last_progress_ = loop_.ring().now();
  for (auto& c : counters_) {
    (d.to_upstream ? c.sent : c.received)->Increment(static_cast<double>(sent));
  }
  d.off += sent;
  if (d.off < d.len) {
    arm_send(d);  // short send: the rest of the buffer first
    return;
  }
  if (auto cap = next_read_buffer(d.cap, d.len); cap != d.cap) {
    d.cap = cap;
    d.buf = std::make_unique<char[]>(d.cap);
  }
  arm_recv(d);
}

void Relay::fail(int err, const char* where) {
  if (connected_ && err != ECONNRESET && err != EPIPE) {
    log::debug("flow.error", "worker={} target={} op={} error=\"{}\"", loop_.index(),
               plan_.target.str(), where, std::strerror(err));
  }
  abort();
}

void Relay::abort() {
  if (aborted_) {
    maybe_finish();
    return;
  }
  aborted_ = true;
  // SO_LINGER {on, 0} makes close() send RST instead of FIN, so a reset on one side reaches the
  // other as a reset, not as a clean end of stream.
  linger lg{1, 0};
  for (int fd : {downstream_.get(), upstream_.get()}) {
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    io_uring_sqe* sqe = loop_.ring().prepare(nullptr);
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  }
  maybe_finish();
}

bool Relay::stalled_since(std::chrono::steady_clock::time_point since) const {
  bool holding = down_to_up_.off < down_to_up_.len || up_to_down_.off < up_to_down_.len;
  return connected_ && !aborted_ && holding && last_progress_ < since;
}

void Relay::reset_stalled() {
  log::warn("flow.stalled", "worker={} target={} service={} held={} (reset)", loop_.index(),
            plan_.target.str(), plan_.labels.destination_service,
            (down_to_up_.len - down_to_up_.off) + (up_to_down_.len - up_to_down_.off));
  for (auto& c : counters_) {
    c.stalled->Increment();
  }
  abort();
}

void Relay::maybe_finish() {
  if (inflight_ != 0) {
    return;
  }
  if (!aborted_ && !(down_to_up_.eof && up_to_down_.eof)) {
    return;
  }
  if (connected_) {
    for (auto& c : counters_) {
      c.closed->Increment();
    }
  }
  if (!retired) {
    loop_.retire(*this);
  }
}

void Relay::erase_now() {
  owner_.relay_finished(*this);
}

}  // namespace weft::proxy
