#include "l7/Http1Codec.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <span>
#include <string_view>
#include <vector>

namespace weft::l7 {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

/// The options a head's Connection fields list (comma-separated, RFC 9110 §7.6.1), as written:
/// views into those fields' values. Usually none.
std::vector<std::string_view> connection_options(const Headers& headers) {
  std::vector<std::string_view> options;
  for (const Header& h : headers) {
    if (h.name != std::string_view("connection")) {
      continue;
    }
    std::string_view list = h.value;
    while (!list.empty()) {
      std::size_t comma = list.find(',');
      std::string_view token = list.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
        token.remove_prefix(1);
      }
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
        token.remove_suffix(1);
      }
      if (!token.empty()) {
        options.push_back(token);
      }
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  return options;
}

/// RFC 9113 §8.2.2: fields that only mean something to one HTTP/1.1 connection. `options`: what
/// the head's Connection fields list (connection_options()).
bool connection_specific(const Header& h, std::span<const std::string_view> options) {
  using namespace std::string_view_literals;
  std::string_view name = h.name;
  if (name == "connection"sv || name == "keep-alive"sv || name == "proxy-connection"sv ||
      name == "transfer-encoding"sv || name == "upgrade"sv || name == "host"sv) {
    return true;
  }
  if (name == "te"sv) {
    return !iequals(h.value, "trailers");
  }
  return std::any_of(options.begin(), options.end(),
                     [name](std::string_view option) { return iequals(option, name); });
}

void append_fields(std::string& out, const Headers& headers) {
  for (const Header& h : headers) {
    if (h.name.empty() || h.name[0] == ':') {
      continue;
    }
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
}

/// Moves the fields of an HTTP/1.1 head that mean something end to end from `fields` to `out`.
/// Only those are moved from: the Connection fields, which `options` points into, stay.
void move_end_to_end_fields(Headers& fields, Headers& out) {
  std::vector<std::string_view> options = connection_options(fields);
  for (Header& h : fields) {
    if (!connection_specific(h, options)) {
      out.push_back(std::move(h));
    }
  }
}

}  // namespace

Headers request_to_h2(Http1Head&& head) {
  std::string authority;
  std::string path;
  if (std::string_view t = head.target; t.starts_with("http://") || t.starts_with("https://")) {
    // absolute-form (a client talking to a proxy): split into :authority and :path.
    std::size_t start = t.find("//") + 2;
    std::size_t slash = t.find('/', start);
    authority =
        std::string(t.substr(start, slash == std::string_view::npos ? t.npos : slash - start));
    path = slash == std::string_view::npos ? "/" : std::string(t.substr(slash));
  } else {
    path = std::move(head.target);
    if (std::string* host = find_header(head.headers, "host")) {
      authority = std::move(*host);
    }
  }
  Headers out;
  out.reserve(head.headers.size() + 4);
  out.push_back({":method", std::move(head.method)});
  out.push_back({":scheme", "http"});
  if (!authority.empty()) {
    out.push_back({":authority", std::move(authority)});
  }
  out.push_back({":path", std::move(path)});
  move_end_to_end_fields(head.headers, out);
  return out;
}

Headers response_to_h2(Http1Head&& head) {
  Headers out;
  out.reserve(head.headers.size() + 1);
  out.push_back({":status", std::to_string(head.status)});
  move_end_to_end_fields(head.headers, out);
  return out;
}

void append_request_head(std::string& out, const Headers& head, bool has_body,
                         Http1Framing& framing) {
  const std::string* method = find_header(head, ":method");
  const std::string* path = find_header(head, ":path");
  const std::string* authority = find_header(head, ":authority");
  out += method != nullptr ? std::string_view(*method) : "GET";
  out += ' ';
  out += path != nullptr ? std::string_view(*path) : "/";
  out += " HTTP/1.1\r\n";
  if (authority != nullptr) {
    out += "host: ";
    out += *authority;
    out += "\r\n";
  }
  append_fields(out, head);
  framing = Http1Framing::None;
  if (find_header(head, "content-length") != nullptr) {
    framing = Http1Framing::ContentLength;
  } else if (has_body) {
    framing = Http1Framing::Chunked;
    out += "transfer-encoding: chunked\r\n";
  }
  out += "\r\n";
}

void append_response_head(std::string& out, const Headers& head, bool has_body,
                          bool request_was_head, int client_version_minor, bool close,
                          Http1Framing& framing) {
  int status = header_int(find_header(head, ":status"), 0);
  char digits[16];
  auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), status);
  out += "HTTP/1.1 ";
  out.append(digits, end);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  append_fields(out, head);
  framing = Http1Framing::None;
  bool informational = status >= 100 && status < 200;
  if (!informational && !request_was_head && status != 204 && status != 304) {
    if (find_header(head, "content-length") != nullptr) {
      framing = Http1Framing::ContentLength;
    } else if (has_body && client_version_minor >= 1) {
      framing = Http1Framing::Chunked;
      out += "transfer-encoding: chunked\r\n";
    } else if (has_body) {
      framing = Http1Framing::UntilClose;
      close = true;
    } else {
      out += "content-length: 0\r\n";
    }
  }
  if (close && !informational) {
    out += "connection: close\r\n";
  }
  out += "\r\n";
}

void append_body(std::string& out, Http1Framing framing, std::span<const uint8_t> data) {
  if (data.empty() || framing == Http1Framing::None) {
    return;
  }
  if (framing == Http1Framing::Chunked) {
    char size[16];
    auto [end, ec] = std::to_chars(std::begin(size), std::end(size), data.size(), 16);
    out.append(size, end);
    out += "\r\n";
  }
  out.append(reinterpret_cast<const char*>(data.data()), data.size());
  if (framing == Http1Framing::Chunked) {
    out += "\r\n";
  }
}

void append_body_end(std::string& out, Http1Framing framing, const Headers& trailers) {
  if (framing != Http1Framing::Chunked) {
    return;
  }
  out += "0\r\n";
  append_fields(out, trailers);
  out += "\r\n";
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace weft::l7
