#include "weftctl/FlowOutput.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "weftctl/CommandLine.hpp"
#include "weftctl/ObserveCommand.hpp"

using namespace weft::weftctl;

namespace {

/// Lines as GET /observe writes them (agent/observe/FlowRecord.cpp's to_json).
constexpr const char* kAgentA =
    R"({"seq":7,"time":"2023-11-14T22:13:20.123456Z","time_us":1700000000123456,"node":"node-a","type":"request","verdict":"allowed","direction":"outbound","src":{"ip":"10.0.1.5","workload":"web","namespace":"shop","principal":"spiffe://td/ns/shop/sa/web"},"dst":{"ip":"10.0.2.9","port":8080,"workload":"cart","namespace":"store","principal":"spiffe://td/ns/store/sa/cart"},"service":"cart.store.svc.cluster.local","tls":true,"protocol":"HTTP/1.1","seconds":0.0031,"method":"GET","authority":"cart","path":"/api","status":200,"grpc_status":null,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
{"seq":8,"time_us":1700000002000000,"node":"node-a","type":"connection","verdict":"allowed","direction":"outbound","src":{"ip":"10.0.1.5","workload":"web","namespace":"shop","principal":""},"dst":{"ip":"10.0.3.4","port":5432,"workload":"","namespace":"","principal":""},"service":"","tls":false,"protocol":"TCP","seconds":2.14,"sent_bytes":1229,"received_bytes":3482}
)";
constexpr const char* kAgentB =
    R"({"seq":3,"time_us":1700000001000000,"node":"node-b","type":"connection","verdict":"denied","direction":"inbound","src":{"ip":"10.0.1.9"},"dst":{"ip":"10.0.2.9","port":8080,"workload":"cart","namespace":"store"},"protocol":"TCP","seconds":0,"sent_bytes":0,"received_bytes":0,"reason":"not_allowed"}

{"seq":4,"time_us":1700000003000000,"node":"node-b","type":"request","verdict":"failed","src":{"ip":"10.0.1.5","workload":"web","namespace":"shop"},"dst":{"workload":"cart","namespace":"store"},"protocol":"gRPC","method":"POST","path":"/cart.Cart/Get","status":200,"grpc_status":14,"reason":"no healthy upstream"}
)";

std::vector<Flow> parsed(const char* text) {
  auto flows = parse_flows(text);
  REQUIRE_MESSAGE(flows, (flows ? "" : flows.error().message));
  return *flows;
}

/// A table's lines split into cells (columns are three or more spaces apart).
std::vector<std::vector<std::string>> cells(const std::string& table) {
  std::vector<std::vector<std::string>> out;
  std::size_t start = 0;
  while (start < table.size()) {
    std::size_t nl = table.find('\n', start);
    std::string line = table.substr(start, nl - start);
    start = nl == std::string::npos ? table.size() : nl + 1;
    std::vector<std::string> row;
    std::size_t at = 0;
    while (at < line.size()) {
      std::size_t gap = line.find("   ", at);
      row.push_back(line.substr(at, gap - at));
      if (gap == std::string::npos) {
        break;
      }
      at = line.find_first_not_of(' ', gap);
    }
    out.push_back(std::move(row));
  }
  return out;
}

