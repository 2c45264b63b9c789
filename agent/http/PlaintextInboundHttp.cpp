#include "agent/http/PlaintextInboundHttp.hpp"

#include "agent/http/HttpHost.hpp"
#include "agent/http/UpstreamPool.hpp"
#include "agent/loop/Loop.hpp"

namespace weft::proxy {

agent::WorkloadIdentity PlaintextInboundHttp::source_identity() const {
  return identity_of_ip(*host_.view(), peer_.ip);
}

PlaintextInboundHttp::PlaintextInboundHttp(HttpHost& host,
                                           std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                                           l7::Protocol protocol, SockAddr peer, SockAddr local)
    : AppHttp(host, std::move(pod), std::move(socket), protocol), peer_(peer), local_(local) {}

Routed PlaintextInboundHttp::route(const l7::Headers& /*head*/, const Avoid& /*avoid*/) {
  if (host_.view() != target_view_) {
    target_view_ = host_.view();
    target_ = std::make_shared<HttpTarget>(plan_inbound(*target_view_, *pod_, peer_, local_),
                                           host_.request_metrics());
    target_->http1 = http1_;
  }
  return Routed{target_, nullptr, nullptr, false};
}

Result<UpstreamLink> PlaintextInboundHttp::upstream(const HttpTarget& target) {
  return host_.upstreams().link(*pod_, target.plan.target, target.http1, target.plan.client_ip);
}

void PlaintextInboundHttp::hand_over(Fd socket, std::vector<uint8_t> received) {
  host_.hand_over_inbound(pod_, std::move(socket), std::move(share_), peer_, local_, received);
  host_.http_finished(*this);
}

}  // namespace weft::proxy
