// HTTP from an app on this node to a Service: the app's connection (HTTP/2 or HTTP/1.1) is
// terminated here and each request is routed and balanced on its own.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "agent/http/AppHttp.hpp"
#include "agent/http/HttpTarget.hpp"
#include "agent/plan/EndpointPicker.hpp"

namespace weft::proxy {

struct NodeView;

class OutboundHttp final : public AppHttp {
 public:
  /// `protocol`: what the app speaks on `socket` (Http1 or Http2).
  OutboundHttp(HttpHost& host, std::shared_ptr<const agent::MeshedPod> pod,
               SockAddr service_address, Fd socket, l7::Protocol protocol);
  ~OutboundHttp();

  /// Power of two choices over the peak-EWMA cost of the endpoints whose circuit breaker
  /// admits a request; nullptr when the Service has no ready endpoint or every one is ejected
  /// (fail fast). The target's plan may still refuse the request (denied).
  /// The Gateway API routes attached to the Service port pick a rule and a backend Service
  /// first (weighted); without a match, the Service's own endpoints.
  Routed route(const l7::Headers& head, const Avoid& avoid = {}) override;
  /// A pooled connection from the app's pod: plain to an endpoint on this node or outside the
  /// mesh (in the app's protocol), the mTLS tunnel to an endpoint behind another node's agent.
  Result<UpstreamLink> upstream(const HttpTarget& target) override;
  EndpointState* endpoint(const HttpTarget& target) override;
  Refusal refusal() const override { return Refusal::Reroute; }
  void hand_over(Fd socket, std::vector<uint8_t> received) override;
  agent::WorkloadIdentity source_identity() const override;
  void forget_targets() override {
    targets_ = {};
    targets_view_.reset();
  }

 private:
  /// The target that stands for `service` when none of its endpoints can take the request.
  std::shared_ptr<HttpTarget> unreachable(const NodeView& view, const discovery::Service& service,
                                          const SockAddr& dialled);

  SockAddr service_address_;
  /// Targets by (endpoint, Service address the request went to).
  struct TargetKey {
    SockAddr endpoint;
    SockAddr service;
    bool operator==(const TargetKey&) const = default;
  };
  struct TargetKeyHash {
    std::size_t operator()(const TargetKey& k) const noexcept {
      return std::hash<SockAddr>{}(k.endpoint) * 31 + std::hash<SockAddr>{}(k.service);
    }
  };
  std::unordered_map<TargetKey, std::shared_ptr<HttpTarget>, TargetKeyHash> targets_;
  std::shared_ptr<const NodeView> targets_view_;  ///< the view targets_ was filled from
  EndpointPicker picker_;
};

}  // namespace weft::proxy
