// Which completed requests a tap session wants: parsed once from the session's query, then
// matched against every event while the session is open.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/tap/TapEvent.hpp"
#include "common/Error.hpp"
#include "common/IpAddr.hpp"

namespace weft::agent {

/// A response status filter: one code ("503"), a class ("5xx") or codes from one up ("4+").
struct StatusRange {
  int low = 0;
  int high = 0;  ///< inclusive
  static std::optional<StatusRange> parse(std::string_view text);
  bool contains(int status) const { return status >= low && status <= high; }
};

struct TapFilter {
  std::string ns;           ///< either end's namespace
  std::string workload;     ///< either end's workload
  std::string pod;          ///< the local pod: "namespace/name", or "name" within `ns`
  std::string to_ns;        ///< the destination's namespace
  std::string to_workload;  ///< the destination's workload
  std::optional<bool> outbound;
  std::optional<Cidr> src;
  std::optional<Cidr> dst;
  std::optional<uint16_t> port;  ///< the destination's port
  std::string method;            ///< compared without case
  std::string authority;
  std::string path_prefix;
  std::optional<StatusRange> status;
  /// Not from the query: the namespaces whose pods' requests the session's client may see (an
  /// mTLS client's allow-list entry); empty: every one.
  std::vector<std::string> namespaces;

  bool matches(const TapEvent& event) const;
  /// The filter in the words of its query, for the session's log line ("all" when empty).
  std::string describe() const;
};

/// The keys a tap query takes, besides the session's own (max_rps, duration, format).
/// Unknown keys and malformed values are errors that name the key.
Result<TapFilter> parse_tap_filter(const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace weft::agent
