#include "agent/proxy/OutboundHttp.hpp"

#include "agent/proxy/TunnelHeaders.hpp"
#include "agent/proxy/Worker.hpp"
#include "l7/PowerOfTwoChoices.hpp"

namespace weft::proxy {
namespace {

l7::H2Limits downstream_limits() {
  l7::H2Limits limits;
  limits.max_concurrent_streams = 1000;
  return limits;
}

}  // namespace

OutboundHttp::OutboundHttp(Worker& worker, std::shared_ptr<const agent::MeshedPod> pod,
                           SockAddr service_address, Fd socket)
    : worker_(worker),
      pod_(std::move(pod)),
      service_address_(service_address),
      downstream_(worker, *this, std::move(socket), l7::H2Session::Role::Server,
                  downstream_limits(), this) {}

OutboundHttp::~OutboundHttp() = default;

void OutboundHttp::start(std::span<const uint8_t> received) {
  downstream_.start(received);
  downstream_.touch();
}

l7::H2Stream* OutboundHttp::accept_stream(int32_t id, const l7::Headers& /*head*/,
                                          bool /*end_stream*/) {
  auto exchange = std::make_unique<L7Exchange>(*this, downstream_, id);
  L7Exchange* raw = exchange.get();
  exchanges_.emplace(raw, std::move(exchange));
  return raw->downstream_stream();
}

void OutboundHttp::erase(L7Exchange* exchange) {
  exchanges_.erase(exchange);
}

void OutboundHttp::connection_finished(H2Connection& /*connection*/) {
  worker_.destroy(this);
}

std::shared_ptr<HttpTarget> OutboundHttp::route(const l7::Headers& /*head*/) {
  const NodeView& view = *worker_.view();
  if (worker_.view() != targets_view_) {
    targets_.clear();  // endpoints, identities or policies may have changed
    targets_view_ = worker_.view();
  }
  if (!view.world) {
    return nullptr;
  }
  discovery::Resolution r = view.world->resolve(service_address_);
  if (r.kind != discovery::Resolution::Kind::Service || r.endpoints.empty()) {
    return nullptr;
  }
  auto now = l7::PeakEwma::Clock::now();
  EndpointLoads& loads = worker_.endpoint_loads();
  std::size_t i = l7::pick_two(r.endpoints.size(), worker_.random(), [&](std::size_t k) {
    return loads.of(r.endpoints[k].addr, now).cost(now);
  });
  const discovery::Endpoint& endpoint = r.endpoints[i];
  std::shared_ptr<HttpTarget>& cached = targets_[endpoint.addr];
  if (!cached) {
    cached = std::make_shared<HttpTarget>(
        plan_endpoint(view, *pod_, endpoint, *r.service, service_address_),
        worker_.context().request_metrics);
  }
  return cached;
}

Result<H2Carrier*> OutboundHttp::upstream(const HttpTarget& target) {
  if (target.plan.route == FlowPlan::Route::Tunnel) {
    auto session = worker_.tunnel_for(*pod_, target.plan);
    if (!session) {
      return std::unexpected(session.error());
    }
    return *session;
  }
  auto connection = worker_.upstreams().get(*pod_, target.plan.target);
  if (!connection) {
    return std::unexpected(connection.error());
  }
  return *connection;
}

l7::Headers OutboundHttp::upstream_head(l7::Headers head, const HttpTarget& target) {
  std::erase_if(head, [](const l7::Header& h) { return is_tunnel_header(h.name); });
  if (target.plan.route == FlowPlan::Route::Tunnel) {
    head.push_back({std::string(kDestinationHeader), target.plan.target.str()});
    add_tunnel_claims(head, target.plan, kRequestClientHeader);
  }
  return head;
}

l7::PeakEwma* OutboundHttp::load(const HttpTarget& target) {
  return &worker_.endpoint_loads().of(target.plan.target, l7::PeakEwma::Clock::now());
}

}  // namespace weft::proxy
