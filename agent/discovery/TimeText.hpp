// Times and durations written as text in manifests: RFC 3339 timestamps (metadata.
// creationTimestamp) and Gateway API durations (GEP-2257: route timeouts and retry backoff).
// Pure functions of text (internal header of the manifest decoder).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace weft::discovery::detail {

/// An RFC 3339 time ("2024-05-01T12:00:00Z"; a fraction is dropped, an offset applied).
std::optional<std::chrono::sys_seconds> parse_time(std::string_view text);

/// A Gateway API Duration (GEP-2257): 1-4 components, each 1-5 digits and a unit h, m, s or ms.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace weft::discovery::detail
