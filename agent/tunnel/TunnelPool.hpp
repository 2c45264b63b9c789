// A worker's client tunnel sessions that take new streams, by (source identity, destination
// pod), and the newest TLS resumption ticket per such key.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/identity/OpenSsl.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

/// A TunnelKey to look up without copying the principal.
struct TunnelKeyView {
  std::string_view source_principal;
  IpAddr destination;
  bool operator==(const TunnelKeyView&) const = default;
};

/// Which pooled sessions a client stream may share: same source identity, same destination pod.
struct TunnelKey {
  std::string source_principal;
  IpAddr destination;
  operator TunnelKeyView() const { return {source_principal, destination}; }
};

/// Hash and equality of TunnelKeys that also take TunnelKeyViews (heterogeneous lookup).
struct TunnelKeyHash {
  using is_transparent = void;
  std::size_t operator()(const TunnelKeyView& k) const noexcept {
    return std::hash<std::string_view>{}(k.source_principal) * 31 +
           std::hash<IpAddr>{}(k.destination);
  }
};
struct TunnelKeyEqual {
  using is_transparent = void;
  bool operator()(const TunnelKeyView& a, const TunnelKeyView& b) const noexcept { return a == b; }
};

/// Streams one session carries at once: what the agent announces as SETTINGS_MAX_CONCURRENT_
/// STREAMS, and the most a client session opens before the pool starts another.
inline constexpr uint32_t kMaxConcurrentStreams = 1024;

/// What the pool needs to know of a session to give it one more stream.
struct SessionLoad {
  bool open = false;        ///< neither failed nor draining, and the peer takes new streams
  uint64_t generation = 0;  ///< of the certificate it was made with
  std::size_t streams = 0;  ///< open now
};

/// Whether a session with `load` takes one more stream for a client whose certificate is of
/// `generation`: a renewed certificate starts new sessions, old ones only finish their streams.
bool takes_stream(const SessionLoad& load, uint64_t generation);

/// The newest resumption ticket per key.
class TicketStore {
 public:
  /// The ticket to offer when starting a session for `key`; nullptr: none.
  SSL_SESSION* find(const TunnelKeyView& key) const;
  void store(const TunnelKey& key, identity::SslSessionPtr ticket);
  /// Drops tickets whose lifetime ended before `wall` (seconds since the epoch): those of
  /// destinations that went away would otherwise pile up with pod churn.
  void expire(long wall);
  std::size_t size() const { return tickets_.size(); }

 private:
  std::unordered_map<TunnelKey, identity::SslSessionPtr, TunnelKeyHash, TunnelKeyEqual> tickets_;
};

/// Sessions that may take new streams, by key, in the order they were started. `Session` has
/// `SessionLoad load() const` (TunnelSession; a fake in tests).
template <class Session>
class TunnelPool {
 public:
  /// The first pooled session of `key` that takes one more stream; nullptr: start one.
  Session* find(const TunnelKeyView& key, uint64_t generation) const {
    auto pooled = pool_.find(key);
    if (pooled == pool_.end()) {
      return nullptr;
    }
    for (Session* s : pooled->second) {
      if (takes_stream(s->load(), generation)) {
        return s;
      }
    }
    return nullptr;
  }
  void add(const TunnelKey& key, Session* session) { pool_[key].push_back(session); }
  /// The session takes no new streams any more (draining, failed or gone).
  void remove(const TunnelKeyView& key, Session* session) {
    auto it = pool_.find(key);
    if (it == pool_.end()) {
      return;
    }
    std::erase(it->second, session);
    if (it->second.empty()) {
      pool_.erase(it);
    }
  }
  std::size_t keys() const { return pool_.size(); }

 private:
  std::unordered_map<TunnelKey, std::vector<Session*>, TunnelKeyHash, TunnelKeyEqual> pool_;
};

}  // namespace weft::proxy
