#include "agent/tunnel/TlsChannel.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include "agent/identity/OpenSsl.hpp"

namespace weft::tunnel {
namespace {

using identity::drain_openssl_errors;

}  // namespace

Result<TlsChannel> TlsChannel::make(SSL_CTX* ctx) {
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) {
    return fail(Error::Kind::System, "SSL_new: " + drain_openssl_errors());
  }
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    return fail(Error::Kind::System, "BIO_new: out of memory");
  }
  // An empty memory BIO reports "retry" instead of EOF, which is what a non-blocking socket
  // would say.
  BIO_set_mem_eof_return(rbio, -1);
  SSL_set_bio(ssl.get(), rbio, wbio);
  TlsChannel ch(std::move(ssl));
  ch.rbio_ = rbio;
  ch.wbio_ = wbio;
  return ch;
}

Result<TlsChannel> TlsChannel::client(SSL_CTX* ctx, SSL_SESSION* resume, TicketSink* tickets) {
  auto ch = make(ctx);
  if (!ch) {
    return ch;
  }
  SSL_set_app_data(ch->ssl(), tickets);
  if (resume != nullptr) {
    SSL_set_session(ch->ssl(), resume);
  }
  SSL_set_connect_state(ch->ssl());
  return ch;
}

Result<TlsChannel> TlsChannel::server(SSL_CTX* ctx) {
  auto ch = make(ctx);
  if (!ch) {
    return ch;
  }
  SSL_set_accept_state(ch->ssl());
  return ch;
}

void TlsChannel::feed(const char* data, std::size_t len) {
  BIO_write(rbio_, data, static_cast<int>(len));
}

TlsChannel::Status TlsChannel::classify(int rc, const char* what) {
  int err = SSL_get_error(ssl_.get(), rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Status::WantMore;
    case SSL_ERROR_ZERO_RETURN:
      return Status::Closed;
    default: {
      long verify = SSL_get_verify_result(ssl_.get());
      verify_failed_ = verify != X509_V_OK;
      failure_ = fmt::format("{}: {}{}", what, drain_openssl_errors(),
                             verify_failed_ ? fmt::format(" (peer certificate: {})",
                                                          X509_verify_cert_error_string(verify))
                                            : "");
      return Status::Failed;
    }
  }
}

TlsChannel::Status TlsChannel::handshake() {
  if (done_) {
    return Status::Ok;
  }
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    done_ = true;
    return Status::Ok;
  }
  return classify(rc, "handshake");
}

TlsChannel::Status TlsChannel::read(std::vector<uint8_t>& out, std::size_t limit) {
  while (limit > 0) {
    std::size_t old = out.size();
    std::size_t chunk = std::min<std::size_t>(limit, 16 * 1024);
    out.resize(old + chunk);
    std::size_t got = 0;
    int rc = SSL_read_ex(ssl_.get(), out.data() + old, chunk, &got);
    out.resize(old + got);
    if (rc != 1) {
      Status s = classify(rc, "read");
      return s == Status::WantMore ? Status::Ok : s;
    }
    limit -= got;
  }
  return Status::Ok;
}

TlsChannel::Status TlsChannel::write(const uint8_t* data, std::size_t len) {
  while (len > 0) {
    std::size_t written = 0;
    int rc = SSL_write_ex(ssl_.get(), data, len, &written);
    if (rc != 1) {
      return classify(rc, "write");
    }
    data += written;
    len -= written;
  }
  return Status::Ok;
}

void TlsChannel::shutdown() {
  if (done_) {
    SSL_shutdown(ssl_.get());
  }
}

std::size_t TlsChannel::pending_output() const {
  return BIO_ctrl_pending(wbio_);
}

std::size_t TlsChannel::take_output(std::vector<uint8_t>& out) {
  std::size_t n = BIO_ctrl_pending(wbio_);
  if (n == 0) {
    return 0;
  }
  std::size_t old = out.size();
  out.resize(old + n);
  int got = BIO_read(wbio_, out.data() + old, static_cast<int>(n));
  out.resize(old + static_cast<std::size_t>(std::max(got, 0)));
  return out.size() - old;
}

}  // namespace weft::tunnel
