#include "weftctl/TopTable.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace weft::weftctl {
namespace {

std::string source_of(const TapRecord& r) {
  return !r.src.workload.empty() ? r.src.workload : !r.src.ip.empty() ? r.src.ip : "-";
}

std::string destination_of(const TapRecord& r) {
  if (!r.dst.workload.empty()) {
    return r.dst.workload;
  }
  if (!r.service.empty()) {
    return "svc/" + r.service.substr(0, r.service.find('.'));
  }
  return !r.dst.ip.empty() ? r.dst.ip : "-";
}

bool succeeded(const TapRecord& r) {
  return r.status != 0 && r.status < 500 && (!r.grpc_status || *r.grpc_status == 0);
}

}  // namespace

void TopTable::add(const TapRecord& r) {
  std::string source = source_of(r);
  std::string destination = destination_of(r);
  std::string path = r.path.substr(0, r.path.find('?'));
  auto it = std::ranges::find_if(rows_, [&](const Row& row) {
    return row.source == source && row.destination == destination && row.method == r.method &&
           row.path == path;
  });
  if (it == rows_.end()) {
    rows_.push_back(
        {source, destination, r.method, path, 0, 0, r.latency_seconds, r.latency_seconds, 0});
    it = rows_.end() - 1;
  }
  ++it->count;
  it->successes += succeeded(r) ? 1 : 0;
  it->best = std::min(it->best, r.latency_seconds);
  it->worst = std::max(it->worst, r.latency_seconds);
  it->last = r.latency_seconds;
}

std::vector<TopTable::Row> TopTable::rows() const {
  std::vector<Row> out = rows_;
  std::ranges::stable_sort(out, [](const Row& a, const Row& b) { return a.count > b.count; });
  return out;
}

std::string TopTable::table(std::size_t max_rows) const {
  std::vector<std::vector<std::string>> cells = {
      {"SOURCE", "DESTINATION", "METHOD", "PATH", "COUNT", "BEST", "WORST", "LAST", "SUCCESS"}};
  for (const Row& r : rows()) {
    if (cells.size() > max_rows) {
      break;
    }
    cells.push_back({r.source, r.destination, r.method, r.path, std::to_string(r.count),
                     millis(r.best), millis(r.worst), millis(r.last),
                     percent(static_cast<double>(r.successes) / static_cast<double>(r.count))});
  }
  if (cells.size() == 1) {
    return "No requests tapped yet\n";
  }
  return text_table(cells);
}

std::string TopTable::json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const Row& r : rows()) {
    out.push_back({{"source", r.source},
                   {"destination", r.destination},
                   {"method", r.method},
                   {"path", r.path},
                   {"count", r.count},
                   {"successes", r.successes},
                   {"best_seconds", r.best},
                   {"worst_seconds", r.worst},
                   {"last_seconds", r.last}});
  }
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace weft::weftctl
