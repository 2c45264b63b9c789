#include "weftctl/EdgeFigures.hpp"

#include <map>
#include <string_view>
#include <tuple>

namespace weft::weftctl {

std::vector<EdgeRow> edge_rows(std::span<const MetricSample> counted, const std::string& ns) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, EdgeRow> rows;
  for (const MetricSample& s : counted) {
    bool request = s.name == "weft_requests_total";
    if ((!request && s.name != "weft_tcp_connections_opened_total") ||
        s.label("reporter") != "source" || s.value <= 0) {
      continue;
    }
    std::string_view dst = s.label("destination_workload");
    Key key{std::string(s.label("source_workload_namespace")),
            std::string(s.label("source_workload")),
            std::string(s.label("destination_workload_namespace")),
            std::string(dst.empty() ? s.label("destination_service") : dst)};
    auto& [src_ns, src, dst_ns, dst_name] = key;
    if (src.empty() || dst_name.empty() || (!ns.empty() && src_ns != ns && dst_ns != ns)) {
      continue;
    }
    EdgeRow& row = rows[key];
    (request ? row.requests : row.connections) += s.value;
    if (s.label("connection_security_policy") == "mutual_tls") {
      row.secured += s.value;
    }
    if (row.client_id.empty()) {
      row.client_id = s.label("source_principal");
    }
    if (row.server_id.empty()) {
      row.server_id = s.label("destination_principal");
    }
  }
  std::vector<EdgeRow> out;
  for (auto& [key, row] : rows) {
    std::tie(row.src_ns, row.src, row.dst_ns, row.dst) = key;
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace weft::weftctl
