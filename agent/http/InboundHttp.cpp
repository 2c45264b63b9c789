#include "agent/http/InboundHttp.hpp"

#include "agent/dispatch/Dispatcher.hpp"
#include "agent/tunnel/TunnelHeaders.hpp"
#include "common/Log.hpp"

namespace weft::proxy {

Loop& InboundHttp::loop() {
  return dispatcher_.loop();
}

l7::RetryBudget& InboundHttp::retry_budget(const SockAddr& service) {
  return dispatcher_.retry_budget(service);
}

InboundHttp::InboundHttp(Dispatcher& dispatcher, H2Carrier& session,
                         std::shared_ptr<const agent::MeshedPod> pod, std::string peer_principal,
                         IpAddr tunnel_source)
    : dispatcher_(dispatcher),
      session_(session),
      pod_(std::move(pod)),
      peer_principal_(std::move(peer_principal)),
      tunnel_source_(tunnel_source) {}

InboundHttp::~InboundHttp() = default;

l7::H2Stream* InboundHttp::accept(int32_t id) {
  return exchanges_.add(std::make_unique<L7Exchange>(*this, session_, id)).downstream_stream();
}

Routed InboundHttp::route(const l7::Headers& head, const Avoid& /*avoid*/) {
  const std::string* destination = l7::find_header(head, kDestinationHeader);
  auto target = destination != nullptr ? SockAddr::parse(*destination) : std::nullopt;
  if (!target) {
    log::warn("tunnel.bad_request", "worker={} pod={} peer={} reason=\"no {} header\"",
              dispatcher_.index(), pod_->display_name(), peer_principal_, kDestinationHeader);
    return {};
  }
  if (dispatcher_.view() != targets_view_) {
    targets_.clear();
    targets_view_ = dispatcher_.view();
  }
  TunnelRequest claims = read_tunnel_claims(head, kRequestClientHeader, *target, tunnel_source_);
  const std::string* protocol = l7::find_header(head, kProtocolHeader);
  bool http1 = protocol != nullptr && *protocol == kHttp1Protocol;
  Key key{*target, claims.claimed_client, claims.service_address.value_or(SockAddr{}), http1};
  std::shared_ptr<HttpTarget>& cached = targets_[key];
  if (!cached) {
    auto plan = plan_tunnel_inbound(*dispatcher_.view(), *pod_, claims, peer_principal_);
    if (!plan) {
      log::warn("tunnel.bad_request", "worker={} pod={} peer={} destination={}",
                dispatcher_.index(), pod_->display_name(), peer_principal_, target->str());
      targets_.erase(key);
      return {};
    }
    cached = std::make_shared<HttpTarget>(std::move(*plan), dispatcher_.context().request_metrics);
    cached->http1 = http1;
  }
  return Routed{cached, nullptr, nullptr, false};
}

Result<UpstreamLink> InboundHttp::upstream(const HttpTarget& target) {
  return dispatcher_.upstreams().link(*pod_, target.plan.target, target.http1,
                                      target.plan.client_ip);
}

}  // namespace weft::proxy
