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

}  // namespace weft::proxy
