#include "common/Forwarded.hpp"

#include <doctest/doctest.h>

using weft::forwarded_for;
using weft::IpAddr;
using weft::parse_forwarded_for;

TEST_CASE("forwarded for= round-trips IPv4 and quoted IPv6 and refuses everything else") {
  for (const char* text : {"10.77.1.2", "fd00::1"}) {
    auto ip = IpAddr::parse(text);
    REQUIRE(ip);
    auto header = forwarded_for(*ip);
    auto back = parse_forwarded_for(header);
    REQUIRE(back);
    CHECK(*back == *ip);
  }
  CHECK(forwarded_for(*IpAddr::parse("fd00::1")) == "for=\"[fd00::1]\"");
  for (const char* bad : {"", "for=", "for=10.0.0.1:80", "for=\"10.0.0.1\"", "for=fd00::1",
                          "for=\"[10.0.0.1]\"", "for=[fd00::1]", "for=\"[fd00::1]", "for=_hidden",
                          "for=unknown", "for=10.0.0.1, for=10.0.0.2", "for=10.0.0.1;proto=http",
                          "by=10.0.0.1", "For=10.0.0.1", " for=10.0.0.1", "for=\"[]\""}) {
    CHECK_MESSAGE(!parse_forwarded_for(bad), bad);
  }
}
