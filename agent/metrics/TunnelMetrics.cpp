#include "agent/metrics/TunnelMetrics.hpp"

namespace weft::agent {
namespace {

constexpr const char* kRoles[] = {"client", "server"};
constexpr const char* kReasons[] = {"verify", "identity_mismatch", "protocol", "timeout"};

}  // namespace

TunnelMetrics::TunnelMetrics(prometheus::Registry& registry) {
  auto& handshakes = prometheus::BuildCounter()
                         .Name("weft_tls_handshakes_total")
                         .Help("Completed TLS handshakes of the tunnel between agents")
                         .Register(registry);
  auto& failures = prometheus::BuildCounter()
                       .Name("weft_tls_handshake_failures_total")
                       .Help("Tunnel handshakes refused or failed, by reason")
                       .Register(registry);
  auto& opened = prometheus::BuildCounter()
                     .Name("weft_tunnel_sessions_opened_total")
                     .Help("TLS+HTTP/2 tunnel sessions established between agents")
                     .Register(registry);
  auto& open = prometheus::BuildGauge()
                   .Name("weft_tunnel_sessions")
                   .Help("TLS+HTTP/2 tunnel sessions open now")
                   .Register(registry);
  for (std::size_t role = 0; role < 2; ++role) {
    handshakes_[role][0] = &handshakes.Add({{"role", kRoles[role]}, {"resumed", "false"}});
    handshakes_[role][1] = &handshakes.Add({{"role", kRoles[role]}, {"resumed", "true"}});
    for (std::size_t why = 0; why < 4; ++why) {
      failures_[role][why] = &failures.Add({{"role", kRoles[role]}, {"reason", kReasons[why]}});
    }
    opened_[role] = &opened.Add({{"role", kRoles[role]}});
    open_[role] = &open.Add({{"role", kRoles[role]}});
  }
}

void TunnelMetrics::handshake(TunnelRole role, bool resumed) {
  handshakes_[r(role)][resumed ? 1 : 0]->Increment();
}

void TunnelMetrics::handshake_failed(TunnelRole role, HandshakeFailure why) {
  failures_[r(role)][static_cast<std::size_t>(why)]->Increment();
}

void TunnelMetrics::session_opened(TunnelRole role) {
  opened_[r(role)]->Increment();
  open_[r(role)]->Increment();
}

void TunnelMetrics::session_closed(TunnelRole role) {
  open_[r(role)]->Decrement();
}

}  // namespace weft::agent
