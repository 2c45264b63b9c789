// Http1Parser's drive of http-parser: feeding it within the head budget, the events it pauses
// on, and errors. The callbacks, the scan of the bytes outside bodies and the checks of heads and
// of chunked framing are in Http1Callbacks, Http1Scan, Http1HeadChecks and Http1ChunkChecks.
#include "l7/Http1Parser.hpp"

#include <http_parser.h>

#include <algorithm>
#include <limits>
#include <mutex>

#include "l7/Http1Callbacks.hpp"

namespace weft::l7 {
namespace {

/// Room for this many fields is made before a head is parsed: one allocation for most heads.
constexpr std::size_t kTypicalFields = 12;

}  // namespace

bool Http1Head::has_body() const {
  if (no_body) {
    return false;
  }
  if (chunked) {
    return true;
  }
  if (content_length) {
    return *content_length > 0;
  }
  return status != 0;  // a response without framing runs until the server closes
}

Http1Parser::Http1Parser(Kind kind, Handler& handler, const Http1Limits& limits)
    : kind_(kind), handler_(handler), limits_(limits), parser_(std::make_unique<http_parser>()) {
  // Our own limits bound every head (feed() never hands http-parser more of a head than
  // max_head_bytes), so its process-wide one (80 KiB) must not cut in first.
  static std::once_flag once;
  std::call_once(once,
                 [] { http_parser_set_max_header_size(std::numeric_limits<uint32_t>::max()); });
  http_parser_init(parser_.get(), kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE);
  parser_->data = this;
  // Strict: no obs-fold leniency, no Content-Length beside chunked.
  parser_->lenient_http_headers = 0;
  parser_->allow_chunked_length = 0;
  start_message();
}

Http1Parser::~Http1Parser() = default;

void Http1Parser::expect_no_body() {
  expect_no_body_ = true;
}

void Http1Parser::start_message() {
  phase_ = Phase::Head;
  budget_ = limits_.max_head_bytes;
  in_message_ = false;
  closes_ = false;
  head_ = {};
  head_.headers.reserve(kTypicalFields);
  trailers_.clear();
  in_value_ = false;
  line_.clear();
  first_line_done_ = false;
  pending_cr_ = false;
  line_start_ = true;
}

Http1Error Http1Parser::error(int status, std::string reason) const {
  return Http1Error{kind_ == Kind::Response ? 502 : status, std::move(reason)};
}

int Http1Parser::refuse(int status, std::string reason) {
  if (!deferred_) {
    deferred_ = error(status, std::move(reason));
  }
  return 0;
}

std::unexpected<Http1Error> Http1Parser::failed(int status, std::string reason) {
  error_ = error(status, std::move(reason));
  return std::unexpected(*error_);
}

std::unexpected<Http1Error> Http1Parser::parser_failed() {
  if (scan_error_) {
    error_ = std::move(scan_error_);
  } else {
    auto err = HTTP_PARSER_ERRNO(parser_.get());
    std::string reason;
    int status = 400;
    switch (err) {
      case HPE_HEADER_OVERFLOW:
        status = 431;
        reason = "head too large";
        break;
      case HPE_UNEXPECTED_CONTENT_LENGTH:
        reason = "Content-Length repeated or beside Transfer-Encoding";
        break;
      case HPE_INVALID_CONTENT_LENGTH:
        reason = phase_ == Phase::Chunked ? "chunk size overflows" : "invalid Content-Length";
        break;
      case HPE_INVALID_CHUNK_SIZE:
        reason = "invalid chunk size";
        break;
      case HPE_INVALID_TRANSFER_ENCODING:
        reason = "the final transfer coding is not chunked";
        break;
      case HPE_CLOSED_CONNECTION:
        reason = "bytes after a message that closed the connection";
        break;
      default:
        reason = http_errno_description(err);
        break;
    }
    return failed(status, std::move(reason));
  }
  return std::unexpected(*error_);
}

std::expected<std::size_t, Http1Error> Http1Parser::feed(std::span<const uint8_t> bytes) {
  if (error_) {
    return std::unexpected(*error_);
  }
  if (closed_ && !bytes.empty()) {
    // RFC 9112 §9.6: nothing more is processed after a message that closes the connection.
    return failed(400, "bytes after a message that closed the connection");
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    std::size_t len = bytes.size() - done;
    bool block = phase_ == Phase::Head || phase_ == Phase::Trailers;
    if (block) {
      // Never more than the block may take: http-parser then never holds more of it.
      if (budget_ == 0) {
        error_ = budget_spent();
        return std::unexpected(*error_);
      }
      len = std::min(len, budget_);
    }
    const char* base = reinterpret_cast<const char*>(bytes.data()) + done;
    scan_from_ = base;
    event_ = Event::None;
    std::size_t n = http_parser_execute(parser_.get(), &Http1Callbacks::kSettings, base, len);
    auto err = HTTP_PARSER_ERRNO(parser_.get());
    // The bytes up to where parsing stopped, checked before anything else: the earliest fault
    // is the one reported, however the bytes were split.
    if (!scan(base + n) || (err != HPE_OK && err != HPE_PAUSED)) {
      return parser_failed();
    }
    if (block) {
      budget_ -= n;
    }
    done += n;
    if (err == HPE_OK) {
      if (n < len) {
        return done;  // http-parser stopped by itself: an upgrade
      }
      continue;
    }
    http_parser_pause(parser_.get(), 0);
    Event event = event_;
    if (auto e = on_event(event, base + n)) {
      error_ = std::move(e);
      return std::unexpected(*error_);
    }
    if (event == Event::MessageDone) {
      return done;
    }
  }
  return done;
}

std::optional<Http1Error> Http1Parser::budget_spent() {
  if (deferred_) {
    return std::move(deferred_);
  }
  return error(431, std::string(phase_ == Phase::Head ? "head" : "trailers") + " larger than " +
                        std::to_string(limits_.max_head_bytes) + " bytes");
}

std::optional<Http1Error> Http1Parser::on_event(Event event, const char* at) {
  switch (event) {
    case Event::HeadDone:
      return end_head(at);
    case Event::ChunkDone:
      if (line_ != "\r\n") {
        return error(400, "chunk data not followed by CRLF");
      }
      return std::nullopt;
    case Event::ChunkHeader:
      return start_chunk();
    case Event::MessageDone:
      return end_message();
    case Event::None:
      break;
  }
  return error(400, "http-parser paused by itself");
}

std::optional<Http1Error> Http1Parser::end_head(const char* at) {
  // http-parser stopped on the byte that ends the head, not consumed yet: it must be an
  // LF after a CR (without HTTP_PARSER_STRICT, http-parser takes any byte after the CR).
  if (!pending_cr_ || *at != '\n') {
    return error(400, pending_cr_ ? "CR not followed by LF" : "bare LF");
  }
  if (deferred_) {
    return std::move(deferred_);
  }
  if (auto e = finish_head()) {
    return e;
  }
  bool final_response = kind_ == Kind::Response && head_.status >= 200;
  closes_ = !head_.keep_alive && (kind_ == Kind::Request || final_response);
  Http1Head head = std::move(head_);
  head_ = {};
  in_value_ = false;
  handler_.on_head(std::move(head));
  if (final_response && expect_no_body_) {
    // Also when on_head asked for it (a CONNECT answered 2xx): the parser still waits on
    // the head's last LF, where it decides on a body.
    parser_->flags |= F_SKIPBODY;
    expect_no_body_ = false;
  }
  line_.clear();
  phase_ = Phase::Body;
  if ((parser_->flags & (F_CHUNKED | F_SKIPBODY)) == F_CHUNKED) {
    phase_ = Phase::Chunked;
    line_ = "\r";  // scanned already; the LF follows
  }
  return std::nullopt;
}

std::optional<Http1Error> Http1Parser::start_chunk() {
  if (auto e = check_chunk_line()) {
    return e;
  }
  line_.clear();
  if (parser_->flags & F_TRAILING) {
    phase_ = Phase::Trailers;
    budget_ = limits_.max_head_bytes;
    in_value_ = false;
  }
  return std::nullopt;
}

std::optional<Http1Error> Http1Parser::end_message() {
  if (deferred_) {
    return std::move(deferred_);
  }
  if (phase_ == Phase::Trailers) {
    if (auto e = check_trailers()) {
      return e;
    }
  }
  Headers trailers = std::move(trailers_);
  bool closes = closes_;
  start_message();
  closed_ = closes;
  if (!trailers.empty()) {
    handler_.on_trailers(std::move(trailers));
  }
  handler_.on_message_end();
  return std::nullopt;
}

std::expected<void, Http1Error> Http1Parser::finish() {
  if (error_) {
    return std::unexpected(*error_);
  }
  if (deferred_) {
    error_ = std::move(deferred_);
    return std::unexpected(*error_);
  }
  if (!in_message_) {
    return {};
  }
  event_ = Event::None;
  http_parser_execute(parser_.get(), &Http1Callbacks::kSettings, nullptr, 0);
  if (HTTP_PARSER_ERRNO(parser_.get()) != HPE_PAUSED || event_ != Event::MessageDone) {
    return failed(400, "connection closed in the middle of a message");
  }
  http_parser_pause(parser_.get(), 0);
  start_message();
  closed_ = true;
  handler_.on_message_end();
  return {};
}

void Http1Parser::release_buffers() {
  if (!in_message_) {
    head_ = {};
    trailers_ = {};
    line_ = {};
  }
}

}  // namespace weft::l7
