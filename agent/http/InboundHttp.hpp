// HTTP requests that arrive through the tunnel from another node's agent, for the app of the
// pod whose :15008 accepted the session: each is delivered on a pooled connection to the app,
// from the calling pod's address.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "agent/http/ExchangeOwner.hpp"
#include "agent/http/ExchangeSet.hpp"
#include "agent/http/HttpTarget.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

struct NodeView;
class HttpHost;

class InboundHttp final : public ExchangeOwner {
 public:
  /// `peer_principal`: proven by the session's client certificate; `tunnel_source`: the
  /// session's peer address (the client when the request names none).
  InboundHttp(HttpHost& host, H2Carrier& session, std::shared_ptr<const agent::MeshedPod> pod,
              std::string peer_principal, IpAddr tunnel_source);
  ~InboundHttp();
  InboundHttp(const InboundHttp&) = delete;
  InboundHttp& operator=(const InboundHttp&) = delete;

  /// A request stream opened on the session: its owner.
  l7::H2Stream* accept(int32_t id);

  /// Cached: L7Exchange reads the clock through it several times per request.
  Loop& loop() override { return loop_; }
  l7::RetryBudget& retry_budget(const SockAddr& service) override;
  /// The app named by weft-destination, if it is an app port of this pod; the claims of the
  /// request are believed as for CONNECT streams (plan_tunnel_inbound), and the pod's policy
  /// decides with the certificate's principal.
  Routed route(const l7::Headers& head, const Avoid& avoid = {}) override;
  /// HTTP/1.1 when the source agent says the client spoke it (weft-protocol), else HTTP/2.
  Result<UpstreamLink> upstream(const HttpTarget& target) override;
  EndpointState* endpoint(const HttpTarget& /*target*/) override { return nullptr; }
  /// The source agent chose the endpoint: it hears of the refusal and chooses another.
  Refusal refusal() const override { return Refusal::PassOn; }
  void erase(L7Exchange* exchange) override { exchanges_.erase(exchange); }
  agent::TapHub& tap() override;
  agent::FlowLog& flows() override;
  const agent::MeshedPod& pod() const override { return *pod_; }

 private:
  struct Key {
    SockAddr target;
    IpAddr client;
    SockAddr service;  ///< port 0 when none was claimed
    bool http1 = false;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return (std::hash<SockAddr>{}(k.target) * 31 + std::hash<IpAddr>{}(k.client)) * 31 +
             std::hash<SockAddr>{}(k.service) + (k.http1 ? 1 : 0);
    }
  };

  HttpHost& host_;
  Loop& loop_;
  H2Carrier& session_;
  std::shared_ptr<const agent::MeshedPod> pod_;
  std::string peer_principal_;
  IpAddr tunnel_source_;
  ExchangeSet exchanges_;
  std::unordered_map<Key, std::shared_ptr<HttpTarget>, KeyHash> targets_;
  std::shared_ptr<const NodeView> targets_view_;  ///< the view targets_ was filled from
};

}  // namespace weft::proxy
