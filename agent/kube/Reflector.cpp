#include "agent/kube/Reflector.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "agent/discovery/ManifestDecoder.hpp"
#include "agent/kube/ApiObjects.hpp"
#include "common/Log.hpp"

namespace weft::kube {
namespace {

using Store = std::map<std::string, std::vector<discovery::Object>>;

constexpr std::chrono::milliseconds kInitialBackoff{800};
constexpr std::chrono::milliseconds kMaxBackoff{30'000};
/// How often a missing optional CRD is looked for again (sooner with shorter watches).
constexpr std::chrono::seconds kMissingRecheck{30};
constexpr std::chrono::seconds kListTimeout{60};

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Keeps what other nodes' pods are needed for: identity, addresses, owners, labels, and weft's
/// own annotations (the redirection mark); drops the rest (last-applied configurations...).
void keep_identity(std::vector<discovery::Object>& objects) {
  for (auto& object : objects) {
    if (auto* pod = std::get_if<discovery::Pod>(&object)) {
      std::erase_if(pod->annotations,
                    [](const auto& a) { return !a.first.starts_with("weft.io/"); });
    }
  }
}

}  // namespace

Reflector::Reflector(const WatchSpec& spec, std::unique_ptr<ApiClient> client,
                     ReflectorOptions options, std::function<void()> changed)
    : spec_(spec),
      client_(std::move(client)),
      options_(std::move(options)),
      changed_(std::move(changed)),
      random_(options_.seed) {}

void Reflector::run(const std::atomic<bool>& stop) {
  while (!stop) {
    if (!list(stop)) {
      continue;
    }
    Next next = Next::Watch;
    for (bool first = true; next == Next::Watch && !stop; first = false) {
      if (!first) {
        ++stats_.watch_restarts;
      }
      next = watch(stop);
    }
    if (next == Next::Relist) {
      ++stats_.relists;
    }
  }
}

std::string Reflector::selector() const {
  return spec_.node_scoped ? "&fieldSelector=" + query_escape("spec.nodeName=" + options_.node_name)
                           : std::string();
}

std::string Reflector::list_target(const std::string& continue_token) const {
  std::string target = fmt::format("{}?limit={}{}", spec_.path(), options_.page_size, selector());
  if (!continue_token.empty()) {
    target += "&continue=" + query_escape(continue_token);
  }
  return target;
}

std::string Reflector::watch_target() {
  std::uniform_int_distribution<int64_t> pick(options_.watch_timeout.count(),
                                              2 * options_.watch_timeout.count() - 1);
  return fmt::format(
      "{}?watch=true&allowWatchBookmarks=true&resourceVersion={}&timeoutSeconds={}{}", spec_.path(),
      query_escape(resource_version_), pick(random_), selector());
}

bool Reflector::list(const std::atomic<bool>& stop) {
  Store fresh;
  std::string continue_token;
  std::size_t pages = 0;
  auto started = std::chrono::steady_clock::now();
  // A failed page is asked for again (same continue token) after its wait: only an expired
  // token (410) starts the list over.
  while (!stop) {
    std::string target = list_target(continue_token);
    auto answer = client_->get(target, kListTimeout);
    if (!answer) {
      log::warn("discovery.list_failed", "resource={} error=\"{}\"", spec_.name,
                answer.error().message);
      wait_after_failure(stop, {});
      continue;
    }
    if (answer->status == 404 && spec_.optional) {
      auto recheck = std::min(kMissingRecheck, options_.watch_timeout);
      if (!stats_.missing.exchange(true)) {  // said once per absence
        log::info("discovery.crd_missing",
                  "resource={} apiVersion={} (not installed: none of these; looked for again "
                  "every {} s)",
                  spec_.name, spec_.api_version(), recheck.count());
      }
      replace({});
      mark_synced();
      sleep_for(recheck, stop);
      return false;
    }
    if (answer->status != 200) {
      ApiStatus status = read_status(answer->body);
      if (answer->status == 410) {
        // The continue token expired (compaction): start over, at once.
        log::info("discovery.relist", "resource={} reason=\"{}\"", spec_.name, status.message);
        ++stats_.relists;
        return false;
      }
      log::warn("discovery.list_failed", "resource={} status={} reason={} message=\"{}\"{}",
                spec_.name, answer->status, status.reason, status.message,
                answer->status == 404 ? fmt::format(" (is {} installed? kubectl apply -k "
                                                    "manifests/ installs weft's CRD)",
                                                    spec_.api_version())
                                      : "");
      wait_after_failure(stop, answer->retry_after);
      continue;
    }
    auto doc = discovery::parse_json(target, answer->body, options_.limits);
    std::optional<ListPage> page;
    if (doc) {
      page = read_list(*doc);
    }
    if (!page) {
      log::warn("discovery.list_failed", "resource={} error=\"{}\"", spec_.name,
                doc ? "the answer is not a list" : doc.error().message);
      wait_after_failure(stop, {});
      continue;
    }
    std::string source = fmt::format("LIST {}", spec_.path());
    for (const auto* item : page->items) {
      std::string key = object_key(*item);
      if (auto objects = decode(*item, source)) {
        fresh[key] = std::move(*objects);
      } else if (auto kept = stored(key)) {
        fresh[key] = std::move(*kept);
      }
    }
    continue_token = page->continue_token;
    resource_version_ = page->resource_version;
    ++pages;
    if (continue_token.empty()) {
      break;
    }
  }
  if (stop) {
    return false;
  }
  if (stats_.missing.exchange(false)) {
    log::info("discovery.crd_found", "resource={}", spec_.name);
  }
  std::size_t count = fresh.size();
  replace(std::move(fresh));
  mark_synced();
  backoff_ = {};
  log::info("discovery.listed", "resource={} objects={} pages={} resourceVersion={} ms={}",
            spec_.name, count, pages, resource_version_,
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count());
  return true;
}

Reflector::Next Reflector::watch(const std::atomic<bool>& stop) {
  Next next = Next::Watch;
  std::string target = watch_target();
  auto started = std::chrono::steady_clock::now();
  int64_t started_ns = steady_ns();
  auto answer = client_->stream(target, 2 * options_.watch_timeout + std::chrono::seconds(5),
                                [&](std::string_view line) { return on_event(line, next); });
  if (stop) {
    return Next::Stop;
  }
  if (!answer) {
    // Resumed from the last resourceVersion: the server most likely still has it.
    log::warn("discovery.watch_failed", "resource={} error=\"{}\"", spec_.name,
              answer.error().message);
    wait_after_failure(stop, {});
    return Next::Watch;
  }
  if (answer->status == 200) {
    // A stream that ends at once without news (a proxy closing it, say) is a failure too: it
    // must not turn into a loop of requests.
    bool empty = std::chrono::steady_clock::now() - started < std::chrono::seconds(1) &&
                 stats_.last_sync_ns.load() < started_ns;
    if (next == Next::BackoffWatch || (next == Next::Watch && empty)) {
      wait_after_failure(stop, {});
      return Next::Watch;
    }
    if (next == Next::Watch) {
      backoff_ = {};
    }
    return next;
  }
  ApiStatus status = read_status(answer->body);
  if (answer->status == 410) {
    log::info("discovery.relist", "resource={} reason=\"{}\"", spec_.name, status.message);
    return Next::Relist;
  }
  log::warn("discovery.watch_failed", "resource={} status={} reason={} message=\"{}\"", spec_.name,
            answer->status, status.reason, status.message);
  wait_after_failure(stop, answer->retry_after);
  // A collection that went away (a CRD deleted) is found out by listing it.
  return answer->status == 404 ? Next::Relist : Next::Watch;
}

bool Reflector::on_event(std::string_view line, Next& next) {
  auto doc = discovery::parse_json(spec_.path(), line, options_.limits);
  std::optional<WatchEvent> event;
  if (doc) {
    event = read_event(*doc);
  }
  if (!event) {
    log::warn("discovery.watch_failed", "resource={} error=\"{}\"", spec_.name,
              doc ? "a line that is not a watch event" : doc.error().message);
    next = Next::BackoffWatch;  // resumed from the last good resourceVersion
    return false;
  }
  using Type = WatchEvent::Type;
  if (event->type == Type::Error) {
    ApiStatus status = read_status(event->object);
    if (status.code == 410) {
      log::info("discovery.relist", "resource={} reason=\"{}\"", spec_.name, status.message);
      next = Next::Relist;
    } else {
      log::warn("discovery.watch_failed", "resource={} status={} reason={} message=\"{}\"",
                spec_.name, status.code, status.reason, status.message);
      next = Next::BackoffWatch;
    }
    return false;
  }
  if (!event->resource_version.empty()) {
    resource_version_ = event->resource_version;
  }
  stats_.last_sync_ns = steady_ns();
  if (event->type == Type::Bookmark) {
    return true;
  }
  std::string key = object_key(*event->object);
  std::optional<std::vector<discovery::Object>> objects;
  if (event->type != Type::Deleted) {
    objects = decode(*event->object, fmt::format("WATCH {}", spec_.path()));
    if (!objects) {
      return true;  // the previous version stays
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (objects) {
      store_[key] = std::move(*objects);
    } else {
      store_.erase(key);
    }
    stats_.objects = store_.size();
  }
  changed_();
  return true;
}

std::optional<std::vector<discovery::Object>> Reflector::decode(const discovery::DocNode& object,
                                                                std::string_view source) {
  auto decoded =
      discovery::decode_list_item(object, spec_.api_version(), spec_.kind, source, options_.limits);
  if (!decoded) {
    ++stats_.decode_errors;
    std::string key = object_key(object);
    log::warn("discovery.decode_failed", "resource={} object={} kept_previous={} error=\"{}\"",
              spec_.name, key, stored(key).has_value(), decoded.error().message);
    return std::nullopt;
  }
  if (spec_.identity_only) {
    keep_identity(decoded->objects);
  }
  return std::move(decoded->objects);
}

std::optional<std::vector<discovery::Object>> Reflector::stored(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = store_.find(key);
  return it == store_.end() ? std::nullopt : std::optional(it->second);
}

void Reflector::replace(Store store) {
  {
    std::lock_guard lock(mutex_);
    store_ = std::move(store);
    stats_.objects = store_.size();
  }
  changed_();
}

void Reflector::mark_synced() {
  stats_.last_sync_ns = steady_ns();
  if (!stats_.synced.exchange(true)) {
    changed_();  // readiness may follow
  }
}

void Reflector::wait_after_failure(const std::atomic<bool>& stop,
                                   std::chrono::seconds retry_after) {
  if (retry_after.count() > 0) {
    sleep_for(std::min<std::chrono::milliseconds>(retry_after, kMaxBackoff), stop);
    return;
  }
  backoff_ = backoff_.count() == 0 ? kInitialBackoff : std::min(backoff_ * 2, kMaxBackoff);
  // Jitter up to the step again, as client-go's (factor 2, jitter 1): reflectors of many
  // agents that failed together do not come back together.
  std::uniform_int_distribution<int64_t> jitter(0, backoff_.count());
  sleep_for(std::min(backoff_ + std::chrono::milliseconds(jitter(random_)), kMaxBackoff), stop);
}

void Reflector::sleep_for(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(100), until - std::chrono::steady_clock::now()));
  }
}

std::set<std::string> Reflector::snapshot(std::vector<discovery::Object>& out,
                                          const std::set<std::string>& skip) const {
  std::set<std::string> keys;
  std::lock_guard lock(mutex_);
  for (const auto& [key, objects] : store_) {
    if (!skip.contains(key)) {
      out.insert(out.end(), objects.begin(), objects.end());
      keys.insert(key);
    }
  }
  return keys;
}

}  // namespace weft::kube
