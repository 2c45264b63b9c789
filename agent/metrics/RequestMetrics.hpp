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

/// Owns the two families. Thread-safe; resolve() takes the families' mutex and is meant for
/// cache misses only (RequestSeries).
class RequestMetrics {
 public:
  explicit RequestMetrics(prometheus::Registry& registry);

  struct Handles {
    prometheus::Counter* total = nullptr;
    prometheus::Histogram* duration = nullptr;
  };
  /// `grpc_status` < 0: not a gRPC answer (the label is empty).
  Handles resolve(const FlowLabels& labels, RequestProtocol protocol, int response_code,
                  int grpc_status);
  /// weft_request_retries_total: requests sent again to another try.
  prometheus::Counter& retries(const FlowLabels& labels, RequestProtocol protocol);
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
/// thread that records them: recording looks up (protocol, code, grpc status) as integers in a
/// short vector, then touches only the counter and the histogram. Not thread-safe.
class RequestSeries {
 public:
  RequestSeries(RequestMetrics& metrics, FlowLabels labels);

  void record(RequestProtocol protocol, int response_code, int grpc_status, double seconds);
  const FlowLabels& labels() const { return labels_; }

 private:
  struct Entry {
    RequestProtocol protocol;
    int response_code;
    int grpc_status;
    RequestMetrics::Handles handles;
  };

  RequestMetrics* metrics_;
  FlowLabels labels_;
  std::vector<Entry> entries_;
};

}  // namespace weft::agent
