#include "l7/Headers.hpp"

#include <utility>

namespace weft::l7 {

const std::string* find_header(const Headers& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (h.name == name) {
      return &h.value;
    }
  }
  return nullptr;
}

std::string* find_header(Headers& headers, std::string_view name) {
  return const_cast<std::string*>(find_header(std::as_const(headers), name));
}

}  // namespace weft::l7
