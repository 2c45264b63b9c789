#include "agent/observe/FlowLog.hpp"

#include <algorithm>

namespace weft::agent {

FlowLog::FlowLog(std::string node, std::size_t capacity)
    : node_(std::move(node)), ring_(capacity) {}

std::vector<FlowRecord> FlowLog::query(const FlowQuery& q) const {
  std::vector<FlowRecord> out;
  std::lock_guard lock(mutex_);
  std::size_t held = std::min<uint64_t>(next_, ring_.size());
  // Newest first, so that `last` and `after` stop the walk. `since` does not: the wall clock
  // may have been stepped back between two records.
  for (std::size_t i = 0; i < held; ++i) {
    const FlowRecord& r = ring_[(next_ - 1 - i) % ring_.size()];
    if (r.seq <= q.after) {
      break;
    }
    if ((q.since_us && r.time_us < *q.since_us) || !q.matches(r)) {
      continue;
    }
    out.push_back(r);
    if (q.last && out.size() >= *q.last) {
      break;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

uint64_t FlowLog::newest() const {
  std::lock_guard lock(mutex_);
  return next_;
}

}  // namespace weft::agent
