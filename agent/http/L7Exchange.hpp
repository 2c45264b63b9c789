// One HTTP request (one gRPC call) from an app, routed and balanced on its own: the app's
// stream on its connection <-> a stream on a pooled connection to the chosen endpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "agent/discovery/Objects.hpp"
#include "agent/http/ExchangePeer.hpp"
#include "agent/loop/Loop.hpp"
#include "agent/metrics/RequestMetrics.hpp"
#include "agent/observe/FlowLog.hpp"
#include "agent/plan/EndpointLoads.hpp"
#include "agent/tap/TapEvent.hpp"
#include "l7/BodyBuffer.hpp"
#include "l7/H2Session.hpp"
#include "l7/PeakEwma.hpp"

namespace weft::proxy {

class ExchangeOwner;
struct NodeView;
struct HttpTarget;

/// Bodies flow both ways with end-to-end flow control: bytes received on one side are
/// acknowledged (window opened) only when the other side's session has taken them. Trailers
/// (gRPC status) and resets are passed on; a failure before the response started is answered
/// here (503/502, or gRPC UNAVAILABLE as a trailers-only response).
/// What an exchange waits for (its Deadlines entries' kind).
enum class TimerKind : unsigned {
  Request,  ///< the whole request's timeout (route timeouts.request, grpc-timeout)
  Try,      ///< one attempt's timeout (route timeouts.backendRequest)
  Retry,    ///< the backoff before the next attempt
};

class L7Exchange final : public Timed, public Retirable {
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
  std::size_t slot = 0;  ///< where its owner's ExchangeSet keeps it
  /// A timer of this exchange fired: the request's deadline (route timeout or grpc-timeout:
  /// 504 / DEADLINE_EXCEEDED when nothing was answered yet, else the streams are reset), one
  /// attempt's timeout (retried when the rule allows, else 504), or the backoff before a retry.
  void timer_fired(unsigned kind) override;
  /// Retired and finished: its owner erases it.
  void erase_now() override;

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
  /// Sends the request (again) to target_.
  void send_attempt(l7::Headers head, bool end_stream);
  /// The attempt failed (`why`) before anything reached the client: when the rule's retry
  /// block, the method, the kept body and the retry budget allow, abandons it and schedules the
  /// next. A failed probe of an ejected endpoint goes elsewhere at once, outside the rule and
  /// its budget: the breaker's test must not cost a client its request.
  bool try_retry(const agent::AttemptFailure& why);
  /// The attempt failed before any answer, per the owner's Refusal: the agent that chose the
  /// endpoint sends the request to another at once, without spending the retry budget; one
  /// that did not resets the stream so that the other decides. A request that reached no app
  /// (its connection refused, or lost before a byte of it was written) goes whatever its
  /// method; one that `may_have_reached_app` (its connection lost) only if it is an idempotent
  /// HTTP request, once (RFC 9110 §9.2.2). A request refused because its tunnel's dial ran out
  /// of time (H2Carrier::dial_ran_out) may go to the same endpoint once more, on a new dial.
  /// false: the caller answers the client.
  bool resend_unanswered(bool may_have_reached_app);
  /// No connection (or stream) to the target could even be had (its agent just failed to
  /// answer, no descriptor): the endpoint counts a failure, so that its breaker learns, and a
  /// probe it was waiting for is over.
  void unlinked();
  /// After unlinked(): the request goes to another endpoint, as for a refused connection.
  /// false: the caller answers the client.
  bool reroute_unlinked();
  /// Gives up the current attempt (the endpoint failed it) and sends the request again after
  /// `backoff`, or at once.
  void abandon_attempt(const agent::AttemptFailure& why);
  /// Routes the request again (avoiding the endpoints that failed it) and sends it.
  void resend();
  /// Whether a final response head is one the rule retries (its HTTP status, or the gRPC
  /// status of a trailers-only response).
  bool retryable_answer(int status, const l7::Headers& head, bool end_stream) const;
  void request_more();
  void response_head(l7::Headers headers, bool end_stream);
  void response_more();
  void up_closed(uint32_t error_code);
  void down_closed();
  /// Answers the app from here; `grpc_status` is used instead of `status` for gRPC requests.
  void respond_locally(int status, int grpc_status, std::string_view message);
  /// The endpoint answered (its head) or failed: feeds its latency estimate, once.
  void endpoint_done();
  /// How an attempt went, for the endpoint's circuit breaker.
  enum class Outcome {
    Succeeded,
    Failed,       ///< a reset or lost connection, a 5xx, or gRPC UNAVAILABLE / INTERNAL
    Unreachable,  ///< its connection or stream was refused, or its tunnel failed: the path to
                  ///< it, not the endpoint, failed
    Abandoned,    ///< the client left before the endpoint said anything
  };
  /// Tells the endpoint's circuit breaker how the request went, once.
  void report_outcome(Outcome outcome);
  /// Counts the request in the metrics, writes it to the flow history and offers it to tap
  /// when it was captured; once.
  void record();
  /// The request's entry in the flow history.
  void flow_record(agent::FlowRecord& r, double seconds) const;
  /// The client's address as the agent knows it: the plan's (inbound, the tunnel's claim),
  /// else the calling pod's (outbound); none for an inbound request that names none.
  std::optional<IpAddr> client_ip() const;
  /// The tap event of the finished request captured in tap_.
  agent::TapEvent tap_event(double seconds);
  /// The worker's loop time (Ring::now): every clock reading of an exchange.
  Clock::time_point now() const;
  agent::RequestProtocol protocol() const {
    return grpc_ ? agent::RequestProtocol::Grpc : agent::RequestProtocol::Http;
  }
  /// The `route` label: the matched rule's, empty when no rule matched.
  std::string_view route() const {
    return rule_ != nullptr ? std::string_view(rule_->metric_route) : std::string_view();
  }
  void check_finished();
  /// Arms the deadline: the sooner of the route's request timeout and the client's
  /// grpc-timeout.
  void set_deadline(const l7::Headers& head);
  void arm(TimerKind kind, Clock::duration after);
  void cancel(TimerKind kind);

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
  const discovery::RouteRule* rule_ = nullptr;  ///< the Gateway API rule that matched
  std::shared_ptr<const NodeView> route_view_;  ///< keeps rule_ alive
  EndpointState* endpoint_ = nullptr;           ///< the balanced endpoint's state (outbound only)
  bool probe_ = false;             ///< this attempt is its endpoint's circuit-breaker probe
  bool load_open_ = false;         ///< the request counts in the endpoint's estimate
  bool outcome_reported_ = false;  ///< the endpoint's breaker heard how it went
  l7::BodyBuffer request_;
  l7::BodyBuffer response_;
  bool grpc_ = false;
  bool request_head_seen_ = false;
  bool response_started_ = false;
  bool recorded_ = false;
  int status_ = 0;
  int grpc_status_ = -1;
  Clock::time_point start_;  ///< the worker's loop time when the request arrived
  /// Taken when the request arrived while a tap session was open; empty otherwise.
  std::unique_ptr<agent::TapRequest> tap_;
  /// The request line the flow history keeps (a fixed buffer: nothing allocated per request).
  agent::RequestLine line_;
  const char* wire_protocol_ = "HTTP/1.1";  ///< "HTTP/1.1" or "HTTP/2", as the client spoke
  /// Set when the agent answered the request itself (no endpoint, refused, denied, timeout).
  std::string_view local_reason_;
  std::optional<Deadlines::iterator> timers_[3];  ///< by TimerKind

  // Attempts after the first: retries (when the matched rule has a retry block) and, for an
  // owner that reroutes, requests that reached no app. The head and the body are kept for
  // them until the response starts.
  l7::Headers original_head_;  ///< the client's head, for another attempt
  bool request_has_body_ = false;
  std::vector<uint8_t> replay_;  ///< every request body byte received, while it fits kMaxReplay
  bool replay_kept_ = false;     ///< replay_ and request_trailers_ hold the whole body so far
  l7::Headers request_trailers_;
  std::size_t consumed_ = 0;      ///< request body bytes the client side was told were passed on
  std::size_t attempt_read_ = 0;  ///< request body bytes the current attempt has read
  uint32_t retries_ = 0;
  bool resent_lost_ = false;    ///< sent again once already after a lost connection
  bool dialled_again_ = false;  ///< sent to the same endpoint after its dial ran out of time
  SockAddr failed_endpoint_;
  std::vector<SockAddr> unreachable_;  ///< endpoints that refused this request
  SockAddr budget_key_;                ///< the Service the retry budget is kept for
};

}  // namespace weft::proxy
