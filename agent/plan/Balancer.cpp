#include "agent/plan/Balancer.hpp"

namespace weft::proxy {

void Balancer::closed(const SockAddr& endpoint) {
  auto it = active_.find(endpoint);
  if (it != active_.end() && --it->second == 0) {
    active_.erase(it);
  }
}

uint32_t Balancer::load(const SockAddr& endpoint) const {
  auto it = active_.find(endpoint);
  return it == active_.end() ? 0 : it->second;
}

bool Balancer::refused_since(const SockAddr& endpoint, Clock::time_point now) const {
  auto it = refused_.find(endpoint);
  return it != refused_.end() && now - it->second < kAvoidAfterRefusal;
}

void Balancer::forget_refusals(Clock::time_point now) {
  std::erase_if(refused_, [&](const auto& r) { return now - r.second >= kAvoidAfterRefusal; });
}

}  // namespace weft::proxy
