#include "agent/loop/RecvBuffers.hpp"

#include <sys/mman.h>

#include <cstring>
#include <utility>

namespace weft::proxy {
namespace {

constexpr std::size_t kRingBytes = RecvBuffers::kCount * sizeof(io_uring_buf);
constexpr std::size_t kPoolBytes = RecvBuffers::kCount * RecvBuffers::kSize;

}  // namespace

Result<RecvBuffers> RecvBuffers::provide(io_uring* ring, uint16_t group) {
  // The kernel reads the ring's entries from this page-aligned memory; the buffers follow it.
  void* mem = ::mmap(nullptr, kRingBytes + kPoolBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    return fail_errno("mmap(receive buffers)");
  }
  auto* br = static_cast<io_uring_buf_ring*>(mem);
  auto* memory = static_cast<uint8_t*>(mem) + kRingBytes;
  std::memset(memory, 0, kPoolBytes);
  io_uring_buf_ring_init(br);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = kCount;
  reg.bgid = group;
  if (int rc = io_uring_register_buf_ring(ring, &reg, 0); rc < 0) {
    ::munmap(mem, kRingBytes + kPoolBytes);
    return fail_errno("io_uring_register_buf_ring", -rc);
  }
  RecvBuffers buffers(ring, group, br, memory);
  for (unsigned id = 0; id < kCount; ++id) {
    io_uring_buf_ring_add(br, memory + id * kSize, kSize, static_cast<unsigned short>(id),
                          io_uring_buf_ring_mask(kCount), static_cast<int>(id));
  }
  io_uring_buf_ring_advance(br, kCount);
  return buffers;
}

RecvBuffers::RecvBuffers(RecvBuffers&& other) noexcept
    : ring_(other.ring_),
      group_(other.group_),
      br_(std::exchange(other.br_, nullptr)),
      memory_(std::exchange(other.memory_, nullptr)) {}

RecvBuffers::~RecvBuffers() {
  if (br_ != nullptr) {
    io_uring_unregister_buf_ring(ring_, group_);
    ::munmap(br_, kRingBytes + kPoolBytes);
  }
}

void RecvBuffers::give_back(uint16_t id) {
  io_uring_buf_ring_add(br_, memory_ + static_cast<std::size_t>(id) * kSize, kSize, id,
                        io_uring_buf_ring_mask(kCount), 0);
  io_uring_buf_ring_advance(br_, 1);
}

}  // namespace weft::proxy
