// One completed request as `tap` streams it: who called whom, what was asked, how it ended.
// Built only while a tap session is open (TapHub::active), once the response is over, so that a
// session can filter on the response.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/IpAddr.hpp"
#include "l7/Headers.hpp"

namespace weft::agent {

/// One end of a tapped request.
struct TapPeer {
  std::optional<SockAddr> address;  ///< port 0 when the agent does not know the client's port
  std::string workload;
  std::string ns;
  std::string principal;  ///< SPIFFE ID, empty for an unmeshed client
};

/// The request's side of an event, taken when its head arrives (headers already redacted).
struct TapRequest {
  std::string method;
  std::string authority;
  std::string path;
  std::string trace_id;  ///< W3C traceparent's trace-id, else x-b3-traceid, else empty
  l7::Headers headers;
  l7::Headers response_headers;
  uint64_t request_bytes = 0;   ///< body bytes from the client
  uint64_t response_bytes = 0;  ///< body bytes from the endpoint
};

struct TapEvent {
  uint64_t id = 0;  ///< per agent, in publishing order
  std::string node;
  bool outbound = true;  ///< reported by the caller's agent (else by the callee's)
  std::string pod;       ///< the meshed pod on this node the agent spoke for, "namespace/name"
  TapPeer src;
  TapPeer dst;
  bool tls = false;      ///< mutual TLS between the agents
  std::string service;   ///< destination_service: the Service FQDN, empty for a pod address
  std::string protocol;  ///< "http" or "grpc"
  std::string route;     ///< the matched rule's `route` label, empty when none matched
  std::optional<SockAddr> upstream;  ///< the endpoint the last attempt went to
  uint32_t retries = 0;              ///< attempts before the last
  int status = 0;                    ///< 0: no response reached the client
  int grpc_status = -1;              ///< < 0: none
  double latency_seconds = 0;
  TapRequest request;
};

/// The event as one line of JSON (no newline); what `weftctl tap -o json` prints.
std::string to_json(const TapEvent& event);

}  // namespace weft::agent
