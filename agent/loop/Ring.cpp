#include "agent/loop/Ring.hpp"

#include <fmt/format.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace weft::proxy {
namespace {

constexpr int kRequiredOps[] = {
    IORING_OP_ACCEPT, IORING_OP_RECV,         IORING_OP_SEND,    IORING_OP_CONNECT,
    IORING_OP_READ,   IORING_OP_LINK_TIMEOUT, IORING_OP_TIMEOUT, IORING_OP_ASYNC_CANCEL,
};

/// The one buffer group of a worker's ring (RecvBuffers).
constexpr uint16_t kRecvBufferGroup = 0;

}  // namespace

Result<std::unique_ptr<Ring>> Ring::create(unsigned entries) {
  std::unique_ptr<Ring> ring(new Ring());
  io_uring_params params{};
  // DEFER_TASKRUN runs completion work only when this thread enters the kernel to reap, so
  // completions never interrupt the loop; it requires a single submitting thread (6.1+).
  // The ring is created by the control thread but used by its worker: R_DISABLED defers the
  // choice of the single issuer to enable_on_this_thread(), called by the worker itself.
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
  if (int rc = io_uring_queue_init_params(entries, &ring->ring_, &params); rc < 0) {
    return fail_errno("io_uring_queue_init_params", -rc);
  }
  ring->initialised_ = true;
  io_uring_probe* probe = io_uring_get_probe_ring(&ring->ring_);
  if (probe == nullptr) {
    return fail(Error::Kind::System, "io_uring probe failed");
  }
  for (int op : kRequiredOps) {
    if (!io_uring_opcode_supported(probe, op)) {
      io_uring_free_probe(probe);
      return fail(Error::Kind::System,
                  fmt::format("kernel io_uring lacks opcode {} needed by the proxy", op));
    }
  }
  io_uring_free_probe(probe);
  if ((params.features & IORING_FEAT_FAST_POLL) == 0) {
    return fail(Error::Kind::System, "kernel io_uring lacks FEAT_FAST_POLL");
  }
  return ring;
}

Ring::~Ring() {
  recv_buffers_.reset();  // unregistered while the ring still exists
  if (initialised_) {
    io_uring_queue_exit(&ring_);
  }
}

io_uring_sqe* Ring::prepare(Operation* op) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data(sqe, op);
  return sqe;
}

Result<void> Ring::enable_on_this_thread() {
  // liburing 2.3 has no wrapper for IORING_REGISTER_ENABLE_RINGS (kernel 5.10+).
  if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
      0) {
    return fail_errno("io_uring_register(ENABLE_RINGS)");
  }
  // Registered by the single issuer itself: a SINGLE_ISSUER ring takes registrations only from
  // its submitter once enabled.
  auto buffers = RecvBuffers::provide(&ring_, kRecvBufferGroup);
  if (!buffers) {
    return std::unexpected(buffers.error());
  }
  recv_buffers_.emplace(std::move(*buffers));
  return {};
}

void Ring::reserve(unsigned n) {
  if (io_uring_sq_space_left(&ring_) < n) {
    io_uring_submit(&ring_);
  }
}

Result<void> Ring::run_once() {
  int rc = io_uring_submit_and_wait(&ring_, 1);
  if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    return fail_errno("io_uring_submit_and_wait", -rc);
  }
  now_ = std::chrono::steady_clock::now();
  io_uring_cqe* cqe = nullptr;
  unsigned head = 0;
  unsigned seen = 0;
  // Completions may free the Operation of a later CQE only after that CQE: every owner waits for
  // the final CQE of each of its requests before it is destroyed.
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    auto* op = static_cast<Operation*>(io_uring_cqe_get_data(cqe));
    if (op != nullptr) {
      op->complete(cqe->res, cqe->flags);
    }
  }
  io_uring_cq_advance(&ring_, seen);
  return {};
}

}  // namespace weft::proxy
