// Fuzzes protocol detection on an app's first bytes: the answer may only go from Undecided to a
// decided protocol as more bytes arrive, never from one decided protocol to another, and bytes
// past kMaxDetectionBytes change nothing. Every prefix of the input is checked, then prefixes of
// two inputs stretched past the window (the input repeated, and its last byte repeated, which
// makes long request-targets) around and beyond kMaxDetectionBytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz/Check.hpp"
#include "l7/ProtocolDetector.hpp"

namespace {

using weft::l7::detect_protocol;
using weft::l7::kMaxDetectionBytes;
using weft::l7::Protocol;

using weft::fuzz::check;

/// Tracks the answers for growing prefixes of one byte string.
struct Monotonic {
  Protocol decided = Protocol::Undecided;
  void see(Protocol p) {
    if (decided != Protocol::Undecided) {
      check(p == decided);
    }
    decided = p;
  }
};

/// The next prefix length to check after `n`: every one within 8 bytes of the window, else a
/// stride that grows with the prefix and stops at the window's neighbourhood. (Each call scans up
/// to the whole prefix: a fixed stride of 61 made the sampled loop three quarters of the target's
/// time. Every prefix of the input itself is checked anyway.)
std::size_t next_length(std::size_t n) {
  constexpr std::size_t kLow = kMaxDetectionBytes - 8;
  constexpr std::size_t kHigh = kMaxDetectionBytes + 8;
  if (n >= kLow && n <= kHigh) {
    return n + 1;
  }
  std::size_t stride = std::max<std::size_t>(61, n / 8);
  return n < kLow ? std::min(n + stride, kLow) : n + stride;
}

void stretched(std::span<const uint8_t> big) {
  Protocol at_window = detect_protocol(big.first(kMaxDetectionBytes));
  check(detect_protocol(big) == at_window);
  check(detect_protocol(big.first(kMaxDetectionBytes + 1)) == at_window);
  // Growing prefixes, sampled (see next_length).
  Monotonic m;
  for (std::size_t n = 0; n <= big.size(); n = next_length(n)) {
    m.see(detect_protocol(big.first(n)));
  }
  m.see(detect_protocol(big));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  Monotonic m;
  for (std::size_t n = 0; n <= size; ++n) {
    Protocol p = detect_protocol(input.first(n));
    m.see(p);
    if (n >= kMaxDetectionBytes) {
      check(p == detect_protocol(input.first(kMaxDetectionBytes)));
    }
  }
  if (size == 0) {
    return 0;
  }
  std::vector<uint8_t> big;
  big.reserve(kMaxDetectionBytes + 64 + size);
  while (big.size() < kMaxDetectionBytes + 64) {
    big.insert(big.end(), input.begin(), input.end());
  }
  stretched(big);
  big.assign(input.begin(), input.end());
  big.resize(std::max(big.size(), kMaxDetectionBytes + 64), input.back());
  stretched(big);
  return 0;
}
