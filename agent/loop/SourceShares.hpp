// The node's budget of connections, shared out by source: a meshed pod, an unmeshed client's
// address or another agent's address may hold at most `limit` of the connections the agent
// serves at once, so that no one source can spend the descriptors and memory every other pod on
// the node needs. Shared by the workers.
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

 private:
  friend class SourceShares;
  SourceShare(SourceShares* shares, SourceKey key) : shares_(shares), key_(std::move(key)) {}

  SourceShares* shares_ = nullptr;
  SourceKey key_;
};

class SourceShares {
 public:
  explicit SourceShares(unsigned limit) : limit_(limit) {}

  /// One more connection for `source`, or nothing when it already holds `limit`.
  std::optional<SourceShare> take(const SourceKey& source);
  unsigned limit() const { return limit_; }
  /// Connections `source` holds now.
  unsigned held(const SourceKey& source) const;

 private:
  friend class SourceShare;
  void give_back(const SourceKey& source);

  const unsigned limit_;
  mutable std::mutex mutex_;
  std::unordered_map<SourceKey, unsigned, SourceKeyHash> held_;  ///< sources holding any
};

}  // namespace weft::proxy
