// HTTPS requests to the Kubernetes API server over libcurl: one connection kept alive per
// client, TLS verified against the configured CA, bearer token (re-read from its file when it
// changes) or client certificate. Blocking: each client belongs to one control-plane thread,
// never to a data-plane worker.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/kube/ApiServerConfig.hpp"
#include "common/Error.hpp"

namespace weft::kube {

/// What the server answered.
struct ApiResponse {
  long status = 0;
  /// The whole body; for a stream answered 200, only what followed the last complete line.
  std::string body;
  /// `Retry-After` in seconds (429, 503), 0 when absent or not a number of seconds.
  std::chrono::seconds retry_after{0};
};

class ApiClient {
 public:
  /// `stop` aborts a request in progress (within about a second) when it becomes true.
  static Result<std::unique_ptr<ApiClient>> create(ApiServerConfig config,
                                                   const std::atomic<bool>& stop);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  /// GET `target` (path and query). Bodies over kMaxBody fail the request.
  Result<ApiResponse> get(const std::string& target, std::chrono::seconds timeout);
  /// PATCH `target` with `body` of `content_type` (e.g. application/merge-patch+json).
  Result<ApiResponse> patch(const std::string& target, std::string_view content_type,
                            std::string_view body);
  /// GET a stream (a watch): calls `on_line` with every complete line of a 200 answer, as it
  /// arrives; `on_line` returns false to end the stream. Returns when the server ends it, after
  /// `timeout` (a Timeout error: the stream stalled or ran long), on stop, or when `on_line` says
  /// so (then the response's status is 200).
  Result<ApiResponse> stream(const std::string& target, std::chrono::seconds timeout,
                             const std::function<bool(std::string_view)>& on_line);

  const ApiServerConfig& config() const { return config_; }

  /// Largest body or stream line accepted.
  static constexpr std::size_t kMaxBody = 64U << 20;

 private:
  struct Transfer;
  ApiClient(ApiServerConfig config, const std::atomic<bool>& stop, void* curl)
      : config_(std::move(config)), stop_(stop), curl_(curl) {}

  /// Runs the request set up on the handle; `content_type` names a request body's type.
  Result<ApiResponse> perform(Transfer& transfer, const std::string& target,
                              std::chrono::seconds timeout, std::string_view content_type = {});
  /// The bearer token, re-read when its file's identity or modification time changes.
  Result<std::string> token();

  ApiServerConfig config_;
  const std::atomic<bool>& stop_;
  void* curl_;  ///< CURL*
  std::string token_;
  ino_t token_ino_ = 0;
  int64_t token_mtime_ns_ = -1;
};

}  // namespace weft::kube
