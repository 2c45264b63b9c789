// The weft_tcp_* Prometheus families (DESIGN.md "metrics") and per-flow counter handles.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>
#include <string_view>

#include "agent/metrics/FlowLabels.hpp"

namespace weft::agent {

/// Counter handles for one label set; resolved once per connection, then only atomics are touched.
struct FlowCounters {
  prometheus::Counter* opened = nullptr;
  prometheus::Counter* closed = nullptr;
  prometheus::Gauge* open = nullptr;        ///< opened and not yet closed
  prometheus::Counter* sent = nullptr;      ///< bytes source -> destination
  prometheus::Counter* received = nullptr;  ///< bytes destination -> source
  prometheus::Counter* stalled = nullptr;   ///< reset by the agent: its bytes stopped moving
};

/// Owns the weft_tcp_* families in a registry.
class TcpMetrics {
 public:
  explicit TcpMetrics(prometheus::Registry& registry);
  /// Looks up (or creates) the counters of a label set. Takes the families' mutex: call it when a
  /// connection is set up, never per byte.
  FlowCounters counters_for(const FlowLabels& labels);
  /// Counts a connection refused by authorization (`reason`: not_allowed, plaintext_in_strict).
  void denied(const FlowLabels& labels, std::string_view reason);
  /// Counts a connection refused because its source holds its share of the node's
  /// connections (`reason` source_limit) or of request-head bytes (source_head_bytes).
  void refused_for_source(const WorkloadIdentity& source, std::string_view reason);
  /// Counts a connection to a Service that the endpoint of `labels` did not take before any
  /// byte moved (`outcome`: redialed, sent to another endpoint; reset, none was left).
  void connect_failed(const FlowLabels& labels, std::string_view outcome);

 private:
  prometheus::Family<prometheus::Counter>& opened_;
  prometheus::Family<prometheus::Counter>& closed_;
  prometheus::Family<prometheus::Gauge>& open_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& stalled_;
  prometheus::Family<prometheus::Counter>& denied_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& connect_failed_;
};

}  // namespace weft::agent
