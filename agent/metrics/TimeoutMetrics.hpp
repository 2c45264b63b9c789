// weft_timeouts_total: every time limit of TimeLimits that ended a wait, by which one.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>

namespace weft::agent {

enum class Timeout {
  Connect,        ///< an upstream or tunnel connect
  RequestHeader,  ///< a client's request head
  HttpIdle,       ///< a client's HTTP connection without a request
  TcpIdle,        ///< an opaque TCP connection whose bytes stopped moving
  TlsHandshake,   ///< a tunnel session's handshake
  TunnelIdle,     ///< a pooled tunnel session without streams
  TunnelPing,     ///< a tunnel session that did not answer its PING
};
inline constexpr std::size_t kTimeoutKinds = 7;

/// The `timeout` label's value.
const char* timeout_label(Timeout t);

/// Every series is created up front (all seven show 0 before one fires).
class TimeoutMetrics {
 public:
  explicit TimeoutMetrics(prometheus::Registry& registry);

  void fired(Timeout t) { counters_[static_cast<std::size_t>(t)]->Increment(); }

 private:
  std::array<prometheus::Counter*, kTimeoutKinds> counters_{};
};

}  // namespace weft::agent
