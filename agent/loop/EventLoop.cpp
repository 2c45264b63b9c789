#include "agent/loop/EventLoop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include "common/Log.hpp"

namespace weft::proxy {
namespace {

constexpr unsigned kRingEntries = 4096;

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create(unsigned index, uint64_t seed) {
  auto ring = Ring::create(kRingEntries);
  if (!ring) {
    return std::unexpected(ring.error());
  }
  Fd wakeup(::eventfd(0, EFD_CLOEXEC));
  if (!wakeup) {
    return fail_errno("eventfd");
  }
  return std::unique_ptr<EventLoop>(
      new EventLoop(index, seed, std::move(*ring), std::move(wakeup)));
}

EventLoop::EventLoop(unsigned index, uint64_t seed, std::unique_ptr<Ring> ring, Fd wakeup_fd)
    : index_(index),
      ring_(std::move(ring)),
      loop_(index, seed, ring_.get()),
      wakeup_fd_(std::move(wakeup_fd)) {
  wakeup_.owner = this;
  tick_.owner = this;
  deadline_timer_.owner = this;
}

EventLoop::~EventLoop() {
  stop();
}

void EventLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void EventLoop::post(Command command) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(std::move(command));
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakeup_fd_.get(), &one, sizeof(one));
}

void EventLoop::stop() {
  stopping_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakeup_fd_.get(), &one, sizeof(one));
  if (thread_.joinable()) {
    thread_.join();
  }
}

void EventLoop::run() {
  if (auto ok = ring_->enable_on_this_thread(); !ok) {
    log::error("worker.ring_failed", "worker={} error=\"{}\"", index_, ok.error().message);
    return;
  }
  arm_wakeup();
  arm_tick();
  for (;;) {
    if (stopping_) {
      break;
    }
    if (auto ok = ring_->run_once(); !ok) {
      log::error("worker.ring_failed", "worker={} error=\"{}\"", index_, ok.error().message);
      break;
    }
    loop_.settle();
    arm_deadline_timer();
  }
}

// CQE contract: a read of 8 bytes from the eventfd completes when another thread has written
// it; re-armed after every completion.
void EventLoop::arm_wakeup() {
  io_uring_prep_read(ring_->prepare(&wakeup_), wakeup_fd_.get(), &wakeup_.value,
                     sizeof(wakeup_.value), 0);
}

void EventLoop::Wakeup::complete(int /*res*/, unsigned /*flags*/) {
  owner->drain_commands();
  owner->arm_wakeup();
}

void EventLoop::drain_commands() {
  std::deque<Command> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(commands_);
  }
  for (auto& command : batch) {
    command();
  }
}

void EventLoop::arm_tick() {
  io_uring_prep_timeout(ring_->prepare(&tick_), &tick_.interval, 0, 0);
}

void EventLoop::Tick::complete(int /*res*/, unsigned /*flags*/) {
  if (owner->on_tick_) {
    owner->on_tick_(Loop::Clock::now());
  }
  owner->arm_tick();
}

// CQE contract: an absolute CLOCK_MONOTONIC timeout (steady_clock's clock) completes with
// -ETIME when it fires; more than one may be in flight, each just expires what is due.
void EventLoop::arm_deadline_timer() {
  auto earliest = loop_.next_deadline();
  if (!earliest || (timer_armed_for_ && *timer_armed_for_ <= *earliest)) {
    return;
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(earliest->time_since_epoch());
  deadline_timer_.at.tv_sec = ns.count() / 1000000000;
  deadline_timer_.at.tv_nsec = ns.count() % 1000000000;
  io_uring_prep_timeout(ring_->prepare(&deadline_timer_), &deadline_timer_.at, 0,
                        IORING_TIMEOUT_ABS);
  timer_armed_for_ = *earliest;
}

void EventLoop::DeadlineTimer::complete(int /*res*/, unsigned /*flags*/) {
  owner->timer_armed_for_.reset();
  owner->loop_.expire_deadlines(Loop::Clock::now());
}

}  // namespace weft::proxy
