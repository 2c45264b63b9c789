// TLS over memory BIOs: the caller moves ciphertext between the socket (on io_uring) and the
// channel, so OpenSSL never touches a file descriptor.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/identity/OpenSsl.hpp"
#include "common/Error.hpp"

namespace weft::tunnel {

using identity::SslCtxPtr;
using identity::SslPtr;
using identity::SslSessionPtr;

/// Receives the session tickets a server sends on a client channel (for resumption). Set as the
/// SSL's app data; the client context's new-session callback hands every ticket to it.
class TicketSink {
 public:
  virtual void store_ticket(SslSessionPtr ticket) = 0;

 protected:
  ~TicketSink() = default;
};

/// One TLS connection, client or server. Not thread-safe; lives on one worker.
class TlsChannel {
 public:
  enum class Status {
    Ok,        ///< progress made (or nothing to do)
    WantMore,  ///< needs more ciphertext from the peer
    Closed,    ///< the peer sent close_notify
    Failed,    ///< fatal: see failure()
  };

  /// `resume` (may be null) is offered for session resumption; the channel takes a reference.
  static Result<TlsChannel> client(SSL_CTX* ctx, SSL_SESSION* resume, TicketSink* tickets);
  static Result<TlsChannel> server(SSL_CTX* ctx);

  TlsChannel(TlsChannel&&) noexcept = default;
  TlsChannel& operator=(TlsChannel&&) noexcept = default;

  /// Ciphertext received from the socket.
  void feed(const char* data, std::size_t len);
  /// Drives the handshake; Ok once it is complete (then handshake_done()).
  Status handshake();
  bool handshake_done() const { return done_; }
  /// Decrypts what is buffered into `buf`, at most `cap` bytes (`got`). Ok with got == cap:
  /// there may be more; call again.
  Status read(uint8_t* buf, std::size_t cap, std::size_t& got);
  /// Encrypts `len` bytes; always accepts everything (memory BIO).
  Status write(const uint8_t* data, std::size_t len);
  /// Queues close_notify.
  void shutdown();
  /// Moves every pending ciphertext byte to the end of `out` (no copy when `out` is empty);
  /// returns how many.
  std::size_t take_output(std::vector<uint8_t>& out);

  SSL* ssl() const { return ssl_.get(); }
  bool resumed() const { return SSL_session_reused(ssl_.get()) == 1; }
  /// What went wrong, for logs: the OpenSSL error queue and the verify result.
  const std::string& failure() const { return failure_; }
  /// True when the failure was the peer's certificate chain (untrusted, expired, no SPIFFE ID).
  bool verify_failed() const { return verify_failed_; }

 private:
  explicit TlsChannel(SslPtr ssl, std::unique_ptr<std::vector<uint8_t>> output)
      : ssl_(std::move(ssl)), output_(std::move(output)) {}
  static Result<TlsChannel> make(SSL_CTX* ctx);
  Status classify(int rc, const char* what);

  SslPtr ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  /// Where the write BIO puts records (heap: the BIO points at it across moves of the channel).
  std::unique_ptr<std::vector<uint8_t>> output_;
  bool done_ = false;
  bool verify_failed_ = false;
  std::string failure_;
};

}  // namespace weft::tunnel
