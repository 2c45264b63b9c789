#include "agent/discovery/Text.hpp"

#include <fmt/format.h>

namespace weft::discovery {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoted_excerpt(std::string_view text, std::size_t max) {
  if (text.size() <= max) {
    return fmt::format("\"{}\"", escape(text));
  }
  return fmt::format("\"{}...\"", escape(text.substr(0, max)));
}

}  // namespace weft::discovery
