#include "agent/tap/TapHub.hpp"

#include <algorithm>

#include "common/Log.hpp"

namespace weft::agent {

std::deque<TapEvent> TapSession::take(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, wait, [this] { return !queue_.empty(); });
  std::deque<TapEvent> out;
  out.swap(queue_);
  delivered_ += out.size();
  return out;
}

TapHub::TapHub(std::string node, TapLimits limits, prometheus::Registry& registry)
    : node_(std::move(node)),
      limits_(std::move(limits)),
      global_(limits_.max_events_per_second, TokenBucket::Clock::now()),
      sessions_gauge_(prometheus::BuildGauge()
                          .Name("weft_tap_sessions")
                          .Help("Tap sessions open on this agent")
                          .Register(registry)
                          .Add({})),
      dropped_(prometheus::BuildCounter()
                   .Name("weft_tap_events_dropped_total")
                   .Help("Tapped requests a session did not get: over its max_rps "
                         "(session_rate), over the agent's tap rate (agent_rate), or with its "
                         "queue full (queue_full)")
                   .Register(registry)),
      dropped_session_rate_(dropped_.Add({{"reason", "session_rate"}})),
      dropped_agent_rate_(dropped_.Add({{"reason", "agent_rate"}})),
      dropped_queue_full_(dropped_.Add({{"reason", "queue_full"}})) {}

l7::Headers TapHub::redacted(const l7::Headers& head) const {
  l7::Headers out;
  out.reserve(head.size());
  for (const l7::Header& h : head) {
    bool secret =
        std::ranges::find(limits_.redacted_headers, h.name) != limits_.redacted_headers.end();
    out.push_back({h.name, secret ? std::string("REDACTED") : h.value});
  }
  return out;
}

std::unique_ptr<TapRequest> TapHub::begin(const l7::Headers& head) const {
  auto request = std::make_unique<TapRequest>();
  auto value = [&head](const char* name) {
    const std::string* v = l7::find_header(head, name);
    return v != nullptr ? *v : std::string();
  };
  request->method = value(":method");
  request->authority = value(":authority");
  request->path = value(":path");
  request->trace_id = std::string(l7::trace_id(head));
  request->headers = redacted(head);
  return request;
}

void TapHub::responded(TapRequest& request, const l7::Headers& head) const {
  request.response_headers = redacted(head);
}

void TapHub::publish(TapEvent event) {
  auto now = TokenBucket::Clock::now();
  std::lock_guard lock(mutex_);
  event.id = next_id_++;
  event.node = node_;
  for (const auto& session : sessions_) {
    if (!session->filter_.matches(event)) {
      continue;
    }
    prometheus::Counter* drop = nullptr;
    if (!session->bucket_.take(now)) {
      drop = &dropped_session_rate_;
    } else if (!global_.take(now)) {
      drop = &dropped_agent_rate_;
    } else {
      std::lock_guard queue_lock(session->mutex_);
      if (session->queue_.size() >= limits_.queue_events) {
        drop = &dropped_queue_full_;
      } else {
        session->queue_.push_back(event);
        session->ready_.notify_one();
      }
    }
    if (drop != nullptr) {
      drop->Increment();
      ++session->dropped_;
    }
  }
}

Result<std::shared_ptr<TapSession>> TapHub::open(TapFilter filter, unsigned max_rps,
                                                 std::string who) {
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= limits_.max_sessions) {
    return fail(Error::Kind::Config,
                limits_.max_sessions == 0
                    ? std::string("tap is off on this agent (tap_max_sessions 0)")
                    : fmt::format("{} tap sessions are open, the most this agent allows "
                                  "(tap_max_sessions)",
                                  sessions_.size()));
  }
  unsigned rps = std::min(max_rps == 0 ? limits_.session_events_per_second : max_rps,
                          limits_.max_events_per_second);
  auto session = std::make_shared<TapSession>(std::move(filter), rps, std::move(who),
                                              TokenBucket::Clock::now());
  sessions_.push_back(session);
  open_.store(static_cast<unsigned>(sessions_.size()), std::memory_order_relaxed);
  sessions_gauge_.Set(static_cast<double>(sessions_.size()));
  log::info("tap.session_opened", "who={} filter=\"{}\" max_rps={}", session->who(),
            session->filter().describe(), session->max_rps());
  return session;
}

void TapHub::close(const std::shared_ptr<TapSession>& session) {
  {
    std::lock_guard lock(mutex_);
    std::erase(sessions_, session);
    open_.store(static_cast<unsigned>(sessions_.size()), std::memory_order_relaxed);
    sessions_gauge_.Set(static_cast<double>(sessions_.size()));
  }
  double seconds =
      std::chrono::duration<double>(TokenBucket::Clock::now() - session->opened()).count();
  log::info("tap.session_closed", "who={} filter=\"{}\" seconds={:.1f} events={} dropped={}",
            session->who(), session->filter().describe(), seconds, session->delivered(),
            session->dropped());
}

}  // namespace weft::agent
