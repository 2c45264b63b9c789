#include "agent/tunnel/TunnelPool.hpp"

namespace weft::proxy {

bool takes_stream(const SessionLoad& load, uint64_t generation) {
  return load.open && load.generation == generation && load.streams < kMaxConcurrentStreams;
}

SSL_SESSION* TicketStore::find(const TunnelKeyView& key) const {
  auto it = tickets_.find(key);
  return it == tickets_.end() ? nullptr : it->second.get();
}

void TicketStore::store(const TunnelKey& key, identity::SslSessionPtr ticket) {
  tickets_[key] = std::move(ticket);
}

void TicketStore::expire(long wall) {
  std::erase_if(tickets_, [wall](const auto& entry) {
    SSL_SESSION* t = entry.second.get();
    return SSL_SESSION_get_time(t) + SSL_SESSION_get_timeout(t) < wall;
  });
}

}  // namespace weft::proxy
