// What the HTTP connections of one worker need from whoever owns them (the Dispatcher): the view
// they route by, the state and pools the worker's connections share, the tunnel to other agents,
// and the hand-over of a connection that stops being HTTP.
#pragma once

#include <memory>
#include <span>

#include "agent/http/H2Carrier.hpp"
#include "agent/loop/SourceShares.hpp"
#include "agent/metrics/RequestMetrics.hpp"
#include "agent/observe/FlowLog.hpp"
#include "agent/plan/EndpointLoads.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "agent/plan/NodeView.hpp"
#include "agent/plan/SuspectPeers.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/tap/TapHub.hpp"
#include "common/Error.hpp"
#include "common/Fd.hpp"
#include "l7/RetryBudget.hpp"

namespace weft::proxy {

class AppHttp;
class Loop;
class UpstreamPool;

class HttpHost {
 public:
  virtual Loop& loop() = 0;
  /// The view of this moment (replaced whole when control publishes one).
  virtual const std::shared_ptr<const NodeView>& view() const = 0;
  virtual agent::RequestMetrics& request_metrics() = 0;
  virtual agent::TapHub& tap() = 0;
  /// The flow history every finished request is written to.
  virtual agent::FlowLog& flows() = 0;
  /// Pooled connections to apps, per (calling pod, endpoint).
  virtual UpstreamPool& upstreams() = 0;
  /// Latency estimates and circuit breakers of the endpoints requests go to.
  virtual EndpointLoads& endpoint_loads() = 0;
  /// Peer agents that did not answer lately: requests go to other endpoints when they can.
  virtual const SuspectPeers& suspect_peers() const = 0;
  /// The retry budget of requests to the Service at `service`.
  virtual l7::RetryBudget& retry_budget(const SockAddr& service) = 0;
  /// A pooled (or new) tunnel session from `pod` to the agent behind `plan.target` that takes
  /// one more stream (a new one to a suspect peer with the short limit).
  virtual Result<H2Carrier*> tunnel_for(const agent::MeshedPod& pod, const FlowPlan& plan) = 0;
  /// The app's connection is over: destroy it.
  virtual void http_finished(AppHttp& http) = 0;
  /// A connection of `source` was refused for its share (`reason`, see
  /// TcpMetrics::refused_for_source): counted and logged.
  virtual void source_refused(const agent::WorkloadIdentity& source, std::string_view reason) = 0;
  /// An outbound connection to `original` stops being HTTP (an Upgrade, a CONNECT): carry it
  /// as TCP from here, `received` first.
  virtual void hand_over_outbound(std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                                  SourceShare share, const SockAddr& original,
                                  std::span<const uint8_t> received) = 0;
  /// Likewise for an unmeshed client's connection from `peer` to `pod`'s app at `local`.
  virtual void hand_over_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd socket,
                                 SourceShare share, const SockAddr& peer, const SockAddr& local,
                                 std::span<const uint8_t> received) = 0;

 protected:
  ~HttpHost() = default;
};

}  // namespace weft::proxy
