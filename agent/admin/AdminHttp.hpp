// What the admin endpoint's handlers share: the loopback-only rule of plaintext tap and
// observe, and plain-text refusals. (A query's key/value pairs: agent/tap/TapQuery's query_pairs.)
#pragma once

#include <string>

struct mg_connection;

namespace weft::agent {

/// Whether the request on `conn` comes from a loopback address: tap and observe show the
/// apps' requests (paths, identities), so in plaintext they are served to this node only.
bool loopback_client(const mg_connection* conn);

/// Answers `status` with `reason` as a text/plain body and closes.
void refuse(mg_connection* conn, int status, const std::string& reason);

}  // namespace weft::agent
