// One data-plane thread: its io_uring, its Loop, a queue of commands from other threads, a
// one-second tick and the timer of the Loop's earliest deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/loop/Loop.hpp"
#include "agent/loop/Ring.hpp"
#include "common/Fd.hpp"

namespace weft::proxy {

class EventLoop {
 public:
  using Command = std::move_only_function<void()>;
  using TickHandler = std::function<void(Loop::Clock::time_point)>;

  /// `seed`: of the Loop's random choices.
  static Result<std::unique_ptr<EventLoop>> create(unsigned index, uint64_t seed);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Ring& ring() { return *ring_; }
  Loop& loop() { return loop_; }
  /// Called on the loop's thread once a second (before start()).
  void on_tick(TickHandler handler) { on_tick_ = std::move(handler); }

  /// Starts the thread.
  void start();
  /// Thread-safe: queues a command, run on the loop's thread in order, and wakes the loop.
  void post(Command command);
  /// Stops the loop and joins the thread. Commands not run yet are dropped.
  void stop();
  /// Tears the ring down: the kernel then holds no pointer into the objects of the loop, which
  /// can be freed without waiting for their completions. After stop().
  void close_ring() { ring_.reset(); }

 private:
  /// Reads the eventfd other threads write after posting commands.
  struct Wakeup final : Operation {
    EventLoop* owner = nullptr;
    uint64_t value = 0;
    void complete(int res, unsigned flags) override;
  };
  /// A one-second timeout, re-armed forever.
  struct Tick final : Operation {
    EventLoop* owner = nullptr;
    __kernel_timespec interval{1, 0};
    void complete(int res, unsigned flags) override;
  };
  /// An absolute timeout at the earliest deadline; every completion expires what is due.
  struct DeadlineTimer final : Operation {
    EventLoop* owner = nullptr;
    __kernel_timespec at{};
    void complete(int res, unsigned flags) override;
  };

  EventLoop(unsigned index, uint64_t seed, std::unique_ptr<Ring> ring, Fd wakeup_fd);
  void run();
  void arm_wakeup();
  void drain_commands();
  void arm_tick();
  /// Arms the deadline timer when the earliest deadline is sooner than the one it waits for.
  void arm_deadline_timer();

  unsigned index_;
  std::unique_ptr<Ring> ring_;
  Loop loop_;
  Fd wakeup_fd_;
  Wakeup wakeup_;
  Tick tick_;
  TickHandler on_tick_;
  DeadlineTimer deadline_timer_;
  std::optional<Loop::Clock::time_point> timer_armed_for_;
  std::mutex mutex_;  // guards commands_ between the posting threads and this one
  std::deque<Command> commands_;
  std::atomic<bool> stopping_ = false;  ///< read once per loop turn: no lock for it
  std::thread thread_;
};

}  // namespace weft::proxy
