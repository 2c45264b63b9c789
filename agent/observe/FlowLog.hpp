// The agent's flow history: a ring of the last `capacity` finished requests and connections
// (observe_buffer_entries), written by every worker and read by GET /observe on the admin
// threads. One mutex: a write holds it for a few string copies into a slot whose strings keep
// their capacity (no allocation once the ring has gone round, ~0.1 us), a read for the filter
// over the ring and the copies of what matched. Nobody holds it across I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "agent/observe/FlowQuery.hpp"
#include "agent/observe/FlowRecord.hpp"

namespace weft::agent {

class FlowLog {
 public:
  using Clock = std::chrono::system_clock;

  /// `capacity` 0: the history is off (add() does nothing).
  FlowLog(std::string node, std::size_t capacity);

  bool enabled() const noexcept { return !ring_.empty(); }
  /// Writes the next record (any thread): `fill(FlowRecord&)` sets the fields of a cleared slot
  /// (assigning its strings, which keeps their capacity); sequence number and time are set
  /// here, the time from `now` when given.
  template <typename Fill>
  void add(Fill&& fill, Clock::time_point now = Clock::now()) {
    if (ring_.empty()) {
      return;
    }
    std::lock_guard lock(mutex_);
    FlowRecord& slot = ring_[next_ % ring_.size()];
    slot.clear();
    fill(slot);
    slot.seq = ++next_;
    slot.time_us =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  }
  /// The records `query` asks for, oldest first: those after `query.after` and since
  /// `query.since_us` that pass its filters, the newest `query.last` of them.
  std::vector<FlowRecord> query(const FlowQuery& query) const;
  /// The sequence number of the newest record (0: none yet).
  uint64_t newest() const;
  std::size_t capacity() const { return ring_.size(); }
  const std::string& node() const { return node_; }

 private:
  const std::string node_;
  mutable std::mutex mutex_;
  std::vector<FlowRecord> ring_;
  uint64_t next_ = 0;  ///< records written so far; the next goes to ring_[next_ % size]
};

}  // namespace weft::agent
