#include "agent/http/Http1Downstream.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "agent/http/L7Exchange.hpp"
#include "agent/loop/Loop.hpp"
#include "common/Log.hpp"

namespace weft::proxy {
namespace {

/// Request body handed on and not yet passed upstream beyond which reading pauses: the
/// HTTP/1.1 counterpart of an HTTP/2 stream window.
constexpr std::size_t kWindow = 1024 * 1024;
/// Pipelined input buffered while a request is answered.
constexpr std::size_t kMaxBuffered = 64 * 1024;
/// Response bytes queued for the socket beyond which the body is not pulled further.
constexpr std::size_t kMaxBacklog = 256 * 1024;
constexpr std::size_t kPullChunk = 16 * 1024;

}  // namespace

Http1Downstream::Http1Downstream(Loop& loop, Owner& owner, Fd socket)
    : loop_(loop),
      owner_(owner),
      io_(loop, *this, std::move(socket), SocketIo::kMessages),
      parser_(l7::Http1Parser::Kind::Request, *this) {}

Http1Downstream::~Http1Downstream() {
  loop_.forget(*this);
  if (exchange_ != nullptr) {
    std::exchange(exchange_, nullptr)->on_close(NGHTTP2_CANCEL);
  }
}

void Http1Downstream::start(std::span<const uint8_t> received) {
  wait_for(Waiting::Head);  // the first request counts from the connection's start
  input_.assign(received.begin(), received.end());
  parse();
  want_more_input();
  touch();
}

void Http1Downstream::touch() {
  if (!dirty) {
    dirty = true;
    loop_.needs_flush(*this);
  }
}

void Http1Downstream::want_more_input() {
  if (!closing_ && !eof_ && !upgrading_ && unconsumed_ < kWindow && input_.size() < kMaxBuffered) {
    io_.read();
  }
}

void Http1Downstream::wait_for(Waiting what) {
  waiting_ = what;
  waiting_since_ = loop_.now();
}

std::optional<agent::Timeout> Http1Downstream::expire(Loop::Clock::time_point now,
                                                      const TimeLimits& limits) {
  if (closing_ || upgrading_) {
    return std::nullopt;
  }
  if (waiting_ == Waiting::Head && now - waiting_since_ >= limits.request_header) {
    refuse(408, "the request head did not arrive in time");
    return agent::Timeout::RequestHeader;
  }
  if (waiting_ == Waiting::Request && now - waiting_since_ >= limits.http_idle) {
    close(/*reset=*/false);
    return agent::Timeout::HttpIdle;
  }
  if (waiting_ == Waiting::Request) {
    release_buffers();
  }
  return std::nullopt;
}

void Http1Downstream::release_buffers() {
  input_ = {};
  head_bytes_ = {};
  out_ = {};
  parser_.release_buffers();
  io_.release_send_buffers();
}

void Http1Downstream::on_received(std::span<const uint8_t> bytes) {
  if (waiting_ == Waiting::Request) {
    wait_for(Waiting::Head);  // the first bytes of a next head
  }
  if (waiting_ == Waiting::Head && share_ != nullptr && !share_->charge_head(bytes.size())) {
    owner_.head_refused();
    refuse(431, "this client's request heads hold its share of the node");
    return;
  }
  input_.insert(input_.end(), bytes.begin(), bytes.end());
  parse();
  want_more_input();
}

void Http1Downstream::parse() {
  if (parsing_) {
    return;  // called back from inside the parser (a message ended): the loop goes on
  }
  parsing_ = true;
  while (!closing_ && !upgrading_ && !input_.empty() && !(exchange_ != nullptr && request_done_)) {
    bool was_in_head = in_head_;
    auto consumed = parser_.feed(input_);
    if (!consumed) {
      const l7::Http1Error& e = consumed.error();
      log::info("http.bad_request", "worker={} status={} reason=\"{}\"", loop_.index(), e.status,
                e.reason);
      if (exchange_ != nullptr) {
        // Cut mid-body: the exchange is abandoned, the client learns why if nothing was
        // answered yet.
        std::exchange(exchange_, nullptr)->on_close(NGHTTP2_PROTOCOL_ERROR);
        if (response_started_) {
          close(/*reset=*/true);
          parsing_ = false;
          return;
        }
      }
      refuse(e.status, e.reason);
      parsing_ = false;
      return;
    }
    if (was_in_head) {
      head_bytes_.append(reinterpret_cast<const char*>(input_.data()), *consumed);
    }
    input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(*consumed));
    if (*consumed == 0) {
      break;
    }
  }
  parsing_ = false;
}

