// Where the requests to one destination go and the metric series they count in.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agent/metrics/RequestMetrics.hpp"
#include "agent/plan/EndpointLoads.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

/// Resolved once per destination and cached by the exchange owner until the NodeView changes;
/// requests in flight keep theirs (shared_ptr).
struct HttpTarget {
  FlowPlan plan;
  std::vector<agent::RequestSeries> series;  ///< this reporter's, and the destination's when local
  bool http1 = false;  ///< the app is spoken to in HTTP/1.1 (the client spoke it)
  /// false: the Service has no endpoint to send to (none ready, or every one ejected); the
  /// target only names the Service, so that the 503 is counted with it.
  bool reachable = true;
  /// The endpoint's balancing state (outbound targets only; entries of the worker's
  /// EndpointLoads never move), so a request does not look it up again.
  EndpointState* endpoint = nullptr;
  /// Outbound across nodes: the weft-* headers every request carries in the tunnel, formatted
  /// once: which app it is for, on whose behalf and in which protocol (weft-destination,
  /// weft-forwarded, weft-service-address, weft-protocol). L7Exchange drops the app's own
  /// weft-* headers before it adds these, so that no app can forge them.
  l7::Headers tunnel_headers;

  HttpTarget(FlowPlan p, agent::RequestMetrics& metrics) : plan(std::move(p)), metrics_(metrics) {
    series.emplace_back(metrics, plan.labels);
    if (plan.local_destination_labels) {
      series.emplace_back(metrics, *plan.local_destination_labels);
    }
  }

  /// weft_request_retries_total of these labels, the request's protocol and route and why its
  /// attempt failed; a series appears with its first count.
  prometheus::Counter& retries(agent::RequestProtocol protocol, std::string_view route,
                               const agent::AttemptFailure& failure) {
    for (const Retried& r : retries_) {
      if (r.protocol == protocol && r.failure == failure && r.route == route) {
        return *r.counter;
      }
    }
    retries_.push_back({protocol, failure, std::string(route),
                        &metrics_.retries(plan.labels, protocol, route, failure)});
    return *retries_.back().counter;
  }
  /// weft_endpoint_ejections_total of these labels and the request's protocol, likewise.
  prometheus::Counter& ejections(agent::RequestProtocol protocol) {
    prometheus::Counter*& slot = ejections_[static_cast<std::size_t>(protocol)];
    if (slot == nullptr) {
      slot = &metrics_.ejections(plan.labels, protocol);
    }
    return *slot;
  }

 private:
  struct Retried {
    agent::RequestProtocol protocol;
    agent::AttemptFailure failure;
    std::string route;
    prometheus::Counter* counter;
  };

  agent::RequestMetrics& metrics_;
  std::vector<Retried> retries_;
  std::array<prometheus::Counter*, 2> ejections_{};
};

}  // namespace weft::proxy
