#include "agent/kube/KubeSource.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <unistd.h>
#include <algorithm>

#include "common/Log.hpp"

namespace weft::kube {

Result<std::unique_ptr<KubeSource>> KubeSource::start(ApiServerConfig config, KubeOptions options) {
  int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) {
    return fail_errno("timerfd_create");
  }
  std::unique_ptr<KubeSource> source(new KubeSource(Fd(tfd)));
  auto client = [&]() { return ApiClient::create(config, source->stop_); };
  uint64_t seed = options.seed;
  for (const WatchSpec& spec : watch_table()) {
    auto c = client();
    if (!c) {
      return std::unexpected(c.error());
    }
    ReflectorOptions ro;
    ro.node_name = options.node_name;
    ro.watch_timeout = options.watch_timeout;
    ro.seed = seed++;
    source->reflectors_.push_back(std::make_unique<Reflector>(spec, std::move(*c), std::move(ro),
                                                              [s = source.get()] { s->notify(); }));
  }
  auto c = client();
  if (!c) {
    return std::unexpected(c.error());
  }
  source->marker_ = std::make_unique<RedirectionMarker>(std::move(*c), options.node_name);
  for (auto& reflector : source->reflectors_) {
    source->threads_.emplace_back([r = reflector.get(), s = source.get()] { r->run(s->stop_); });
  }
  source->threads_.emplace_back([s = source.get()] { s->marker_->run(s->stop_); });
  log::info("discovery.kubernetes", "server={} config={} collections={} node={}", config.server,
            config.origin, source->reflectors_.size(), options.node_name);
  return source;
}

KubeSource::~KubeSource() {
  stop_ = true;
  if (marker_) {
    marker_->wake();
  }
  for (auto& t : threads_) {
    t.join();
  }
}

void KubeSource::notify() {
  if (!pending_.exchange(true)) {
    itimerspec due{};
    due.it_value.tv_nsec = coalesce_delay().count();
    ::timerfd_settime(timer_.get(), 0, &due, nullptr);
  }
}

std::chrono::nanoseconds KubeSource::coalesce_delay() const {
  return std::clamp<std::chrono::nanoseconds>(4 * std::chrono::nanoseconds(merge_ns_.load()),
                                              kMinDelay, kMaxDelay);
}

bool KubeSource::synced() const {
  return unsynced().empty();
}

std::vector<std::string_view> KubeSource::unsynced() const {
  std::vector<std::string_view> out;
  for (const auto& r : reflectors_) {
    if (!r->stats().synced) {
      out.push_back(r->spec().name);
    }
  }
  return out;
}

bool KubeSource::process_events() {
  // Merges whether or not the timer has fired: the agent also calls this right after synced()
  // turned true, when the last collection's store may be newer than the World (its timer not
  // due yet), and that World is what the restored pods' policies come from.
  uint64_t expirations = 0;
  [[maybe_unused]] ssize_t drained = ::read(timer_.get(), &expirations, sizeof(expirations));
  // Changes from now on arm the timer again: none is lost between here and the snapshot.
  pending_ = false;
  auto started = std::chrono::steady_clock::now();
  // The node's own pods come in full first; their identity-only copies from the cluster-wide
  // watch are skipped.
  std::vector<discovery::Object> objects;
  std::set<std::string> local;
  for (const auto& r : reflectors_) {
    if (r->spec().node_scoped) {
      local = r->snapshot(objects, {});
    }
  }
  for (const auto& r : reflectors_) {
    if (!r->spec().node_scoped) {
      r->snapshot(objects, r->spec().kind == "Pod" ? local : std::set<std::string>{});
    }
  }
  world_ = discovery::World::build(std::move(objects));
  merge_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
  marker_->set_world(world_);
  return true;
}

}  // namespace weft::kube
