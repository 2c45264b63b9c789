// GET /tap: one tap session streamed to its client as NDJSON (one event a line) or, for a
// browser (`Accept: text/event-stream` or `format=sse`), as server-sent events, over chunked
// HTTP/1.1 until the client leaves, `duration` seconds pass or the agent stops. The same session
// is served in plaintext by civetweb to loopback clients and over mTLS by TapTlsListener.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

struct mg_connection;

namespace weft::agent {

class TapHub;

/// A tap request, whoever carried it.
struct TapAsk {
  std::string query;   ///< after '?', percent-encoded
  std::string accept;  ///< the Accept header
  std::string who;     ///< the client, for the session's log lines
  /// The namespaces whose pods' requests the client may see; empty: every one.
  std::vector<std::string> namespaces;
};

/// Where a tap session's answer goes.
class TapAnswer {
 public:
  /// A whole answer with `status` and a one-line reason.
  virtual void refuse(int status, const std::string& reason) = 0;
  /// The head of a 200 with a chunked body of `content_type`.
  virtual void start(const char* content_type) = 0;
  /// One chunk; false when the client is gone.
  virtual bool chunk(std::string_view data) = 0;
  /// The last chunk.
  virtual void end() = 0;

 protected:
  ~TapAnswer() = default;
};

/// Serves one tap session (blocking while it lasts). The query's filters are TapFilter's;
/// `max_rps` (default the agent's tap_session_events_per_second), `duration` (seconds, 0 or
/// absent: until the client leaves) and `format` (ndjson, sse) are the session's own.
void serve_tap(const TapAsk& ask, TapAnswer& answer, TapHub& hub,
               const std::atomic<bool>& stopping);

/// civetweb's /tap handler: plaintext tap is for loopback clients only (others get 403).
void serve_plaintext_tap(mg_connection* conn, TapHub& hub, const std::atomic<bool>& stopping);

}  // namespace weft::agent
