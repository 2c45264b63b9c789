// One plain-HTTP GET with libcurl, for the CLI's reads of agents' admin endpoints (/metrics).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/Error.hpp"

namespace weft::weftctl {

/// The body of `url`'s 200 answer (http:// only), at most `max_bytes`, within `timeout`.
/// Anything else is an error naming the URL: unreachable, another status, too long.
Result<std::string> http_get(const std::string& url, std::chrono::milliseconds timeout,
                             std::size_t max_bytes = 64 * 1024 * 1024);

/// `text` percent-encoded for a URL's query (libcurl's curl_easy_escape).
std::string url_escape(std::string_view text);

}  // namespace weft::weftctl
