#include "agent/metrics/TcpMetrics.hpp"

#include <prometheus/labels.h>

namespace weft::agent {
namespace {

prometheus::Family<prometheus::Counter>& counter_family(prometheus::Registry& registry,
                                                        const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

}  // namespace

TcpMetrics::TcpMetrics(prometheus::Registry& registry)
    : opened_(counter_family(registry, "weft_tcp_connections_opened_total",
                             "TCP connections opened through the agent")),
      closed_(counter_family(registry, "weft_tcp_connections_closed_total",
                             "TCP connections through the agent that have closed")),
      open_(prometheus::BuildGauge()
                .Name("weft_tcp_connections_open")
                .Help("TCP connections through the agent open now (opened_total - closed_total "
                      "of the same labels)")
                .Register(registry)),
      sent_(counter_family(registry, "weft_tcp_sent_bytes_total",
                           "Bytes sent from the source workload to the destination")),
      received_(counter_family(registry, "weft_tcp_received_bytes_total",
                               "Bytes the source workload received from the destination")),
      stalled_(counter_family(registry, "weft_tcp_connections_stalled_total",
                              "TCP connections the agent reset because no byte moved either way "
                              "for --stall-timeout-seconds while it held some for them")),
      denied_(counter_family(registry, "weft_tcp_connections_denied_total",
                             "TCP connections refused by the destination's mesh policy")),
      refused_(counter_family(registry, "weft_tcp_connections_refused_total",
                              "Connections the agent refused because their source held its share "
                              "of the node's connections (reason source_limit, reset; "
                              "--max-connections-per-source) or of request-head bytes (reason "
                              "source_head_bytes, 431; --max-header-bytes-per-source), by "
                              "source")),
      connect_failed_(counter_family(
          registry, "weft_tcp_connect_failures_total",
          "Connections to a Service whose endpoint (the destination labels) did not take them "
          "before any byte moved: a refused or timed-out connect, a peer agent's 502/503/504, "
          "a tunnel stream lost unanswered; by outcome: redialed (sent to another endpoint) or "
          "reset (none was left)")) {}

FlowCounters TcpMetrics::counters_for(const FlowLabels& labels) {
  auto l = to_prometheus(labels, "tcp");
  return {&opened_.Add(l), &closed_.Add(l),   &open_.Add(l),
          &sent_.Add(l),   &received_.Add(l), &stalled_.Add(l)};
}

void TcpMetrics::refused_for_source(const WorkloadIdentity& source, std::string_view reason) {
  refused_
      .Add({{"reason", std::string(reason)},
            {"source_workload", source.workload},
            {"source_workload_namespace", source.ns},
            {"source_principal", source.principal}})
      .Increment();
}

void TcpMetrics::connect_failed(const FlowLabels& labels, std::string_view outcome) {
  auto l = to_prometheus(labels, "tcp");
  l.emplace("outcome", std::string(outcome));
  connect_failed_.Add(l).Increment();
}

void TcpMetrics::denied(const FlowLabels& labels, std::string_view reason) {
  auto l = to_prometheus(labels, "tcp");
  l.emplace("reason", std::string(reason));
  denied_.Add(l).Increment();
}

}  // namespace weft::agent
