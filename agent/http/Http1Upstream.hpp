// A pooled HTTP/1.1 connection from the agent to an app that speaks HTTP/1.1: one request at a
// time, kept alive between requests when both sides agree.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "agent/http/ExchangePeer.hpp"
#include "agent/loop/Flushable.hpp"
#include "agent/loop/SocketIo.hpp"
#include "l7/Http1Codec.hpp"
#include "l7/Http1Parser.hpp"

namespace weft::proxy {

class Loop;

class Http1Upstream final : public ExchangePeer,
                            public Flushable,
                            private SocketIo::Owner,
                            private l7::Http1Parser::Handler {
 public:
  class Owner {
   public:
    /// The response ended and the connection may carry the next request.
    virtual void upstream_idle(Http1Upstream& connection) = 0;
    /// Closed and idle: it may be destroyed.
    virtual void upstream_finished(Http1Upstream& connection) = 0;

   protected:
    ~Owner() = default;
  };

  Http1Upstream(Loop& loop, Owner& owner, Fd socket);
  ~Http1Upstream();

  void connect(const SockAddr& target, unsigned timeout_ms);
  /// Sends a request (HTTP/2 form); the response comes back through `events`.
  void start(const l7::Headers& head, bool has_body, l7::H2Stream& events);
  bool busy() const { return events_ != nullptr; }
  /// Not busy: frees the buffers kept for their capacity (input, output, parser, send queue), so
  /// that a pooled idle connection holds none.
  void release_buffers();
  bool usable() const { return !io_.closed() && !closing_; }

  // ExchangePeer: the request in progress.
  void send_head(l7::Headers /*head*/, bool /*has_body*/) override {}
  void resume() override { touch(); }
  void consume(std::size_t n) override;
  void reset(uint32_t error_code) override;
  void detach() override;

  // Flushable.
  void touch() override;
  void flush_pending() override;

 private:
  // SocketIo::Owner.
  void on_connected(int res) override;
  void on_received(std::span<const uint8_t> bytes) override;
  void on_read_end(int res) override;
  void on_drained(int res) override;
  void after_io() override { touch(); }

  // l7::Http1Parser::Handler.
  void on_head(l7::Http1Head head) override;
  void on_body(std::span<const uint8_t> data) override;
  void on_trailers(l7::Headers trailers) override;
  void on_message_end() override;

  void pull_request();
  void parse();
  void want_more_input();
  /// The request in progress fails with `error_code`; the connection closes.
  void fail(uint32_t error_code);
  void maybe_done();

  Loop& loop_;
  Owner& owner_;
  SocketIo io_;
  l7::Http1Parser parser_;
  std::vector<uint8_t> input_;
  std::string out_;  ///< bytes being framed for io_ (kept for its capacity)
  bool connected_ = false;

  l7::H2Stream* events_ = nullptr;
  l7::Http1Framing framing_ = l7::Http1Framing::None;
  bool request_done_ = false;
  bool response_started_ = false;  ///< a byte of the response arrived
  bool response_has_body_ = false;
  bool response_done_ = false;
  bool trailers_seen_ = false;
  bool informational_ = false;  ///< the head being parsed is a 1xx
  bool keep_alive_ = true;
  std::size_t unconsumed_ = 0;
  bool closing_ = false;
  bool finished_ = false;
};

}  // namespace weft::proxy
