// What `weftctl top` shows: the tapped requests grouped by source, destination, method and
// path, with their count, best, worst and last latency and success rate (Linkerd's columns).
// A request between two tapped agents' pods is counted by both (its client's agent and its
// server's).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weftctl/TapRecord.hpp"

namespace weft::weftctl {

class TopTable {
 public:
  struct Row {
    std::string source;       ///< the client's workload, else its address
    std::string destination;  ///< the server's workload, else the Service, else its address
    std::string method;
    std::string path;  ///< without the query
    uint64_t count = 0;
    uint64_t successes = 0;  ///< not 5xx, answered, gRPC status none or 0
    double best = 0;
    double worst = 0;
    double last = 0;
  };

  void add(const TapRecord& record);
  /// The rows, most requests first.
  std::vector<Row> rows() const;
  /// At most `max_rows` rows as a table; the table says so when there is none.
  std::string table(std::size_t max_rows) const;
  /// Every row as a JSON array.
  std::string json() const;

 private:
  std::vector<Row> rows_;
};

}  // namespace weft::weftctl
