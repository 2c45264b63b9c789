#include "agent/observe/FlowLog.hpp"

#include <doctest/doctest.h>

#include <chrono>

namespace weft::agent {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

FlowLog::Clock::time_point at(int64_t seconds) {
  return FlowLog::Clock::time_point(std::chrono::seconds(seconds));
}

/// A request from shop/web to store/cart answered `status`, ended at Unix time `when`.
void add_request(FlowLog& log, int status, int64_t when, std::string trace = {}) {
  log.add(
      [&](FlowRecord& r) {
        r.kind = FlowKind::Request;
        r.src = {SockAddr{*IpAddr::parse("10.0.1.5"), 0}, "web", "shop",
                 "spiffe://td/ns/shop/sa/web"};
        r.dst = {SockAddr::parse("10.0.2.9:8080"), "cart", "store", "spiffe://td/ns/store/sa/cart"};
        r.protocol = "HTTP/1.1";
        r.method = "GET";
        r.path = "/items";
        r.status = status;
        r.trace_id = trace;
        r.verdict = status == 403 ? FlowVerdict::Denied : FlowVerdict::Allowed;
      },
      at(when));
}

void add_connection(FlowLog& log, FlowVerdict verdict, int64_t when) {
  log.add(
      [&](FlowRecord& r) {
        r.kind = FlowKind::Connection;
        r.verdict = verdict;
        r.src = {SockAddr{*IpAddr::parse("10.0.1.7"), 0}, "batch", "jobs", ""};
        r.dst = {SockAddr::parse("10.0.3.4:5432"), "db", "data", ""};
        r.protocol = "TCP";
        r.sent = 1200;
        r.received = 3400;
      },
      at(when));
}

std::vector<FlowRecord> query(const FlowLog& log, Pairs pairs) {
  auto q = parse_flow_query(pairs);
  REQUIRE(q);
  return log.query(*q);
}

std::vector<uint64_t> seqs(const std::vector<FlowRecord>& records) {
  std::vector<uint64_t> out;
  for (const auto& r : records) {
    out.push_back(r.seq);
  }
  return out;
}

TEST_CASE("flow log: records come back oldest first with sequence numbers from 1") {
  FlowLog log("node-a", 8);
  add_request(log, 200, 100);
  add_request(log, 500, 101);
  add_connection(log, FlowVerdict::Allowed, 102);
  auto all = query(log, {});
  CHECK(seqs(all) == std::vector<uint64_t>{1, 2, 3});
  CHECK(all[1].status == 500);
  CHECK(all[2].kind == FlowKind::Connection);
  CHECK(all[0].time_us == 100'000'000);
  CHECK(log.newest() == 3);
}

TEST_CASE("flow log: past its capacity only the newest records remain, their slots reused") {
  FlowLog log("node-a", 4);
  for (int i = 0; i < 10; ++i) {
    add_request(log, 200 + i, 100 + i);
  }
  auto all = query(log, {});
  CHECK(seqs(all) == std::vector<uint64_t>{7, 8, 9, 10});
  CHECK(all.front().status == 206);
  // A slot written again holds nothing of its previous record.
  add_connection(log, FlowVerdict::Failed, 200);
  auto newest = query(log, {{"last", "1"}});
  REQUIRE(newest.size() == 1);
  CHECK(newest[0].kind == FlowKind::Connection);
  CHECK(newest[0].path.empty());
  CHECK(newest[0].status == 0);
}

TEST_CASE("flow log: last takes the newest matches, after and since the later ones") {
  FlowLog log("node-a", 16);
  for (int i = 0; i < 6; ++i) {
    add_request(log, i % 2 == 0 ? 200 : 503, 100 + i);
  }
  CHECK(seqs(query(log, {{"last", "2"}})) == std::vector<uint64_t>{5, 6});
  CHECK(seqs(query(log, {{"last", "2"}, {"http_status", "5+"}})) == std::vector<uint64_t>{4, 6});
  CHECK(seqs(query(log, {{"after", "4"}})) == std::vector<uint64_t>{5, 6});
  CHECK(query(log, {{"after", "6"}}).empty());
  CHECK(seqs(query(log, {{"since", "103.5"}})) == std::vector<uint64_t>{5, 6});
  CHECK(seqs(query(log, {{"since", "103"}})) == std::vector<uint64_t>{4, 5, 6});
}

TEST_CASE("flow log: filters on verdict, type, status, ends, ports and trace id") {
  FlowLog log("node-a", 16);
  add_request(log, 200, 100, "4bf92f3577b34da6a3ce929d0e0e4736");
  add_request(log, 503, 101);
  add_request(log, 403, 102);
  add_connection(log, FlowVerdict::Allowed, 103);
  add_connection(log, FlowVerdict::Denied, 104);
  add_connection(log, FlowVerdict::Failed, 105);
  struct Case {
    Pairs query;
    std::vector<uint64_t> expected;
  };
  std::vector<Case> cases = {
      {{{"verdict", "denied"}}, {3, 5}},
      {{{"verdict", "failed"}}, {6}},
      {{{"verdict", "allowed"}, {"type", "connection"}}, {4}},
      {{{"type", "request"}}, {1, 2, 3}},
      {{{"http_status", "5+"}}, {2}},
      {{{"http_status", "4xx"}}, {3}},
      {{{"http_status", "200"}}, {1}},
      {{{"namespace", "store"}}, {1, 2, 3}},
      {{{"workload", "db"}}, {4, 5, 6}},
      {{{"workload", "web"}, {"namespace", "data"}}, {}},
      {{{"ip", "10.0.3.4"}}, {4, 5, 6}},
      {{{"ip", "10.0.1.0/24"}}, {1, 2, 3, 4, 5, 6}},
      {{{"port", "8080"}}, {1, 2, 3}},
      {{{"trace_id", "4BF92F3577B34DA6A3CE929D0E0E4736"}}, {1}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.query.front().first);
    CAPTURE(c.query.front().second);
    CHECK(seqs(query(log, c.query)) == c.expected);
  }
}

TEST_CASE("flow log: a query's bad key or value is an error naming the key") {
  struct Case {
    Pairs query;
    std::string named;
  };
  std::vector<Case> cases = {
      {{{"last", "0"}}, "last:"},
      {{{"last", "ten"}}, "last:"},
      {{{"since", "yesterday"}}, "since:"},
      {{{"after", "-1"}}, "after:"},
      {{{"port", "70000"}}, "port:"},
      {{{"ip", "10.0.0.300"}}, "ip:"},
      {{{"http_status", "5"}}, "http_status:"},
      {{{"verdict", "dropped"}}, "verdict:"},
      {{{"type", "packet"}}, "type:"},
      {{{"namespace", ""}}, "namespace:"},
      {{{"colour", "red"}}, "\"colour\""},
  };
  for (const Case& c : cases) {
    auto q = parse_flow_query(c.query);
    REQUIRE_FALSE(q);
    CHECK(q.error().message.find(c.named) != std::string::npos);
  }
}

TEST_CASE("flow log: off with capacity 0") {
  FlowLog log("node-a", 0);
  CHECK_FALSE(log.enabled());
  add_request(log, 200, 100);
  CHECK(query(log, {}).empty());
  CHECK(log.newest() == 0);
}

TEST_CASE("flow record: a request line keeps at most its bounds and no allocation") {
  l7::Headers head = {{":method", "GET"},
                      {":path", "/" + std::string(400, 'a')},
                      {"host", "web.shop"},
                      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  RequestLine line;
  line.set(head);
  CHECK(line.method() == "GET");
  CHECK(line.authority() == "web.shop");
  CHECK(line.path().size() == RequestLine::kMaxPath);
  CHECK(line.trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736");
  head.push_back({":authority", "web.shop.svc:80"});
  head[3] = {"x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"};
  line.set(head);
  CHECK(line.authority() == "web.shop.svc:80");
  CHECK(line.trace_id() == "80f198ee56343ba864fe8b2a57d3eff7");
}

TEST_CASE("flow record: JSON names the node, the verdict and the kind's own fields") {
  FlowRecord r;
  r.seq = 7;
  r.time_us = 1'700'000'000'123'456;
  r.kind = FlowKind::Connection;
  r.verdict = FlowVerdict::Denied;
  r.reason = "not_allowed";
  r.src = {SockAddr{*IpAddr::parse("10.0.1.7"), 0}, "batch", "jobs", ""};
  std::string json = to_json(r, "node-a");
  CHECK(json.find("\"time\":\"2023-11-14T22:13:20.123456Z\"") != std::string::npos);
  CHECK(json.find("\"node\":\"node-a\"") != std::string::npos);
  CHECK(json.find("\"verdict\":\"denied\"") != std::string::npos);
  CHECK(json.find("\"type\":\"connection\"") != std::string::npos);
  CHECK(json.find("\"reason\":\"not_allowed\"") != std::string::npos);
  CHECK(json.find("\"sent_bytes\":0") != std::string::npos);
  CHECK(json.find("\"path\"") == std::string::npos);
  CHECK(json.find("\"port\"") == std::string::npos);  // port 0: unknown
}

}  // namespace
}  // namespace weft::agent
