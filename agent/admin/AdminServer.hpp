// The node's admin HTTP endpoint (civetweb, its own threads, never a data-plane core):
// GET /metrics (Prometheus text), /ready, /live, /pods (JSON), /tap (a stream of requests),
// /observe (the flow history).
#pragma once

#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/Error.hpp"

class CivetServer;

namespace weft::agent {

class FlowLog;
class TapHub;

/// What the admin endpoint serves; each callback is called on a civetweb thread.
struct AdminSources {
  std::function<std::vector<prometheus::MetricFamily>()> collect;
  std::function<bool()> ready;
  std::function<std::string()> pods_json;
  TapHub* tap = nullptr;           ///< /tap's sessions; nullptr: 404
  const FlowLog* flows = nullptr;  ///< /observe's records; nullptr: 404
};

class AdminServer {
 public:
  /// Starts listening on `address` ("0.0.0.0:15020"); fails if the port is taken.
  static Result<std::unique_ptr<AdminServer>> start(const std::string& address,
                                                    AdminSources sources);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

 private:
  struct Handlers;
  AdminServer() = default;
  std::unique_ptr<Handlers> handlers_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace weft::agent
