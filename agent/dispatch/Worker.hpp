// A data-plane worker: one thread with its io_uring (EventLoop) and what its connections become
// (Dispatcher). The control thread talks to it only through post().
#pragma once

#include <cstdint>
#include <memory>

#include "agent/dispatch/Dispatcher.hpp"
#include "agent/loop/EventLoop.hpp"

namespace weft::proxy {

class Worker {
 public:
  static Result<std::unique_ptr<Worker>> create(unsigned index, WorkerContext context,
                                                std::shared_ptr<const NodeView> view);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Starts the thread.
  void start() { loop_->start(); }
  /// Thread-safe: queues a command for the dispatcher and wakes the loop.
  void post(WorkerCommand command);
  /// Stops the loop and joins the thread; open connections are reset.
  void stop() { loop_->stop(); }
  /// After a Drain: nothing is left open but idle pooled connections.
  bool drained() const { return dispatcher_->drained(); }

 private:
  Worker(std::unique_ptr<EventLoop> loop, std::unique_ptr<Dispatcher> dispatcher);

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace weft::proxy
