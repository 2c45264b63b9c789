#include "agent/http/InboundHttp.hpp"

#include "agent/http/HttpHost.hpp"
#include "agent/http/UpstreamPool.hpp"
#include "agent/loop/Loop.hpp"
#include "agent/plan/TunnelHeaders.hpp"
#include "common/Log.hpp"

namespace weft::proxy {

l7::RetryBudget& InboundHttp::retry_budget(const SockAddr& service) {
  return host_.retry_budget(service);
}

agent::TapHub& InboundHttp::tap() {
  return host_.tap();
}

agent::FlowLog& InboundHttp::flows() {
  return host_.flows();
}

InboundHttp::InboundHttp(HttpHost& host, H2Carrier& session,
                         std::shared_ptr<const agent::MeshedPod> pod, std::string peer_principal,
                         IpAddr tunnel_source)
    : host_(host),
      loop_(host.loop()),
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
              host_.loop().index(), pod_->display_name(), peer_principal_, kDestinationHeader);
    return {};
  }
  if (host_.view() != targets_view_) {
    targets_.clear();
    targets_view_ = host_.view();
  }
  TunnelRequest claims = read_tunnel_claims(head, kRequestClientHeader, *target, tunnel_source_);
  const std::string* protocol = l7::find_header(head, kProtocolHeader);
  bool http1 = protocol != nullptr && *protocol == kHttp1Protocol;
  Key key{*target, claims.claimed_client, claims.service_address.value_or(SockAddr{}), http1};
  std::shared_ptr<HttpTarget>& cached = targets_[key];
  if (!cached) {
    auto plan = plan_tunnel_inbound(*host_.view(), *pod_, claims, peer_principal_);
    if (!plan) {
      log::warn("tunnel.bad_request", "worker={} pod={} peer={} destination={}",
                host_.loop().index(), pod_->display_name(), peer_principal_, target->str());
      targets_.erase(key);
      return {};
    }
    cached = std::make_shared<HttpTarget>(std::move(*plan), host_.request_metrics());
    cached->http1 = http1;
  }
  return Routed{cached, nullptr, nullptr, false};
}

Result<UpstreamLink> InboundHttp::upstream(const HttpTarget& target) {
  return host_.upstreams().link(*pod_, target.plan.target, target.http1, target.plan.client_ip);
}

}  // namespace weft::proxy