void Http1Downstream::on_head(l7::Http1Head head) {
  in_head_ = false;
  waiting_ = Waiting::Nothing;
  if (share_ != nullptr) {
    share_->release_head();
  }
  if (head.upgrade) {
    upgrading_ = true;  // flush_pending hands the connection over once nothing is in flight
    return;
  }
  request_was_head_ = head.method == "HEAD";
  version_minor_ = head.version_minor;
  keep_alive_ = head.keep_alive && !draining_;
  request_has_body_ = head.has_body();
  request_done_ = false;
  trailers_sent_ = false;
  response_started_ = false;
  response_done_ = false;
  exchange_ = owner_.open_exchange(*this).downstream_stream();
  exchange_->on_headers(l7::request_to_h2(std::move(head)), !request_has_body_);
}

void Http1Downstream::on_body(std::span<const uint8_t> data) {
  unconsumed_ += data.size();
  if (exchange_ != nullptr) {
    exchange_->on_data(data);
  }
}

void Http1Downstream::on_trailers(l7::Headers trailers) {
  trailers_sent_ = true;
  if (exchange_ != nullptr) {
    exchange_->on_headers(std::move(trailers), true);
  }
}

void Http1Downstream::on_message_end() {
  request_done_ = true;
  in_head_ = true;
  head_bytes_.clear();
  if (exchange_ != nullptr && request_has_body_ && !trailers_sent_) {
    exchange_->on_end_stream();
  }
  maybe_finish_exchange();
}

void Http1Downstream::send_head(l7::Headers head, bool has_body) {
  const std::string* code = l7::find_header(head, ":status");
  bool informational = code != nullptr && code->size() == 3 && (*code)[0] == '1';
  if (informational && *code == "101") {
    return;  // switching protocols is handled by handing the connection over, never here
  }
  bool close_after = !keep_alive_;
  l7::Http1Framing framing = l7::Http1Framing::None;
  out_.clear();
  l7::append_response_head(out_, head, has_body, request_was_head_, version_minor_, close_after,
                           framing);
  io_.write(out_);
  touch();
  if (informational) {
    return;
  }
  framing_ = framing;
  if (framing_ == l7::Http1Framing::UntilClose) {
    keep_alive_ = false;
  }
  response_started_ = true;
  response_done_ = !has_body;
  maybe_finish_exchange();
}

void Http1Downstream::drain(DrainStep step) {
  draining_ = true;
  if (exchange_ != nullptr && !response_started_) {
    keep_alive_ = false;  // the answer to come says Connection: close
  }
  if (step == DrainStep::Goaway && waiting_ == Waiting::Request) {
    // Idle since the notice at least (an active client has had its Connection: close by
    // now): closed, as any server closes idle keep-alives when it stops.
    close(/*reset=*/false);
  }
  if (step == DrainStep::End) {
    if (exchange_ != nullptr) {
      std::exchange(exchange_, nullptr)->on_close(NGHTTP2_CANCEL);
      close(/*reset=*/true);
    } else {
      close(/*reset=*/false);
    }
  }
}

void Http1Downstream::consume(std::size_t n) {
  unconsumed_ -= std::min(n, unconsumed_);
  want_more_input();
}

