#include "weftctl/EdgeFigures.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "weftctl/EdgeOutput.hpp"

using namespace weft::weftctl;

namespace {

MetricSample counted(const std::string& name, const std::string& src, const std::string& dst,
                     const std::string& policy, double value,
                     const std::string& reporter = "source") {
  MetricSample s{name, {}, value};
  s.labels = {{"reporter", reporter},
              {"source_workload_namespace", "shop"},
              {"source_workload", src},
              {"source_principal", "spiffe://cluster.local/ns/shop/sa/" + src},
              {"destination_workload_namespace", dst.empty() ? "" : "shop"},
              {"destination_workload", dst},
              {"destination_service", dst.empty() ? "ext.other.svc.cluster.local" : ""},
              {"destination_principal",
               policy == "mutual_tls" ? "spiffe://cluster.local/ns/shop/sa/" + dst : ""},
              {"connection_security_policy", policy}};
  return s;
}

}  // namespace

TEST_CASE("edges: workload pairs with traffic in the window, secured when all of it was") {
  std::vector<MetricSample> samples = {
      counted("weft_requests_total", "web", "db", "mutual_tls", 40),
      counted("weft_tcp_connections_opened_total", "web", "db", "mutual_tls", 3),
      counted("weft_requests_total", "web", "cache", "mutual_tls", 10),
      counted("weft_requests_total", "web", "cache", "none", 1),
      counted("weft_requests_total", "batch", "", "none", 5),  // to a Service outside
      counted("weft_requests_total", "web", "db", "mutual_tls", 9,
              "destination"),                                         // not the client's
      counted("weft_requests_total", "idle", "db", "mutual_tls", 0),  // no traffic in the window
  };
  auto rows = edge_rows(samples, "");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].src == "batch");
  CHECK(rows[0].dst == "ext.other.svc.cluster.local");
  CHECK_FALSE(rows[0].all_secured());
  CHECK(rows[1].src == "web");
  CHECK(rows[1].dst == "cache");
  CHECK(rows[1].requests == 11);
  CHECK_FALSE(rows[1].all_secured());  // one request in plaintext
  const EdgeRow& db = rows[2];
  CHECK(db.dst == "db");
  CHECK(db.requests == 40);
  CHECK(db.connections == 3);
  CHECK(db.all_secured());
  CHECK(db.client_id == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK(db.server_id == "spiffe://cluster.local/ns/shop/sa/db");
  CHECK(edge_rows(samples, "other").empty());

  std::string table = edge_output(rows, OutputFormat::Table);
  CHECK(table ==
        "SRC     DST                           SRC_NS   DST_NS   SECURED\n"
        "batch   ext.other.svc.cluster.local   shop              \u00d7\n"
        "web     cache                         shop     shop     \u00d7\n"
        "web     db                            shop     shop     \u221a\n");
  std::string wide = edge_output(rows, OutputFormat::Wide);
  // √ is three bytes and one column: the columns after it still line up.
  CHECK(wide.find("shop     shop     \u221a         spiffe://cluster.local/ns/shop/sa/web     "
                  "spiffe://cluster.local/ns/shop/sa/db\n") != std::string::npos);
  CHECK(edge_output({}, OutputFormat::Table) == "No edges found.\n");
}
