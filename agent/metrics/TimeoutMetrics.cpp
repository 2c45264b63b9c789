#include "agent/metrics/TimeoutMetrics.hpp"

namespace weft::agent {

const char* timeout_label(Timeout t) {
  switch (t) {
    case Timeout::Connect:
      return "connect";
    case Timeout::RequestHeader:
      return "request_header";
    case Timeout::HttpIdle:
      return "http_idle";
    case Timeout::TcpIdle:
      return "tcp_idle";
    case Timeout::TlsHandshake:
      return "tls_handshake";
    case Timeout::TunnelIdle:
      return "tunnel_idle";
    case Timeout::TunnelPing:
      return "tunnel_ping";
  }
  return "unknown";
}

TimeoutMetrics::TimeoutMetrics(prometheus::Registry& registry) {
  auto& family = prometheus::BuildCounter()
                     .Name("weft_timeouts_total")
                     .Help(
                         "Waits ended by one of the agent's time limits, by which one (the "
                         "--*-timeout-* settings)")
                     .Register(registry);
  for (std::size_t i = 0; i < kTimeoutKinds; ++i) {
    counters_[i] = &family.Add({{"timeout", timeout_label(static_cast<Timeout>(i))}});
  }
}

}  // namespace weft::agent
