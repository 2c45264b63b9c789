#include "l7/ProtocolDetector.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace weft::l7 {
namespace {

Protocol detect(std::string_view s) {
  return detect_protocol({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

TEST_CASE("the HTTP/2 preface is HTTP/2 only when complete") {
  constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  CHECK(detect(preface) == Protocol::Http2);
  CHECK(detect(std::string(preface) + "\x00\x00\x12\x04") == Protocol::Http2);
  for (std::size_t n = 1; n < preface.size(); ++n) {
    CAPTURE(n);
    CHECK(detect(preface.substr(0, n)) == Protocol::Undecided);
  }
  // PRI is a valid method token: an HTTP/1 request line that starts like the preface.
  CHECK(detect("PRI * HTTP/1.1\r\n") == Protocol::Http1);
}

TEST_CASE("an HTTP/1.x request line is HTTP/1") {
  CHECK(detect("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == Protocol::Http1);
  CHECK(detect("POST /api/v1/items?x=1 HTTP/1.0\r\n") == Protocol::Http1);
  CHECK(detect("M-SEARCH * HTTP/1.1\r\n") == Protocol::Http1);
  CHECK(detect("GET") == Protocol::Undecided);
  CHECK(detect("GET /index.html HTTP/1.") == Protocol::Undecided);
  CHECK(detect("GET /index.html HTTP/1.1\r") == Protocol::Undecided);
}

TEST_CASE("anything else is opaque, as early as the bytes say so") {
  CHECK(detect("\x16\x03\x01\x02\x00\x01") == Protocol::Opaque);  // TLS ClientHello
  CHECK(detect("get / HTTP/1.1\r\n") == Protocol::Opaque);
  CHECK(detect("GET  / HTTP/1.1\r\n") == Protocol::Opaque);
  CHECK(detect("GET / HTTP/2.0\r\n") == Protocol::Opaque);
  CHECK(detect("GET / HTTP/1.1\n") == Protocol::Opaque);
  CHECK(detect("GET /a\x01 HTTP/1.1\r\n") == Protocol::Opaque);
  CHECK(detect("SSH-2.0-OpenSSH_9.2\r\n") == Protocol::Opaque);
  CHECK(detect(std::string(kMaxDetectionBytes, 'A')) == Protocol::Opaque);
  CHECK(detect(std::string(1, '\0')) == Protocol::Opaque);
}

TEST_CASE("a request line longer than the detection window is still HTTP/1") {
  std::string line = "GET /" + std::string(kMaxDetectionBytes, 'a');
  CHECK(detect(line) == Protocol::Http1);
  CHECK(detect(line.substr(0, kMaxDetectionBytes - 1)) == Protocol::Undecided);
}

TEST_CASE("appProtocol declares the protocol") {
  CHECK(declared_protocol("http") == Protocol::Http1);
  CHECK(declared_protocol("http2") == Protocol::Http2);
  CHECK(declared_protocol("grpc") == Protocol::Http2);
  CHECK(declared_protocol("kubernetes.io/h2c") == Protocol::Http2);
  CHECK(declared_protocol("tcp") == Protocol::Opaque);
  CHECK(declared_protocol("") == Protocol::Undecided);
  CHECK(declared_protocol("mysql") == Protocol::Opaque);  // any other declared protocol
  CHECK(declared_protocol("kubernetes.io/ws") == Protocol::Opaque);
}

}  // namespace
}  // namespace weft::l7
