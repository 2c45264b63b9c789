// HTTP/2 (and gRPC) from an app on this node to a Service: the app's connection is terminated
// here and each request is routed and balanced on its own.
#pragma once

#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "agent/metrics/RequestMetrics.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/proxy/ExchangeOwner.hpp"
#include "agent/proxy/FlowPlan.hpp"
#include "agent/proxy/H2Connection.hpp"
#include "agent/proxy/HttpTarget.hpp"
#include "agent/proxy/L7Exchange.hpp"
#include "common/Fd.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

class Worker;
struct NodeView;

class OutboundHttp final : public ExchangeOwner,
                           public H2Connection::Owner,
                           public l7::H2Session::Acceptor {
 public:
  OutboundHttp(Worker& worker, std::shared_ptr<const agent::MeshedPod> pod,
               SockAddr service_address, Fd socket);
  ~OutboundHttp();

  /// `received`: the bytes protocol detection already read (the client preface).
  void start(std::span<const uint8_t> received);

  // ExchangeOwner.
  Worker& worker() override { return worker_; }
  H2Carrier& downstream() override { return downstream_; }
  /// Power of two choices over the endpoints' peak-EWMA cost; nullptr when the Service has no
  /// ready endpoint. The target's plan may still refuse the request (denied).
  std::shared_ptr<HttpTarget> route(const l7::Headers& head) override;
  /// A pooled connection from the app's pod: plain to an endpoint on this node or outside the
  /// mesh, the mTLS tunnel to an endpoint behind another node's agent.
  Result<H2Carrier*> upstream(const HttpTarget& target) override;
  /// Through the tunnel, the head also says which app it is for and on whose behalf
  /// (weft-destination, forwarded, weft-service-address); the app's own weft-* headers are
  /// dropped so that no app can forge them.
  l7::Headers upstream_head(l7::Headers head, const HttpTarget& target) override;
  l7::PeakEwma* load(const HttpTarget& target) override;
  void erase(L7Exchange* exchange) override;

  l7::H2Stream* accept_stream(int32_t id, const l7::Headers& head, bool end_stream) override;
  void connection_finished(H2Connection& connection) override;

 private:
  Worker& worker_;
  std::shared_ptr<const agent::MeshedPod> pod_;
  SockAddr service_address_;
  std::unordered_map<L7Exchange*, std::unique_ptr<L7Exchange>> exchanges_;
  std::unordered_map<SockAddr, std::shared_ptr<HttpTarget>> targets_;
  std::shared_ptr<const NodeView> targets_view_;  ///< the view targets_ was filled from
  H2Connection downstream_;                       ///< last: destroyed first, before the exchanges
};

}  // namespace weft::proxy
