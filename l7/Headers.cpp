#include "l7/Headers.hpp"

#include <charconv>
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

int header_int(const std::string* value, int fallback) {
  int v = fallback;
  if (value != nullptr) {
    std::from_chars(value->data(), value->data() + value->size(), v);
  }
  return v;
}

std::string_view trace_id(const Headers& headers) {
  if (const std::string* tp = find_header(headers, "traceparent")) {
    if (tp->size() >= 55 && (*tp)[2] == '-' && (*tp)[35] == '-') {
      return std::string_view(*tp).substr(3, 32);
    }
  }
  if (const std::string* b3 = find_header(headers, "x-b3-traceid")) {
    return *b3;
  }
  return {};
}

bool is_grpc(const Headers& headers) {
  const std::string* ct = find_header(headers, "content-type");
  return ct != nullptr && ct->starts_with("application/grpc");
}

}  // namespace weft::l7
