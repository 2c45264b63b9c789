// HTTP/2 (and gRPC) from an app on this node to a Service: the app's connection is terminated
// here and each request is routed and balanced on its own.
#pragma once

#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "agent/metrics/RequestMetrics.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/proxy/FlowPlan.hpp"
#include "agent/proxy/H2Connection.hpp"
#include "agent/proxy/L7Exchange.hpp"
#include "common/Fd.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

class Worker;
struct NodeView;

/// Where one endpoint's requests go and the metric series they count in, as this caller sees
/// them; cached per endpoint until the NodeView changes (requests in flight keep theirs).
struct HttpTarget {
  FlowPlan plan;
  std::vector<agent::RequestSeries> series;  ///< source reporter, and destination when local
};

class OutboundHttp final : public H2Connection::Owner, public l7::H2Session::Acceptor {
 public:
  OutboundHttp(Worker& worker, std::shared_ptr<const agent::MeshedPod> pod,
               SockAddr service_address, Fd socket);
  ~OutboundHttp();

  /// `received`: the bytes protocol detection already read (the client preface).
  void start(std::span<const uint8_t> received);

  Worker& worker() { return worker_; }
  const agent::MeshedPod& pod() const { return *pod_; }
  H2Connection& downstream() { return downstream_; }
  /// The endpoint for one request: power of two choices over the endpoints' peak-EWMA cost.
  /// nullptr when the Service has no ready endpoint. The target's plan may still refuse the
  /// request (denied) or name a route HTTP cannot take yet.
  std::shared_ptr<HttpTarget> route();
  /// Erases a finished exchange.
  void erase(L7Exchange* exchange);

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
