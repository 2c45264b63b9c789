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

#include "l7/ProtocolDetector.hpp"

namespace {

using weft::l7::detect_protocol;
using weft::l7::kMaxDetectionBytes;
using weft::l7::Protocol;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

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

void stretched(std::span<const uint8_t> big) {
  Protocol at_window = detect_protocol(big.first(kMaxDetectionBytes));
  check(detect_protocol(big) == at_window);
  check(detect_protocol(big.first(kMaxDetectionBytes + 1)) == at_window);
  // Growing prefixes, sampled: every length near the window, a stride elsewhere.
  Monotonic m;
  for (std::size_t n = 0; n <= big.size();
       n += (n + 8 >= kMaxDetectionBytes && n <= kMaxDetectionBytes + 8) ? 1 : 61) {
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
