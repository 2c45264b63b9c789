// One worker's pool of receive buffers, lent to the kernel as an io_uring provided-buffer ring:
// a recv armed with IOSQE_BUFFER_SELECT takes a buffer only when bytes arrive, so a connection
// that waits for its peer holds no buffer at all (idle keep-alives, pooled and quiet TCP).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/Error.hpp"

namespace weft::proxy {

class RecvBuffers {
 public:
  /// Buffers per worker. When all are lent out (every one holding bytes a connection has not
  /// passed on yet) a recv fails with -ENOBUFS and the connection reads into its own buffer.
  static constexpr unsigned kCount = 128;
  /// Bytes per buffer: one read of a request head or a small response; a connection whose read
  /// fills it moves on to a growing buffer of its own (SocketIo::ReadBuffer).
  static constexpr std::size_t kSize = 16 * 1024;

  /// Registers the ring with `ring` as buffer group `group` and lends it every buffer. The
  /// memory is touched once here, so that the agent's RSS counts the pool from the start.
  static Result<RecvBuffers> provide(io_uring* ring, uint16_t group);
  RecvBuffers(RecvBuffers&& other) noexcept;
  RecvBuffers& operator=(RecvBuffers&&) = delete;
  RecvBuffers(const RecvBuffers&) = delete;
  ~RecvBuffers();

  uint16_t group() const { return group_; }
  /// The bytes a completion with IORING_CQE_F_BUFFER put in buffer `id`.
  std::span<const uint8_t> bytes(uint16_t id, std::size_t len) const {
    return {memory_ + static_cast<std::size_t>(id) * kSize, len};
  }
  /// Lends buffer `id` to the kernel again.
  void give_back(uint16_t id);

 private:
  RecvBuffers(io_uring* ring, uint16_t group, io_uring_buf_ring* br, uint8_t* memory)
      : ring_(ring), group_(group), br_(br), memory_(memory) {}

  io_uring* ring_;
  uint16_t group_;
  io_uring_buf_ring* br_;  ///< the ring of buffer addresses shared with the kernel
  uint8_t* memory_;        ///< kCount * kSize bytes
};

}  // namespace weft::proxy
