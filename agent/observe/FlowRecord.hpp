// One entry of the agent's flow history (`weftctl observe`): a finished request or a finished
// (or refused) TCP connection, as the agent that carried it saw it. Written on every request and
// connection, always: slots are reused, so a record's strings keep their capacity and writing
// one allocates nothing once the ring has gone round.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/metrics/FlowLabels.hpp"
#include "common/IpAddr.hpp"
#include "l7/Headers.hpp"

namespace weft::agent {

enum class FlowKind : uint8_t { Request, Connection };
/// allowed: carried (whatever the app answered); denied: refused by a MeshPolicy; failed: the
/// agent could not carry it (no endpoint, connect refused or timed out).
enum class FlowVerdict : uint8_t { Allowed, Denied, Failed };

std::string_view to_string(FlowKind kind);
std::string_view to_string(FlowVerdict verdict);

/// One end of a flow.
struct FlowEnd {
  std::optional<SockAddr> address;  ///< port 0: not known (an HTTP client behind its agent)
  std::string workload;
  std::string ns;
  std::string principal;  ///< SPIFFE ID, empty (or "unknown") for an unmeshed client
  void clear();
};

/// A request's method, authority, path (truncated to kMaxPath bytes) and trace id, copied from
/// its head into a fixed buffer that the exchange carries until the request ends: no
/// allocation per request.
class RequestLine {
 public:
  static constexpr std::size_t kMaxMethod = 16;
  static constexpr std::size_t kMaxAuthority = 128;
  static constexpr std::size_t kMaxPath = 256;
  static constexpr std::size_t kMaxTraceId = 32;

  /// Takes `:method`, `:authority` (else `host`), `:path` and the trace id of `head`.
  void set(const l7::Headers& head);
  std::string_view method() const { return field(0); }
  std::string_view authority() const { return field(1); }
  std::string_view path() const { return field(2); }
  std::string_view trace_id() const { return field(3); }

 private:
  static constexpr std::array<std::size_t, 4> kMax = {kMaxMethod, kMaxAuthority, kMaxPath,
                                                      kMaxTraceId};
  static constexpr std::array<std::size_t, 4> kOffset = {0, kMaxMethod, kMaxMethod + kMaxAuthority,
                                                         kMaxMethod + kMaxAuthority + kMaxPath};
  std::string_view field(std::size_t i) const { return {text_.data() + kOffset[i], length_[i]}; }
  void put(std::size_t i, std::string_view value);

  std::array<char, kMaxMethod + kMaxAuthority + kMaxPath + kMaxTraceId> text_;
  std::array<uint16_t, 4> length_ = {0, 0, 0, 0};
};

struct FlowRecord {
  uint64_t seq = 0;     ///< per agent, from 1, in the order records were written
  int64_t time_us = 0;  ///< when the flow ended (Unix time, microseconds)
  FlowKind kind = FlowKind::Request;
  FlowVerdict verdict = FlowVerdict::Allowed;
  bool outbound = true;  ///< reported by the caller's agent (else by the callee's)
  FlowEnd src;
  FlowEnd dst;
  std::string service;  ///< the Service FQDN the client dialled, empty for a pod address
  bool tls = false;     ///< mutual TLS between the agents
  /// Requests: "HTTP/1.1", "HTTP/2" or "gRPC"; connections: "TCP".
  std::string protocol;
  std::string method;
  std::string authority;
  std::string path;
  std::string trace_id;
  int status = 0;         ///< 0: no response reached the client
  int grpc_status = -1;   ///< < 0: none
  double seconds = 0;     ///< a request's latency, a connection's duration
  uint64_t sent = 0;      ///< connections: bytes source -> destination
  uint64_t received = 0;  ///< connections: bytes destination -> source
  std::string reason;     ///< denied or failed: why ("not_allowed", "connect: Connection refused")

  /// Empties it for reuse, keeping its strings' capacity.
  void clear();
  /// Copies `line` into the request fields (reusing their capacity).
  void set_request(const RequestLine& line);
  /// Direction, Service, security and both ends' identities as the reporter's `labels` name
  /// them; `client` the source's address (its port unknown), `target` the destination's.
  void set_flow(const FlowLabels& labels, const std::optional<IpAddr>& client,
                const std::optional<SockAddr>& target);
};

/// The record as one line of JSON (no newline), naming the agent's `node`: what GET /observe
/// and `weftctl observe -o json` print.
std::string to_json(const FlowRecord& record, std::string_view node);

}  // namespace weft::agent
