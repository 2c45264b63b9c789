#include "agent/proxy/Balancer.hpp"

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

uint64_t Balancer::next() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 0x2545F4914F6CDD1DULL;
}

}  // namespace weft::proxy
