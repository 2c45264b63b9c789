// HTTP header fields as every l7 component holds them (HTTP/1.1 heads, HTTP/2 header blocks,
// route matching), without any protocol library: the HTTP/1.1 parser includes only this.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weft::l7 {

struct Header {
  std::string name;  ///< lower case, as HTTP/2 has it (HTTP/1.1 heads are lowered when parsed)
  std::string value;
};
using Headers = std::vector<Header>;

/// The first value of `name` (lower case) in `headers`, or nullptr.
const std::string* find_header(const Headers& headers, std::string_view name);
std::string* find_header(Headers& headers, std::string_view name);
/// The decimal integer a field value (from find_header) starts with, or `fallback` when the
/// field is absent (nullptr) or does not start with one.
int header_int(const std::string* value, int fallback);

/// gRPC status codes (grpc/doc/statuscodes.md) the proxy answers with or acts on.
namespace grpc_status {
constexpr int kDeadlineExceeded = 4;
constexpr int kPermissionDenied = 7;
constexpr int kInternal = 13;
constexpr int kUnavailable = 14;
}  // namespace grpc_status

/// The trace a request belongs to: the trace-id of its W3C `traceparent`
/// ("00-<trace-id>-<parent-id>-<flags>"), else its B3 `x-b3-traceid`, else empty. Points into
/// `headers`.
std::string_view trace_id(const Headers& headers);

/// Whether a message is gRPC: its content-type is application/grpc or a subtype of it.
bool is_grpc(const Headers& headers);

}  // namespace weft::l7
