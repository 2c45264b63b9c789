// The node's budgets of connections and of request-head bytes, shared out by source: a meshed
// pod, an unmeshed client's address or another agent's address may hold at most `limit` of the
// connections the agent serves at once, and buffer at most `head_bytes` of request heads not yet
// complete (a slowloris crowd fills these), so that no one source can spend the descriptors and
// memory every other pod on the node needs. Shared by the workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/IpAddr.hpp"

namespace weft::proxy {

/// Who a connection is charged to: a meshed pod (by its id), else an address.
struct SourceKey {
  uint32_t pod_id = 0;  ///< 0: an address
  IpAddr address;

  friend bool operator==(const SourceKey&, const SourceKey&) = default;
};

struct SourceKeyHash {
  std::size_t operator()(const SourceKey& key) const;
};

class SourceShares;

/// One connection's share: given back when it is destroyed. Move-only; empty when
/// default-constructed (a connection charged to nobody).
class SourceShare {
 public:
  SourceShare() = default;
  SourceShare(SourceShare&& other) noexcept;
  SourceShare& operator=(SourceShare&& other) noexcept;
  SourceShare(const SourceShare&) = delete;
  SourceShare& operator=(const SourceShare&) = delete;
  ~SourceShare();

  /// `n` more bytes of an incomplete request head are buffered for this connection; false
  /// (nothing charged) when its source would go past its head-bytes budget. An empty share
  /// takes everything.
  bool charge_head(std::size_t n);
  /// The head is complete (or dropped): its bytes no longer count.
  void release_head();

 private:
  friend class SourceShares;
  SourceShare(SourceShares* shares, SourceKey key) : shares_(shares), key_(std::move(key)) {}
  void give_back();

  SourceShares* shares_ = nullptr;
  SourceKey key_;
  std::size_t head_ = 0;  ///< head bytes charged
};

class SourceShares {
 public:
  SourceShares(unsigned limit, std::size_t head_bytes) : limit_(limit), head_bytes_(head_bytes) {}

  /// One more connection for `source`, or nothing when it already holds `limit`.
  std::optional<SourceShare> take(const SourceKey& source);
  unsigned limit() const { return limit_; }
  std::size_t head_bytes() const { return head_bytes_; }
  /// Connections `source` holds now.
  unsigned held(const SourceKey& source) const;

 private:
  friend class SourceShare;
  struct Held {
    unsigned connections = 0;
    std::size_t head = 0;
  };

  const unsigned limit_;
  const std::size_t head_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<SourceKey, Held, SourceKeyHash> held_;  ///< sources holding a connection
};

}  // namespace weft::proxy
