// A strict HTTP/1.1 message parser (RFC 9112) over libhttp-parser, without I/O: bytes in, heads,
// body bytes, trailers and message ends out. The agent parses requests from apps and responses
// from app servers with it. Whatever could let two parsers disagree on where a message ends
// (request smuggling, response splitting) is refused rather than guessed at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "l7/Headers.hpp"

struct http_parser;  // <http_parser.h>, kept out of the agent's headers

namespace weft::l7 {

struct Http1Limits {
  std::size_t max_head_bytes = 64 * 1024;  ///< request/status line + headers (431 beyond)
  std::size_t max_headers = 100;           ///< header fields in a head or trailer block (431)
  std::size_t max_target_bytes = 8192;     ///< request-target (414 beyond)
};

/// A request or response head as parsed. Header names are lower-cased, values as sent less the
/// optional whitespace around them (obs-fold is refused), in order; repeated fields stay
/// separate.
struct Http1Head {
  std::string method;     ///< requests: "GET", ...
  std::string target;     ///< requests: the request-target as sent ("/a?b", authority for CONNECT,
                          ///< or absolute-form)
  int status = 0;         ///< responses
  int version_minor = 1;  ///< HTTP/1.x
  Headers headers;
  /// The connection may carry another message after this one (http_should_keep_alive() at head
  /// time, and Connection: close wins over keep-alive). When false, bytes after this message
  /// are refused.
  bool keep_alive = true;
  bool chunked = false;  ///< Transfer-Encoding ends in chunked
  std::optional<uint64_t> content_length;
  bool upgrade = false;          ///< Upgrade (with Connection: upgrade), CONNECT or 101: after this
                                 ///< message the bytes are not HTTP
  bool expect_continue = false;  ///< requests: "Expect: 100-continue"
  /// Responses: no body follows whatever the framing headers say (1xx, 204, 304, or
  /// Http1Parser::expect_no_body() was called before the head).
  bool no_body = false;

  /// Chunked, or content_length > 0, or (responses) read-until-close.
  bool has_body() const;
};

/// Why a message was refused: the status to answer and a reason for logs. Requests: 400, 414,
/// 431, 501 (a transfer coding other than chunked) or 505 (not HTTP/1.x). Responses: always 502,
/// the answer the agent owes its client when an app server speaks badly.
struct Http1Error {
  int status = 400;
  std::string reason;
};

/// Parses the messages of one direction of one connection. Events go to a Handler, each message
/// as on_head, any on_body, on_trailers (chunked bodies with trailer fields), on_message_end. A
/// 1xx response is a message of its own (head and end), followed by the final response. Not
/// reentrant: a handler must not feed the parser that called it.
///
/// Refused (the connection must be answered and closed): a bare CR or LF, obs-fold, control
/// characters outside bodies; a request line with other than single spaces, a method http-parser
/// does not know, a target with other than visible ASCII; a status line off "HTTP/1.x 3DIGIT"
/// or a status outside 100-599; a version other than HTTP/1.x; a field name with other than
/// token characters; Content-Length repeated, not plain digits, or together with
/// Transfer-Encoding; Transfer-Encoding that is not a plain list of tokens, that has chunked twice
/// or not last, whose last coding is not chunked (requests), or in an HTTP/1.0 message; requests
/// with any coding besides chunked (501: the agent decodes none); HTTP/1.1 requests without
/// exactly one Host; a CONNECT target that is not host:port; chunk sizes or extensions off the
/// grammar, chunk data not followed by CRLF; framing or connection fields in trailers; any byte
/// after a message that closed the connection. Debian builds http-parser without
/// HTTP_PARSER_STRICT, so several of these are checked here rather than there.
class Http1Parser {
 public:
  enum class Kind { Request, Response };

  class Handler {
   public:
    virtual void on_head(Http1Head head) = 0;
    virtual void on_body(std::span<const uint8_t> data) = 0;
    /// Trailer fields after a chunked body (may be empty: then not called).
    virtual void on_trailers(Headers trailers) = 0;
    virtual void on_message_end() = 0;

   protected:
    ~Handler() = default;
  };

