#include "agent/http/H2Connection.hpp"

#include <cstring>

#include "agent/loop/Loop.hpp"
#include "common/Log.hpp"

namespace weft::proxy {

H2Connection::H2Connection(Loop& loop, Owner& owner, Fd socket, l7::H2Session::Role role,
                           const l7::H2Limits& limits, l7::H2Session::Acceptor* acceptor)
    : loop_(loop),
      owner_(owner),
      session_(role, limits, acceptor),
      io_(loop, *this, std::move(socket), SocketIo::kMessages) {}

H2Connection::~H2Connection() {
  loop_.forget(*this);
  session_.close_all(NGHTTP2_INTERNAL_ERROR);
}

void H2Connection::drain(DrainStep step) {
  if (io_.closed()) {
    return;
  }
  switch (step) {
    case DrainStep::Notice:
      session_.shutdown_notice();
      break;
    case DrainStep::Goaway:
      session_.goaway(NGHTTP2_NO_ERROR);
      break;
    case DrainStep::End:
      session_.goaway(NGHTTP2_NO_ERROR);
      closing_ = true;  // flush() writes the GOAWAY, then closes; open streams are cut
      break;
  }
  touch();
}

std::optional<agent::Timeout> H2Connection::expire(Loop::Clock::time_point now,
                                                   const TimeLimits& limits) {
  if (closing_ || io_.closed()) {
    return std::nullopt;
  }
  if (session_.stream_count() > 0) {
    quiet_since_.reset();
    return std::nullopt;
  }
  std::optional<agent::Timeout> fired;
  if (session_.last_peer_stream() == 0) {
    if (now - started_ >= limits.request_header) {
      fired = agent::Timeout::RequestHeader;
    }
  } else if (!quiet_since_) {
    quiet_since_ = now;  // the tick's precision is enough for a limit counted in seconds
  } else if (now - *quiet_since_ >= limits.http_idle) {
    fired = agent::Timeout::HttpIdle;
  }
  if (fired) {
    session_.goaway(NGHTTP2_NO_ERROR);
    closing_ = true;  // flush() writes the GOAWAY, then closes
    touch();
  }
  return fired;
}

void H2Connection::connect(const SockAddr& target, unsigned timeout_ms) {
  io_.connect(target, timeout_ms);
}

void H2Connection::on_connected(int res) {
  if (res < 0) {
    log::warn("http.connect_failed", "worker={} error=\"{}\"", loop_.index(), std::strerror(-res));
    close(NGHTTP2_REFUSED_STREAM);  // nothing was sent: the requests may go elsewhere
    return;
  }
  connected_ = true;
  io_.read();
}

void H2Connection::start(std::span<const uint8_t> received) {
  connected_ = true;
  started_ = loop_.now();
  if (!received.empty()) {
    receive(received);
  }
  if (!closing_) {
    io_.read();
  }
}

void H2Connection::touch() {
  if (!dirty) {
    dirty = true;
    loop_.needs_flush(*this);
  }
}

void H2Connection::flush_pending() {
  flush();
  if (finished()) {
    owner_.connection_finished(*this);  // `this` may be gone
  }
}

void H2Connection::receive(std::span<const uint8_t> bytes) {
  if (auto ok = session_.receive(bytes); !ok) {
    log::info("http.protocol_error", "worker={} error=\"{}\"", loop_.index(), ok.error().message);
    closing_ = true;
  }
}

void H2Connection::on_received(std::span<const uint8_t> bytes) {
  receive(bytes);
  if (!closing_) {
    io_.read();
  }
}

void H2Connection::on_read_end(int res) {
  // EOF or error: the peer is gone, whatever it had in flight is lost.
  close(res == 0 ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
}

void H2Connection::on_drained(int res) {
  if (res < 0) {
    close(NGHTTP2_INTERNAL_ERROR);
  }
}

void H2Connection::flush() {
  if (io_.closed() || !connected_) {
    return;
  }
  if (auto ok = session_.produce(io_.queue()); !ok) {
    closing_ = true;
  }
  io_.flush();
  if (io_.backlog() == 0 && (closing_ || !session_.alive())) {
    close(NGHTTP2_INTERNAL_ERROR);
  }
}

void H2Connection::close(uint32_t error_code) {
  if (io_.closed()) {
    return;
  }
  // Pending requests (recv, a send) complete with errors once the socket is shut down;
  // finished() waits for them.
  io_.close(SocketIo::Close::Graceful);
  session_.close_all(error_code);
  touch();  // the worker tells the owner once the last completion is in
}

}  // namespace weft::proxy
