#include "agent/tunnel/TunnelStream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "agent/loop/Loop.hpp"
#include "agent/loop/ReadSizing.hpp"
#include "agent/tunnel/TunnelSession.hpp"
#include "common/Log.hpp"

namespace weft::proxy {
void TunnelStream::Op::complete(int res, unsigned /*flags*/) {
  TunnelSession& session = stream->session_;
  (stream->*handler)(res);
  session.stream_touched(*stream);
  session.after_event();  // may erase the stream
}

TunnelStream::TunnelStream(TunnelSession& session, Side side, Fd local, FlowPlan plan,
                           std::vector<agent::FlowCounters> counters)
    : session_(session),
      local_(std::move(local)),
      plan_(std::move(plan)),
      counters_(std::move(counters)),
      to_peer_is_sent_(side == Side::Source),
      connected_(side == Side::Source) {
  for (auto [op, handler] :
       {std::pair{&recv_op_, &TunnelStream::on_recv}, std::pair{&send_op_, &TunnelStream::on_send},
        std::pair{&connect_op_, &TunnelStream::on_connect}}) {
    op->stream = this;
    op->handler = handler;
  }
  last_progress_ = session_.loop().ring().now();
}

void TunnelStream::on_headers(l7::Headers headers, bool end_stream) {
  if (to_peer_is_sent_) {
    const std::string* code = l7::find_header(headers, ":status");
    if (code != nullptr) {
      std::from_chars(code->data(), code->data() + code->size(), status);
    }
    if (status / 100 == 2) {
      opened();
    } else {
      log::debug("tunnel.stream_refused", "worker={} target={} status={}", session_.loop().index(),
                 plan_.target.str(), status);
      reset();  // refused (403: policy) or unreachable: the app sees a reset
      return;
    }
  }
  if (end_stream) {
    peer_finished();
  }
}

l7::BodyChunk TunnelStream::read_body(uint8_t* /*out*/, std::size_t max) {
  std::size_t avail = in_len_ - in_off_;
  if (avail == 0) {
    if (local_eof_) {
      return {0, l7::BodyChunk::State::End};
    }
    deferred_ = true;
    return {0, l7::BodyChunk::State::Deferred};
  }
  return {std::min(avail, max), l7::BodyChunk::State::More, /*no_copy=*/true};
}

void TunnelStream::take_payload(std::size_t length, std::vector<uint8_t>& out) {
  // uint8_t, not char: the same element type lets insert() be one memcpy.
  const auto* data = reinterpret_cast<const uint8_t*>(in_.get()) + in_off_;
  out.insert(out.end(), data, data + length);
  in_off_ += length;
  last_progress_ = session_.loop().ring().now();
  for (auto& c : counters_) {
    (to_peer_is_sent_ ? c.sent : c.received)->Increment(static_cast<double>(length));
  }
  if (in_off_ == in_len_ && !local_eof_ && !aborted_) {
    arm_recv();
  }
}

void TunnelStream::connect(unsigned timeout_ms) {
  target_len_ = plan_.target.to_sockaddr(target_);
  timeout_.tv_sec = timeout_ms / 1000;
  timeout_.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  Ring& ring = session_.loop().ring();
  ring.reserve(2);
  io_uring_sqe* sqe = ring.prepare(&connect_op_);
  io_uring_prep_connect(sqe, local_.get(), reinterpret_cast<sockaddr*>(&target_), target_len_);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_prep_link_timeout(ring.prepare(nullptr), &timeout_, 0);
  ++inflight_;
}

void TunnelStream::on_connect(int res) {
  --inflight_;
  if (res == 0) {
    connected_ = true;
    int one = 1;
    ::setsockopt(local_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  session_.stream_connected(*this, res == -ECANCELED ? -ETIMEDOUT : res);
  if (connected_ && !aborted_ && !queued_.empty()) {
    arm_send();
  }
}

void TunnelStream::preload(std::span<const uint8_t> bytes) {
  if (bytes.empty()) {
    return;
  }
  in_cap_ = std::max(kInitialReadBuffer, bytes.size());
  in_ = std::make_unique<char[]>(in_cap_);
  std::memcpy(in_.get(), bytes.data(), bytes.size());
  in_len_ = bytes.size();
  in_off_ = 0;
}

void TunnelStream::start_reading() {
  // Preloaded bytes are framed first; take_payload reads again once they are used up.
  if (!reading_ && !local_eof_ && !aborted_ && in_off_ == in_len_) {
    arm_recv();
  }
}

void TunnelStream::opened() {
  if (!counted_open_) {
    counted_open_ = true;
    for (auto& c : counters_) {
      c.opened->Increment();
    }
  }
}

void TunnelStream::arm_recv() {
  // Called once the last read is framed: the buffer is free to grow.
  if (std::size_t cap = in_ ? next_read_buffer(in_cap_, in_len_) : kInitialReadBuffer;
      cap != in_cap_) {
    in_cap_ = cap;
    in_ = std::make_unique<char[]>(in_cap_);
  }
  reading_ = true;
  in_len_ = in_off_ = 0;
  io_uring_prep_recv(session_.loop().ring().prepare(&recv_op_), local_.get(), in_.get(), in_cap_,
                     0);
  ++inflight_;
}

void TunnelStream::on_recv(int res) {
  --inflight_;
  reading_ = false;
  if (aborted_) {
    return;
  }
  if (res < 0) {
    local_failed(-res);
    return;
  }
  if (res == 0) {
    local_eof_ = true;
  } else {
    in_len_ = static_cast<std::size_t>(res);
    last_progress_ = session_.loop().ring().now();
  }
  if (deferred_ && id >= 0) {
    deferred_ = false;
    session_.h2().resume(id);
  }
}

void TunnelStream::deliver(const uint8_t* data, std::size_t len) {
  queued_.insert(queued_.end(), data, data + len);
  last_progress_ = session_.loop().ring().now();
  if (connected_ && !send_armed_ && !aborted_) {
    arm_send();
  }
}

void TunnelStream::arm_send() {
  if (sending_.empty()) {
    sending_.swap(queued_);
    sent_ = 0;
  }
  send_armed_ = true;
  io_uring_prep_send(session_.loop().ring().prepare(&send_op_), local_.get(),
                     sending_.data() + sent_, sending_.size() - sent_, MSG_NOSIGNAL);
  ++inflight_;
}

void TunnelStream::on_send(int res) {
  --inflight_;
  send_armed_ = false;
  if (aborted_) {
    return;
  }
  if (res < 0) {
    local_failed(-res);
    return;
  }
  auto n = static_cast<std::size_t>(res);
  sent_ += n;
  last_progress_ = session_.loop().ring().now();
  for (auto& c : counters_) {
    (to_peer_is_sent_ ? c.received : c.sent)->Increment(static_cast<double>(n));
  }
  // Only bytes the app's socket took are acknowledged: the peer's window is our buffer.
  if (id >= 0 && !h2_closed_) {
    session_.h2().consume(id, n);
  }
  if (sent_ == sending_.size()) {
    sending_.clear();
    sent_ = 0;
  }
  if (!sending_.empty() || !queued_.empty()) {
    arm_send();
  } else if (peer_eof_ && !fin_sent_) {
    fin_sent_ = true;
    ::shutdown(local_.get(), SHUT_WR);
  }
}

void TunnelStream::peer_finished() {
  peer_eof_ = true;
  if (connected_ && !send_armed_ && queued_.empty() && sending_.empty() && !fin_sent_) {
    fin_sent_ = true;
    ::shutdown(local_.get(), SHUT_WR);
  }
}

void TunnelStream::h2_closed(uint32_t error_code) {
  h2_closed_ = true;
  session_.stream_touched(*this);
  if (error_code != NGHTTP2_NO_ERROR) {
    reset();
  }
}

void TunnelStream::local_failed(int /*err*/) {
  reset();  // RST_STREAM to the peer, RST to the app
}

void TunnelStream::reset() {
  if (aborted_) {
    return;
  }
  aborted_ = true;
  session_.stream_touched(*this);
  if (!h2_closed_ && id >= 0) {
    session_.h2().reset(id, NGHTTP2_CANCEL);
  }
  // SO_LINGER {on, 0}: close() sends RST, so the app sees the reset, not a clean end.
  linger lg{1, 0};
  ::setsockopt(local_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  if (inflight_ > 0) {
    io_uring_prep_cancel_fd(session_.loop().ring().prepare(nullptr), local_.get(),
                            IORING_ASYNC_CANCEL_ALL);
  }
}

bool TunnelStream::finished() const {
  if (inflight_ != 0) {
    return false;
  }
  if (aborted_) {
    return true;
  }
  // Clean end: the h2 stream closed both ways and every byte reached the local socket.
  return h2_closed_ && sending_.empty() && queued_.empty();
}

bool TunnelStream::stalled_since(std::chrono::steady_clock::time_point since) const {
  bool holding = in_off_ < in_len_ || sent_ < sending_.size() || !queued_.empty();
  return connected_ && !aborted_ && holding && last_progress_ < since;
}

void TunnelStream::reset_stalled() {
  log::warn("flow.stalled", "worker={} target={} service={} held={} (reset)",
            session_.loop().index(), plan_.target.str(), plan_.labels.destination_service,
            (in_len_ - in_off_) + (sending_.size() - sent_) + queued_.size());
  for (auto& c : counters_) {
    c.stalled->Increment();
  }
  reset();
}

TunnelStream::~TunnelStream() {
  if (!h2_closed_ && id >= 0) {
    session_.h2().detach(id);
  }
  if (counted_open_) {
    for (auto& c : counters_) {
      c.closed->Increment();
    }
  }
}

}  // namespace weft::proxy
