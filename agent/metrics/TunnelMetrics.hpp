// Metrics of the mTLS tunnel between agents: handshakes, their failures, pooled sessions.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>

namespace weft::agent {

enum class TunnelRole { Client, Server };

/// Why a handshake (or the identity check right after it) failed.
enum class HandshakeFailure {
  Verify,            ///< peer chain untrusted, expired, or without a SPIFFE ID
  IdentityMismatch,  ///< valid certificate, but not the identity discovery expects there
  Protocol,          ///< not TLS 1.3 + h2, or a TLS/transport error
  Timeout,
};

/// Every series is created up front, so recording is an atomic add on a cached pointer.
class TunnelMetrics {
 public:
  explicit TunnelMetrics(prometheus::Registry& registry);

  void handshake(TunnelRole role, bool resumed);
  void handshake_failed(TunnelRole role, HandshakeFailure why);
  void session_opened(TunnelRole role);
  void session_closed(TunnelRole role);

 private:
  static std::size_t r(TunnelRole role) { return role == TunnelRole::Client ? 0 : 1; }
  std::array<std::array<prometheus::Counter*, 2>, 2> handshakes_{};  ///< [role][resumed]
  std::array<std::array<prometheus::Counter*, 4>, 2> failures_{};    ///< [role][reason]
  std::array<prometheus::Counter*, 2> opened_{};
  std::array<prometheus::Gauge*, 2> open_{};
};

}  // namespace weft::agent
