#include "l7/Http1Codec.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace weft::l7 {
namespace {

std::vector<std::string> names(const Headers& headers) {
  std::vector<std::string> out;
  for (const Header& h : headers) {
    out.push_back(h.name);
  }
  return out;
}

TEST_CASE(
    "request_to_h2: pseudo-headers first, connection-specific fields and those Connection "
    "lists dropped") {
  Http1Head head;
  head.method = "POST";
  head.target = "/a?b";
  head.headers = {{"host", "svc:80"},
                  {"connection", "keep-alive, X-Hop ,"},
                  {"x-hop", "1"},
                  {"keep-alive", "timeout=5"},
                  {"te", "trailers"},
                  {"x-end", "2"},
                  {"connection", "x-other"},
                  {"x-other", "3"},
                  {"transfer-encoding", "chunked"}};
  Headers h2 = request_to_h2(std::move(head));
  CHECK(names(h2) ==
        std::vector<std::string>{":method", ":scheme", ":authority", ":path", "te", "x-end"});
  CHECK(*find_header(h2, ":authority") == "svc:80");
  CHECK(*find_header(h2, ":path") == "/a?b");
}

TEST_CASE("response_to_h2: a head without Connection keeps every end-to-end field") {
  Http1Head head;
  head.status = 200;
  head.headers = {{"content-type", "text/plain"}, {"te", "gzip"}, {"upgrade", "h2c"}, {"x-a", "1"}};
  Headers h2 = response_to_h2(std::move(head));
  CHECK(names(h2) == std::vector<std::string>{":status", "content-type", "x-a"});
  CHECK(*find_header(h2, ":status") == "200");
}

}  // namespace
}  // namespace weft::l7
