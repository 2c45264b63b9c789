// How much one direction of a proxied connection reads at once: small first (most connections
// carry little), doubling while reads keep filling the buffer, so bulk transfers pay fewer
// syscalls per byte. Used by Relay and TunnelStream.
#pragma once

#include <cstddef>

namespace weft::proxy {

constexpr std::size_t kInitialReadBuffer = 16 * 1024;
constexpr std::size_t kMaxReadBuffer = 256 * 1024;

/// The next buffer size after a read of `filled` bytes into a buffer of `cap`.
constexpr std::size_t next_read_buffer(std::size_t cap, std::size_t filled) {
  return filled == cap && cap < kMaxReadBuffer ? cap * 2 : cap;
}

}  // namespace weft::proxy
