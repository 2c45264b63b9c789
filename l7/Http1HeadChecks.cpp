// The checks of a head once http-parser has read it (RFC 9112): the start line as sent, the
// framing fields (Content-Length, Transfer-Encoding), Host and the CONNECT target, and whether
// the connection carries another message after this one.
#include <http_parser.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "l7/Http1Grammar.hpp"
#include "l7/Http1Parser.hpp"

namespace weft::l7 {
namespace {

using detail::iequals;
using detail::is_digit;
using detail::skip_ows;
using detail::token_end;
using detail::trim_values;

/// A head's refusal with the status a request gets: finish_head() answers responses with 502.
using Refusal = std::optional<Http1Error>;

constexpr std::string_view kVersion = "HTTP/1.";

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

/// A Content-Length value: plain digits (trailing whitespace aside) that fit in 64 bits.
std::optional<uint64_t> content_length(std::string_view v) {
  v = v.substr(0, v.find_last_not_of(" \t") + 1);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || !std::ranges::all_of(v, is_digit) || ec != std::errc() ||
      end != v.data() + v.size()) {
    return std::nullopt;
  }
  return n;
}

Refusal check_version(const http_parser& p, Http1Head& h) {
  if (p.http_major != 1) {
    return Http1Error{p.http_major > 1 ? 505 : 400, "HTTP/" + std::to_string(p.http_major) + "." +
                                                        std::to_string(p.http_minor) +
                                                        " is not supported"};
  }
  h.version_minor = p.http_minor;
  return std::nullopt;
}

/// The request line as sent: METHOD SP request-target SP HTTP-version (RFC 9112 §3).
Refusal check_request_line(const http_parser& p, std::string_view line, Http1Head& h) {
  h.method = http_method_str(static_cast<http_method>(p.method));
  auto take = [&line](std::string_view part) {
    bool found = line.starts_with(part);
    line.remove_prefix(found ? part.size() : 0);
    return found;
  };
  char minor = static_cast<char>('0' + p.http_minor);
  if (!(take(h.method) && take(" ") && take(h.target) && take(" ") && take(kVersion) &&
        line == std::string_view(&minor, 1))) {
    return Http1Error{400, "request line is not METHOD SP target SP HTTP/1.x"};
  }
  return std::nullopt;
}

/// The status line as sent: HTTP-version SP 3DIGIT SP [ reason-phrase ] (RFC 9112 §4).
Refusal check_status_line(const http_parser& p, std::string_view line, Http1Head& h) {
  h.status = static_cast<int>(p.status_code);
  bool ok = line.size() >= 12 && line.starts_with(kVersion) && is_digit(line[7]) &&
            line[8] == ' ' && is_digit(line[9]) && is_digit(line[10]) && is_digit(line[11]) &&
            (line.size() == 12 || line[12] == ' ');
  if (!ok || h.status < 100 || h.status > 599) {
    return Http1Error{400, "status line is not HTTP/1.x SP 3DIGIT SP reason"};
  }
  return std::nullopt;
}

/// The codings of the Transfer-Encoding fields (at least one) of a head that has no
/// Content-Length when this is called; sets h.chunked.
Refusal check_codings(const std::vector<std::string_view>& codings, std::size_t content_lengths,
                      bool request, Http1Head& h) {
  if (content_lengths > 0) {
    return Http1Error{400, "both Content-Length and Transfer-Encoding"};
  }
  if (h.version_minor == 0) {
    return Http1Error{400, "Transfer-Encoding in an HTTP/1.0 message"};
  }
  auto chunked = std::ranges::count_if(codings, [](auto c) { return iequals(c, "chunked"); });
  bool last_chunked = iequals(codings.back(), "chunked");
  if (chunked > 1 || (chunked == 1 && !last_chunked)) {
    return Http1Error{400, "chunked applied twice or not last"};
  }
  if (request && chunked == 0) {
    return Http1Error{400, "the final transfer coding of a request must be chunked"};
  }
  if (request && codings.size() > 1) {
    return Http1Error{501,
                      "transfer coding \"" + std::string(codings.front()) + "\" not implemented"};
  }
  h.chunked = chunked == 1;
  return std::nullopt;
}

/// Content-Length and Transfer-Encoding; then the values lose their trailing whitespace.
Refusal check_framing(const http_parser& p, bool request, Http1Head& h) {
  // Framing, checked on the values as sent.
  std::vector<std::string_view> codings;
  std::size_t content_lengths = 0;
  bool transfer_encoding = false;
  for (const Header& f : h.headers) {
    if (f.name == "transfer-encoding") {
      transfer_encoding = true;
      if (!split_codings(f.value, codings)) {
        return Http1Error{400, "malformed Transfer-Encoding \"" + f.value + "\""};
      }
    } else if (f.name == "content-length") {
      ++content_lengths;
      std::optional<uint64_t> n = content_length(f.value);
      if (!n) {
        return Http1Error{400, "invalid Content-Length"};
      }
      h.content_length = n;
    }
  }
  trim_values(h.headers);  // shortens the strings in place: codings still point into them
  if (content_lengths > 1) {
    return Http1Error{400, "Content-Length repeated"};
  }
  if (transfer_encoding) {
    if (Refusal e = check_codings(codings, content_lengths, request, h)) {
      return e;
    }
  }
  if (h.chunked != ((p.flags & F_CHUNKED) != 0)) {
    return Http1Error{400, "ambiguous Transfer-Encoding"};
  }
  return std::nullopt;
}

/// A CONNECT request-target: host:port (authority-form), the port up to five digits.
bool is_host_port(std::string_view target) {
  std::size_t colon = target.rfind(':');
  std::string_view port =
      colon == std::string::npos ? std::string_view() : target.substr(colon + 1);
  return !(target.starts_with('/') || colon == 0 || port.empty() || port.size() > 5 ||
           !std::ranges::all_of(port, is_digit));
}

/// Host, the CONNECT target, Expect and Upgrade of a request whose framing is checked.
Refusal check_request_fields(const http_parser& p, Http1Head& h) {
  auto hosts = std::ranges::count_if(h.headers, [](const Header& f) { return f.name == "host"; });
  if (hosts > 1 || (h.version_minor >= 1 && hosts == 0)) {
    return Http1Error{400, "an HTTP/1.1 request needs exactly one Host"};
  }
  if (p.method == HTTP_CONNECT && !is_host_port(h.target)) {
    return Http1Error{400, "CONNECT needs a host:port target"};
  }
  if (h.version_minor >= 1) {
    for (const Header& f : h.headers) {
      if (f.name == "expect" && iequals(f.value, "100-continue")) {
        h.expect_continue = true;
      }
    }
  }
  h.upgrade = p.upgrade != 0;
  return std::nullopt;
}

/// Everything but keep-alive, in the order the faults are reported.
Refusal check_head(const http_parser& p, bool request, std::string_view line, Http1Head& h) {
  if (Refusal e = check_version(p, h)) {
    return e;
  }
  if (Refusal e = request ? check_request_line(p, line, h) : check_status_line(p, line, h)) {
    return e;
  }
  if (Refusal e = check_framing(p, request, h)) {
    return e;
  }
  if (request) {
    return check_request_fields(p, h);
  }
  h.upgrade = h.status == 101;
  h.no_body = (p.flags & F_SKIPBODY) != 0;
  return std::nullopt;
}

}  // namespace

std::optional<Http1Error> Http1Parser::finish_head() {
  const http_parser& p = *parser_;
  Http1Head& h = head_;
  bool request = kind_ == Kind::Request;
  if (Refusal e = check_head(p, request, line_, h)) {
    return error(e->status, std::move(e->reason));
  }
  bool close = (p.flags & F_CONNECTION_CLOSE) != 0;
  bool keep = h.version_minor >= 1 ? !close : (p.flags & F_CONNECTION_KEEP_ALIVE) != 0 && !close;
  bool until_close = !request && !h.no_body && !h.chunked && !h.content_length;
  h.keep_alive = keep && !until_close;
  return std::nullopt;
}

}  // namespace weft::l7
