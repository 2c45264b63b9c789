// SourceShares: a source holds at most `limit` shares; a share goes back when its connection
// (the object holding it) is destroyed, also after moves.
#include "agent/loop/SourceShares.hpp"

#include <doctest/doctest.h>

#include <vector>

using weft::IpAddr;
using weft::proxy::SourceKey;
using weft::proxy::SourceShare;
using weft::proxy::SourceShares;

TEST_CASE("SourceShares: each source holds at most its limit, and shares come back") {
  SourceShares shares(2, 1000);
  SourceKey pod{7, {}};
  SourceKey client{0, *IpAddr::parse("10.0.0.9")};
  std::vector<SourceShare> held;
  for (int i = 0; i < 2; ++i) {
    auto s = shares.take(pod);
    REQUIRE(s.has_value());
    held.push_back(std::move(*s));
  }
  CHECK_FALSE(shares.take(pod).has_value());  // the pod is at its limit...
  auto other = shares.take(client);           // ...the others are not
  CHECK(other.has_value());
  CHECK(shares.held(pod) == 2);
  CHECK(shares.held(client) == 1);

  SourceShare moved = std::move(held.back());  // moving does not give it back
  held.pop_back();
  CHECK(shares.held(pod) == 2);
  moved = SourceShare();  // assigning over it does
  CHECK(shares.held(pod) == 1);
  CHECK(shares.take(pod).has_value());  // a temporary: taken and given back at once
  CHECK(shares.held(pod) == 1);
  held.clear();
  other.reset();
  CHECK(shares.held(pod) == 0);
  CHECK(shares.held(client) == 0);
}

TEST_CASE("SourceShares: a source's incomplete request heads share one budget of bytes") {
  SourceShares shares(10, 1000);
  SourceKey pod{7, {}};
  auto a = shares.take(pod);
  auto b = shares.take(pod);
  auto other = shares.take({8, {}});
  CHECK(a->charge_head(600));
  CHECK_FALSE(b->charge_head(500));  // 1100 > 1000 for the pod...
  CHECK(other->charge_head(900));    // ...not for another source
  CHECK(b->charge_head(400));
  a->release_head();  // a's head is complete
  CHECK(b->charge_head(600));
  b.reset();  // a connection that goes away gives its head bytes back too
  CHECK(a->charge_head(1000));
  CHECK(SourceShare().charge_head(1 << 30));  // charged to nobody: never refused
}
