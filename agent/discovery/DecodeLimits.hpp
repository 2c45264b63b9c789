// Bounds on what one manifest input (a file's bytes, one JSON text) may cost the decoder.
#pragma once

#include <cstddef>

namespace weft::discovery {

/// Bounds on what one input may cost; exceeding one is an error naming the limit.
struct DecodeLimits {
  std::size_t max_bytes = 4U << 20;    ///< input size
  std::size_t max_documents = 1000;    ///< "---"-separated documents per input
  std::size_t max_nodes = 500'000;     ///< tree nodes the parser may build (memory bound)
  std::size_t max_visits = 4'000'000;  ///< nodes the decoder may visit (alias expansion bound)
  std::size_t max_objects = 20'000;    ///< decoded objects per input, List items included
  /// RE2 program instructions (RE2::ProgramSize()) of the route regular expressions of one input
  /// (memory bound: "/a{1000}" is short and compiles to 1005; one expression may have 20 000).
  std::size_t max_regex_program_size = 200'000;
};

/// How deep a document may nest (yaml-cpp's own depth guard for YAML; the same bound for JSON):
/// the tree's users recurse on it.
inline constexpr std::size_t kMaxNesting = 2000;

}  // namespace weft::discovery
