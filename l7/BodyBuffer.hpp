// The bytes of one message body between the side that receives them and the side that sends
// them on, with the end of the body and its trailers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "l7/H2Session.hpp"

namespace weft::l7 {

/// Holds what was received and not yet sent: bounded by the receiving side's flow-control
/// window, since the receiver's window opens only by what read() hands on.
class BodyBuffer {
 public:
  void append(std::span<const uint8_t> bytes);
  /// The body is complete (`trailers` may be empty).
  void finish(Headers trailers = {});
  bool finished() const { return finished_; }
  std::size_t buffered() const { return data_.size() - offset_; }

  /// Moves up to `max` bytes into `out`; says whether more may come, the body ended, or the
  /// trailers follow.
  BodyChunk read(uint8_t* out, std::size_t max);
  Headers take_trailers() { return std::move(trailers_); }
  const Headers& trailers() const { return trailers_; }

 private:
  std::vector<uint8_t> data_;
  std::size_t offset_ = 0;
  bool finished_ = false;
  Headers trailers_;
};

}  // namespace weft::l7
