#include "l7/GrpcTimeout.hpp"

#include <doctest/doctest.h>

namespace weft::l7 {
namespace {

using namespace std::chrono_literals;

TEST_CASE("grpc-timeout values in every unit") {
  CHECK(parse_grpc_timeout("1H") == 1h);
  CHECK(parse_grpc_timeout("2M") == 2min);
  CHECK(parse_grpc_timeout("3S") == 3s);
  CHECK(parse_grpc_timeout("250m") == 250ms);
  CHECK(parse_grpc_timeout("99999999u") == 99999999us);
  CHECK(parse_grpc_timeout("5n") == 5ns);
  CHECK(parse_grpc_timeout("0m") == 0ns);
}

TEST_CASE("malformed grpc-timeout values are ignored") {
  for (const char* bad : {"", "m", "10", "10s", "123456789m", "-1S", "1.5S", " 1S", "1S "}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_grpc_timeout(bad).has_value());
  }
}

}  // namespace
}  // namespace weft::l7
