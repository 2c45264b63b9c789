#include "weftctl/TapCommand.hpp"

#include <doctest/doctest.h>

#include "weftctl/CommandLine.hpp"
#include "weftctl/TapRecord.hpp"
#include "weftctl/TopTable.hpp"

namespace weft::weftctl {
namespace {

TapOptions tap(std::vector<std::string> args) {
  args.insert(args.begin(), "tap");
  auto cl = parse_command_line(args);
  REQUIRE_MESSAGE(cl, (cl ? std::string() : cl.error().reason));
  CHECK(cl->action == CommandLine::Action::Tap);
  return cl->tap;
}

std::string refusal(std::vector<std::string> args) {
  auto cl = parse_command_line(args);
  REQUIRE(!cl);
  return cl.error().reason;
}

TapRecord record(std::string_view json) {
  std::string error;
  auto r = parse_tap_line(json, &error);
  REQUIRE_MESSAGE(r, error);
  return *r;
}

}  // namespace

TEST_CASE("weftctl tap: the resource and the flags become the agent's filter") {
  CHECK(tap_query(tap({"deploy/web", "-n", "shop"})) == "namespace=shop&workload=web");
  CHECK(tap_query(tap({"deploy", "-A"})).empty());
  CHECK(tap_query(tap({"ns/shop"})) == "namespace=shop");
  CHECK(tap_query(tap({"po/web-1", "-n", "shop"})) == "pod=shop%2Fweb-1");
  CHECK(tap_query(tap({"deploy/web", "--to", "deploy/cart", "--to-namespace", "store", "--status",
                       "5xx", "--path", "/api", "--method", "POST", "--max-rps", "5"})) ==
        "namespace=default&workload=web&to_namespace=store&to_workload=cart&method=POST&"
        "path=%2Fapi&status=5xx&max_rps=5");
  TapOptions o = tap({"ns/x", "--duration", "30s", "-o", "wide", "--agents", "a:1,b:2"});
  CHECK(o.duration == std::chrono::seconds(30));
  CHECK(o.format == OutputFormat::Wide);
  CHECK(o.agents == std::vector<std::string>{"a:1", "b:2"});
}

TEST_CASE("weftctl tap: bad usage is refused with the flag named") {
  CHECK(refusal({"tap", "svc/web"}).find("RESOURCE: wants ns/NAME") != std::string::npos);
  CHECK(refusal({"tap", "po"}).find("names no po") != std::string::npos);
  CHECK(refusal({"top", "deploy", "--status", "6x"}).find("--status: wants") != std::string::npos);
  CHECK(refusal({"tap", "deploy", "--path", "api"}).find("--path: wants") != std::string::npos);
  CHECK(refusal({"tap", "deploy", "--to", "svc/x"}).find("--to: wants") != std::string::npos);
  CHECK(refusal({"tap", "deploy", "--to-namespace", "x"}).find("goes with --to") !=
        std::string::npos);
}

TEST_CASE("weftctl tap: an event's lines, and what is not an event") {
  TapRecord r = record(
      R"({"id":7,"node":"n1","direction":"outbound","src":{"ip":"10.0.0.1","workload":"web",)"
      R"("namespace":"shop"},"dst":{"ip":"10.0.0.2","port":8080,"workload":"cart"},"tls":true,)"
      R"("method":"GET","authority":"cart","path":"/a?x=1","status":503,"grpc_status":null,)"
      R"("latency_seconds":0.0012,"response_bytes":12,"retries":1})");
  CHECK(tap_lines(r, OutputFormat::Table) ==
        "req id=n1:7 proxy=out src=10.0.0.1 dst=10.0.0.2:8080 tls=true :method=GET "
        ":authority=cart :path=/a?x=1\n"
        "rsp id=n1:7 proxy=out src=10.0.0.1 dst=10.0.0.2:8080 tls=true :status=503 "
        "latency=1200µs\n"
        "end id=n1:7 proxy=out src=10.0.0.1 dst=10.0.0.2:8080 tls=true duration=1200µs "
        "response-length=12B retries=1\n");
  CHECK(tap_lines(r, OutputFormat::Json) == r.json + "\n");
  std::string error;
  CHECK_FALSE(parse_tap_line("", &error));
  CHECK(error.empty());  // a keep-alive
  CHECK_FALSE(parse_tap_line("[1]", &error));
  CHECK(error == "not a JSON object");
  CHECK_FALSE(parse_tap_line(R"({"status":"500"})", &error));
  CHECK(error.find("status") != std::string::npos);
  CHECK_FALSE(parse_tap_line(R"({"retries":1e300})", &error));  // no float into an integer
}

TEST_CASE("weftctl top: rows per source, destination, method and path, busiest first") {
  TopTable table;
  auto add = [&](const char* path, int status, double seconds) {
    TapRecord r;
    r.src.workload = "web";
    r.dst.workload = "cart";
    r.method = "GET";
    r.path = path;
    r.status = status;
    r.latency_seconds = seconds;
    table.add(r);
  };
  add("/a?id=1", 200, 0.002);
  add("/b", 503, 0.010);
  add("/a?id=2", 200, 0.001);
  add("/a", 500, 0.004);
  auto rows = table.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].path == "/a");
  CHECK(rows[0].count == 3);
  CHECK(rows[0].successes == 2);
  CHECK(rows[0].best == doctest::Approx(0.001));
  CHECK(rows[0].worst == doctest::Approx(0.004));
  CHECK(rows[0].last == doctest::Approx(0.004));
  CHECK(table.table(10).find("66.67%") != std::string::npos);
  CHECK(TopTable().table(10) == "No requests tapped yet\n");
}

}  // namespace weft::weftctl
