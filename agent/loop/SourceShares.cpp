#include "agent/loop/SourceShares.hpp"

#include <utility>

namespace weft::proxy {

std::size_t SourceKeyHash::operator()(const SourceKey& key) const {
  return std::hash<IpAddr>{}(key.address) * 31 + key.pod_id;
}

SourceShare::SourceShare(SourceShare&& other) noexcept
    : shares_(std::exchange(other.shares_, nullptr)), key_(std::move(other.key_)) {}

SourceShare& SourceShare::operator=(SourceShare&& other) noexcept {
  if (this != &other) {
    if (shares_ != nullptr) {
      shares_->give_back(key_);
    }
    shares_ = std::exchange(other.shares_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

SourceShare::~SourceShare() {
  if (shares_ != nullptr) {
    shares_->give_back(key_);
  }
}

std::optional<SourceShare> SourceShares::take(const SourceKey& source) {
  std::lock_guard lock(mutex_);
  unsigned& n = held_[source];
  if (n >= limit_) {
    if (n == 0) {
      held_.erase(source);  // a limit of 0 refuses everything; keep the map small anyway
    }
    return std::nullopt;
  }
  ++n;
  return SourceShare(this, source);
}

unsigned SourceShares::held(const SourceKey& source) const {
  std::lock_guard lock(mutex_);
  auto it = held_.find(source);
  return it == held_.end() ? 0 : it->second;
}

void SourceShares::give_back(const SourceKey& source) {
  std::lock_guard lock(mutex_);
  auto it = held_.find(source);
  if (it != held_.end() && --it->second == 0) {
    held_.erase(it);
  }
}

}  // namespace weft::proxy