struct Utc {
  Utc() {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

}  // namespace

TEST_CASE("observe: the agents' lines are read field by field, blank lines skipped") {
  auto a = parsed(kAgentA);
  REQUIRE(a.size() == 2);
  CHECK(a[0].seq == 7);
  CHECK(a[0].node == "node-a");
  CHECK(a[0].src.workload == "web");
  CHECK(a[0].src.port == 0);
  CHECK(a[0].dst.port == 8080);
  CHECK(a[0].tls);
  CHECK_FALSE(a[0].grpc_status);
  CHECK(a[0].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(a[1].sent == 1229);
  auto b = parsed(kAgentB);
  REQUIRE(b.size() == 2);
  CHECK(b[1].grpc_status == 14);
}

TEST_CASE("observe: a line that is not a record is an error naming the line") {
  struct Case {
    const char* text;
    const char* says;
  };
  for (Case c : {Case{"{\"seq\":1}\nnot json\n", "line 2: not a JSON object"},
                 Case{"[1,2]", "line 1: not a JSON object"},
                 Case{R"({"seq":-1})", "\"seq\" is out of range"},
                 Case{R"({"seq":"7"})", "\"seq\" is not a whole number"},
                 Case{R"({"node":7})", "\"node\" is not a string"},
                 Case{R"({"dst":{"port":70000}})", "dst: \"port\" is out of range"},
                 Case{R"({"src":"10.0.0.1"})", "\"src\" is not an object"},
                 Case{R"({"seconds":-2})", "\"seconds\" is not a duration"},
                 Case{R"({"tls":"yes"})", "\"tls\" is not true or false"}}) {
    CAPTURE(c.text);
    auto flows = parse_flows(c.text);
    REQUIRE_FALSE(flows);
    CHECK(flows.error().message.find(c.says) != std::string::npos);
  }
}

TEST_CASE("observe: agents' records are merged by time") {
  auto merged = merge_flows({parsed(kAgentA), parsed(kAgentB)});
  REQUIRE(merged.size() == 4);
  CHECK(merged[0].node == "node-a");
  CHECK(merged[1].node == "node-b");
  CHECK(merged[2].seq == 8);
  CHECK(merged[3].seq == 4);
}

TEST_CASE("observe: the summary says what happened in Hubble's words") {
  auto merged = merge_flows({parsed(kAgentA), parsed(kAgentB)});
  CHECK(flow_summary(merged[0]) == "HTTP/1.1 GET /api 200 3ms");
  CHECK(flow_summary(merged[1]) == "TCP denied by policy (not_allowed)");
  CHECK(flow_summary(merged[2]) == "TCP 1.2 KiB \u2192 3.4 KiB 2.1s");
  CHECK(flow_summary(merged[3]) ==
        "gRPC POST /cart.Cart/Get 200 grpc-status 14 failed (no healthy upstream)");
  Flow reset;
  reset.type = "connection";
  reset.verdict = "failed";
  reset.reason = "connect: Connection refused";
  CHECK(flow_summary(reset) == "TCP failed: connect: Connection refused");
}

TEST_CASE("observe: the table has Hubble's columns, wide adds node, Service, TLS and trace") {
  Utc utc;
  auto merged = merge_flows({parsed(kAgentA), parsed(kAgentB)});
  CHECK(flow_timestamp(1700000000123456) == "Nov 14 22:13:20.123");
  std::string table = flow_output(merged, OutputFormat::Table);
  auto rows = cells(table);
  REQUIRE(rows.size() == 5);
  CHECK(rows[0] == std::vector<std::string>{"TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT",
                                            "SUMMARY"});
  CHECK(rows[1] == std::vector<std::string>{"Nov 14 22:13:20.123", "shop/web", "store/cart:8080",
                                            "request", "ALLOWED", "HTTP/1.1 GET /api 200 3ms"});
  CHECK(rows[2] == std::vector<std::string>{"Nov 14 22:13:21.000", "10.0.1.9", "store/cart:8080",
                                            "connection", "DENIED",
                                            "TCP denied by policy (not_allowed)"});
  CHECK(rows[3][2] == "10.0.3.4:5432");
  // Columns line up: each starts where its header does.
  CHECK(table.find("\nNov 14 22:13:20.123   shop/web   store/cart:8080   request      ALLOWED   "
                   "HTTP/1.1") != std::string::npos);
  std::string wide = flow_output(merged, OutputFormat::Wide);
  CHECK(wide.find("NODE") != std::string::npos);
  CHECK(wide.find("cart.store.svc.cluster.local") != std::string::npos);
  CHECK(wide.find("4bf92f3577b34da6a3ce929d0e0e4736") != std::string::npos);
  std::string again = flow_output(std::span(merged).subspan(3), OutputFormat::Table, false);
  CHECK(again.find("TIMESTAMP") == std::string::npos);
  CHECK(again.find("FAILED") != std::string::npos);
  std::string json = flow_output(merged, OutputFormat::Json);
  CHECK(json.find("\"seq\":7") != std::string::npos);
  CHECK(std::count(json.begin(), json.end(), '\n') == 4);
}

TEST_CASE("observe: --since takes a duration back from now or an RFC 3339 time") {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  CHECK(*parse_since("30s", now) == doctest::Approx(1699999970));
  CHECK(*parse_since("5m", now) == doctest::Approx(1699999700));
  CHECK(*parse_since("1h", now) == doctest::Approx(1699996400));
  CHECK(*parse_since("2023-11-14T22:13:20Z", now) == doctest::Approx(1700000000));
  CHECK(*parse_since("2023-11-14T22:13:20.5Z", now) == doctest::Approx(1700000000.5));
  CHECK(*parse_since("2023-11-15T00:13:20+02:00", now) == doctest::Approx(1700000000));
  for (const char* bad :
       {"yesterday", "5", "5 m", "-5m", "2023-11-14 22:13:20", "2023-11-14T22:13:20"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_since(bad, now));
  }
  CHECK(observe_query({{"http_status", "5+"}, {"last", "3"}}) == "http_status=5%2B&last=3");
}

TEST_CASE("observe: the command line takes the filters, the limits and the format") {
  std::vector<std::string> args = {"observe", "--agents",  "10.0.0.1:15020,10.0.0.2:15020",
                                   "--last",  "5",         "--http-status",
                                   "5+",      "--verdict", "denied",
                                   "-n",      "shop",      "--trace-id",
                                   "abc",     "-o",        "wide"};
  auto cl = parse_command_line(args);
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->action == CommandLine::Action::Observe);
  const ObserveOptions& o = cl->observe;
  CHECK(o.agents == std::vector<std::string>{"10.0.0.1:15020", "10.0.0.2:15020"});
  CHECK(o.last == 5u);
  CHECK(o.format == OutputFormat::Wide);
  CHECK(o.filters == std::vector<std::pair<std::string, std::string>>{{"namespace", "shop"},
                                                                      {"http_status", "5+"},
                                                                      {"verdict", "denied"},
                                                                      {"trace_id", "abc"}});
  std::vector<std::string> follow = {"observe", "-f", "--follow-for", "3s", "--since", "1m"};
  cl = parse_command_line(follow);
  REQUIRE_MESSAGE(cl, (cl ? "" : cl.error().reason));
  CHECK(cl->observe.follow);
  CHECK(cl->observe.follow_for == std::chrono::seconds(3));
  CHECK(cl->observe.since == "1m");
  CHECK(cl->observe.agents == std::vector<std::string>{"127.0.0.1:15020"});
  for (std::vector<std::string> bad : {std::vector<std::string>{"observe", "--verdict", "dropped"},
                                       {"observe", "--last", "0"},
                                       {"observe", "--port", "70000"},
                                       {"observe", "--follow-for", "3s"},
                                       {"observe", "-o", "yaml"}}) {
    CAPTURE(bad[1]);
    auto refused = parse_command_line(bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().help == "weftctl observe --help");
  }
}
