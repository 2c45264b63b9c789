#include "l7/Http1Callbacks.hpp"

#include <algorithm>
#include <string>

#include "l7/Http1Grammar.hpp"
#include "l7/Http1Parser.hpp"

namespace weft::l7 {
namespace {

using detail::ascii_lower;
using detail::is_tchar;

Http1Parser& self(http_parser* p) {
  return *static_cast<Http1Parser*>(p->data);
}

}  // namespace

int Http1Callbacks::message_begin(http_parser* p) {
  self(p).in_message_ = true;
  return 0;
}

int Http1Callbacks::url(http_parser* p, const char* at, std::size_t len) {
  Http1Parser& s = self(p);
  if (s.deferred_) {
    return 0;
  }
  // Byte by byte, as if the target came in any other pieces: a bad character first, then the
  // length. Debian builds http-parser without HTTP_PARSER_STRICT, which lets HT, FF and bytes
  // past 0x7f into the target.
  std::size_t room = s.limits_.max_target_bytes - s.head_.target.size();
  auto bad = static_cast<std::size_t>(
      std::find_if(at, at + len, [](char c) { return c <= 0x20 || c >= 0x7f; }) - at);
  if (bad < len && bad <= room) {
    return s.refuse(400, "invalid character in the request-target");
  }
  if (len > room) {
    return s.refuse(
        414, "request-target longer than " + std::to_string(s.limits_.max_target_bytes) + " bytes");
  }
  s.head_.target.append(at, len);
  return 0;
}

int Http1Callbacks::header_field(http_parser* p, const char* at, std::size_t len) {
  Http1Parser& s = self(p);
  if (s.deferred_) {
    return 0;
  }
  Headers& block = s.phase_ == Http1Parser::Phase::Trailers ? s.trailers_ : s.head_.headers;
  if (block.empty() || s.in_value_) {
    if (block.size() >= s.limits_.max_headers) {
      return s.refuse(431, "more than " + std::to_string(s.limits_.max_headers) + " header fields");
    }
    block.emplace_back();
    s.in_value_ = false;
  }
  // Non-strict http-parser also takes SP as a name character ("Host : x").
  if (!std::all_of(at, at + len, is_tchar)) {
    return s.refuse(400, "invalid character in a field name");
  }
  std::string& name = block.back().name;
  std::size_t had = name.size();
  name.resize(had + len);
  std::transform(at, at + len, name.begin() + static_cast<std::ptrdiff_t>(had), ascii_lower);
  return 0;
}

int Http1Callbacks::header_value(http_parser* p, const char* at, std::size_t len) {
  Http1Parser& s = self(p);
  if (s.deferred_) {
    return 0;
  }
  Headers& block = s.phase_ == Http1Parser::Phase::Trailers ? s.trailers_ : s.head_.headers;
  if (block.empty()) {
    return s.refuse(400, "header value without a name");
  }
  block.back().value.append(at, len);
  s.in_value_ = true;
  return 0;
}

int Http1Callbacks::headers_complete(http_parser* p) {
  Http1Parser& s = self(p);
  s.event_ = Http1Parser::Event::HeadDone;
  http_parser_pause(p, 1);
  if (s.kind_ == Http1Parser::Kind::Response) {
    unsigned status = p->status_code;
    if (status == 101) {
      return 2;
    }
    // RFC 9112 §6.3: whatever their headers say, these responses end with their head.
    if (status / 100 == 1 || status == 204 || status == 304 || s.expect_no_body_) {
      return 1;
    }
  }
  return 0;
}

int Http1Callbacks::body(http_parser* p, const char* at, std::size_t len) {
  Http1Parser& s = self(p);
  if (!s.scan(at)) {
    return 1;
  }
  if (len > 0) {
    s.handler_.on_body({reinterpret_cast<const uint8_t*>(at), len});
  }
  s.scan_from_ = at + len;
  return 0;
}

int Http1Callbacks::chunk_header(http_parser* p) {
  self(p).event_ = Http1Parser::Event::ChunkHeader;
  http_parser_pause(p, 1);
  return 0;
}

int Http1Callbacks::chunk_complete(http_parser* p) {
  if ((p->flags & F_TRAILING) == 0) {
    self(p).event_ = Http1Parser::Event::ChunkDone;
    http_parser_pause(p, 1);
  }
  return 0;
}

int Http1Callbacks::message_complete(http_parser* p) {
  self(p).event_ = Http1Parser::Event::MessageDone;
  http_parser_pause(p, 1);
  return 0;
}

const http_parser_settings Http1Callbacks::kSettings = {
    .on_message_begin = message_begin,
    .on_url = url,
    .on_status = nullptr,
    .on_header_field = header_field,
    .on_header_value = header_value,
    .on_headers_complete = headers_complete,
    .on_body = body,
    .on_message_complete = message_complete,
    .on_chunk_header = chunk_header,
    .on_chunk_complete = chunk_complete,
};

}  // namespace weft::l7
