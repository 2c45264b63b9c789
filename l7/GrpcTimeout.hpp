// The grpc-timeout request header (gRPC over HTTP/2, "Timeout"): how long the client waits.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace weft::l7 {

/// "<1-8 digits><H|M|S|m|u|n>" (hours, minutes, seconds, milliseconds, microseconds,
/// nanoseconds); nullopt for anything else (the header is then ignored, as gRPC servers do).
std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value);

}  // namespace weft::l7
