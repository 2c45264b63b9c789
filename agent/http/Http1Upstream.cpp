#include "agent/http/Http1Upstream.hpp"

#include <algorithm>
#include <cstring>

#include "agent/loop/Loop.hpp"
#include "common/Log.hpp"

namespace weft::proxy {
namespace {

constexpr std::size_t kWindow = 1024 * 1024;
constexpr std::size_t kMaxBacklog = 256 * 1024;
constexpr std::size_t kPullChunk = 16 * 1024;

}  // namespace

Http1Upstream::Http1Upstream(Loop& loop, Owner& owner, Fd socket)
    : loop_(loop),
      owner_(owner),
      io_(loop, *this, std::move(socket), SocketIo::kMessages),
      parser_(l7::Http1Parser::Kind::Response, *this) {}

Http1Upstream::~Http1Upstream() {
  loop_.forget(*this);
  if (events_ != nullptr) {
    std::exchange(events_, nullptr)->on_close(NGHTTP2_INTERNAL_ERROR);
  }
}

void Http1Upstream::connect(const SockAddr& target, unsigned timeout_ms) {
  io_.connect(target, timeout_ms);
}

void Http1Upstream::touch() {
  if (!dirty) {
    dirty = true;
    loop_.needs_flush(*this);
  }
}

void Http1Upstream::on_connected(int res) {
  if (res < 0) {
    log::warn("http.connect_failed", "worker={} error=\"{}\"", loop_.index(), std::strerror(-res));
    fail(NGHTTP2_REFUSED_STREAM);  // nothing reached the app
    return;
  }
  connected_ = true;
  want_more_input();
  touch();
}

void Http1Upstream::release_buffers() {
  if (busy()) {
    return;
  }
  input_ = {};
  out_ = {};
  parser_.release_buffers();
  io_.release_send_buffers();
}

void Http1Upstream::start(const l7::Headers& head, bool has_body, l7::H2Stream& events) {
  events_ = &events;
  request_done_ = !has_body;
  response_started_ = false;
  response_has_body_ = false;
  response_done_ = false;
  trailers_seen_ = false;
  const std::string* method = l7::find_header(head, ":method");
  if (method != nullptr && *method == "HEAD") {
    parser_.expect_no_body();
  }
  out_.clear();
  l7::append_request_head(out_, head, has_body, framing_);
  io_.write(out_);
  touch();
}

void Http1Upstream::flush_pending() {
  if (connected_) {
    pull_request();
    io_.flush();
  }
  if (closing_ && !io_.closed()) {
    io_.close(SocketIo::Close::Graceful);
  }
  if (io_.closed() && io_.idle() && !finished_) {
    finished_ = true;
    owner_.upstream_finished(*this);  // `this` is gone
  }
}

void Http1Upstream::pull_request() {
  if (events_ == nullptr || request_done_) {
    return;
  }
  out_.clear();
  uint8_t buf[kPullChunk];
  while (!request_done_ && io_.backlog() + out_.size() < kMaxBacklog) {
    l7::BodyChunk chunk = events_->read_body(buf, sizeof(buf));
    l7::append_body(out_, framing_, {buf, chunk.size});
    if (chunk.state == l7::BodyChunk::State::End) {
      l7::append_body_end(out_, framing_, {});
      request_done_ = true;
    } else if (chunk.state == l7::BodyChunk::State::Trailers) {
      l7::append_body_end(out_, framing_, events_->trailers());
      request_done_ = true;
    } else if (chunk.state == l7::BodyChunk::State::Deferred || chunk.size == 0) {
      break;
    }
  }
  io_.write(out_);
  maybe_done();
}

void Http1Upstream::want_more_input() {
  if (connected_ && !closing_ && unconsumed_ < kWindow) {
    io_.read();
  }
}

void Http1Upstream::on_received(std::span<const uint8_t> bytes) {
  if (events_ == nullptr) {
    fail(NGHTTP2_INTERNAL_ERROR);  // an app talking out of turn: not a connection to reuse
    return;
  }
  response_started_ = true;
  input_.insert(input_.end(), bytes.begin(), bytes.end());
  parse();
  want_more_input();
}

void Http1Upstream::parse() {
  while (!input_.empty() && events_ != nullptr && !response_done_) {
    auto consumed = parser_.feed(input_);
    if (!consumed) {
      log::info("http.bad_response", "worker={} reason=\"{}\"", loop_.index(),
                consumed.error().reason);
      fail(NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(*consumed));
    if (*consumed == 0) {
      break;
    }
  }
  if (events_ == nullptr && !input_.empty()) {
    fail(NGHTTP2_INTERNAL_ERROR);  // bytes after the response: not a connection to reuse
  }
}

// The parser's callbacks: the exchange may let go of this connection from inside any of them
// (a retried answer), after which the rest of the response is dropped.
void Http1Upstream::on_head(l7::Http1Head head) {
  informational_ = head.status >= 100 && head.status < 200;
  if (events_ == nullptr) {
    return;
  }
  if (informational_) {
    if (head.status != 101) {
      events_->on_headers(l7::response_to_h2(std::move(head)), false);
    }
    return;
  }
  keep_alive_ = head.keep_alive;
  response_has_body_ = head.has_body();
  events_->on_headers(l7::response_to_h2(std::move(head)), !response_has_body_);
}

void Http1Upstream::on_body(std::span<const uint8_t> data) {
  if (events_ != nullptr) {
    unconsumed_ += data.size();
    events_->on_data(data);
  }
}

void Http1Upstream::on_trailers(l7::Headers trailers) {
  trailers_seen_ = true;
  if (events_ != nullptr) {
    events_->on_headers(std::move(trailers), true);
  }
}

void Http1Upstream::on_message_end() {
  if (std::exchange(informational_, false)) {
    return;  // a 100 Continue ended: the final response follows
  }
  response_done_ = true;
  if (events_ != nullptr && response_has_body_ && !trailers_seen_) {
    events_->on_end_stream();
  }
  maybe_done();
}

void Http1Upstream::maybe_done() {
  if (events_ == nullptr || !request_done_ || !response_done_) {
    return;
  }
  // The exchange lets go of this connection and never consumes here again, though the body it
  // was given may still wait in its buffer (a whole answer read at once): the window comes
  // back now, as an HTTP/2 stream's does when it closes (H2Session::release). Otherwise every
  // such answer would shrink it until the connection stopped reading for good.
  unconsumed_ = 0;
  std::exchange(events_, nullptr)->on_close(NGHTTP2_NO_ERROR);
  if (keep_alive_) {
    owner_.upstream_idle(*this);
  } else {
    closing_ = true;
  }
  touch();
}

void Http1Upstream::consume(std::size_t n) {
  unconsumed_ -= std::min(n, unconsumed_);
  want_more_input();
}

void Http1Upstream::reset(uint32_t /*error_code*/) {
  fail(NGHTTP2_CANCEL);
}

void Http1Upstream::detach() {
  events_ = nullptr;
  if (!(request_done_ && response_done_)) {
    closing_ = true;  // the only way to abandon an HTTP/1.1 request is to close
    io_.close(SocketIo::Close::Reset);
  }
  touch();
}

void Http1Upstream::on_read_end(int /*res*/) {
  if (events_ != nullptr) {
    auto end = parser_.finish();  // a body delimited by the close ends here
    if (end && response_done_) {
      closing_ = true;
      return;
    }
    // Cut before the response ended: the exchange answers 502 or resets the client.
    fail(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  closing_ = true;  // an idle keep-alive connection the app closed
  touch();
}

void Http1Upstream::on_drained(int res) {
  if (res < 0) {
    fail(NGHTTP2_INTERNAL_ERROR);
  }
}

void Http1Upstream::fail(uint32_t error_code) {
  closing_ = true;
  io_.close(SocketIo::Close::Reset);
  if (events_ != nullptr) {
    std::exchange(events_, nullptr)->on_close(error_code);
  }
  touch();
}

}  // namespace weft::proxy
