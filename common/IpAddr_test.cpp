#include "common/IpAddr.hpp"

#include <doctest/doctest.h>

using weft::Cidr;
using weft::IpAddr;
using weft::SockAddr;

TEST_CASE("IpAddr parses and prints v4 and v6") {
  CHECK(IpAddr::parse("10.1.2.3")->str() == "10.1.2.3");
  CHECK(IpAddr::parse("fd00::1")->str() == "fd00::1");
  CHECK_FALSE(IpAddr::parse("10.1.2"));
  CHECK_FALSE(IpAddr::parse(""));
  CHECK(IpAddr::parse("127.0.0.9")->is_loopback());
  CHECK(IpAddr::parse("::1")->is_loopback());
  CHECK_FALSE(IpAddr::parse("10.0.0.1")->is_loopback());
}

TEST_CASE("Cidr matches by prefix and rejects bad lengths") {
  auto c = Cidr::parse("10.96.0.0/12");
  REQUIRE(c);
  CHECK(c->contains(*IpAddr::parse("10.100.3.4")));
  CHECK_FALSE(c->contains(*IpAddr::parse("10.112.0.1")));
  CHECK_FALSE(c->contains(*IpAddr::parse("fd00::1")));
  CHECK(Cidr::parse("fd00::/8")->contains(*IpAddr::parse("fd12::1")));
  CHECK_FALSE(Cidr::parse("10.0.0.0/33"));
  CHECK_FALSE(Cidr::parse("10.0.0.0/x"));
  CHECK(Cidr::parse("10.0.0.1")->prefix_len == 32);
}

TEST_CASE("SockAddr parses what it prints and nothing else") {
  for (const char* text : {"10.1.2.3:80", "[fd00::1]:15008"}) {
    auto a = SockAddr::parse(text);
    REQUIRE(a.has_value());
    CHECK(a->str() == text);
  }
  for (const char* bad : {"", "10.1.2.3", "10.1.2.3:", "10.1.2.3:0", "10.1.2.3:65536",
                          "[10.1.2.3]:80", "fd00::1:80", "host:80", "10.1.2.3:80x"}) {
    CHECK_MESSAGE(!SockAddr::parse(bad).has_value(), bad);
  }
}
