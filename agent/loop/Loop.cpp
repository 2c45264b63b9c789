#include "agent/loop/Loop.hpp"

#include <algorithm>

namespace weft::proxy {

Loop::Loop(unsigned index, uint64_t seed, Ring* ring)
    : index_(index),
      ring_(ring),
      now_(ring != nullptr ? &ring->now_ref() : &manual_now_),
      random_(seed) {}

std::span<uint8_t> Loop::scratch() {
  constexpr std::size_t kScratch = 256 * 1024;
  if (!scratch_) {
    scratch_ = std::make_unique<uint8_t[]>(kScratch);
  }
  return {scratch_.get(), kScratch};
}

void Loop::needs_flush(Flushable& carrier) {
  flush_.push_back(&carrier);
}

void Loop::forget(Flushable& carrier) {
  if (carrier.dirty) {
    std::erase(flush_, &carrier);
  }
}

void Loop::retire(Retirable& object) {
  object.retired = true;
  retired_.push_back(&object);
}

void Loop::unretire(Retirable& object) {
  std::erase(retired_, &object);
}

// A carrier is flushed (which may touch others, or finish and destroy it: forget() drops it
// from the list), then retired objects are erased, until nothing is left to do.
void Loop::settle() {
  while (!flush_.empty() || !retired_.empty()) {
    while (!flush_.empty()) {
      Flushable* c = flush_.back();
      flush_.pop_back();
      c->dirty = false;
      c->flush_pending();
    }
    retiring_.swap(retired_);
    erased_ += retiring_.size();
    for (Retirable* x : retiring_) {
      x->retired = false;
      x->erase_now();
    }
    retiring_.clear();
  }
}

Deadlines::iterator Loop::add_deadline(Clock::time_point when, Timed* target, unsigned kind) {
  return deadlines_.emplace(when, TimerRef{target, kind});
}

std::optional<Loop::Clock::time_point> Loop::next_deadline() const {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return deadlines_.begin()->first;
}

void Loop::expire_deadlines(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    TimerRef t = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    t.target->timer_fired(t.kind);
  }
}

}  // namespace weft::proxy
