#include "agent/l4/Relay.hpp"

#include <cstring>

#include "common/Log.hpp"

namespace weft::proxy {

Relay::Side::Side(Relay& relay_, Fd socket, bool upstream_)
    : relay(relay_),
      io(relay_.loop_, *this, std::move(socket), SocketIo::kGrowing),
      upstream(upstream_) {}

Relay::Relay(Loop& loop, Owner& owner, Fd downstream, Fd upstream, FlowPlan plan,
             std::vector<agent::FlowCounters> counters, SourceShare share,
             std::optional<Redial> redial)
    : loop_(loop),
      owner_(owner),
      plan_(std::move(plan)),
      counters_(std::move(counters)),
      share_(std::move(share)),
      redial_(std::move(redial)),
      down_(*this, std::move(downstream), /*upstream=*/false),
      up_(*this, std::move(upstream), /*upstream=*/true) {
  down_.other = &up_;
  up_.other = &down_;
}

void Relay::preload(std::span<const uint8_t> bytes) {
  up_.io.write(bytes);  // leaves once connected, before anything read after it
  if (redial_) {
    preloaded_.assign(bytes.begin(), bytes.end());
  }
}

void Relay::start(unsigned timeout_ms) {
  up_.io.connect(plan_.target, timeout_ms);
}

void Relay::on_connected(int res) {
  if (res < 0) {
    connect_error_ = -res;
    log::warn("flow.connect_failed", "worker={} target={} service={} error=\"{}\"", loop_.index(),
              plan_.target.str(), plan_.labels.destination_service, std::strerror(-res));
    if (redial_) {
      // The app has seen nothing yet (its socket is read only once connected): another
      // endpoint gets it. This relay only closes its upstream socket.
      aborted_ = true;
      handed_over_ = true;
      up_.io.close(SocketIo::Close::Reset);
      redial_->tried.push_back(plan_.target);
      owner_.redial(std::move(*redial_), plan_.labels, down_.io.release(), std::move(share_),
                    std::move(preloaded_));
      maybe_finish();
      return;
    }
    fail(-res, "connect");
    return;
  }
  connected_ = true;
  preloaded_ = {};
  last_progress_ = loop_.now();
  connected_at_ = last_progress_;
  for (auto& c : counters_) {
    c.opened->Increment();
    c.open->Increment();
  }
  log::debug("flow.open", "worker={} reporter={} src={}/{} dst={} service={}", loop_.index(),
             plan_.labels.reporter, plan_.labels.source.ns, plan_.labels.source.workload,
             plan_.target.str(), plan_.labels.destination_service);
  if (up_.io.backlog() > 0) {
    up_.io.flush();  // what protocol detection read goes first; downstream reads once it is out
  } else {
    down_.io.read();
  }
  up_.io.read();
}

void Relay::Side::on_received(std::span<const uint8_t> bytes) {
  if (relay.handing_over_) {
    // The client's bytes that won the race with stop_reading(): they go to the next endpoint.
    relay.preloaded_.insert(relay.preloaded_.end(), bytes.begin(), bytes.end());
    return;
  }
  relay.touched_ = relay.touched_ || upstream;
  relay.last_progress_ = relay.loop_.now();
  if (relay.ended_) {
    io.read();  // the other side was sent its FIN: nothing more goes there
    return;
  }
  other->io.send(bytes);
}

void Relay::Side::on_read_end(int res) {
  if (relay.handing_over_) {
    relay.handing_over_ = false;  // the client is gone too: nothing to hand over
    relay.abort();
    return;
  }
  if (upstream && res < 0 && relay.redial_unused()) {
    return;
  }
  if (res < 0) {
    relay.fail(-res, "recv");
    return;
  }
  // Half-close: this side's peer finished sending; pass the FIN on and keep the other
  // direction running until it ends too (RFC 9293 section 3.6).
  eof = true;
  if (!relay.ended_) {
    other->io.shutdown_write();
  }
}

void Relay::Side::on_sent(std::size_t bytes) {
  relay.touched_ = relay.touched_ || upstream;
  relay.last_progress_ = relay.loop_.now();
  (upstream ? relay.sent_ : relay.received_) += bytes;
  for (auto& c : relay.counters_) {
    (upstream ? c.sent : c.received)->Increment(static_cast<double>(bytes));
  }
}

void Relay::Side::on_drained(int res) {
  if (res < 0) {
    relay.fail(-res, "send");
    return;
  }
  other->io.read();  // its buffer is free again (and may grow)
}

void Relay::Side::after_io() {
  if (relay.handing_over_ && !upstream && io.idle()) {
    relay.hand_over();
  }
  relay.maybe_finish();
}

bool Relay::redial_unused() {
  if (!redial_ || !connected_ || touched_ || ended_ || aborted_ || down_.eof ||
      up_.io.backlog() > 0) {
    return false;
  }
  log::warn("flow.reset_unused", "worker={} target={} service={} (redialled: no byte had moved)",
            loop_.index(), plan_.target.str(), plan_.labels.destination_service);
  handing_over_ = true;
  up_.io.close(SocketIo::Close::Reset);
  down_.io.stop_reading();
  if (down_.io.idle()) {
    hand_over();
  }
  return true;
}

void Relay::hand_over() {
  handing_over_ = false;
  aborted_ = true;
  handed_over_ = true;
  redial_->tried.push_back(plan_.target);
  owner_.redial(std::move(*redial_), plan_.labels, down_.io.release(), std::move(share_),
                std::move(preloaded_));
}

void Relay::fail(int err, const char* where) {
  if (connected_ && err != ECONNRESET && err != EPIPE) {
    log::debug("flow.error", "worker={} target={} op={} error=\"{}\"", loop_.index(),
               plan_.target.str(), where, std::strerror(err));
  }
  abort();
}

void Relay::abort() {
  if (!aborted_) {
    aborted_ = true;
    down_.io.close(SocketIo::Close::Reset);
    up_.io.close(SocketIo::Close::Reset);
  }
  maybe_finish();
}

void Relay::end() {
  if (aborted_ || ended_ || handing_over_) {
    return;
  }
  if (!connected_) {
    return abort();  // the app has seen nothing of the target yet
  }
  ended_ = true;
  for (Side* side : {&down_, &up_}) {
    if (!side->other->eof) {
      side->io.shutdown_write();
    }
    // A side whose last read is still being sent reads again when that send drains.
    if (!side->eof && side->other->io.backlog() == 0) {
      side->io.read();  // no-op while a read is in flight
    }
  }
  maybe_finish();
}

bool Relay::idle_since(std::chrono::steady_clock::time_point since) const {
  return connected_ && !aborted_ && !ended_ && plan_.idle_timeout && last_progress_ < since;
}

bool Relay::stalled_since(std::chrono::steady_clock::time_point since) const {
  bool holding = down_.io.backlog() > 0 || up_.io.backlog() > 0;
  return connected_ && !aborted_ && holding && last_progress_ < since;
}

void Relay::reset_stalled() {
  log::warn("flow.stalled", "worker={} target={} service={} held={} (reset)", loop_.index(),
            plan_.target.str(), plan_.labels.destination_service,
            down_.io.backlog() + up_.io.backlog());
  for (auto& c : counters_) {
    c.stalled->Increment();
  }
  abort();
}

void Relay::maybe_finish() {
  if (!down_.io.idle() || !up_.io.idle() || retired) {
    return;
  }
  if (!aborted_ && !(down_.eof && up_.eof)) {
    return;
  }
  if (connected_) {
    for (auto& c : counters_) {
      c.closed->Increment();
      c.open->Decrement();
    }
  }
  observe_end();
  loop_.retire(*this);
}

void Relay::observe_end() {
  if (handed_over_ || (!connected_ && connect_error_ == 0)) {
    return;  // the next endpoint's connection is the one written; or torn down unstarted
  }
  owner_.flows().add([this](agent::FlowRecord& r) {
    r.kind = agent::FlowKind::Connection;
    r.protocol.assign("TCP");
    r.set_flow(plan_.labels, plan_.client_ip ? plan_.client_ip : client_, plan_.target);
    if (connected_) {
      r.sent = sent_;
      r.received = received_;
      r.seconds = std::chrono::duration<double>(loop_.now() - connected_at_).count();
    } else {
      r.verdict = agent::FlowVerdict::Failed;
      r.reason.assign("connect: ");
      r.reason.append(std::strerror(connect_error_));
    }
  });
}

void Relay::erase_now() {
  owner_.relay_finished(*this);
}

}  // namespace weft::proxy
