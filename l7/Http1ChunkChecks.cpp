// The checks of a chunked body's framing (RFC 9112 §7.1): each chunk-size line with its
// extensions, and the trailer fields after the last chunk.
#include <optional>
#include <string_view>

#include "l7/Http1Grammar.hpp"
#include "l7/Http1Parser.hpp"

namespace weft::l7 {
namespace {

using detail::is_hex;
using detail::skip_ows;
using detail::token_end;

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

/// Whether line[i..] is a run of chunk-ext (the grammar in check_chunk_line()).
bool is_chunk_ext(std::string_view line, std::size_t i) {
  while (i < line.size()) {
    i = skip_ows(line, i);
    if (i == line.size() || line[i] != ';') {
      return false;
    }
    i = skip_ows(line, i + 1);
    std::size_t end = token_end(line, i);
    if (end == i) {
      return false;
    }
    i = end;
    std::size_t eq = skip_ows(line, i);
    if (eq < line.size() && line[eq] == '=') {
      i = skip_ows(line, eq + 1);
      if (i < line.size() && line[i] == '"') {
        auto q = quoted_end(line, i);
        if (!q) {
          return false;
        }
        i = *q;
      } else {
        end = token_end(line, i);
        if (end == i) {
          return false;
        }
        i = end;
      }
    }
  }
  return true;
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

}  // namespace

std::optional<Http1Error> Http1Parser::check_chunk_line() {
  // line_ holds the CRLF that ended the head or the previous chunk's data, then the line.
  // RFC 9112 §7.1: chunk-size [ chunk-ext ], chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS
  // ( token / quoted-string ) ] ). http-parser skips whatever follows the size up to CR.
  std::string_view line = line_;
  if (!line.starts_with("\r\n") || !line.ends_with("\r\n") || line.size() < 5) {
    return error(400, "invalid chunk-size line");
  }
  line = line.substr(2, line.size() - 4);
  std::size_t i = 0;
  while (i < line.size() && is_hex(line[i])) {
    ++i;
  }
  if (i == 0 || !is_chunk_ext(line, i)) {
    return error(400, "invalid chunk-size line");
  }
  return std::nullopt;
}

std::optional<Http1Error> Http1Parser::check_trailers() {
  for (const Header& f : trailers_) {
    if (forbidden_in_trailers(f.name)) {
      return error(400, f.name + " in trailers");
    }
  }
  detail::trim_values(trailers_);
  return std::nullopt;
}

}  // namespace weft::l7