void Http1Downstream::reset(uint32_t error_code) {
  if (exchange_ != nullptr) {
    std::exchange(exchange_, nullptr)->on_close(error_code);
  }
  close(/*reset=*/true);  // HTTP/1.1 has no other way to say the response is cut
}

void Http1Downstream::detach() {
  exchange_ = nullptr;
  if (!(request_done_ && response_done_)) {
    close(/*reset=*/true);
  }
}

void Http1Downstream::flush_pending() {
  if (upgrading_ && exchange_ == nullptr && io_.idle() && io_.backlog() == 0 && !io_.closed()) {
    std::vector<uint8_t> received(head_bytes_.begin(), head_bytes_.end());
    received.insert(received.end(), input_.begin(), input_.end());
    owner_.hand_over(io_.release(), std::move(received));
    return;  // `this` is gone
  }
  pull_response();
  io_.flush();
  if (closing_ && io_.backlog() == 0) {
    io_.close(SocketIo::Close::Graceful);
  }
  if (io_.closed() && io_.idle() && !finished_) {
    finished_ = true;
    owner_.downstream_finished();  // `this` is gone
  }
}

void Http1Downstream::pull_response() {
  if (exchange_ == nullptr || !response_started_ || response_done_) {
    return;
  }
  out_.clear();
  uint8_t buf[kPullChunk];
  while (!response_done_ && io_.backlog() + out_.size() < kMaxBacklog) {
    l7::BodyChunk chunk = exchange_->read_body(buf, sizeof(buf));
    if (!request_was_head_) {
      l7::append_body(out_, framing_, {buf, chunk.size});
    }
    if (chunk.state == l7::BodyChunk::State::End) {
      l7::append_body_end(out_, framing_, {});
      response_done_ = true;
    } else if (chunk.state == l7::BodyChunk::State::Trailers) {
      l7::append_body_end(out_, framing_, exchange_->trailers());
      response_done_ = true;
    } else if (chunk.state == l7::BodyChunk::State::Deferred || chunk.size == 0) {
      break;
    }
  }
  io_.write(out_);
  maybe_finish_exchange();
}

void Http1Downstream::maybe_finish_exchange() {
  if (exchange_ == nullptr || !request_done_ || !response_done_) {
    return;
  }
  // Request body the app did not read before it answered is dropped with the exchange: its
  // bytes no longer hold the window (see Http1Upstream::maybe_done).
  unconsumed_ = 0;
  std::exchange(exchange_, nullptr)->on_close(NGHTTP2_NO_ERROR);
  if (!keep_alive_) {
    closing_ = true;
  } else {
    wait_for(input_.empty() ? Waiting::Request : Waiting::Head);
    parse();  // a pipelined request may be waiting
    want_more_input();
  }
  touch();
}

void Http1Downstream::on_read_end(int /*res*/) {
  eof_ = true;
  if (exchange_ != nullptr && !request_done_) {
    std::exchange(exchange_, nullptr)->on_close(NGHTTP2_CANCEL);  // the request was cut
    close(/*reset=*/true);
  } else if (exchange_ == nullptr) {
    close(/*reset=*/false);
  } else {
    keep_alive_ = false;  // answer what was asked, then close
  }
}

void Http1Downstream::on_drained(int res) {
  if (res < 0) {
    if (exchange_ != nullptr) {
      std::exchange(exchange_, nullptr)->on_close(NGHTTP2_CANCEL);
    }
    close(/*reset=*/true);
  }
}

void Http1Downstream::refuse(int status, const std::string& reason) {
  std::string body = reason + "\n";
  io_.write(
      fmt::format("HTTP/1.1 {} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: "
                  "close\r\n\r\n{}",
                  status, l7::reason_phrase(status), body.size(), body));
  closing_ = true;
  touch();
}

void Http1Downstream::close(bool reset) {
  closing_ = true;
  if (reset) {
    io_.close(SocketIo::Close::Reset);
  }
  touch();
}

}  // namespace weft::proxy
