// What the objects of one worker thread share besides their sockets: the ring and its batch
// clock, deadlines, random choices, and the two lists worked through after every batch of
// completions (connections to flush, finished objects to erase). Connection objects hold a
// Loop&, never the worker; unit tests make a Loop without a ring.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "agent/loop/Deadlines.hpp"
#include "agent/loop/Flushable.hpp"
#include "agent/loop/Ring.hpp"
#include "agent/metrics/TimeoutMetrics.hpp"
#include "l7/PowerOfTwoChoices.hpp"

namespace weft::proxy {

/// An object erased only by Loop::settle(), after the batch of completions that finished it.
class Retirable {
 public:
  /// Erases the object (from whoever owns it).
  virtual void erase_now() = 0;

  bool retired = false;  ///< queued for erasure

 protected:
  ~Retirable() = default;
};

class Loop {
 public:
  using Clock = std::chrono::steady_clock;

  /// `ring`: the worker's (its clock is the batch clock); nullptr in unit tests, where
  /// set_now() moves the clock.
  Loop(unsigned index, uint64_t seed, Ring* ring);
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// The worker's number, for logs.
  unsigned index() const { return index_; }
  Ring& ring() { return *ring_; }
  /// When the current batch of completions started (Ring::now()).
  Clock::time_point now() const { return *now_; }
  /// Without a ring: the time the loop's objects see next.
  void set_now(Clock::time_point now) { manual_now_ = now; }
  l7::FastRandom& random() { return random_; }
  /// Where timed_out() counts (the worker's; none in unit tests).
  void count_timeouts_in(agent::TimeoutMetrics& metrics) { timeouts_ = &metrics; }
  /// One of the time limits ended a wait (weft_timeouts_total).
  void timed_out(agent::Timeout which) {
    if (timeouts_ != nullptr) {
      timeouts_->fired(which);
    }
  }
  /// A buffer the worker's objects share for work done within one call (decrypting a batch of
  /// records, say): its bytes are gone once that call returns.
  std::span<uint8_t> scratch();

  /// The carrier has something to send or has closed: settle() flushes it before the worker
  /// waits for I/O again.
  void needs_flush(Flushable& carrier);
  /// The carrier is being destroyed: drop it from the flush list.
  void forget(Flushable& carrier);
  /// The object is finished: settle() erases it.
  void retire(Retirable& object);
  void unretire(Retirable& object);
  /// Flushes touched carriers and erases retired objects until nothing is left to do. Runs after
  /// every batch of completions: destruction happens here, never inside a callback.
  void settle();
  /// How many retired objects (connections, exchanges) settle() erased since the last call.
  std::size_t take_erased() { return std::exchange(erased_, 0); }

  /// Calls `target->timer_fired(kind)` at `when` (first due time expire_deadlines() sees) unless
  /// cancelled first.
  Deadlines::iterator add_deadline(Clock::time_point when, Timed* target, unsigned kind);
  void cancel_deadline(Deadlines::iterator it) { deadlines_.erase(it); }
  /// The earliest deadline, if any.
  std::optional<Clock::time_point> next_deadline() const;
  /// Fires the deadlines due at `now`, earliest first.
  void expire_deadlines(Clock::time_point now);

 private:
  unsigned index_;
  Ring* ring_;
  Clock::time_point manual_now_ = Clock::now();
  const Clock::time_point* now_;
  l7::FastRandom random_;
  std::vector<Flushable*> flush_;
  std::vector<Retirable*> retired_;
  std::vector<Retirable*> retiring_;  ///< settle()'s batch of retired_, kept for its capacity
  std::size_t erased_ = 0;            ///< see take_erased()
  Deadlines deadlines_;
  std::unique_ptr<uint8_t[]> scratch_;  ///< allocated by the first scratch()
  agent::TimeoutMetrics* timeouts_ = nullptr;
};

}  // namespace weft::proxy
