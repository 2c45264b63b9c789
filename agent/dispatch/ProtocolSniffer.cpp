#include "agent/dispatch/ProtocolSniffer.hpp"

#include <sys/socket.h>

#include "agent/dispatch/Dispatcher.hpp"

namespace weft::proxy {

void ProtocolSniffer::RecvOp::complete(int res, unsigned /*flags*/) {
  sniffer->on_recv(res);
}

ProtocolSniffer::ProtocolSniffer(Dispatcher& dispatcher,
                                 std::shared_ptr<const agent::MeshedPod> pod_, Fd downstream_,
                                 SockAddr original_destination_, unsigned timeout_ms)
    : pod(std::move(pod_)),
      downstream(std::move(downstream_)),
      original_destination(original_destination_),
      dispatcher_(dispatcher),
      deadline_(Clock::now() + std::chrono::milliseconds(timeout_ms)) {
  recv_op_.sniffer = this;
}

void ProtocolSniffer::start() {
  buffer_.resize(l7::kMaxDetectionBytes);
  arm_recv();
}

void ProtocolSniffer::erase_now() {
  dispatcher_.sniffer_finished(*this);
}

void ProtocolSniffer::decide(l7::Protocol protocol) {
  buffer_.resize(used_);
  received = std::move(buffer_);
  dispatcher_.detected(*this, protocol);
}

void ProtocolSniffer::time_up() {
  if (used_ == 0) {
    decide(l7::Protocol::Opaque);  // says nothing in time: a server-speaks-first protocol
    return;
  }
  // What came so far fits an HTTP request and the rest is late: a slow HTTP client (or a
  // slowloris), whom the HTTP path's request-header limit ends.
  std::string_view prefix(reinterpret_cast<const char*>(buffer_.data()), used_);
  decide(prefix.starts_with("PRI ") ? l7::Protocol::Http2 : l7::Protocol::Http1);
}

// CQE contract: the recv is linked to a timeout for what is left of the detection window; when
// the timeout fires first the recv completes with -ECANCELED (the timeout's own CQE is ignored).
void ProtocolSniffer::arm_recv() {
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_ - Clock::now());
  if (left.count() <= 0) {
    time_up();
    return;
  }
  timeout_.tv_sec = left.count() / 1000000000;
  timeout_.tv_nsec = left.count() % 1000000000;
  Ring& ring = dispatcher_.loop().ring();
  ring.reserve(2);
  io_uring_sqe* sqe = ring.prepare(&recv_op_);
  io_uring_prep_recv(sqe, downstream.get(), buffer_.data() + used_, buffer_.size() - used_, 0);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_prep_link_timeout(ring.prepare(nullptr), &timeout_, 0);
}

void ProtocolSniffer::on_recv(int res) {
  if (res == -ECANCELED) {
    time_up();
    return;
  }
  if (res == 0) {
    decide(l7::Protocol::Opaque);  // closed at once: carried as TCP with whatever it sent
    return;
  }
  if (res < 0) {
    decide(l7::Protocol::Undecided);  // the connection failed: the worker drops it
    return;
  }
  used_ += static_cast<std::size_t>(res);
  l7::Protocol p = l7::detect_protocol({buffer_.data(), used_});
  if (p == l7::Protocol::Undecided && used_ < buffer_.size()) {
    arm_recv();
    return;
  }
  decide(p == l7::Protocol::Undecided ? l7::Protocol::Opaque : p);
}

}  // namespace weft::proxy
