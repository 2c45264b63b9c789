#include "agent/http/OutboundHttp.hpp"

#include <algorithm>

#include "agent/http/HttpHost.hpp"
#include "agent/http/UpstreamPool.hpp"
#include "agent/loop/Loop.hpp"
#include "agent/plan/TunnelHeaders.hpp"
#include "l7/RouteMatch.hpp"

namespace weft::proxy {

OutboundHttp::OutboundHttp(HttpHost& host, std::shared_ptr<const agent::MeshedPod> pod,
                           SockAddr service_address, Fd socket, l7::Protocol protocol)
    : AppHttp(host, std::move(pod), std::move(socket), protocol),
      service_address_(service_address) {}

OutboundHttp::~OutboundHttp() = default;

void OutboundHttp::hand_over(Fd socket, std::vector<uint8_t> received) {
  // An Upgrade (WebSocket) or CONNECT: from here on the bytes are not HTTP. The connection
  // continues on the TCP path, balanced as a whole, with the request that asked for it.
  host_.hand_over_outbound(pod_, std::move(socket), std::move(share_), service_address_, received);
  host_.http_finished(*this);
}

agent::WorkloadIdentity OutboundHttp::source_identity() const {
  return identity_of_local(*host_.view(), *pod_);
}

Routed OutboundHttp::route(const l7::Headers& head, const Avoid& avoid) {
  if (host_.view() != targets_view_) {
    targets_.clear();  // endpoints, identities or policies may have changed
    targets_view_ = host_.view();
  }
  Routed out;
  out.view = targets_view_;
  const NodeView& view = *targets_view_;
  if (!view.world) {
    return out;
  }
  const discovery::World& world = *view.world;
  discovery::Resolution r = world.resolve(service_address_);
  if (r.kind != discovery::Resolution::Kind::Service) {
    return out;
  }
  SockAddr dialled = service_address_;
  auto routes = world.routes_for(*r.service, r.port->port, pod_->ns());
  if (!routes.empty()) {
    auto field = [&](std::string_view name) {
      const std::string* v = l7::find_header(head, name);
      return v != nullptr ? std::string_view(*v) : std::string_view();
    };
    l7::RequestFacts facts{field(":method"), field(":path"), field(":authority"), head,
                           l7::is_grpc(head)};
    if (auto choice = l7::match_route(routes, facts, host_.loop().random().next())) {
      out.rule = choice->rule;
      if (choice->backend == nullptr) {
        out.no_backend = true;
        return out;
      }
      const discovery::Service* backend =
          world.service_by_name(choice->backend->ns, choice->backend->name);
      auto ip = backend == nullptr ? backend->cluster_ips.end()
                                   : std::find_if(backend->cluster_ips.begin(),
                                                  backend->cluster_ips.end(), [&](const IpAddr& a) {
                                                    return a.family == service_address_.ip.family;
                                                  });
      if (backend == nullptr || ip == backend->cluster_ips.end() || !choice->backend->port) {
        return out;  // a backend without endpoints: 503
      }
      dialled = SockAddr{*ip, *choice->backend->port};
      r = world.resolve(dialled);
      if (r.kind != discovery::Resolution::Kind::Service) {
        return out;
      }
    }
  }
  if (r.endpoints.empty()) {
    out.target = unreachable(view, *r.service, dialled);
    return out;
  }
  auto now = host_.loop().now();
  Avoid avoiding = avoid;
  avoiding.suspects = &host_.suspect_peers();
  auto chosen =
      picker_.pick(r.endpoints, host_.endpoint_loads(), avoiding, host_.loop().random(), now);
  if (!chosen) {
    // Every endpoint is ejected, or refused this request already: fail fast.
    out.target = unreachable(view, *r.service, dialled);
    return out;
  }
  const discovery::Endpoint& endpoint = r.endpoints[chosen->index];
  out.probe = chosen->probe;
  std::shared_ptr<HttpTarget>& cached = targets_[TargetKey{endpoint.addr, dialled}];
  if (!cached) {
    cached = std::make_shared<HttpTarget>(plan_endpoint(view, *pod_, endpoint, *r.service, dialled),
                                          host_.request_metrics());
    cached->http1 = http1_;
    cached->endpoint = chosen->state;
    if (cached->plan.route == FlowPlan::Route::Tunnel) {
      l7::Headers& tunnel = cached->tunnel_headers;
      tunnel.push_back({std::string(kDestinationHeader), cached->plan.target.str()});
      add_tunnel_claims(tunnel, cached->plan, kRequestClientHeader);
      if (http1_) {
        tunnel.push_back({std::string(kProtocolHeader), std::string(kHttp1Protocol)});
      }
    }
  }
  out.target = cached;
  return out;
}

std::shared_ptr<HttpTarget> OutboundHttp::unreachable(const NodeView& view,
                                                      const discovery::Service& service,
                                                      const SockAddr& dialled) {
  std::shared_ptr<HttpTarget>& cached = targets_[TargetKey{SockAddr{}, dialled}];
  if (!cached) {
    cached = std::make_shared<HttpTarget>(plan_to(view, *pod_, dialled, nullptr, service.fqdn()),
                                          host_.request_metrics());
    cached->reachable = false;
  }
  return cached;
}

Result<UpstreamLink> OutboundHttp::upstream(const HttpTarget& target) {
  if (target.plan.route == FlowPlan::Route::Tunnel) {
    auto session = host_.tunnel_for(*pod_, target.plan);
    if (!session) {
      return std::unexpected(session.error());
    }
    return UpstreamLink{*session, nullptr};
  }
  return host_.upstreams().link(*pod_, target.plan.target, http1_);
}

EndpointState* OutboundHttp::endpoint(const HttpTarget& target) {
  return target.endpoint;
}

}  // namespace weft::proxy
