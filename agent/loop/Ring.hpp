// One io_uring owned by one worker thread (SINGLE_ISSUER | DEFER_TASKRUN).
#pragma once

#include <liburing.h>

#include <chrono>
#include <memory>
#include <optional>

#include "agent/loop/RecvBuffers.hpp"
#include "common/Error.hpp"

namespace weft::proxy {

/// Every in-flight io_uring request points (via user_data) at one Operation; the ring calls
/// `complete` with the CQE's result and flags. An Operation must stay alive until its last CQE
/// (for multishot requests: the one without IORING_CQE_F_MORE).
struct Operation {
  virtual void complete(int res, unsigned flags) = 0;

 protected:
  ~Operation() = default;
};

/// An io_uring set up for one submitting thread. Not copyable or movable: operations hold `Ring&`.
class Ring {
 public:
  /// Creates the ring and probes the opcodes the proxy needs; a kernel without them is an error
  /// at startup, not a surprise under load.
  static Result<std::unique_ptr<Ring>> create(unsigned entries);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  /// Makes the calling thread the ring's only submitter and lends the kernel the worker's
  /// receive buffers; call once, first, on the worker thread.
  Result<void> enable_on_this_thread();

  /// The worker's receive buffers (after enable_on_this_thread()).
  RecvBuffers& recv_buffers() { return *recv_buffers_; }

  /// A free SQE bound to `op` (nullptr: the completion is ignored). When the SQ is full, submits
  /// what is queued first; it never returns nullptr.
  io_uring_sqe* prepare(Operation* op);

  /// Makes sure the next `n` prepare() calls land in one submission (for linked requests).
  void reserve(unsigned n);

  /// Submits queued SQEs, waits for at least one completion, and dispatches all that are ready.
  Result<void> run_once();

  /// When the last run_once() woke up: what the completions it dispatches (and the work after
  /// them) take as "now". One clock read per batch instead of several per request, like Envoy's
  /// approximateMonotonicTime(); it lags by the batch's own processing time.
  std::chrono::steady_clock::time_point now() const { return now_; }
  /// The cell now() reads, for a Loop to share the batch clock.
  const std::chrono::steady_clock::time_point& now_ref() const { return now_; }

  io_uring* raw() { return &ring_; }

 private:
  Ring() = default;
  io_uring ring_{};
  bool initialised_ = false;
  std::optional<RecvBuffers> recv_buffers_;
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
};

}  // namespace weft::proxy
