#include "agent/http/UpstreamPool.hpp"

#include "agent/loop/Loop.hpp"

namespace weft::proxy {

UpstreamPool::~UpstreamPool() {
  keys_.clear();
  pools_.clear();
  keys1_.clear();
  pools1_.clear();
}

Result<Http1Upstream*> UpstreamPool::get_http1(const agent::MeshedPod& pod,
                                               const SockAddr& endpoint,
                                               const std::optional<IpAddr>& source) {
  Key key{pod.id, endpoint, source};
  auto& pool = pools1_[key];
  for (Pooled1& p : pool) {
    if (!p.connection->busy() && p.connection->usable()) {
      return p.connection.get();
    }
  }
  auto socket = sockets_.open_upstream(pod, endpoint.ip.family, source);
  if (!socket) {
    return std::unexpected(socket.error());
  }
  auto connection = std::make_unique<Http1Upstream>(loop_, *this, std::move(*socket));
  Http1Upstream* raw = connection.get();
  pool.push_back({std::move(connection), Clock::now()});
  keys1_.emplace(raw, key);
  raw->connect(endpoint, connect_timeout_ms_);
  return raw;
}

void UpstreamPool::upstream_idle(Http1Upstream& connection) {
  auto k = keys1_.find(&connection);
  if (k == keys1_.end()) {
    return;
  }
  for (Pooled1& p : pools1_[k->second]) {
    if (p.connection.get() == &connection) {
      p.idle_since = Clock::now();
    }
  }
}

void UpstreamPool::upstream_finished(Http1Upstream& connection) {
  auto k = keys1_.find(&connection);
  if (k == keys1_.end()) {
    return;
  }
  auto it = pools1_.find(k->second);
  keys1_.erase(k);
  if (it == pools1_.end()) {
    return;
  }
  std::erase_if(it->second, [&](const Pooled1& p) { return p.connection.get() == &connection; });
  if (it->second.empty()) {
    pools1_.erase(it);
  }
}

Result<UpstreamLink> UpstreamPool::link(const agent::MeshedPod& pod, const SockAddr& endpoint,
                                        bool http1, const std::optional<IpAddr>& source) {
  if (http1) {
    auto connection = get_http1(pod, endpoint, source);
    if (!connection) {
      return std::unexpected(connection.error());
    }
    return UpstreamLink{nullptr, *connection};
  }
  auto connection = get(pod, endpoint, source);
  if (!connection) {
    return std::unexpected(connection.error());
  }
  return UpstreamLink{*connection, nullptr};
}

Result<H2Connection*> UpstreamPool::get(const agent::MeshedPod& pod, const SockAddr& endpoint,
                                        const std::optional<IpAddr>& source) {
  Key key{pod.id, endpoint, source};
  auto& pool = pools_[key];
  for (Pooled& p : pool) {
    if (p.connection->accepts_requests()) {
      return p.connection.get();
    }
  }
  auto socket = sockets_.open_upstream(pod, endpoint.ip.family, source);
  if (!socket) {
    return std::unexpected(socket.error());
  }
  auto connection = std::make_unique<H2Connection>(loop_, *this, std::move(*socket),
                                                   l7::H2Session::Role::Client, l7::H2Limits{});
  H2Connection* raw = connection.get();
  pool.push_back({std::move(connection), Clock::now()});
  keys_.emplace(raw, key);
  raw->connect(endpoint, connect_timeout_ms_);
  return raw;
}

void UpstreamPool::tick(Clock::time_point now) {
  for (auto& [key, pool] : pools1_) {
    for (Pooled1& p : pool) {
      if (p.connection->busy()) {
        p.idle_since = now;
      } else if (now - p.idle_since > kIdleTimeout) {
        p.connection->reset(NGHTTP2_NO_ERROR);  // closes; upstream_finished erases it
      } else {
        p.connection->release_buffers();
      }
    }
  }
  for (auto& [key, pool] : pools_) {
    for (Pooled& p : pool) {
      if (p.connection->session().stream_count() > 0) {
        p.idle_since = now;
      } else if (now - p.idle_since > kIdleTimeout) {
        p.connection->session().goaway(NGHTTP2_NO_ERROR);
        p.connection->touch();
      }
    }
  }
}

void UpstreamPool::connection_finished(H2Connection& connection) {
  auto k = keys_.find(&connection);
  if (k == keys_.end()) {
    return;
  }
  auto it = pools_.find(k->second);
  keys_.erase(k);
  if (it == pools_.end()) {
    return;
  }
  std::erase_if(it->second, [&](const Pooled& p) { return p.connection.get() == &connection; });
  if (it->second.empty()) {
    pools_.erase(it);
  }
}

}  // namespace weft::proxy
