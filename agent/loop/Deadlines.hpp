// Deadlines of one loop, earliest first: one io_uring timeout waits for the first of them.
#pragma once

#include <chrono>
#include <map>

namespace weft::proxy {

/// Something that waits for deadlines (an HTTP exchange: its request, attempt and backoff
/// timeouts). `kind` says which of its deadlines is due; the meaning is the target's own.
class Timed {
 public:
  virtual void timer_fired(unsigned kind) = 0;

 protected:
  ~Timed() = default;
};

struct TimerRef {
  Timed* target;
  unsigned kind;
};

/// A target keeps the iterators of its entries to cancel them; the loop's timer expires the
/// entries that are due.
using Deadlines = std::multimap<std::chrono::steady_clock::time_point, TimerRef>;

}  // namespace weft::proxy
