#include "agent/loop/FreedMemory.hpp"

#include <malloc.h>

#include <atomic>

namespace weft::proxy {
namespace {

std::atomic<MemoryPurge> installed{nullptr};

}  // namespace

void set_memory_purge(MemoryPurge purge) {
  installed.store(purge, std::memory_order_release);
}

void return_freed_memory() {
  if (MemoryPurge purge = installed.load(std::memory_order_acquire); purge != nullptr) {
    purge();
  } else {
    ::malloc_trim(0);
  }
}

}  // namespace weft::proxy
