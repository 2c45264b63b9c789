#include "agent/loop/SourceShares.hpp"

#include <algorithm>
#include <utility>

namespace weft::proxy {

std::size_t SourceKeyHash::operator()(const SourceKey& key) const {
  return std::hash<IpAddr>{}(key.address) * 31 + key.pod_id;
}

SourceShare::SourceShare(SourceShare&& other) noexcept
    : shares_(std::exchange(other.shares_, nullptr)),
      key_(std::move(other.key_)),
      head_(std::exchange(other.head_, 0)) {}

SourceShare& SourceShare::operator=(SourceShare&& other) noexcept {
  if (this != &other) {
    give_back();
    shares_ = std::exchange(other.shares_, nullptr);
    key_ = std::move(other.key_);
    head_ = std::exchange(other.head_, 0);
  }
  return *this;
}

SourceShare::~SourceShare() {
  give_back();
}

void SourceShare::give_back() {
  if (shares_ == nullptr) {
    return;
  }
  std::lock_guard lock(shares_->mutex_);
  auto it = shares_->held_.find(key_);
  if (it != shares_->held_.end()) {
    it->second.head -= std::min(head_, it->second.head);
    if (--it->second.connections == 0) {
      shares_->held_.erase(it);
    }
  }
  shares_ = nullptr;
  head_ = 0;
}

bool SourceShare::charge_head(std::size_t n) {
  if (shares_ == nullptr) {
    return true;
  }
  std::lock_guard lock(shares_->mutex_);
  SourceShares::Held& held = shares_->held_[key_];
  if (held.head + n > shares_->head_bytes_) {
    return false;
  }
  held.head += n;
  head_ += n;
  return true;
}

void SourceShare::release_head() {
  if (shares_ == nullptr || head_ == 0) {
    return;
  }
  std::lock_guard lock(shares_->mutex_);
  SourceShares::Held& held = shares_->held_[key_];
  held.head -= std::min(head_, held.head);
  head_ = 0;
}

std::optional<SourceShare> SourceShares::take(const SourceKey& source) {
  std::lock_guard lock(mutex_);
  auto [it, added] = held_.try_emplace(source);
  if (it->second.connections >= limit_) {
    if (added) {
      held_.erase(it);  // a limit of 0 refuses everything; keep the map small anyway
    }
    return std::nullopt;
  }
  ++it->second.connections;
  return SourceShare(this, source);
}

unsigned SourceShares::held(const SourceKey& source) const {
  std::lock_guard lock(mutex_);
  auto it = held_.find(source);
  return it == held_.end() ? 0 : it->second.connections;
}

}  // namespace weft::proxy
