#include "l7/Http1Parser.hpp"

#include <http_parser.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <mutex>
#include <string_view>

namespace weft::l7 {
namespace {

/// The longest chunk-size line (size and extensions, without CRLF) accepted.
constexpr std::size_t kMaxChunkLine = 4096;
/// Room for this many fields is made before a head is parsed: one allocation for most heads.
constexpr std::size_t kTypicalFields = 12;

/// RFC 9110 §5.6.2 tchar, by byte value: field names are checked a byte at a time.
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  }
  return t;
}();

bool is_tchar(char c) {
  return kTchar[static_cast<uint8_t>(c)];
}

/// A byte scan_byte lets through anywhere in a line but at its start: visible ASCII, space, tab
/// and obs-text (0x80-0xff).
bool is_line_byte(uint8_t c) {
  return c >= 0x20 ? c != 0x7f : c == '\t';
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::size_t skip_ows(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
  return i;
}

std::size_t token_end(std::string_view s, std::size_t i) {
  while (i < s.size() && is_tchar(s[i])) {
    ++i;
  }
  return i;
}

/// The end of the quoted-string that starts at s[i] (RFC 9110 §5.6.4), or nullopt.
std::optional<std::size_t> quoted_end(std::string_view s, std::size_t i) {
  auto text = [](unsigned char c) { return c == '\t' || c >= 0x20; };
  for (++i; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      return i + 1;
    }
    if (c == '\\') {
      if (++i == s.size() || !text(static_cast<unsigned char>(s[i]))) {
        return std::nullopt;
      }
    } else if (!text(c) || c == 0x7f) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

/// Splits a Transfer-Encoding value into its codings: tokens separated by commas with optional
/// whitespace only around the commas (no empty elements, no parameters, nothing trailing).
bool split_codings(std::string_view value, std::vector<std::string_view>& out) {
  std::size_t i = 0;
  while (true) {
    std::size_t end = token_end(value, i);
    if (end == i) {
      return false;
    }
    out.push_back(value.substr(i, end - i));
    std::size_t next = skip_ows(value, end);
    if (next == value.size()) {
      return next == end;
    }
    if (value[next] != ',') {
      return false;
    }
    i = skip_ows(value, next + 1);
  }
}

/// Fields that frame a message or steer its connection: not allowed in trailers, where they
/// would take effect too late (RFC 9110 §6.5.1).
bool forbidden_in_trailers(std::string_view name) {
  for (std::string_view f :
       {"content-length", "transfer-encoding", "connection", "proxy-connection", "keep-alive",
        "upgrade", "te", "trailer", "host"}) {
    if (name == f) {
      return true;
    }
  }
  return false;
}

void trim_values(Headers& headers) {
  for (Header& h : headers) {
    std::size_t end = h.value.find_last_not_of(" \t");
    h.value.resize(end == std::string::npos ? 0 : end + 1);
  }
}

}  // namespace

/// The libhttp-parser callbacks: each finds its Http1Parser in parser->data. Data callbacks see
/// pointers into the caller's bytes, so what is kept is copied.
struct Http1Callbacks {
  static Http1Parser& self(http_parser* p) { return *static_cast<Http1Parser*>(p->data); }

  static int message_begin(http_parser* p) {
    self(p).in_message_ = true;
    return 0;
  }

  static int url(http_parser* p, const char* at, std::size_t len) {
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
      return s.refuse(414, "request-target longer than " +
                               std::to_string(s.limits_.max_target_bytes) + " bytes");
    }
    s.head_.target.append(at, len);
    return 0;
  }

  static int header_field(http_parser* p, const char* at, std::size_t len) {
    Http1Parser& s = self(p);
    if (s.deferred_) {
      return 0;
    }
    Headers& block = s.phase_ == Http1Parser::Phase::Trailers ? s.trailers_ : s.head_.headers;
    if (block.empty() || s.in_value_) {
      if (block.size() >= s.limits_.max_headers) {
        return s.refuse(431,
                        "more than " + std::to_string(s.limits_.max_headers) + " header fields");
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

  static int header_value(http_parser* p, const char* at, std::size_t len) {
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

  /// Pauses so that feed() checks the head before anyone sees it. The return value tells
  /// http-parser whether a body can follow: 1 none, 2 none and no more HTTP (101).
  static int headers_complete(http_parser* p) {
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

  static int body(http_parser* p, const char* at, std::size_t len) {
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

  static int chunk_header(http_parser* p) {
    self(p).event_ = Http1Parser::Event::ChunkHeader;
    http_parser_pause(p, 1);
    return 0;
  }

  /// After the CRLF that ends a chunk's data; also (not paused) at the end of the trailers.
  static int chunk_complete(http_parser* p) {
    if ((p->flags & F_TRAILING) == 0) {
      self(p).event_ = Http1Parser::Event::ChunkDone;
      http_parser_pause(p, 1);
    }
    return 0;
  }

  static int message_complete(http_parser* p) {
    self(p).event_ = Http1Parser::Event::MessageDone;
    http_parser_pause(p, 1);
    return 0;
  }

  static constexpr http_parser_settings kSettings = {
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
};

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

int Http1Parser::refuse(int status, std::string reason) {
  if (!deferred_) {
    deferred_ = Http1Error{kind_ == Kind::Response ? 502 : status, std::move(reason)};
  }
  return 0;
}

std::unexpected<Http1Error> Http1Parser::failed(int status, std::string reason) {
  error_ = Http1Error{kind_ == Kind::Response ? 502 : status, std::move(reason)};
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
    scan_error_ = Http1Error{kind_ == Kind::Response ? 502 : 400, std::move(reason)};
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

std::optional<Http1Error> Http1Parser::finish_head() {
  const http_parser& p = *parser_;
  Http1Head& h = head_;
  bool request = kind_ == Kind::Request;
  auto error = [this](int status, std::string reason) {
    return Http1Error{kind_ == Kind::Response ? 502 : status, std::move(reason)};
  };

  if (p.http_major != 1) {
    return error(p.http_major > 1 ? 505 : 400, "HTTP/" + std::to_string(p.http_major) + "." +
                                                   std::to_string(p.http_minor) +
                                                   " is not supported");
  }
  h.version_minor = p.http_minor;
  std::string_view version = "HTTP/1.";
  if (request) {
    h.method = http_method_str(static_cast<http_method>(p.method));
    std::string_view line = line_;
    auto take = [&line](std::string_view part) {
      bool found = line.starts_with(part);
      line.remove_prefix(found ? part.size() : 0);
      return found;
    };
    char minor = static_cast<char>('0' + p.http_minor);
    if (!(take(h.method) && take(" ") && take(h.target) && take(" ") && take(version) &&
          line == std::string_view(&minor, 1))) {
      return error(400, "request line is not METHOD SP target SP HTTP/1.x");
    }
  } else {
    h.status = static_cast<int>(p.status_code);
    std::string_view line = line_;
    bool ok = line.size() >= 12 && line.starts_with(version) && is_digit(line[7]) &&
              line[8] == ' ' && is_digit(line[9]) && is_digit(line[10]) && is_digit(line[11]) &&
              (line.size() == 12 || line[12] == ' ');
    if (!ok || h.status < 100 || h.status > 599) {
      return error(400, "status line is not HTTP/1.x SP 3DIGIT SP reason");
    }
  }

  // Framing, checked on the values as sent.
  std::vector<std::string_view> codings;
  std::size_t content_lengths = 0;
  std::size_t hosts = 0;
  bool transfer_encoding = false;
  for (const Header& f : h.headers) {
    if (f.name == "transfer-encoding") {
      transfer_encoding = true;
      if (!split_codings(f.value, codings)) {
        return error(400, "malformed Transfer-Encoding \"" + f.value + "\"");
      }
    } else if (f.name == "content-length") {
      ++content_lengths;
      std::string_view v = f.value;
      v = v.substr(0, v.find_last_not_of(" \t") + 1);
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || !std::ranges::all_of(v, is_digit) || ec != std::errc() ||
          end != v.data() + v.size()) {
        return error(400, "invalid Content-Length");
      }
      h.content_length = n;
    } else if (f.name == "host") {
      ++hosts;
    }
  }
  trim_values(h.headers);
  if (content_lengths > 1) {
    return error(400, "Content-Length repeated");
  }
  if (transfer_encoding) {
    if (content_lengths > 0) {
      return error(400, "both Content-Length and Transfer-Encoding");
    }
    if (h.version_minor == 0) {
      return error(400, "Transfer-Encoding in an HTTP/1.0 message");
    }
    auto chunked = std::ranges::count_if(codings, [](auto c) { return iequals(c, "chunked"); });
    bool last_chunked = iequals(codings.back(), "chunked");
    if (chunked > 1 || (chunked == 1 && !last_chunked)) {
      return error(400, "chunked applied twice or not last");
    }
    if (request && chunked == 0) {
      return error(400, "the final transfer coding of a request must be chunked");
    }
    if (request && codings.size() > 1) {
      return error(501, "transfer coding \"" + std::string(codings.front()) + "\" not implemented");
    }
    h.chunked = chunked == 1;
  }
  if (h.chunked != ((p.flags & F_CHUNKED) != 0)) {
    return error(400, "ambiguous Transfer-Encoding");
  }

  if (request) {
    if (hosts > 1 || (h.version_minor >= 1 && hosts == 0)) {
      return error(400, "an HTTP/1.1 request needs exactly one Host");
    }
    if (p.method == HTTP_CONNECT) {
      std::size_t colon = h.target.rfind(':');
      std::string_view port = colon == std::string::npos
                                  ? std::string_view()
                                  : std::string_view(h.target).substr(colon + 1);
      if (h.target.starts_with('/') || colon == 0 || port.empty() || port.size() > 5 ||
          !std::ranges::all_of(port, is_digit)) {
        return error(400, "CONNECT needs a host:port target");
      }
    }
    if (h.version_minor >= 1) {
      for (const Header& f : h.headers) {
        if (f.name == "expect" && iequals(f.value, "100-continue")) {
          h.expect_continue = true;
        }
      }
    }
    h.upgrade = p.upgrade != 0;
  } else {
    h.upgrade = h.status == 101;
    h.no_body = (p.flags & F_SKIPBODY) != 0;
  }

  bool close = (p.flags & F_CONNECTION_CLOSE) != 0;
  bool keep = h.version_minor >= 1 ? !close : (p.flags & F_CONNECTION_KEEP_ALIVE) != 0 && !close;
  bool until_close = !request && !h.no_body && !h.chunked && !h.content_length;
  h.keep_alive = keep && !until_close;
  return std::nullopt;
}

std::optional<Http1Error> Http1Parser::check_chunk_line() {
  auto bad = [this] {
    return Http1Error{kind_ == Kind::Response ? 502 : 400, "invalid chunk-size line"};
  };
  // line_ holds the CRLF that ended the head or the previous chunk's data, then the line.
  // RFC 9112 §7.1: chunk-size [ chunk-ext ], chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS
  // ( token / quoted-string ) ] ). http-parser skips whatever follows the size up to CR.
  std::string_view line = line_;
  if (!line.starts_with("\r\n") || !line.ends_with("\r\n") || line.size() < 5) {
    return bad();
  }
  line = line.substr(2, line.size() - 4);
  std::size_t i = 0;
  while (i < line.size() && is_hex(line[i])) {
    ++i;
  }
  if (i == 0) {
    return bad();
  }
  while (i < line.size()) {
    i = skip_ows(line, i);
    if (i == line.size() || line[i] != ';') {
      return bad();
    }
    i = skip_ows(line, i + 1);
    std::size_t end = token_end(line, i);
    if (end == i) {
      return bad();
    }
    i = end;
    std::size_t eq = skip_ows(line, i);
    if (eq < line.size() && line[eq] == '=') {
      i = skip_ows(line, eq + 1);
      if (i < line.size() && line[i] == '"') {
        auto q = quoted_end(line, i);
        if (!q) {
          return bad();
        }
        i = *q;
      } else {
        end = token_end(line, i);
        if (end == i) {
          return bad();
        }
        i = end;
      }
    }
  }
  return std::nullopt;
}

std::optional<Http1Error> Http1Parser::check_trailers() {
  for (const Header& f : trailers_) {
    if (forbidden_in_trailers(f.name)) {
      return Http1Error{kind_ == Kind::Response ? 502 : 400, f.name + " in trailers"};
    }
  }
  trim_values(trailers_);
  return std::nullopt;
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
        if (deferred_) {
          error_ = std::move(deferred_);
          return std::unexpected(*error_);
        }
        return failed(431, std::string(phase_ == Phase::Head ? "head" : "trailers") +
                               " larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
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
    switch (event_) {
      case Event::HeadDone: {
        // http-parser stopped on the byte that ends the head, not consumed yet: it must be an
        // LF after a CR (without HTTP_PARSER_STRICT, http-parser takes any byte after the CR).
        if (!pending_cr_ || base[n] != '\n') {
          return failed(400, pending_cr_ ? "CR not followed by LF" : "bare LF");
        }
        if (deferred_) {
          error_ = std::move(deferred_);
          return std::unexpected(*error_);
        }
        if (auto e = finish_head()) {
          error_ = std::move(e);
          return std::unexpected(*error_);
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
        break;
      }
      case Event::ChunkDone:
        if (line_ != "\r\n") {
          return failed(400, "chunk data not followed by CRLF");
        }
        break;
      case Event::ChunkHeader:
        if (auto e = check_chunk_line()) {
          error_ = std::move(e);
          return std::unexpected(*error_);
        }
        line_.clear();
        if (parser_->flags & F_TRAILING) {
          phase_ = Phase::Trailers;
          budget_ = limits_.max_head_bytes;
          in_value_ = false;
        }
        break;
      case Event::MessageDone: {
        if (deferred_) {
          error_ = std::move(deferred_);
          return std::unexpected(*error_);
        }
        if (phase_ == Phase::Trailers) {
          if (auto e = check_trailers()) {
            error_ = std::move(e);
            return std::unexpected(*error_);
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
        return done;
      }
      case Event::None:
        return failed(400, "http-parser paused by itself");
    }
  }
  return done;
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

}  // namespace weft::l7
