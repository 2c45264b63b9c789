#include "l7/BodyBuffer.hpp"

#include <algorithm>
#include <cstring>

namespace weft::l7 {

void BodyBuffer::append(std::span<const uint8_t> bytes) {
  if (offset_ == data_.size()) {
    data_.clear();
    offset_ = 0;
  }
  data_.insert(data_.end(), bytes.begin(), bytes.end());
}

void BodyBuffer::finish(Headers trailers) {
  finished_ = true;
  trailers_ = std::move(trailers);
}

BodyChunk BodyBuffer::read(uint8_t* out, std::size_t max) {
  std::size_t n = std::min(max, data_.size() - offset_);
  if (n > 0) {
    std::memcpy(out, data_.data() + offset_, n);
    offset_ += n;
  }
  if (offset_ < data_.size() || !finished_) {
    return {n,
            n > 0 || offset_ < data_.size() ? BodyChunk::State::More : BodyChunk::State::Deferred};
  }
  return {n, trailers_.empty() ? BodyChunk::State::End : BodyChunk::State::Trailers};
}

}  // namespace weft::l7
