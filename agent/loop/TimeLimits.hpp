// How long a peer may keep the agent waiting, each limit in one place: Config sets them, the
// workers enforce them (io_uring link timeouts for connects, the worker's tick for the others,
// which read time stamps the connections keep), and weft_timeouts_total counts each that fires.
#pragma once

#include <chrono>

namespace weft::proxy {

struct TimeLimits {
  /// An upstream or tunnel connect.
  std::chrono::milliseconds connect{5000};
  /// A client's request head, from its first byte (HTTP/1.1; from the connection's start for
  /// the first request), or an HTTP/2 client's first request, from the connection's start.
  std::chrono::milliseconds request_header{10000};
  /// A client's HTTP connection with no request in progress.
  std::chrono::seconds http_idle{120};
  /// A TCP connection carried opaquely whose bytes have not moved either way (0: never).
  std::chrono::seconds tcp_idle{3600};
  /// A tunnel session's TLS handshake, from the start of its connect (client) or accept.
  std::chrono::milliseconds tls_handshake{10000};
  /// A pooled tunnel session without streams.
  std::chrono::seconds tunnel_idle{30};
  /// A tunnel session from which nothing arrived for this long is sent an HTTP/2 PING...
  std::chrono::milliseconds tunnel_ping_interval{5000};
  /// ...and is dead, its streams reset, when nothing arrives within this long of the PING.
  std::chrono::milliseconds tunnel_ping_timeout{2000};
  /// A TCP connection holding bytes none of which moved for this long (0: never).
  std::chrono::seconds stall{300};
};

}  // namespace weft::proxy
