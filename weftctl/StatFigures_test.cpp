#include "weftctl/StatFigures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "weftctl/StatOutput.hpp"

using namespace weft::weftctl;

namespace {

std::vector<MetricSample> parsed(const std::string& text) {
  auto samples = parse_metrics_text(text);
  REQUIRE(samples);
  return *samples;
}

/// A request series of the server's agent for shop/web from `client` with `code`.
std::string served(const std::string& code, const std::string& grpc, double value,
                   const std::string& policy = "mutual_tls") {
  return "weft_requests_total{reporter=\"destination\",source_workload=\"client\","
         "source_workload_namespace=\"shop\","
         "destination_workload_namespace=\"shop\",destination_workload=\"web\","
         "destination_service=\"web.shop.svc.cluster.local\",response_code=\"" +
         code + "\",grpc_response_status=\"" + grpc + "\",connection_security_policy=\"" + policy +
         "\"} " + std::to_string(value) + "\n";
}

std::string bucket(const std::string& le, double value) {
  return "weft_request_duration_seconds_bucket{reporter=\"destination\","
         "destination_workload_namespace=\"shop\",destination_workload=\"web\",le=\"" +
         le + "\"} " + std::to_string(value) + "\n";
}

/// node1's agent serves shop/web; over 10 s it answered 90 x 200, 5 x 503 and 5 gRPC calls
/// with status 14 (UNAVAILABLE), 80 within 1 ms and 100 within 5 ms.
AgentScrapes server_agent() {
  AgentScrapes a;
  a.before = parsed(served("200", "", 1000) + served("503", "", 10) + bucket("0.001", 500) +
                    bucket("0.005", 1000) + bucket("+Inf", 1010) +
                    "weft_tcp_connections_open{reporter=\"destination\","
                    "destination_workload_namespace=\"shop\",destination_workload=\"web\"} 9\n");
  a.after =
      parsed(served("200", "", 1090) + served("503", "", 15) + served("200", "14", 5, "none") +
             bucket("0.001", 580) + bucket("0.005", 1100) + bucket("+Inf", 1110) +
             "weft_tcp_connections_open{reporter=\"destination\","
             "destination_workload_namespace=\"shop\",destination_workload=\"web\"} 4\n"
             "weft_tcp_sent_bytes_total{reporter=\"destination\","
             "destination_workload_namespace=\"shop\",destination_workload=\"web\"} 2000\n"
             "weft_workload_pods{workload_namespace=\"shop\",workload=\"web\"} 2\n"
             "weft_workload_pods{workload_namespace=\"shop\",workload=\"idle\"} 1\n");
  return a;
}

/// node2's agent serves shop/db and, as the clients' agent, counted calls to Service web; it
/// restarted during the window (its counter went down: counted from zero).
AgentScrapes other_agent() {
  AgentScrapes a;
  std::string db_before =
      "weft_requests_total{reporter=\"destination\",destination_workload_namespace=\"shop\","
      "destination_workload=\"db\",response_code=\"200\"} 500\n";
  std::string db_after =
      "weft_requests_total{reporter=\"destination\",destination_workload_namespace=\"shop\","
      "destination_workload=\"db\",response_code=\"200\"} 30\n"
      "weft_requests_total{reporter=\"destination\",destination_workload_namespace=\"ops\","
      "destination_workload=\"probe\",response_code=\"200\"} 7\n"
      "weft_requests_total{reporter=\"source\",destination_service=\"web.shop.svc.cluster.local\","
      "response_code=\"200\"} 40\n"
      "weft_requests_total{reporter=\"source\",destination_service=\"\",response_code=\"200\"} "
      "3\n";
  a.before = parsed(db_before);
  a.after = parsed(db_after);
  return a;
}

}  // namespace

