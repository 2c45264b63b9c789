// HTTP header fields as every l7 component holds them (HTTP/1.1 heads, HTTP/2 header blocks,
// route matching), without any protocol library: the HTTP/1.1 parser includes only this.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weft::l7 {

struct Header {
  std::string name;  ///< lower case, as HTTP/2 has it (HTTP/1.1 heads are lowered when parsed)
  std::string value;
};
using Headers = std::vector<Header>;

/// The first value of `name` (lower case) in `headers`, or nullptr.
const std::string* find_header(const Headers& headers, std::string_view name);
std::string* find_header(Headers& headers, std::string_view name);

}  // namespace weft::l7
