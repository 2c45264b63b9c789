// Where one HTTP/2 session's nghttp2 keeps its objects: free lists that hand a freed block to the
// next allocation of its size class instead of back to malloc. nghttp2 allocates and frees a
// stream, outbound items, header arrays and buffers for every request; in a cross-node HTTP/2
// profile its malloc/free calls were ~4% of an agent's time, and a session pair ran ~6% fewer
// instructions per request with these lists (bench/micro/h2_session_bench). A session keeps the
// blocks of its busiest moment until it ends (bounded by its stream and header-list limits).
#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>

namespace weft::l7 {

class H2Memory {
 public:
  H2Memory();
  ~H2Memory();
  H2Memory(const H2Memory&) = delete;
  H2Memory& operator=(const H2Memory&) = delete;

  /// For nghttp2_session_*_new3; valid as long as this object. The session must be deleted
  /// before it: the destructor returns the free blocks to the system.
  nghttp2_mem* mem() { return &mem_; }

 private:
  static void* allocate(size_t size, void* self);
  static void release(void* ptr, void* self);
  static void* allocate_zeroed(size_t count, size_t size, void* self);
  static void* reallocate(void* ptr, size_t size, void* self);

  /// A freed block, kept for the next allocation of its size class.
  struct Free {
    Free* next;
  };
  /// Size classes 16 bytes apart up to kLargestPooled (larger ones, such as a session's frame
  /// buffers, come from operator new each time); single-threaded like the session.
  static constexpr std::size_t kClassBytes = 16;
  static constexpr std::size_t kLargestPooled = 1024;
  std::array<Free*, kLargestPooled / kClassBytes> free_{};
  nghttp2_mem mem_;
};

}  // namespace weft::l7
