#include "l7/H2Memory.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif
#if defined(WEFT_ASAN)
#include <sanitizer/asan_interface.h>
#define WEFT_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define WEFT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define WEFT_POISON(p, n) ((void)(p), (void)(n))
#define WEFT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace weft::l7 {
namespace {

// nghttp2 frees by pointer alone: each block starts with its size, padded so that what follows
// keeps malloc's alignment.
constexpr std::size_t kPrefix = alignof(std::max_align_t);

std::size_t& size_of(void* block) {
  return *static_cast<std::size_t*>(block);
}

void* block_of(void* ptr) {
  return static_cast<std::byte*>(ptr) - kPrefix;
}

}  // namespace

H2Memory::H2Memory() : mem_{this, allocate, release, allocate_zeroed, reallocate} {}

H2Memory::~H2Memory() {
  for (Free* head : free_) {
    while (head != nullptr) {
      ::operator delete(std::exchange(head, head->next));
    }
  }
}

void* H2Memory::allocate(size_t size, void* self) {
  auto& me = *static_cast<H2Memory*>(self);
  if (size > std::numeric_limits<std::size_t>::max() - kPrefix - kClassBytes) {
    return nullptr;
  }
  // Rounded up to the class, so that a recycled block fits any request of its class.
  std::size_t rounded = (size + kClassBytes - 1) / kClassBytes * kClassBytes;
  void* block = nullptr;
  if (rounded != 0 && rounded <= kLargestPooled) {
    Free*& head = me.free_[rounded / kClassBytes - 1];
    if (head != nullptr) {
      block = std::exchange(head, head->next);
    }
  }
  if (block == nullptr) {
    block = ::operator new(rounded + kPrefix, std::nothrow);
    if (block == nullptr) {
      return nullptr;  // nghttp2 answers NGHTTP2_ERR_NOMEM
    }
  }
  size_of(block) = rounded;
  void* ptr = static_cast<std::byte*>(block) + kPrefix;
  WEFT_UNPOISON(ptr, size);  // under ASan a recycled block is readable again up to `size`
  return ptr;
}

void H2Memory::release(void* ptr, void* self) {
  if (ptr == nullptr) {
    return;
  }
  auto& me = *static_cast<H2Memory*>(self);
  void* block = block_of(ptr);
  std::size_t rounded = size_of(block);
  if (rounded == 0 || rounded > kLargestPooled) {
    ::operator delete(block);
    return;
  }
  Free*& head = me.free_[rounded / kClassBytes - 1];
  head = ::new (block) Free{head};
  WEFT_POISON(ptr, rounded);  // under ASan a use after free still reports
}

void* H2Memory::allocate_zeroed(size_t count, size_t size, void* self) {
  if (size != 0 && count > std::numeric_limits<std::size_t>::max() / size) {
    return nullptr;
  }
  void* p = allocate(count * size, self);
  if (p != nullptr) {
    std::memset(p, 0, count * size);
  }
  return p;
}

void* H2Memory::reallocate(void* ptr, size_t size, void* self) {
  if (ptr == nullptr) {
    return allocate(size, self);
  }
  if (size <= size_of(block_of(ptr))) {
    WEFT_UNPOISON(ptr, size);  // the block's class had room to spare
    return ptr;
  }
  void* moved = allocate(size, self);
  if (moved == nullptr) {
    return nullptr;  // realloc's contract: the old block stays valid
  }
  std::size_t old = size_of(block_of(ptr));
  WEFT_UNPOISON(ptr, old);  // the bytes past the old size are copied too, unread
  std::memcpy(moved, ptr, old);
  release(ptr, self);
  return moved;
}

}  // namespace weft::l7
