// The side of an HTTP exchange that decides where its requests go: an app's connection on this
// node (OutboundHttp: balanced over a Service's endpoints) or a tunnel session from another
// agent (InboundHttp: to the app of the pod it reached).
#pragma once

#include <memory>

#include "agent/proxy/H2Carrier.hpp"
#include "common/Error.hpp"
#include "l7/H2Session.hpp"
#include "l7/PeakEwma.hpp"

namespace weft::proxy {

class L7Exchange;
class Worker;
struct HttpTarget;

class ExchangeOwner {
 public:
  virtual Worker& worker() = 0;
  /// The connection the requests arrived on.
  virtual H2Carrier& downstream() = 0;
  /// The target of one request (its plan and metric series); nullptr: nowhere to send it.
  virtual std::shared_ptr<HttpTarget> route(const l7::Headers& head) = 0;
  /// A connection to the target that takes one more request.
  virtual Result<H2Carrier*> upstream(const HttpTarget& target) = 0;
  /// The head to send upstream for `head` (headers added or removed on the way).
  virtual l7::Headers upstream_head(l7::Headers head, const HttpTarget& target) = 0;
  /// The latency estimate the request counts in, when the owner balances by latency.
  virtual l7::PeakEwma* load(const HttpTarget& target) = 0;
  /// Erases a finished exchange.
  virtual void erase(L7Exchange* exchange) = 0;

 protected:
  ~ExchangeOwner() = default;
};

}  // namespace weft::proxy
