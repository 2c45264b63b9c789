// weft_requests_total and weft_request_duration_seconds (DESIGN.md "metrics"), and the
// per-caller cache that keeps label lookups off the per-request path.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "agent/metrics/FlowLabels.hpp"

namespace weft::agent {

/// request_protocol of an L7 request.
enum class RequestProtocol : uint8_t { Http, Grpc };

/// Why an attempt was given up and the request sent again (the `reason` label of
/// weft_request_retries_total).
enum class RetryReason : uint8_t {
  Response,        ///< the endpoint answered a status the route retries (response_code, grpc)
  Reset,           ///< the stream or its connection was reset or lost before an answer
  Timeout,         ///< the attempt outlived the rule's timeouts.backendRequest
  ConnectFailure,  ///< it reached no app: the connection to the endpoint was refused or failed
};

/// What made one attempt fail: the reason, and the attempt's answer when it had one.
struct AttemptFailure {
  RetryReason reason = RetryReason::Reset;
  int response_code = 0;  ///< 0: no answer
  int grpc_status = -1;   ///< < 0: none (the label is empty)
  bool operator==(const AttemptFailure&) const = default;
};

/// Owns the two families. Thread-safe; resolve() takes the families' mutex and is meant for
/// cache misses only (RequestSeries).
class RequestMetrics {
 public:
  explicit RequestMetrics(prometheus::Registry& registry);

  struct Handles {
    prometheus::Counter* total = nullptr;
    prometheus::Histogram* duration = nullptr;
  };
  /// `grpc_status` < 0: not a gRPC answer (the label is empty). `route`: the rule that matched
  /// (RouteRule::metric_route), empty when none did.
  Handles resolve(const FlowLabels& labels, RequestProtocol protocol, std::string_view route,
                  int response_code, int grpc_status);
  /// weft_request_retries_total: requests sent again to another try, labelled with their
  /// `route` and why the attempt before failed (`reason`, and that attempt's `response_code`
  /// and `grpc_response_status`).
  prometheus::Counter& retries(const FlowLabels& labels, RequestProtocol protocol,
                               std::string_view route, const AttemptFailure& failure);
  /// weft_endpoint_ejections_total: times the circuit breaker took the endpoint out, labelled
  /// with the protocol of the request whose failure ejected it.
  prometheus::Counter& ejections(const FlowLabels& labels, RequestProtocol protocol);

 private:
  prometheus::Family<prometheus::Counter>& total_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& ejections_;
};

/// The series of one label set (one caller, one destination, one reporter), cached by the
/// thread that records them: recording looks up (protocol, code, grpc status) as integers and
/// the route by its text in a short vector, then touches only the counter and the histogram.
/// Not thread-safe.
class RequestSeries {
 public:
  RequestSeries(RequestMetrics& metrics, FlowLabels labels);

  /// `route` (the rule that matched) is kept by the source's series only: the destination's
  /// agent does not route, so its series of a request across nodes could not carry it, and
  /// those of a request on one node do not either.
  void record(RequestProtocol protocol, std::string_view route, int response_code, int grpc_status,
              double seconds);
  const FlowLabels& labels() const { return labels_; }

 private:
  struct Entry {
    RequestProtocol protocol;
    int response_code;
    int grpc_status;
    std::string route;
    RequestMetrics::Handles handles;
  };

  RequestMetrics* metrics_;
  FlowLabels labels_;
  bool routed_;  ///< the source reporter's: keeps the route
  std::vector<Entry> entries_;
};

}  // namespace weft::agent
