#include "agent/metrics/RequestMetrics.hpp"

#include <string>

namespace weft::agent {
namespace {

/// Seconds; Istio's millisecond buckets from 1 ms to 10 s, in base units.
const prometheus::Histogram::BucketBoundaries kBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

std::string_view name(RequestProtocol protocol) {
  return protocol == RequestProtocol::Grpc ? "grpc" : "http";
}

std::string_view name(RetryReason reason) {
  switch (reason) {
    case RetryReason::Response:
      return "response";
    case RetryReason::Reset:
      return "reset";
    case RetryReason::Timeout:
      return "timeout";
    case RetryReason::ConnectFailure:
      return "connect_failure";
  }
  return "reset";  // unreachable: every enumerator is handled above
}

/// The outcome labels of a request or an attempt: response_code and grpc_response_status.
void add_outcome(prometheus::Labels& l, int response_code, int grpc_status) {
  l.emplace("response_code", std::to_string(response_code));
  l.emplace("grpc_response_status", grpc_status < 0 ? std::string() : std::to_string(grpc_status));
}

}  // namespace

RequestMetrics::RequestMetrics(prometheus::Registry& registry)
    : total_(prometheus::BuildCounter()
                 .Name("weft_requests_total")
                 .Help("HTTP requests and gRPC calls through the agent, by outcome")
                 .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("weft_request_duration_seconds")
                    .Help("Time from a request's head to the end of its response")
                    .Register(registry)),
      retries_(prometheus::BuildCounter()
                   .Name("weft_request_retries_total")
                   .Help("Requests sent again after an attempt failed, by why it failed")
                   .Register(registry)),
      ejections_(prometheus::BuildCounter()
                     .Name("weft_endpoint_ejections_total")
                     .Help("Times an endpoint was ejected after consecutive failures")
                     .Register(registry)) {}

prometheus::Counter& RequestMetrics::retries(const FlowLabels& labels, RequestProtocol protocol,
                                             std::string_view route,
                                             const AttemptFailure& failure) {
  auto l = to_prometheus(labels, name(protocol));
  l.emplace("route", std::string(route));
  add_outcome(l, failure.response_code, failure.grpc_status);
  l.emplace("reason", std::string(name(failure.reason)));
  return retries_.Add(l);
}

prometheus::Counter& RequestMetrics::ejections(const FlowLabels& labels, RequestProtocol protocol) {
  return ejections_.Add(to_prometheus(labels, name(protocol)));
}

RequestMetrics::Handles RequestMetrics::resolve(const FlowLabels& labels, RequestProtocol protocol,
                                                std::string_view route, int response_code,
                                                int grpc_status) {
  auto l = to_prometheus(labels, name(protocol));
  l.emplace("route", std::string(route));
  add_outcome(l, response_code, grpc_status);
  return {&total_.Add(l), &duration_.Add(l, kBuckets)};
}

RequestSeries::RequestSeries(RequestMetrics& metrics, FlowLabels labels)
    : metrics_(&metrics), labels_(std::move(labels)), routed_(labels_.reporter == "source") {}

void RequestSeries::record(RequestProtocol protocol, std::string_view route, int response_code,
                           int grpc_status, double seconds) {
  if (!routed_) {
    route = {};
  }
  const RequestMetrics::Handles* handles = nullptr;
  for (const Entry& e : entries_) {
    if (e.protocol == protocol && e.response_code == response_code &&
        e.grpc_status == grpc_status && e.route == route) {
      handles = &e.handles;
      break;
    }
  }
  if (handles == nullptr) {
    entries_.push_back({protocol, response_code, grpc_status, std::string(route),
                        metrics_->resolve(labels_, protocol, route, response_code, grpc_status)});
    handles = &entries_.back().handles;
  }
  handles->total->Increment();
  handles->duration->Observe(seconds);
}

}  // namespace weft::agent
