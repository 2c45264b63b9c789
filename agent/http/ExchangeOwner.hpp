// The side of an HTTP exchange that decides where its requests go: an app's connection on this
// node (OutboundHttp: balanced over a Service's endpoints), a tunnel session from another agent
// (InboundHttp: to the app of the pod it reached) or an unmeshed client's plaintext connection
// (PlaintextInboundHttp: to the app it reached).
#pragma once

#include <memory>

#include "agent/discovery/Objects.hpp"
#include "agent/http/H2Carrier.hpp"
#include "agent/plan/EndpointLoads.hpp"
#include "agent/plan/EndpointPicker.hpp"
#include "common/Error.hpp"
#include "l7/H2Session.hpp"
#include "l7/RetryBudget.hpp"

namespace weft::agent {
struct MeshedPod;
class FlowLog;
class TapHub;
}  // namespace weft::agent

namespace weft::proxy {

class Http1Upstream;
class L7Exchange;
class Loop;
struct HttpTarget;
struct NodeView;

/// The routing decision for one request.
struct Routed {
  /// Its target (plan and metric series); nullptr: nowhere to send it (503 / UNAVAILABLE).
  std::shared_ptr<HttpTarget> target;
  /// The Gateway API rule that matched (filters, timeouts, retry), or nullptr.
  const discovery::RouteRule* rule = nullptr;
  /// Keeps `rule` alive while the request lasts.
  std::shared_ptr<const NodeView> view;
  /// The rule has no backend to send to: answer 500 (gRPC: UNAVAILABLE), as Gateway API says.
  bool no_backend = false;
  /// The request is the one probe its ejected endpoint's circuit breaker lets through.
  bool probe = false;
};

/// What becomes of a request that reached no app (the connection to its endpoint was refused,
/// or it was lost before a byte of the request was written).
enum class Refusal {
  Reroute,  ///< another endpoint of the Service takes it at once (an app's own request)
  PassOn,   ///< RST_STREAM(REFUSED_STREAM) to the agent that sent it, which reroutes it
  Answer,   ///< 503 (gRPC: UNAVAILABLE) to the client, which has nobody else to ask
};

/// Where one request goes: a new stream of an HTTP/2 carrier, or an idle HTTP/1.1 connection.
struct UpstreamLink {
  H2Carrier* h2 = nullptr;
  Http1Upstream* h1 = nullptr;
};

class ExchangeOwner {
 public:
  /// The loop the exchange runs on (clock, deadlines, random choices, retiring).
  virtual Loop& loop() = 0;
  /// The retry budget of requests to the Service at `service` (per worker).
  virtual l7::RetryBudget& retry_budget(const SockAddr& service) = 0;
  /// Where one request goes; a request sent again says which endpoints to `avoid`.
  virtual Routed route(const l7::Headers& head, const Avoid& avoid = {}) = 0;
  /// What becomes of this owner's requests that reached no app.
  virtual Refusal refusal() const = 0;
  /// A connection to the target that takes one more request.
  virtual Result<UpstreamLink> upstream(const HttpTarget& target) = 0;
  /// The endpoint state (latency estimate, failure accrual) the request counts in, when the
  /// owner balances over endpoints; nullptr otherwise.
  virtual EndpointState* endpoint(const HttpTarget& target) = 0;
  /// Erases a finished exchange.
  virtual void erase(L7Exchange* exchange) = 0;
  /// Where completed requests go while a tap session is open.
  virtual agent::TapHub& tap() = 0;
  /// The flow history every finished request is written to.
  virtual agent::FlowLog& flows() = 0;
  /// The meshed pod on this node the owner speaks for (the caller outbound, the callee
  /// inbound): tap events name it.
  virtual const agent::MeshedPod& pod() const = 0;

 protected:
  ~ExchangeOwner() = default;
};

}  // namespace weft::proxy
