// Test helpers of the manifest decoder's tests: decode text that must decode, or must not.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>

#include "agent/discovery/ManifestDecoder.hpp"

namespace weft::discovery {

/// Decodes `text` as "test.yaml"; fails the test case unless it decodes.
inline Decoded decode_ok(std::string_view text) {
  auto result = decode_manifests("test.yaml", text);
  INFO(text);
  REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().message));
  return std::move(*result);
}

/// Decodes `text` as "pods.yaml"; fails the test case unless it is refused. The message.
inline std::string decode_error(std::string_view text, const DecodeLimits& limits = {}) {
  auto result = decode_manifests("pods.yaml", text, limits);
  INFO(text);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == Error::Kind::Protocol);
  return result.error().message;
}

}  // namespace weft::discovery
