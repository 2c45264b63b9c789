#include "agent/tls/TlsChannel.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include "agent/identity/OpenSsl.hpp"

namespace weft::tunnel {
namespace {

using identity::drain_openssl_errors;

// The write side is a BIO that appends records straight to the channel's output vector, which
// take_output() hands over by swapping: one copy less than a memory BIO on every byte sent.
int append_to_vector(BIO* bio, const char* data, size_t len, size_t* written) {
  auto* out = static_cast<std::vector<uint8_t>*>(BIO_get_data(bio));
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);  // same type as the vector's
  out->insert(out->end(), bytes, bytes + len);
  *written = len;
  return 1;
}

long vector_ctrl(BIO* bio, int cmd, long /*num*/, void* /*ptr*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return static_cast<long>(static_cast<std::vector<uint8_t>*>(BIO_get_data(bio))->size());
    default:
      return 0;
  }
}

const BIO_METHOD* vector_sink_method() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft-vector");
    BIO_meth_set_write_ex(m, append_to_vector);
    BIO_meth_set_ctrl(m, vector_ctrl);
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

}  // namespace

Result<TlsChannel> TlsChannel::make(SSL_CTX* ctx) {
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) {
    return fail(Error::Kind::System, "SSL_new: " + drain_openssl_errors());
  }
  auto output = std::make_unique<std::vector<uint8_t>>();
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(vector_sink_method());
  if (rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    return fail(Error::Kind::System, "BIO_new: out of memory");
  }
  BIO_set_data(wbio, output.get());
  // An empty memory BIO reports "retry" instead of EOF, which is what a non-blocking socket
  // would say.
  BIO_set_mem_eof_return(rbio, -1);
  SSL_set_bio(ssl.get(), rbio, wbio);
  TlsChannel ch(std::move(ssl), std::move(output));
  ch.rbio_ = rbio;
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

TlsChannel::Status TlsChannel::read(uint8_t* buf, std::size_t cap, std::size_t& got) {
  got = 0;
  while (got < cap) {
    std::size_t n = 0;
    int rc = SSL_read_ex(ssl_.get(), buf + got, cap - got, &n);
    if (rc != 1) {
      Status s = classify(rc, "read");
      return s == Status::WantMore ? Status::Ok : s;
    }
    got += n;
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

std::size_t TlsChannel::take_output(std::vector<uint8_t>& out) {
  std::size_t n = output_->size();
  if (out.empty()) {
    out.swap(*output_);  // the caller's spare capacity comes back for the next records
  } else {
    out.insert(out.end(), output_->begin(), output_->end());
  }
  output_->clear();
  return n;
}

}  // namespace weft::tunnel
