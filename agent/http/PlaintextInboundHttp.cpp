#include "agent/http/PlaintextInboundHttp.hpp"

#include "agent/dispatch/Dispatcher.hpp"

namespace weft::proxy {

PlaintextInboundHttp::PlaintextInboundHttp(Dispatcher& dispatcher,
                                           std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                                           l7::Protocol protocol, SockAddr peer, SockAddr local)
    : AppHttp(dispatcher, std::move(pod), std::move(socket), protocol),
      peer_(peer),
      local_(local) {}

Routed PlaintextInboundHttp::route(const l7::Headers& /*head*/, const Avoid& /*avoid*/) {
  if (dispatcher_.view() != target_view_) {
    target_view_ = dispatcher_.view();
    target_ = std::make_shared<HttpTarget>(plan_inbound(*target_view_, *pod_, peer_, local_),
                                           dispatcher_.context().request_metrics);
    target_->http1 = http1_;
  }
  return Routed{target_, nullptr, nullptr, false};
}

Result<UpstreamLink> PlaintextInboundHttp::upstream(const HttpTarget& target) {
  return dispatcher_.upstreams().link(*pod_, target.plan.target, target.http1,
                                      target.plan.client_ip);
}

void PlaintextInboundHttp::hand_over(Fd socket, std::vector<uint8_t> received) {
  dispatcher_.dispatch_inbound(pod_, std::move(socket), peer_, local_, l7::Protocol::Opaque,
                               received);
  dispatcher_.destroy(this);
}

}  // namespace weft::proxy
