// The scan of the bytes outside bodies (start lines, fields, chunk-size lines and the CRLFs
// between chunks), across feeds: what non-strict http-parser lets through (a bare CR or LF,
// obs-fold, control characters) is refused here, and the start line and chunk-size lines are
// kept for their checks.
#include <string>

#include "l7/Http1Parser.hpp"

namespace weft::l7 {
namespace {

/// The longest chunk-size line (size and extensions, without CRLF) accepted.
constexpr std::size_t kMaxChunkLine = 4096;

/// A byte scan_byte lets through anywhere in a line but at its start: visible ASCII, space, tab
/// and obs-text (0x80-0xff).
bool is_line_byte(uint8_t c) {
  return c >= 0x20 ? c != 0x7f : c == '\t';
}

}  // namespace

bool Http1Parser::scan(const char* to) {
  const char* p = scan_from_;
  while (p < to) {
    // Inside a line of a head, scan_byte would only copy the start line: a run of such bytes
    // is taken at once (one call per byte cost ~1% of the agent's CPU in HTTP/1.1 benches).
    if (!scan_error_ && !pending_cr_ && !line_start_ && phase_ != Phase::Chunked) {
      const char* run = p;
      while (p < to && is_line_byte(static_cast<uint8_t>(*p))) {
        ++p;
      }
      if (phase_ == Phase::Head && !first_line_done_) {
        line_.append(run, p);  // bounded by the head's budget
      }
      if (p == to) {
        break;
      }
    }
    if (!scan_byte(static_cast<uint8_t>(*p))) {
      scan_from_ = to;
      return false;
    }
    ++p;
  }
  scan_from_ = to;
  return true;
}

bool Http1Parser::scan_byte(uint8_t c) {
  if (scan_error_) {
    return false;
  }
  auto bad = [this](std::string reason) {
    scan_error_ = error(400, std::move(reason));
    return false;
  };
  if (pending_cr_) {
    if (c != '\n') {
      return bad("CR not followed by LF");
    }
    pending_cr_ = false;
    line_start_ = true;
    if (phase_ == Phase::Head && !line_.empty()) {
      first_line_done_ = true;
    }
  } else if (c == '\r') {
    pending_cr_ = true;
  } else if (c == '\n') {
    return bad("bare LF");
  } else if (line_start_ && (c == ' ' || c == '\t')) {
    return bad("whitespace at the start of a line (obs-fold)");
  } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
    return bad("control character outside a body");
  } else {
    line_start_ = false;
    if (phase_ == Phase::Head && !first_line_done_) {
      line_.push_back(static_cast<char>(c));  // bounded by the head's budget
    }
  }
  if (phase_ == Phase::Chunked) {
    // Everything between chunk data, CRLFs included: http-parser built without
    // HTTP_PARSER_STRICT takes any two bytes after chunk data as its CRLF.
    if (line_.size() == kMaxChunkLine) {
      return bad("chunk-size line longer than " + std::to_string(kMaxChunkLine) + " bytes");
    }
    line_.push_back(static_cast<char>(c));
  }
  return true;
}

}  // namespace weft::l7
