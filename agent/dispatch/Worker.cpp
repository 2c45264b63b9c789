#include "agent/dispatch/Worker.hpp"

#include <sys/random.h>

namespace weft::proxy {
namespace {

/// The seed of a worker's random choices: the configured one (each worker its own), else 8 bytes
/// of the kernel's entropy, so that no two agents, workers or restarts choose alike.
Result<uint64_t> random_seed(unsigned index, const std::optional<uint64_t>& configured) {
  if (configured) {
    return *configured + index;
  }
  uint64_t seed = 0;
  if (::getrandom(&seed, sizeof(seed), 0) != static_cast<ssize_t>(sizeof(seed))) {
    return fail_errno("getrandom");
  }
  return seed;
}

}  // namespace

Result<std::unique_ptr<Worker>> Worker::create(unsigned index, WorkerContext context,
                                               std::shared_ptr<const NodeView> view) {
  auto seed = random_seed(index, context.random_seed);
  if (!seed) {
    return std::unexpected(seed.error());
  }
  auto home = Netns::current();
  if (!home) {
    return std::unexpected(home.error());
  }
  // Two generators from one seed: the L4 balancer's and the L7 path's draw apart.
  auto loop = EventLoop::create(index, *seed ^ 0x9e3779b97f4a7c15ULL);
  if (!loop) {
    return std::unexpected(loop.error());
  }
  auto dispatcher = std::make_unique<Dispatcher>((*loop)->loop(), context, std::move(view),
                                                 std::move(*home), *seed);
  return std::unique_ptr<Worker>(new Worker(std::move(*loop), std::move(dispatcher)));
}

Worker::Worker(std::unique_ptr<EventLoop> loop, std::unique_ptr<Dispatcher> dispatcher)
    : loop_(std::move(loop)), dispatcher_(std::move(dispatcher)) {
  loop_->on_tick([d = dispatcher_.get()](Loop::Clock::time_point now) { d->tick(now); });
}

Worker::~Worker() {
  loop_->stop();
  // The ring goes first: once it is gone the kernel holds no pointer into the relays or
  // listeners, which can then be freed without waiting for their completions; the connections
  // go before the loop whose lists they leave.
  loop_->close_ring();
  dispatcher_.reset();
}

void Worker::post(WorkerCommand command) {
  loop_->post([d = dispatcher_.get(), c = std::move(command)]() mutable { d->apply(c); });
}

}  // namespace weft::proxy
