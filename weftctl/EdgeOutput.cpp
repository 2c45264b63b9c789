#include "weftctl/EdgeOutput.hpp"

#include <nlohmann/json.hpp>
#include <vector>

namespace weft::weftctl {

std::string edge_output(std::span<const EdgeRow> rows, OutputFormat format) {
  if (format == OutputFormat::Json) {
    nlohmann::json out = nlohmann::json::array();
    for (const EdgeRow& r : rows) {
      out.push_back({{"src", r.src},
                     {"src_namespace", r.src_ns},
                     {"dst", r.dst},
                     {"dst_namespace", r.dst_ns},
                     {"client_id", r.client_id},
                     {"server_id", r.server_id},
                     {"requests", r.requests},
                     {"connections", r.connections},
                     {"secured", r.all_secured()}});
    }
    return out.dump(2) + "\n";
  }
  if (rows.empty()) {
    return "No edges found.\n";
  }
  bool wide = format == OutputFormat::Wide;
  std::vector<std::vector<std::string>> cells{{"SRC", "DST", "SRC_NS", "DST_NS", "SECURED"}};
  if (wide) {
    cells[0].insert(cells[0].end(), {"CLIENT_ID", "SERVER_ID"});
  }
  for (const EdgeRow& r : rows) {
    std::vector<std::string> line{r.src, r.dst, r.src_ns, r.dst_ns,
                                  r.all_secured() ? "\u221a" : "\u00d7"};  // √ ×
    if (wide) {
      line.push_back(r.client_id.empty() ? "-" : r.client_id);
      line.push_back(r.server_id.empty() ? "-" : r.server_id);
    }
    cells.push_back(std::move(line));
  }
  return text_table(cells);
}

}  // namespace weft::weftctl
