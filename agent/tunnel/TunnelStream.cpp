#include "agent/tunnel/TunnelStream.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "agent/loop/Loop.hpp"
#include "agent/observe/FlowLog.hpp"
#include "agent/tunnel/TunnelSession.hpp"
#include "common/Log.hpp"

namespace weft::proxy {

TunnelStream::TunnelStream(TunnelSession& session, Side side, Fd local, FlowPlan plan,
                           std::vector<agent::FlowCounters> counters, SourceShare share,
                           std::optional<Redial> redial)
    : session_(session),
      plan_(std::move(plan)),
      share_(std::move(share)),
      counters_(std::move(counters)),
      io_(session.loop(), *this, std::move(local), SocketIo::kGrowing),
      to_peer_is_sent_(side == Side::Source),
      connected_(side == Side::Source),
      redial_(std::move(redial)),
      awaiting_answer_(redial_.has_value()),
      last_progress_(session.loop().now()) {}

void TunnelStream::on_headers(l7::Headers headers, bool end_stream) {
  if (to_peer_is_sent_) {
    status = l7::header_int(l7::find_header(headers, ":status"), 0);
    if (status / 100 == 2) {
      opened();
      if (std::exchange(awaiting_answer_, false)) {
        start_reading();
      }
    } else {
      log::debug("tunnel.stream_refused", "worker={} target={} status={}", session_.loop().index(),
                 plan_.target.str(), status);
      // 502/504: the peer agent could not connect to the app; 503: it could not serve it. A
      // 403 (policy) would be the same anywhere.
      if ((status == 502 || status == 503 || status == 504) && redial_elsewhere()) {
        return;
      }
      reset();  // refused (403: policy) or unreachable: the app sees a reset
      return;
    }
  }
  if (end_stream) {
    peer_finished();
  }
}

l7::BodyChunk TunnelStream::read_body(uint8_t* /*out*/, std::size_t max) {
  std::size_t avail = in_.size() - in_off_;
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
  const uint8_t* data = in_.data() + in_off_;
  out.insert(out.end(), data, data + length);
  in_off_ += length;
  last_progress_ = session_.loop().now();
  (to_peer_is_sent_ ? sent_ : received_) += length;
  for (auto& c : counters_) {
    (to_peer_is_sent_ ? c.sent : c.received)->Increment(static_cast<double>(length));
  }
  if (in_off_ == in_.size() && (!local_eof_ || ended_) && !aborted_ && !awaiting_answer_) {
    read_again();  // after end(): what the app sends is read and dropped until it closes
  }
}

void TunnelStream::connect(unsigned timeout_ms) {
  io_.connect(plan_.target, timeout_ms);
}

void TunnelStream::on_connected(int res) {
  connected_ = res == 0;
  connect_error_ = res < 0 ? -res : 0;
  session_.stream_connected(*this, res);
}

void TunnelStream::preload(std::span<const uint8_t> bytes) {
  preload_.assign(bytes.begin(), bytes.end());
  in_ = preload_;
  in_off_ = 0;
}

void TunnelStream::start_reading() {
  if (!local_eof_ && !aborted_ && !awaiting_answer_ && in_off_ == in_.size()) {
    read_again();
  }
}

void TunnelStream::read_again() {
  in_ = {};
  in_off_ = 0;
  preload_ = {};
  io_.read();
}

void TunnelStream::opened() {
  if (!counted_open_) {
    counted_open_ = true;
    opened_at_ = session_.loop().now();
    for (auto& c : counters_) {
      c.opened->Increment();
      c.open->Increment();
    }
  }
}

void TunnelStream::on_received(std::span<const uint8_t> bytes) {
  if (ended_) {
    io_.read();  // the peer was sent END_STREAM: nothing more goes there
    return;
  }
  in_ = bytes;
  in_off_ = 0;
  last_progress_ = session_.loop().now();
  resume_if_deferred();
}

void TunnelStream::resume_if_deferred() {
  if (deferred_ && id >= 0) {
    deferred_ = false;
    session_.h2().resume(id);
  }
}

void TunnelStream::on_read_end(int res) {
  if (res < 0) {
    reset();  // RST_STREAM to the peer, RST to the app
    return;
  }
  local_eof_ = true;
  resume_if_deferred();  // read_body reports the end of the stream
}

void TunnelStream::deliver(const uint8_t* data, std::size_t len) {
  if (ended_) {
    // The app was sent its FIN: what the peer had in flight is dropped (and its window given
    // back, so the peer's END_STREAM is never held behind it).
    if (id >= 0 && !h2_closed_) {
      session_.h2().consume(id, len);
    }
    return;
  }
  io_.write({data, len});
  last_progress_ = session_.loop().now();
  if (connected_ && !aborted_) {
    io_.flush();
  }
}

void TunnelStream::on_sent(std::size_t bytes) {
  last_progress_ = session_.loop().now();
  (to_peer_is_sent_ ? received_ : sent_) += bytes;
  for (auto& c : counters_) {
    (to_peer_is_sent_ ? c.received : c.sent)->Increment(static_cast<double>(bytes));
  }
  // Only bytes the app's socket took are acknowledged: the peer's window is our buffer.
  if (id >= 0 && !h2_closed_) {
    session_.h2().consume(id, bytes);
  }
}

void TunnelStream::on_drained(int res) {
  if (res < 0) {
    reset();
  }
}

void TunnelStream::after_io() {
  if (connected_ && !aborted_) {
    io_.flush();
  }
  session_.stream_touched(*this);
  session_.touch();
}

void TunnelStream::peer_finished() {
  io_.shutdown_write();  // FIN to the app once every byte of the peer's is written
}

void TunnelStream::h2_closed(uint32_t error_code) {
  h2_closed_ = true;
  session_.stream_touched(*this);
  // Closed before any answer: when the stream never left (REFUSED_STREAM) or carried nothing of
  // the app's (it is not read before the answer), no app saw any of it.
  bool unseen = error_code == NGHTTP2_REFUSED_STREAM || preload_.empty();
  if (error_code != NGHTTP2_NO_ERROR && !(unseen && redial_elsewhere())) {
    reset();
  }
}

void TunnelStream::reset(uint32_t error_code) {
  if (aborted_) {
    return;
  }
  aborted_ = true;
  session_.stream_touched(*this);
  if (!h2_closed_ && id >= 0) {
    session_.h2().reset(id, error_code);
  }
  io_.close(SocketIo::Close::Reset);  // the app sees the reset, not a clean end
}

bool TunnelStream::redial_elsewhere() {
  if (!redial_ || !awaiting_answer_ || aborted_ || !io_.idle()) {
    return false;
  }
  awaiting_answer_ = false;
  aborted_ = true;  // the socket is the next attempt's
  session_.stream_touched(*this);
  if (!h2_closed_ && id >= 0) {
    session_.h2().reset(id, NGHTTP2_CANCEL);
  }
  in_ = {};  // it pointed into preload_
  in_off_ = 0;
  handed_over_ = true;
  redial_->tried.push_back(plan_.target);
  if (session_.dial_ran_out() && !redial_->dialled_again) {
    redial_->dialled_again = redial_->dial_last_again = true;
  }
  session_.redialer().redial(std::move(*redial_), plan_.labels, io_.release(), std::move(share_),
                             std::move(preload_));
  return true;
}

void TunnelStream::end() {
  if (aborted_ || ended_ || h2_closed_) {
    return;
  }
  if (!connected_) {
    return reset();  // the app has seen nothing of the target yet
  }
  ended_ = true;
  if (!local_eof_) {
    local_eof_ = true;
    if (in_off_ == in_.size()) {
      io_.read();  // drains the app's input until it closes (no-op while a read is in flight)
    }
  }
  resume_if_deferred();  // read_body reports the end of the stream
  io_.shutdown_write();
  session_.stream_touched(*this);
}

bool TunnelStream::finished() const {
  if (!io_.idle()) {
    return false;
  }
  // Reset, or a clean end: the h2 stream closed both ways and every byte reached the app.
  return aborted_ || (h2_closed_ && io_.backlog() == 0);
}

bool TunnelStream::idle_since(std::chrono::steady_clock::time_point since) const {
  return connected_ && !aborted_ && !ended_ && !h2_closed_ && plan_.idle_timeout &&
         last_progress_ < since;
}

bool TunnelStream::stalled_since(std::chrono::steady_clock::time_point since) const {
  bool holding = in_off_ < in_.size() || io_.backlog() > 0;
  return connected_ && !aborted_ && holding && last_progress_ < since;
}

void TunnelStream::reset_stalled() {
  log::warn("flow.stalled", "worker={} target={} service={} held={} (reset)",
            session_.loop().index(), plan_.target.str(), plan_.labels.destination_service,
            (in_.size() - in_off_) + io_.backlog());
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
      c.open->Decrement();
    }
  }
  observe_end();
}

void TunnelStream::observe_end() {
  bool source = to_peer_is_sent_;
  if (handed_over_ || (!counted_open_ && source && status == 0 && !aborted_)) {
    return;  // another endpoint's connection is the one written; or ended before it began
  }
  session_.flows().add([&](agent::FlowRecord& r) {
    r.kind = agent::FlowKind::Connection;
    r.protocol.assign("TCP");
    r.set_flow(plan_.labels, plan_.client_ip, plan_.target);
    if (counted_open_) {
      r.sent = sent_;
      r.received = received_;
      r.seconds = std::chrono::duration<double>(session_.loop().now() - opened_at_).count();
    } else if (source && status == 403) {
      r.verdict = agent::FlowVerdict::Denied;
      r.reason.assign("403 from the destination's agent");
    } else {
      r.verdict = agent::FlowVerdict::Failed;
      if (connect_error_ != 0) {
        r.reason.assign("connect: ");
        r.reason.append(std::strerror(connect_error_));
      } else if (status != 0) {
        r.reason.assign("the peer agent answered ");
        r.reason.append(std::to_string(status));
      } else {
        r.reason.assign("the tunnel stream was reset before it opened");
      }
    }
  });
}

}  // namespace weft::proxy
