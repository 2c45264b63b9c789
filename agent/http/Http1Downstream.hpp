// An app's HTTP/1.1 connection, terminated by the agent: requests are parsed strictly, one at a
// time (pipelined ones wait), each becomes an exchange, and its response is written back in
// HTTP/1.1 framing. Upgrade requests (WebSocket) hand the connection to the TCP path.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/http/ExchangePeer.hpp"
#include "agent/loop/DrainStep.hpp"
#include "agent/loop/Flushable.hpp"
#include "agent/loop/Loop.hpp"
#include "agent/loop/SocketIo.hpp"
#include "agent/loop/SourceShares.hpp"
#include "agent/loop/TimeLimits.hpp"
#include "agent/metrics/TimeoutMetrics.hpp"
#include "l7/Http1Codec.hpp"
#include "l7/Http1Parser.hpp"

namespace weft::proxy {

class Loop;

class L7Exchange;

class Http1Downstream final : public ExchangePeer,
                              public Flushable,
                              private SocketIo::Owner,
                              private l7::Http1Parser::Handler {
 public:
  class Owner {
   public:
    /// A request head arrived: the exchange that carries it (given this as its client side).
    virtual L7Exchange& open_exchange(ExchangePeer& client) = 0;
    /// The client asked to switch protocols (Upgrade, CONNECT): the socket and the bytes read
    /// from the start of that request go to the TCP path. This object is destroyed by it.
    virtual void hand_over(Fd socket, std::vector<uint8_t> received) = 0;
    /// The connection is closed and idle: this object may be destroyed.
    virtual void downstream_finished() = 0;
    /// A request head was refused (431) because the source's head bytes are at its share.
    virtual void head_refused() = 0;

   protected:
    ~Owner() = default;
  };

  Http1Downstream(Loop& loop, Owner& owner, Fd socket);
  ~Http1Downstream();

  /// `received`: the bytes protocol detection already read.
  void start(std::span<const uint8_t> received);
  /// Bytes of incomplete request heads count against `share` (the connection's) from now on.
  void charge_heads_to(SourceShare* share) { share_ = share; }

  // ExchangePeer: the response to the request in progress.
  void send_head(l7::Headers head, bool has_body) override;
  void resume() override { touch(); }
  void consume(std::size_t n) override;
  void reset(uint32_t error_code) override;
  void detach() override;

  /// The agent draining: answers carry `Connection: close` from now on (Notice); a connection
  /// waiting for a next request closes (FIN) at Goaway, one second later; at End one with a
  /// request in flight is cut.
  void drain(DrainStep step);
  /// The worker's tick: a request head not complete within `limits.request_header` of its first
  /// byte (of the connection's start for the first request) is answered 408 and the connection
  /// closes; so does, without an answer, one that waited `limits.http_idle` for a next request.
  /// Which limit ended it.
  std::optional<agent::Timeout> expire(Loop::Clock::time_point now, const TimeLimits& limits);
  /// Waiting for the next request (an idle keep-alive connection): frees the buffers kept for
  /// their capacity (input, head, output, parser, send queue). Called from expire(), so it
  /// happens on the tick after the connection went idle, never between busy requests.
  void release_buffers();

  // Flushable.
  void touch() override;
  void flush_pending() override;

 private:
  // SocketIo::Owner.
  void on_connected(int /*res*/) override {}
  void on_received(std::span<const uint8_t> bytes) override;
  void on_read_end(int res) override;
  void on_drained(int res) override;
  void after_io() override { touch(); }

  // l7::Http1Parser::Handler.
  void on_head(l7::Http1Head head) override;
  void on_body(std::span<const uint8_t> data) override;
  void on_trailers(l7::Headers trailers) override;
  void on_message_end() override;

  /// Parses what is buffered, as far as the current exchange allows.
  void parse();
  /// Pulls response body from the exchange into the socket's queue.
  void pull_response();
  /// The request and its response are both complete: the exchange is told, the next request
  /// may be parsed.
  void maybe_finish_exchange();
  /// Answers a malformed request (nothing started yet) and closes.
  void refuse(int status, const std::string& reason);
  void close(bool reset);
  void want_more_input();

  Loop& loop_;
  Owner& owner_;
  SocketIo io_;
  l7::Http1Parser parser_;
  std::vector<uint8_t> input_;  ///< received and not yet parsed
  std::string head_bytes_;      ///< the raw bytes of the head being parsed (for hand_over)
  std::string out_;             ///< bytes being framed for io_ (kept for its capacity)
  bool in_head_ = true;
  bool parsing_ = false;

  // The exchange in progress.
  l7::H2Stream* exchange_ = nullptr;  ///< its client-side events
  bool request_has_body_ = false;
  bool request_done_ = false;
  bool trailers_sent_ = false;
  bool request_was_head_ = false;
  int version_minor_ = 1;
  bool keep_alive_ = true;
  bool response_started_ = false;
  bool response_done_ = false;
  l7::Http1Framing framing_ = l7::Http1Framing::None;
  std::size_t unconsumed_ = 0;  ///< request body bytes handed on and not yet passed upstream

  bool upgrading_ = false;
  bool eof_ = false;
  bool closing_ = false;   ///< close once everything is sent
  bool draining_ = false;  ///< the agent is draining: no more keep-alive
  bool finished_ = false;
  SourceShare* share_ = nullptr;  ///< the owner's

  /// What the connection waits for from the client: nothing (a request is in progress), the
  /// rest of a head, or a next request.
  enum class Waiting { Nothing, Head, Request };
  void wait_for(Waiting what);
  Waiting waiting_ = Waiting::Nothing;
  Loop::Clock::time_point waiting_since_;
};

}  // namespace weft::proxy
