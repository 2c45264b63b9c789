// One collection of the API server mirrored into memory, as client-go's reflector does it:
// a paginated LIST, then a WATCH from the list's resourceVersion (bookmarks on, a randomized
// timeout), resumed from the last resourceVersion seen; 410 Gone (answer or ERROR event) means
// relist, 429 waits for Retry-After, other failures back off with jitter from 0.8 s to 30 s.
// A relist replaces the store at once, so what was deleted while the watch was down is gone.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/discovery/DecodeLimits.hpp"
#include "agent/discovery/Document.hpp"
#include "agent/discovery/Objects.hpp"
#include "agent/kube/ApiClient.hpp"
#include "agent/kube/WatchTable.hpp"

namespace weft::kube {

struct ReflectorOptions {
  std::string node_name;  ///< for node-scoped collections
  /// Watches ask the server for a timeout drawn from [watch_timeout, 2 x watch_timeout), as
  /// client-go does (5 min), and give up on a stream that outlives it by 5 s (a stalled one).
  std::chrono::seconds watch_timeout{300};
  /// Items per LIST page. client-go asks for 500; here a page is parsed into a document tree
  /// first (~10x its JSON), and bench/kube_scale.py measured 5,000 pods of ~9 KB: RSS +115 MiB
  /// with 500, +45 MiB with 100 (same time to ready, a third less CPU), +32 MiB with 50.
  std::size_t page_size = 100;
  /// Bounds on one list page or watch event (pods of a real server are ~5-10 KB of JSON each).
  discovery::DecodeLimits limits{
      .max_bytes = 64U << 20, .max_nodes = 4'000'000, .max_visits = 16'000'000};
  uint64_t seed = 0;  ///< of the jitter and the watch timeouts
};

/// What the reflector has done, for weft_discovery_* (written by its thread, read by scrapes).
struct ReflectorStats {
  std::atomic<bool> synced{false};          ///< listed successfully at least once
  std::atomic<std::size_t> objects{0};      ///< in the store
  std::atomic<uint64_t> relists{0};         ///< lists after the first
  std::atomic<uint64_t> watch_restarts{0};  ///< watches after the first of each list
  std::atomic<uint64_t> decode_errors{0};   ///< objects the decoders refused
  std::atomic<int64_t> last_sync_ns{0};     ///< steady clock of the last list, event or bookmark
  std::atomic<bool> missing{false};         ///< an optional CRD that is not installed
};

class Reflector {
 public:
  /// `changed` is called (from the reflector's thread) after every change of the store.
  Reflector(const WatchSpec& spec, std::unique_ptr<ApiClient> client, ReflectorOptions options,
            std::function<void()> changed);

  /// The thread's body: list, watch, relist... until `stop` (the one the client was made with).
  void run(const std::atomic<bool>& stop);

  /// Appends the store's objects (under its lock), skipping the keys in `skip`; returns the keys
  /// ("namespace/name") of what it appended.
  std::set<std::string> snapshot(std::vector<discovery::Object>& out,
                                 const std::set<std::string>& skip) const;

  const WatchSpec& spec() const { return spec_; }
  const ReflectorStats& stats() const { return stats_; }

 private:
  /// What to do after a list or a watch ended.
  enum class Next {
    Watch,         ///< resume from the last resourceVersion
    BackoffWatch,  ///< the same after a backoff step (a failed stream)
    Relist,
    Stop,
  };

  /// A full paginated LIST into a new store that replaces the old one; returns false on a
  /// failure, after waiting what the failure asks for.
  bool list(const std::atomic<bool>& stop);
  /// One WATCH from resource_version_ until it ends.
  Next watch(const std::atomic<bool>& stop);
  /// Applies one watch line; returns false to end the stream (`next` says what then).
  bool on_event(std::string_view line, Next& next);
  /// Decodes one object; nullopt when the decoders refuse it (counted and logged: the caller
  /// keeps the key's previous objects, if any).
  std::optional<std::vector<discovery::Object>> decode(const discovery::DocNode& object,
                                                       std::string_view source);
  /// A copy of the store's objects of `key`, or nullopt.
  std::optional<std::vector<discovery::Object>> stored(const std::string& key) const;
  void replace(std::map<std::string, std::vector<discovery::Object>> store);
  void mark_synced();
  /// Waits after a failure: `retry_after` when the server gave one, else the next backoff step.
  void wait_after_failure(const std::atomic<bool>& stop, std::chrono::seconds retry_after);
  /// Sleeps up to `d`, returning early on stop.
  static void sleep_for(std::chrono::milliseconds d, const std::atomic<bool>& stop);
  /// "&fieldSelector=spec.nodeName%3D<node>" for a node-scoped collection, else "".
  std::string selector() const;
  std::string list_target(const std::string& continue_token) const;
  std::string watch_target();

  const WatchSpec& spec_;
  std::unique_ptr<ApiClient> client_;
  ReflectorOptions options_;
  std::function<void()> changed_;
  std::mt19937_64 random_;
  std::chrono::milliseconds backoff_{0};
  std::string resource_version_;
  ReflectorStats stats_;

  mutable std::mutex mutex_;
  std::map<std::string, std::vector<discovery::Object>> store_;  ///< by "namespace/name"
};

}  // namespace weft::kube
