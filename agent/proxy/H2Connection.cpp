#include "agent/proxy/H2Connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

#include "agent/proxy/Worker.hpp"
#include "common/Log.hpp"

namespace weft::proxy {
namespace {

constexpr std::size_t kRecvBuffer = 64 * 1024;

}  // namespace

void H2Connection::IoOp::complete(int res, unsigned /*flags*/) {
  (connection->*handler)(res);
  connection->touch();
}

H2Connection::H2Connection(Worker& worker, Owner& owner, Fd socket, l7::H2Session::Role role,
                           const l7::H2Limits& limits, l7::H2Session::Acceptor* acceptor)
    : worker_(worker),
      owner_(owner),
      socket_(std::move(socket)),
      session_(role, limits, acceptor),
      rbuf_(std::make_unique<uint8_t[]>(kRecvBuffer)) {
  for (auto [op, handler] : {std::pair{&connect_op_, &H2Connection::on_connected},
                             std::pair{&recv_op_, &H2Connection::on_recv},
                             std::pair{&send_op_, &H2Connection::on_send}}) {
    op->connection = this;
    op->handler = handler;
  }
}

H2Connection::~H2Connection() {
  worker_.forget(*this);
  session_.close_all(NGHTTP2_INTERNAL_ERROR);
}

void H2Connection::connect(const SockAddr& target, unsigned timeout_ms) {
  target_len_ = target.to_sockaddr(target_);
  timeout_.tv_sec = timeout_ms / 1000;
  timeout_.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  Ring& ring = worker_.ring();
  ring.reserve(2);
  io_uring_sqe* sqe = ring.prepare(&connect_op_);
  io_uring_prep_connect(sqe, socket_.get(), reinterpret_cast<sockaddr*>(&target_), target_len_);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_prep_link_timeout(ring.prepare(nullptr), &timeout_, 0);
  ++inflight_;
}

void H2Connection::on_connected(int res) {
  --inflight_;
  if (res < 0) {
    int err = res == -ECANCELED ? ETIMEDOUT : -res;
    log::warn("http.connect_failed", "worker={} error=\"{}\"", worker_.index(), std::strerror(err));
    close(NGHTTP2_REFUSED_STREAM);  // nothing was sent: the requests may go elsewhere
    return;
  }
  connected_ = true;
  int one = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  arm_recv();
}

void H2Connection::start(std::span<const uint8_t> received) {
  connected_ = true;
  int one = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (!received.empty()) {
    if (auto ok = session_.receive(received); !ok) {
      log::info("http.protocol_error", "worker={} error=\"{}\"", worker_.index(),
                ok.error().message);
      closing_ = true;
      return;
    }
  }
  arm_recv();
}

void H2Connection::touch() {
  if (!dirty) {
    dirty = true;
    worker_.needs_flush(*this);
  }
}

void H2Connection::flush_pending() {
  flush();
  if (finished()) {
    owner_.connection_finished(*this);  // `this` may be gone
  }
}

void H2Connection::arm_recv() {
  io_uring_prep_recv(worker_.ring().prepare(&recv_op_), socket_.get(), rbuf_.get(), kRecvBuffer, 0);
  ++inflight_;
}

void H2Connection::on_recv(int res) {
  --inflight_;
  if (closed_) {
    return;
  }
  if (res <= 0) {
    // EOF or error: the peer is gone, whatever it had in flight is lost.
    close(res == 0 ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
    return;
  }
  if (auto ok = session_.receive({rbuf_.get(), static_cast<std::size_t>(res)}); !ok) {
    log::info("http.protocol_error", "worker={} error=\"{}\"", worker_.index(), ok.error().message);
    closing_ = true;  // flush() sends the GOAWAY, then closes
    return;
  }
  if (!closing_) {
    arm_recv();
  }
}

void H2Connection::flush() {
  if (closed_ || !connected_) {
    return;
  }
  if (auto ok = session_.produce(queued_); !ok) {
    closing_ = true;
  }
  if (!send_armed_ && !queued_.empty()) {
    arm_send();
  }
  if (!send_armed_ && (closing_ || !session_.alive())) {
    close(NGHTTP2_INTERNAL_ERROR);
  }
}

void H2Connection::arm_send() {
  sending_.clear();
  sending_.swap(queued_);
  sent_ = 0;
  send_armed_ = true;
  io_uring_prep_send(worker_.ring().prepare(&send_op_), socket_.get(), sending_.data(),
                     sending_.size(), MSG_NOSIGNAL);
  ++inflight_;
}

void H2Connection::on_send(int res) {
  --inflight_;
  send_armed_ = false;
  if (closed_) {
    return;
  }
  if (res < 0) {
    close(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  sent_ += static_cast<std::size_t>(res);
  if (sent_ < sending_.size()) {
    send_armed_ = true;
    io_uring_prep_send(worker_.ring().prepare(&send_op_), socket_.get(), sending_.data() + sent_,
                       sending_.size() - sent_, MSG_NOSIGNAL);
    ++inflight_;
  }
}

void H2Connection::close(uint32_t error_code) {
  if (closed_) {
    return;
  }
  closed_ = true;
  // Pending requests (recv, a send) complete with -ECANCELED or an error once the socket is
  // shut down; finished() waits for them.
  ::shutdown(socket_.get(), SHUT_RDWR);
  if (inflight_ > 0) {
    io_uring_prep_cancel_fd(worker_.ring().prepare(nullptr), socket_.get(),
                            IORING_ASYNC_CANCEL_ALL);
  }
  session_.close_all(error_code);
  touch();  // the worker tells the owner once the last completion is in
}

}  // namespace weft::proxy
