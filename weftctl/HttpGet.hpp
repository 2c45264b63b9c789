// One plain-HTTP GET with libcurl, for the CLI's reads of agents' admin endpoints (/metrics).
#pragma once

#include <curl/curl.h>

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

/// The options every GET of weftctl's sets on `curl`: the URL, the schemes it may use
/// (`protocols`, e.g. "http"), weftctl's user agent, `error` (CURL_ERROR_SIZE bytes) for
/// libcurl's message, no signals.
void set_get_options(CURL* curl, const std::string& url, const char* protocols, char* error);

/// `text` percent-encoded for a URL's query (libcurl's curl_easy_escape).
std::string url_escape(std::string_view text);

}  // namespace weft::weftctl