  Http1Parser(Kind kind, Handler& handler, const Http1Limits& limits = {});
  ~Http1Parser();
  Http1Parser(const Http1Parser&) = delete;
  Http1Parser& operator=(const Http1Parser&) = delete;

  /// Feeds bytes. Returns how many were consumed: parsing stops (pauses) right after a message
  /// ends (on_message_end was called) so the caller can answer it before the next one is
  /// parsed (pipelined requests stay in the caller's buffer), and so right after an upgrade
  /// message (its head, and its body if it declared one): the rest are the caller's. Feeding on
  /// after an upgrade parses HTTP again (an Upgrade the server declined). Errors are final: the
  /// connection must be answered with error.status and closed.
  std::expected<std::size_t, Http1Error> feed(std::span<const uint8_t> bytes);

  /// The peer closed: completes a read-until-close response body (on_message_end); an error
  /// when a message was cut short.
  std::expected<void, Http1Error> finish();

  /// Responses: the request was HEAD (or CONNECT answered 2xx): no body follows the next final
  /// (non-1xx) head. Call it before feeding that response, or from on_head of the response.
  void expect_no_body();

  /// Whether a message is partly parsed (head started, not ended).
  bool in_message() const { return in_message_; }
  /// Between messages: frees what parsing the last one left allocated (kept for its capacity
  /// while messages follow each other), so that an idle connection's parser holds nothing.
  void release_buffers();

 private:
  enum class Phase { Head, Body, Chunked, Trailers };
  enum class Event { None, HeadDone, ChunkHeader, ChunkDone, MessageDone };

  friend struct Http1Callbacks;

  /// An error with `status` for requests, 502 for responses (see Http1Error).
  Http1Error error(int status, std::string reason) const;
  /// A callback's refusal, reported once the head or trailer block is over (or the budget):
  /// when http-parser hands data to callbacks depends on how the bytes were split, so
  /// stopping there would let the split decide between this and a fault further on. Returns
  /// the callback's 0.
  int refuse(int status, std::string reason);
  std::unexpected<Http1Error> failed(int status, std::string reason);
  /// The error after http-parser stopped: the scan's, or else http-parser's own.
  std::unexpected<Http1Error> parser_failed();
  /// Checks the bytes from scan_from_ to `to`, all outside bodies (lines, chunk sizes;
  /// Http1Scan.cpp).
  bool scan(const char* to);
  bool scan_byte(uint8_t c);
  /// The error when a head or trailer block took all of max_head_bytes: a refusal held back
  /// (see refuse()), or else 431.
  std::optional<Http1Error> budget_spent();
  /// What feed() does on the event http-parser paused on (at: where it stopped); an error is
  /// final. After MessageDone, feed() returns.
  std::optional<Http1Error> on_event(Event event, const char* at);
  std::optional<Http1Error> end_head(const char* at);
  std::optional<Http1Error> start_chunk();
  std::optional<Http1Error> end_message();
  /// Checks the head http-parser read and completes head_ (Http1HeadChecks.cpp).
  std::optional<Http1Error> finish_head();
  /// Http1ChunkChecks.cpp.
  std::optional<Http1Error> check_chunk_line();
  std::optional<Http1Error> check_trailers();
  void start_message();

  Kind kind_;
  Handler& handler_;
  Http1Limits limits_;
  std::unique_ptr<http_parser> parser_;

  Phase phase_ = Phase::Head;
  Event event_ = Event::None;
  std::optional<Http1Error> error_;     ///< final
  std::optional<Http1Error> deferred_;  ///< see refuse()
  std::optional<Http1Error> scan_error_;
  std::size_t budget_ = 0;  ///< bytes the current head or trailer block may still take
  bool in_message_ = false;
  bool expect_no_body_ = false;
  bool closes_ = false;  ///< the current message is the connection's last
  bool closed_ = false;  ///< such a message ended: no more bytes are accepted

  Http1Head head_;
  Headers trailers_;
  bool in_value_ = false;  ///< the last header callback was a value
  std::string line_;       ///< the start line, or the bytes around a chunk-size line
  bool first_line_done_ = false;

  // The scan of the bytes between bodies, across feeds.
  const char* scan_from_ = nullptr;
  bool pending_cr_ = false;
  bool line_start_ = true;
};

}  // namespace weft::l7
