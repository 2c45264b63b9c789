// The fuzz targets' assertion: a broken invariant stops the run with a crash libFuzzer saves
// as a reproducer (assert() would vanish with NDEBUG).
#pragma once

namespace weft::fuzz {

inline void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace weft::fuzz
