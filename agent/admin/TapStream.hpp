// GET /tap on the admin port: one tap session streamed to its client as NDJSON (one event a
// line) or, for a browser (`Accept: text/event-stream` or `format=sse`), as server-sent events,
// over chunked HTTP/1.1 until the client leaves, `duration` seconds pass or the agent stops.
#pragma once

#include <atomic>

struct mg_connection;

namespace weft::agent {

class TapHub;

/// Serves one tap request on civetweb's thread (blocking while the session lasts). Plaintext
/// tap is for loopback clients only: others get 403. The query's filters are TapFilter's;
/// `max_rps` (default the agent's tap_session_events_per_second), `duration` (seconds, 0 or
/// absent: until the client leaves) and `format` (ndjson, sse) are the session's own.
void serve_tap(mg_connection* conn, TapHub& hub, const std::atomic<bool>& stopping);

}  // namespace weft::agent
