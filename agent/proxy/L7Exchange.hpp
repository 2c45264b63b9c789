// One HTTP request (one gRPC call) from an app, routed and balanced on its own: the app's
// stream on its connection <-> a stream on a pooled connection to the chosen endpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "agent/metrics/RequestMetrics.hpp"
#include "agent/proxy/Deadlines.hpp"
#include "agent/proxy/ExchangePeer.hpp"
#include "l7/BodyBuffer.hpp"
#include "l7/H2Session.hpp"
#include "l7/PeakEwma.hpp"

namespace weft::proxy {

class ExchangeOwner;
struct HttpTarget;

/// Bodies flow both ways with end-to-end flow control: bytes received on one side are
/// acknowledged (window opened) only when the other side's session has taken them. Trailers
/// (gRPC status) and resets are passed on; a failure before the response started is answered
/// here (503/502, or gRPC UNAVAILABLE as a trailers-only response).
class L7Exchange {
 public:
  using Clock = std::chrono::steady_clock;

  /// The request arrived as stream `id` of an HTTP/2 carrier.
  L7Exchange(ExchangeOwner& owner, H2Carrier& downstream, int32_t id);
  /// The request arrived on another kind of connection (HTTP/1.1), which is `downstream`.
  L7Exchange(ExchangeOwner& owner, ExchangePeer* downstream);
  /// Detaches from both connections (resetting streams still open).
  ~L7Exchange();
  L7Exchange(const L7Exchange&) = delete;
  L7Exchange& operator=(const L7Exchange&) = delete;

  l7::H2Stream* downstream_stream() { return &down_; }
  ExchangeOwner& owner() { return owner_; }
  /// Both streams are closed: the owner may erase it.
  bool finished() const { return down_closed_ && up_closed_; }
  bool retired = false;  ///< queued for erasure in the worker
  /// The request's deadline passed (route timeout or grpc-timeout): 504 / DEADLINE_EXCEEDED
  /// when nothing was answered yet, else the streams are reset.
  void deadline_expired();

 private:
  /// The app's side.
  struct Down final : l7::H2Stream {
    L7Exchange* x = nullptr;
    void on_headers(l7::Headers headers, bool end_stream) override;
    void on_data(std::span<const uint8_t> data) override;
    void on_end_stream() override;
    void on_close(uint32_t error_code) override;
    l7::BodyChunk read_body(uint8_t* out, std::size_t max) override;
    l7::Headers trailers() override;
  };
  /// The endpoint's side.
  struct Up final : l7::H2Stream {
    L7Exchange* x = nullptr;
    void on_headers(l7::Headers headers, bool end_stream) override;
    void on_data(std::span<const uint8_t> data) override;
    void on_end_stream() override;
    void on_close(uint32_t error_code) override;
    l7::BodyChunk read_body(uint8_t* out, std::size_t max) override;
    l7::Headers trailers() override;
  };

  void request_head(l7::Headers headers, bool end_stream);
  void request_more();
  void response_head(l7::Headers headers, bool end_stream);
  void response_more();
  void up_closed(uint32_t error_code);
  void down_closed();
  /// Answers the app from here; `grpc_status` is used instead of `status` for gRPC requests.
  void respond_locally(int status, int grpc_status, std::string_view message);
  /// The endpoint answered (its head) or failed: feeds its latency estimate, once.
  void endpoint_done();
  /// Counts the request in the metrics, once.
  void record();
  void check_finished();
  /// Arms the deadline: the sooner of the route's request timeout and the client's
  /// grpc-timeout.
  void set_deadline(const l7::Headers& head);
  void cancel_deadline();

  ExchangeOwner& owner_;
  Down down_;
  Up up_;
  std::optional<H2Peer> down_h2_;
  ExchangePeer* down_peer_;
  bool down_closed_ = false;
  std::optional<H2Peer> up_h2_;
  ExchangePeer* up_peer_ = nullptr;
  bool up_closed_ = true;  ///< until a request is sent upstream
  std::shared_ptr<HttpTarget> target_;
  l7::PeakEwma* load_ = nullptr;  ///< the endpoint's estimate, while this request counts in it
  l7::BodyBuffer request_;
  l7::BodyBuffer response_;
  bool grpc_ = false;
  bool request_head_seen_ = false;
  bool response_started_ = false;
  bool recorded_ = false;
  int status_ = 0;
  int grpc_status_ = -1;
  Clock::time_point start_ = Clock::now();
  std::optional<Deadlines::iterator> deadline_;
};

}  // namespace weft::proxy
