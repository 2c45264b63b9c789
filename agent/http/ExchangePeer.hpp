// One side of an HTTP exchange as the exchange drives it: a stream of an HTTP/2 connection, or
// the message in progress on an HTTP/1.1 connection. Its events reach the exchange through the
// l7::H2Stream the exchange gave for that side.
#pragma once

#include <cstddef>
#include <cstdint>

#include "agent/http/H2Carrier.hpp"
#include "l7/H2Session.hpp"

namespace weft::proxy {

class ExchangePeer {
 public:
  /// The response head, towards the client (the request head is sent when the side opens).
  /// `has_body`: a body follows, read through the side's H2Stream::read_body. An HTTP/2 side
  /// keeps `head` until its frame is written.
  virtual void send_head(l7::Headers head, bool has_body) = 0;
  /// More body (or its end, or trailers) is ready to be read.
  virtual void resume() = 0;
  /// `n` bytes of the body this side received were passed on: let more come.
  virtual void consume(std::size_t n) = 0;
  /// Aborts the message (RST_STREAM, or a closed HTTP/1.1 connection); `on_close` follows.
  virtual void reset(uint32_t error_code) = 0;
  /// The exchange goes away: no more events for it (the message is aborted if unfinished).
  virtual void detach() = 0;

 protected:
  ~ExchangePeer() = default;
};

/// A stream `id` of an HTTP/2 carrier.
class H2Peer final : public ExchangePeer {
 public:
  H2Peer(H2Carrier& carrier, int32_t id) : carrier_(&carrier), id_(id) {}

  void send_head(l7::Headers head, bool has_body) override {
    carrier_->session().submit_response(id_, std::move(head), has_body);
    carrier_->touch();
  }
  void resume() override {
    carrier_->session().resume(id_);
    carrier_->touch();
  }
  void consume(std::size_t n) override {
    carrier_->session().consume(id_, n);
    carrier_->touch();
  }
  void reset(uint32_t error_code) override {
    carrier_->session().reset(id_, error_code);
    carrier_->touch();
  }
  void detach() override {
    carrier_->session().detach(id_);
    carrier_->touch();
  }
  const H2Carrier& carrier() const { return *carrier_; }

 private:
  H2Carrier* carrier_;
  int32_t id_;
};

}  // namespace weft::proxy
