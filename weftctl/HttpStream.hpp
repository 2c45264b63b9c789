// A plain-HTTP GET whose body is read line by line as it arrives (libcurl), for the CLI's
// streams from the agents: `weftctl tap` and `top` read /tap's NDJSON.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/Error.hpp"

namespace weft::weftctl {

/// A client certificate for https:// (mutual TLS with an agent's tap_tls_address).
struct ClientTls {
  std::string cert;    ///< PEM: the client's certificate (chain)
  std::string key;     ///< PEM: its key
  std::string cacert;  ///< PEM: the mesh's trust anchor, which the agent's chain must lead to
};

/// GETs `url` (http://, or https:// with `tls`) and hands each line of its 200 answer to `on_line`
/// (without the newline), until the body ends or `stop()` says so (asked about once a second and
/// after each line; then the result is success). Another status is an error with the answer's first
/// line (the agent's reason); so are a connect failure within `connect_timeout` and a line over 1
/// MiB.
Result<void> http_stream_lines(const std::string& url,
                               const std::function<void(std::string_view)>& on_line,
                               const std::function<bool()>& stop,
                               std::chrono::milliseconds connect_timeout,
                               const ClientTls* tls = nullptr);

}  // namespace weft::weftctl
