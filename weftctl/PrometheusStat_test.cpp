#include "weftctl/PrometheusStat.hpp"

#include "weftctl/PrometheusApi.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

using namespace weft::weftctl;
using Figure = StatQuery::Figure;

TEST_CASE("stat --prometheus: one query per figure, selected and grouped by the resource") {
  auto q = stat_queries({StatKind::Workload, "web", "shop"}, std::chrono::seconds(60));
  REQUIRE(q.size() == 10);
  CHECK(q[9].figure == Figure::Meshed);
  CHECK(q[9].expr ==
        "sum by (workload_namespace, workload) (weft_workload_pods{"
        "workload_namespace=\"shop\", workload=\"web\"})");
  CHECK(q[0].figure == Figure::Requests);
  CHECK(q[0].expr ==
        "sum by (destination_workload_namespace, destination_workload) "
        "(increase(weft_requests_total{reporter=\"destination\", "
        "destination_workload_namespace=\"shop\", destination_workload=\"web\"}[60s]))");
  CHECK(q[1].expr.find("response_code!~\"5..\", grpc_response_status=~\"0?\"}[60s]") !=
        std::string::npos);
  CHECK(
      q[3].expr.starts_with("histogram_quantile(0.5, sum by (destination_workload_namespace, "
                            "destination_workload, le) (rate(weft_request_duration_seconds_"
                            "bucket{"));
  auto all = stat_queries({StatKind::Namespace, "", ""}, std::chrono::seconds(30));
  CHECK(all[0].expr ==
        "sum by (destination_workload_namespace) (increase(weft_requests_total{reporter="
        "\"destination\", destination_workload_namespace!=\"\"}[30s]))");
  CHECK(all.back().expr == "sum by (workload_namespace) (weft_workload_pods{})");
  auto routes = stat_queries({StatKind::Route, "web", "shop"}, std::chrono::seconds(60));
  REQUIRE(routes.size() == 10);
  CHECK(routes[0].expr.starts_with("sum by (destination_service, route) (increase("));
  CHECK(routes[9].figure == Figure::Retries);
  CHECK(routes[9].expr.find("increase(weft_request_retries_total{reporter=\"source\"") !=
        std::string::npos);
  StatSelection to{StatKind::Workload, "", "shop", std::nullopt, StatPeer{"shop", "web"}};
  CHECK(stat_queries(to, std::chrono::seconds(60))[0].expr ==
        "sum by (source_workload_namespace, source_workload) (increase(weft_requests_total{"
        "reporter=\"destination\", destination_workload_namespace=\"shop\", "
        "destination_workload=\"web\", source_workload_namespace=\"shop\", "
        "source_workload!=\"\"}[60s]))");
  auto svc = stat_queries({StatKind::Service, "web", "shop"}, std::chrono::seconds(60));
  CHECK(svc[6].expr ==
        "sum by (destination_service) (weft_tcp_connections_open{reporter=\"source\", "
        "destination_service=~\"web\\\\.shop\\\\.svc\\\\..+\"})");
}

TEST_CASE("stat --prometheus: rows from the HTTP API's answers") {
  StatSelection sel{StatKind::Service, "", "shop"};
  auto queries = stat_queries(sel, std::chrono::seconds(10));
  auto vector = [](const std::string& results) {
    return R"({"status":"success","data":{"resultType":"vector","result":[)" + results + "]}}";
  };
  auto sample = [](const std::string& service, const std::string& value) {
    return R"({"metric":{"destination_service":")" + service + R"("},"value":[1700000000.1,")" +
           value + R"("]})";
  };
  std::vector<std::string> answers(queries.size(), vector(""));
  answers[0] = vector(sample("web.shop.svc.cluster.local", "200") + "," +
                      sample("db.shop.svc.cluster.local", "50") + "," + sample("nohost", "9"));
  answers[1] = vector(sample("web.shop.svc.cluster.local", "190"));
  answers[3] = vector(sample("web.shop.svc.cluster.local", "0.0012") + "," +
                      sample("db.shop.svc.cluster.local", "NaN"));
  answers[6] = vector(sample("db.shop.svc.cluster.local", "+Inf"));
  std::vector<std::vector<MetricSample>> results;
  for (const std::string& answer : answers) {
    auto samples = prometheus_vector(answer);
    REQUIRE(samples);
    results.push_back(*samples);
  }
  auto rows = stat_rows_from_prometheus(sel, queries, results, std::chrono::seconds(10));
  REQUIRE(rows.size() == 2);
  const StatRow& db = rows[0];
  CHECK(db.name == "db");
  CHECK(db.requests == 50);
  CHECK_FALSE(db.p50.has_value());  // NaN: no observation in the window
  CHECK(db.tcp_open == std::numeric_limits<double>::infinity());
  const StatRow& web = rows[1];
  CHECK(web.ns == "shop");
  CHECK(web.name == "web");
  CHECK(web.rps() == doctest::Approx(20));
  CHECK(web.success_ratio() == doctest::Approx(0.95));
  CHECK(web.p50 == doctest::Approx(0.0012));
}

TEST_CASE("Prometheus API: an instant query's vector, or the server's reason") {
  auto samples = prometheus_vector(
      R"({"status":"success","data":{"resultType":"vector","result":[)"
      R"({"metric":{"__name__":"up","job":"weft-agent"},"value":[1700000000,"1"]},)"
      R"({"metric":{"job":"x"},"value":[1700000000,"not a number"]}]}})");
  REQUIRE(samples);
  REQUIRE(samples->size() == 1);
  CHECK((*samples)[0].name == "up");
  CHECK((*samples)[0].label("job") == "weft-agent");
  CHECK((*samples)[0].value == 1);
  auto bad = prometheus_vector(
      R"({"status":"error","errorType":"bad_data","error":"parse error at char 7"})");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "parse error at char 7");
  bad = prometheus_vector("<html>not the API</html>");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "not a successful vector answer");
  bad = prometheus_vector(R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  REQUIRE_FALSE(bad);
}
