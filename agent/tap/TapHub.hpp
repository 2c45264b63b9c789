// The agent's tap sessions: the workers publish completed requests here while a session is
// open, each session takes those its filter matches into a bounded queue, and the admin thread
// that serves the session streams them out. With no session open, a request pays one relaxed
// atomic load (active()).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/tap/TapEvent.hpp"
#include "agent/tap/TapFilter.hpp"
#include "agent/tap/TokenBucket.hpp"
#include "common/Error.hpp"

#ifndef WEFT_TAP
#define WEFT_TAP 1  // meson.build defines it from the `tap` option
#endif

namespace weft::agent {

/// The bounds of tapping on one agent (the tap_* settings).
struct TapLimits {
  unsigned max_sessions = 8;                 ///< 0: tap is off
  unsigned max_events_per_second = 1000;     ///< over all sessions
  unsigned session_events_per_second = 100;  ///< a session's default (`max_rps`)
  std::size_t queue_events = 1024;           ///< events a session may have waiting
  /// Header names (lower case) whose values events never show.
  std::vector<std::string> redacted_headers = {"authorization", "cookie", "set-cookie",
                                               "proxy-authorization"};
};

/// One open session; its events are taken by the thread serving it.
class TapSession {
 public:
  TapSession(TapFilter filter, unsigned max_rps, std::string who,
             TokenBucket::Clock::time_point now)
      : filter_(std::move(filter)),
        max_rps_(max_rps),
        who_(std::move(who)),
        bucket_(max_rps, now),
        opened_(now) {}
  /// The events queued, after waiting up to `wait` for one.
  std::deque<TapEvent> take(std::chrono::milliseconds wait);
  const TapFilter& filter() const { return filter_; }
  unsigned max_rps() const { return max_rps_; }
  const std::string& who() const { return who_; }
  TokenBucket::Clock::time_point opened() const { return opened_; }
  uint64_t delivered() const { return delivered_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  friend class TapHub;
  const TapFilter filter_;
  const unsigned max_rps_;
  const std::string who_;
  TokenBucket bucket_;  ///< the hub's mutex guards it
  const TokenBucket::Clock::time_point opened_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<TapEvent> queue_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> dropped_{0};
};

class TapHub {
 public:
  TapHub(std::string node, TapLimits limits, prometheus::Registry& registry);

  /// A session is open: requests starting now are worth capturing. Built with -Dtap=false
  /// (WEFT_TAP 0, the tap cost bench's reference), never.
  bool active() const noexcept {
    return WEFT_TAP != 0 && open_.load(std::memory_order_relaxed) != 0;
  }
  /// The request side of an event for a request with head `head`, its sensitive headers
  /// redacted.
  std::unique_ptr<TapRequest> begin(const l7::Headers& head) const;
  /// The response head `head` of `request`'s response, redacted likewise.
  void responded(TapRequest& request, const l7::Headers& head) const;
  /// Offers `event` to every open session (any thread): each one whose filter matches queues
  /// it, unless its rate, the agent's rate or its queue is spent (then it is dropped and counted).
  void publish(TapEvent event);

  /// A new session, or an error when `max_sessions` are open (or tap is off). `who` names the
  /// client in the session's log lines.
  Result<std::shared_ptr<TapSession>> open(TapFilter filter, unsigned max_rps, std::string who);
  /// Ends `session` (the client left, or its duration is over) and logs what it got.
  void close(const std::shared_ptr<TapSession>& session);
  const TapLimits& limits() const { return limits_; }

 private:
  l7::Headers redacted(const l7::Headers& head) const;

  const std::string node_;
  const TapLimits limits_;
  std::atomic<unsigned> open_{0};
  std::mutex mutex_;  ///< sessions_, global_, next_id_
  std::vector<std::shared_ptr<TapSession>> sessions_;
  TokenBucket global_;
  uint64_t next_id_ = 1;
  prometheus::Gauge& sessions_gauge_;
  prometheus::Family<prometheus::Counter>& dropped_;
  prometheus::Counter& dropped_session_rate_;
  prometheus::Counter& dropped_agent_rate_;
  prometheus::Counter& dropped_queue_full_;
};

}  // namespace weft::agent
