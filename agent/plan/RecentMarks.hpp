// When each key (an endpoint, a peer agent) was last marked, so that an endpoint chooser can
// tell a recent refusal or failure from an old one, and drop the old ones on its tick.
#pragma once

#include <chrono>
#include <unordered_map>

namespace weft::proxy {

template <class Key>
class RecentMarks {
 public:
  using Clock = std::chrono::steady_clock;

  void mark(const Key& key, Clock::time_point now) { marks_[key] = now; }
  void erase(const Key& key) { marks_.erase(key); }
  bool contains(const Key& key) const { return marks_.contains(key); }
  bool empty() const { return marks_.empty(); }
  /// Marked less than `window` before `now`.
  bool within(const Key& key, Clock::time_point now, Clock::duration window) const {
    auto it = marks_.find(key);
    return it != marks_.end() && now - it->second < window;
  }
  /// Drops the marks `age` old or older.
  void forget_older_than(Clock::time_point now, Clock::duration age) {
    std::erase_if(marks_, [&](const auto& m) { return now - m.second >= age; });
  }

 private:
  std::unordered_map<Key, Clock::time_point> marks_;
};

}  // namespace weft::proxy
