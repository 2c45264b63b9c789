// "Power of two choices": of two distinct random candidates, take the cheaper one. Avoids the
// herd that always taking the global minimum of stale costs creates, at O(1) per pick.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::l7 {

/// xorshift64*: a fast, per-thread generator for balancing decisions (not for anything secret).
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed | 1) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }

 private:
  uint64_t state_;
};

/// Index in [0, n) of the cheaper of two distinct random candidates (`cost(i)` is called twice
/// at most; ties keep the first draw). `n` must not be 0.
template <class CostOf>
std::size_t pick_two(std::size_t n, FastRandom& random, CostOf&& cost) {
  if (n == 1) {
    return 0;
  }
  std::size_t a = random.next() % n;
  std::size_t b = random.next() % (n - 1);
  if (b >= a) {
    ++b;  // b is uniform over the others
  }
  return cost(b) < cost(a) ? b : a;
}

}  // namespace weft::l7
