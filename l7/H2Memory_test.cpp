#include "l7/H2Memory.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>

namespace weft::l7 {
namespace {

struct Calls {
  nghttp2_mem* mem;
  void* malloc(std::size_t n) { return mem->malloc(n, mem->mem_user_data); }
  void free(void* p) { mem->free(p, mem->mem_user_data); }
  void* calloc(std::size_t count, std::size_t n) {
    return mem->calloc(count, n, mem->mem_user_data);
  }
  void* realloc(void* p, std::size_t n) { return mem->realloc(p, n, mem->mem_user_data); }
};

TEST_CASE("a freed block serves the next allocation of its size class") {
  H2Memory memory;
  Calls m{memory.mem()};
  void* a = m.malloc(200);
  REQUIRE(a != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % alignof(std::max_align_t) == 0);
  m.free(a);
  void* b = m.malloc(193);  // same 16-byte class as 200
  CHECK(b == a);
  void* c = m.malloc(300);  // another class: not the block in use
  CHECK(c != b);
  m.free(b);
  m.free(c);
  m.free(nullptr);
}

TEST_CASE("calloc zeroes a recycled block and refuses an overflowing size") {
  H2Memory memory;
  Calls m{memory.mem()};
  auto* a = static_cast<unsigned char*>(m.malloc(64));
  std::memset(a, 0xab, 64);
  m.free(a);
  auto* z = static_cast<unsigned char*>(m.calloc(4, 16));
  REQUIRE(z == a);
  for (int i = 0; i < 64; ++i) {
    CHECK(z[i] == 0);
  }
  m.free(z);
  CHECK(m.calloc(std::numeric_limits<std::size_t>::max() / 2, 4) == nullptr);
  CHECK(m.malloc(std::numeric_limits<std::size_t>::max() - 8) == nullptr);
}

TEST_CASE("realloc keeps the contents, within a class, across classes and past the pool") {
  H2Memory memory;
  Calls m{memory.mem()};
  auto* p = static_cast<char*>(m.realloc(nullptr, 10));
  std::memcpy(p, "0123456789", 10);
  CHECK(m.realloc(p, 16) == p);  // still fits its block
  p = static_cast<char*>(m.realloc(p, 500));
  CHECK(std::memcmp(p, "0123456789", 10) == 0);
  p = static_cast<char*>(m.realloc(p, 64 * 1024));  // larger than any pooled class
  CHECK(std::memcmp(p, "0123456789", 10) == 0);
  std::memset(p + 10, 1, 64 * 1024 - 10);
  m.free(p);
  // A recycled block (under ASan readable only up to its last size) grown within its class.
  auto* r = static_cast<char*>(m.malloc(20));
  m.free(r);
  REQUIRE(m.malloc(20) == r);
  REQUIRE(m.realloc(r, 32) == r);
  std::memset(r, 2, 32);
  m.free(r);
  void* big = m.malloc(1 << 20);
  REQUIRE(big != nullptr);
  m.free(big);
}

}  // namespace
}  // namespace weft::l7