TEST_CASE("stat: workload rows from two scrapes of every agent") {
  std::vector<AgentScrapes> agents{server_agent(), other_agent()};
  auto rows = stat_rows({StatKind::Workload, "", "shop"}, agents, 10);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].name == "db");
  CHECK(rows[0].requests == 30);  // restarted: from zero
  CHECK_FALSE(rows[0].meshed);    // no agent meshes a pod of it
  CHECK(rows[1].name == "idle");  // meshed, without traffic
  CHECK(rows[1].meshed == 1);
  CHECK(rows[1].requests == 0);
  const StatRow& web = rows[2];
  CHECK(web.meshed == 2);
  CHECK(web.ns == "shop");
  CHECK(web.name == "web");
  CHECK(web.requests == 100);
  CHECK(web.success_ratio() == doctest::Approx(0.9));  // 503s and grpc 14 failed
  CHECK(web.rps() == doctest::Approx(10));
  CHECK(web.mtls_ratio() == doctest::Approx(0.95));
  // 80 of 100 within 1 ms: p50 = 1 ms * 50/80; p95 = 1 + 4 * (95-80)/20 ms; p99 in (1, 5] ms.
  REQUIRE(web.p50);
  CHECK(*web.p50 == doctest::Approx(0.000625));
  CHECK(*web.p95 == doctest::Approx(0.004));
  CHECK(*web.p99 == doctest::Approx(0.0048));
  CHECK(web.tcp_open == 4);
  CHECK(web.bytes_in == 2000);

  auto one = stat_rows({StatKind::Workload, "web", "shop"}, agents, 10);
  REQUIRE(one.size() == 1);
  CHECK(one[0].name == "web");
  CHECK(stat_rows({StatKind::Workload, "web", "other"}, agents, 10).empty());
}

TEST_CASE("stat: namespace and Service rows") {
  std::vector<AgentScrapes> agents{server_agent(), other_agent()};
  auto namespaces = stat_rows({StatKind::Namespace, "", ""}, agents, 10);
  REQUIRE(namespaces.size() == 2);
  CHECK(namespaces[0].ns == "ops");
  CHECK(namespaces[1].ns == "shop");
  CHECK(namespaces[1].requests == 130);
  auto services = stat_rows({StatKind::Service, "", ""}, agents, 10);
  REQUIRE(services.size() == 1);  // a request to no Service has no row
  CHECK(services[0].ns == "shop");
  CHECK(services[0].name == "web");
  CHECK(services[0].requests == 40);
  CHECK_FALSE(services[0].p50.has_value());
}

TEST_CASE("stat: histogram quantiles as Prometheus computes them") {
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<std::pair<double, double>> b = {{0.1, 0}, {1, 10}, {inf, 10}};
  CHECK(*bucket_quantile(0.5, b) == doctest::Approx(0.55));
  b = {{0.1, 5}, {inf, 10}};
  CHECK(*bucket_quantile(0.99, b) == doctest::Approx(0.1));  // in +Inf: the last finite bound
  CHECK_FALSE(bucket_quantile(0.5, std::vector<std::pair<double, double>>{{inf, 0}}));
  CHECK_FALSE(bucket_quantile(0.5, std::vector<std::pair<double, double>>{{1, 3}}));
}

TEST_CASE("stat: table, wide and JSON output") {
  std::vector<AgentScrapes> agents{server_agent()};
  auto rows = stat_rows({StatKind::Workload, "web", "shop"}, agents, 10);
  std::string table = stat_output(rows, StatKind::Workload, OutputFormat::Table);
  CHECK(table ==
        "NAMESPACE   NAME   MESHED   SUCCESS   RPS       LATENCY_P50   LATENCY_P95   LATENCY_P99   "
        "TCP_CONN\n"
        "shop        web    2        90.00%    10.0rps   0.62ms        4.00ms        4.80ms        "
        "4\n");
  std::string wide = stat_output(rows, StatKind::Workload, OutputFormat::Wide);
  CHECK(wide.find("READ_BYTES/SEC   WRITE_BYTES/SEC   MTLS") != std::string::npos);
  CHECK(wide.find("200.0B/s") != std::string::npos);
  CHECK(wide.find("95.00%") != std::string::npos);
  std::string json = stat_output(rows, StatKind::Workload, OutputFormat::Json);
  CHECK(json.find("\"rps\": 10.0") != std::string::npos);
  CHECK(json.find("\"success\": 0.9") != std::string::npos);
  CHECK(stat_output({}, StatKind::Service, OutputFormat::Table) == "No traffic found.\n");
  CHECK(stat_output({}, StatKind::Service, OutputFormat::Json) == "[]\n");
}

