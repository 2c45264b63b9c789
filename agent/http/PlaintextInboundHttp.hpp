// HTTP from a client outside the mesh (plaintext, captured by tc into :15006) to the app of a
// pod on this node. The connection is terminated here so that every request is counted by the
// destination (source principal "unknown", connection_security_policy "none") and checked
// against the pod's current MeshPolicy; each request reaches the app on a pooled connection
// from the client's own address.
#pragma once

#include <memory>
#include <vector>

#include "agent/http/AppHttp.hpp"
#include "agent/http/HttpTarget.hpp"

namespace weft::proxy {

struct NodeView;

class PlaintextInboundHttp final : public AppHttp {
 public:
  /// `peer` connected to `local` (the app's address in `pod`); `protocol`: what it speaks.
  PlaintextInboundHttp(HttpHost& host, std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                       l7::Protocol protocol, SockAddr peer, SockAddr local);

  /// The app itself, planned as the TCP path plans the connection (plan_inbound) and again
  /// whenever the node's view changes, so a policy turned STRICT refuses the next request.
  Routed route(const l7::Headers& head, const Avoid& avoid = {}) override;
  /// A pooled connection inside the pod, bound to the client's address, in its protocol.
  Result<UpstreamLink> upstream(const HttpTarget& target) override;
  EndpointState* endpoint(const HttpTarget& /*target*/) override { return nullptr; }
  /// The client dialled this pod: there is no other endpoint for it.
  Refusal refusal() const override { return Refusal::Answer; }
  /// An Upgrade (WebSocket) or CONNECT goes on to the app on the TCP path.
  void hand_over(Fd socket, std::vector<uint8_t> received) override;
  agent::WorkloadIdentity source_identity() const override;
  void forget_targets() override {
    target_.reset();
    target_view_.reset();
  }

 private:
  SockAddr peer_;
  SockAddr local_;
  std::shared_ptr<HttpTarget> target_;
  std::shared_ptr<const NodeView> target_view_;  ///< the view target_ was planned in
};

}  // namespace weft::proxy
