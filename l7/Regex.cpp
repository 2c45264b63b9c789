#include "l7/Regex.hpp"

namespace weft::l7 {

Regex compile_regex(std::string_view pattern) {
  auto flags = std::regex::ECMAScript;
#if defined(__GLIBCXX__)
  flags |= std::regex_constants::__polynomial;
#endif
  return std::make_shared<const std::regex>(pattern.begin(), pattern.end(), flags);
}

}  // namespace weft::l7