TEST_CASE("routes: a row per rule of one Service, effective and actual apart") {
  auto series = [](const std::string& route, const std::string& code, double v) {
    return "weft_requests_total{reporter=\"source\",destination_service=\"web.shop.svc.cluster."
           "local\",route=\"" +
           route + "\",response_code=\"" + code + "\"} " + std::to_string(v) + "\n";
  };
  AgentScrapes a;
  a.before = parsed(series("web/api", "200", 0));
  a.after =
      parsed(series("web/api", "200", 18) + series("web/api", "503", 2) + series("", "200", 5) +
             "weft_request_retries_total{reporter=\"source\",destination_service=\"web.shop."
             "svc.cluster.local\",route=\"web/api\",response_code=\"503\"} 5\n"
             "weft_requests_total{reporter=\"source\",destination_service=\"db.shop.svc."
             "cluster.local\",route=\"db/all\",response_code=\"200\"} 9\n");
  std::vector<AgentScrapes> agents{a};
  auto rows = stat_rows({StatKind::Route, "web", "shop"}, agents, 10);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].name == kDefaultRoute);
  CHECK(rows[0].requests == 5);
  const StatRow& api = rows[1];
  CHECK(api.name == "web/api");
  CHECK(api.success_ratio() == doctest::Approx(0.9));
  CHECK(api.retries == 5);
  CHECK(api.actual_success_ratio() == doctest::Approx(18.0 / 25));
  CHECK(api.actual_rps() == doctest::Approx(2.5));
  std::string wide = route_output(rows, "web", OutputFormat::Wide);
  CHECK(
      wide.starts_with("ROUTE       SERVICE   EFFECTIVE_SUCCESS   EFFECTIVE_RPS   "
                       "ACTUAL_SUCCESS   ACTUAL_RPS"));
  CHECK(wide.find("web/api     web       90.00%              2.0rps          72.00%           "
                  "2.5rps") != std::string::npos);
  CHECK(route_output(rows, "web", OutputFormat::Table).find("[DEFAULT]   web       100.00%") !=
        std::string::npos);
}

TEST_CASE("stat --from and --to: the traffic between two ends; --to's rows are the clients") {
  std::vector<AgentScrapes> agents{server_agent(), other_agent()};
  StatSelection from{StatKind::Workload, "", "shop", StatPeer{"shop", "client"}};
  auto rows = stat_rows(from, agents, 10);
  REQUIRE(rows.size() == 1);  // db's and idle's requests came from no one named
  CHECK(rows[0].name == "web");
  CHECK(rows[0].requests == 100);
  CHECK(rows[0].meshed == 2);
  StatSelection to{StatKind::Workload, "", "shop", std::nullopt, StatPeer{"shop", "web"}};
  rows = stat_rows(to, agents, 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].name == "client");
  CHECK(rows[0].requests == 100);
  CHECK_FALSE(rows[0].meshed);  // no agent meshes a pod of client here
  StatSelection to_ns{StatKind::Namespace, "", "", std::nullopt, StatPeer{"shop", ""}};
  rows = stat_rows(to_ns, agents, 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].ns == "shop");
  CHECK(rows[0].requests == 100);
  StatSelection nobody{StatKind::Workload, "", "shop", StatPeer{"shop", "web"}};
  CHECK(stat_rows(nobody, agents, 10).empty());
}
