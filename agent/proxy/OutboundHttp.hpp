// HTTP from an app on this node to a Service: the app's connection (HTTP/2 or HTTP/1.1) is
// terminated here and each request is routed and balanced on its own.
#pragma once

#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "agent/pods/MeshedPod.hpp"
#include "agent/proxy/ExchangeOwner.hpp"
#include "agent/proxy/ExchangeSet.hpp"
#include "agent/proxy/H2Connection.hpp"
#include "agent/proxy/Http1Downstream.hpp"
#include "agent/proxy/HttpTarget.hpp"
#include "common/Fd.hpp"
#include "l7/H2Session.hpp"
#include "l7/ProtocolDetector.hpp"

namespace weft::proxy {

class Worker;
struct NodeView;

class OutboundHttp final : public ExchangeOwner,
                           public H2Connection::Owner,
                           public Http1Downstream::Owner,
                           public l7::H2Session::Acceptor {
 public:
  /// `protocol`: what the app speaks on `socket` (Http1 or Http2).
  OutboundHttp(Worker& worker, std::shared_ptr<const agent::MeshedPod> pod,
               SockAddr service_address, Fd socket, l7::Protocol protocol);
  ~OutboundHttp();

  /// `received`: the bytes protocol detection already read.
  void start(std::span<const uint8_t> received);

  // ExchangeOwner.
  Worker& worker() override { return worker_; }
  /// Power of two choices over the peak-EWMA cost of the endpoints whose circuit breaker
  /// admits a request; nullptr when the Service has no ready endpoint or every one is ejected
  /// (fail fast). The target's plan may still refuse the request (denied).
  /// The Gateway API routes attached to the Service port pick a rule and a backend Service
  /// first (weighted); without a match, the Service's own endpoints.
  Routed route(const l7::Headers& head, const SockAddr* avoid = nullptr) override;
  /// A pooled connection from the app's pod: plain to an endpoint on this node or outside the
  /// mesh (in the app's protocol), the mTLS tunnel to an endpoint behind another node's agent.
  Result<UpstreamLink> upstream(const HttpTarget& target) override;
  EndpointState* endpoint(const HttpTarget& target) override;
  void erase(L7Exchange* exchange) override;

  // The app's connection.
  l7::H2Stream* accept_stream(int32_t id, const l7::Headers& head, bool end_stream) override;
  void connection_finished(H2Connection& connection) override;
  L7Exchange& open_exchange(ExchangePeer& client) override;
  void hand_over(Fd socket, std::vector<uint8_t> received) override;
  void downstream_finished() override;

 private:
  /// The target that stands for `service` when none of its endpoints can take the request.
  std::shared_ptr<HttpTarget> unreachable(const NodeView& view, const discovery::Service& service,
                                          const SockAddr& dialled);

  Worker& worker_;
  std::shared_ptr<const agent::MeshedPod> pod_;
  SockAddr service_address_;
  bool http1_;
  ExchangeSet exchanges_;
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
  struct Candidate {
    std::size_t index;     ///< into the Service's endpoints
    EndpointState* state;  ///< its state in the worker's EndpointLoads
  };
  std::vector<Candidate> admitted_;  ///< route()'s scratch: endpoints the breakers admit
  // Last: destroyed first, before the exchanges they report to.
  std::unique_ptr<H2Connection> h2_;
  std::unique_ptr<Http1Downstream> h1_;
};

}  // namespace weft::proxy
