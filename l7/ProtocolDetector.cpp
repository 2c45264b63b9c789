#include "l7/ProtocolDetector.hpp"

#include <algorithm>

namespace weft::l7 {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// RFC 9110 defines no method longer than this; longer tokens are not HTTP/1 in practice.
constexpr std::size_t kMaxMethod = 20;

bool is_method_char(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/// Matches `<METHOD> SP <target> SP HTTP/1.<digit> CRLF` incrementally.
Protocol detect_http1(std::span<const uint8_t> in) {
  std::size_t i = 0;
  while (i < in.size() && is_method_char(in[i])) {
    ++i;
  }
  if (i == in.size()) {
    return i <= kMaxMethod ? Protocol::Undecided : Protocol::Opaque;
  }
  if (i == 0 || i > kMaxMethod || in[i] != ' ') {
    return Protocol::Opaque;
  }
  ++i;
  std::size_t target_start = i;
  while (i < in.size() && in[i] > ' ' && in[i] < 0x7f) {
    ++i;
  }
  if (i == in.size()) {
    return in.size() >= kMaxDetectionBytes ? Protocol::Http1 : Protocol::Undecided;
  }
  if (i == target_start || in[i] != ' ') {
    return Protocol::Opaque;
  }
  ++i;
  constexpr std::string_view kVersion = "HTTP/1.";
  for (std::size_t k = 0; k < kVersion.size() + 3; ++k, ++i) {
    if (i == in.size()) {
      return Protocol::Undecided;
    }
    uint8_t c = in[i];
    bool ok = k < kVersion.size()        ? c == static_cast<uint8_t>(kVersion[k])
              : k == kVersion.size()     ? c == '0' || c == '1'
              : k == kVersion.size() + 1 ? c == '\r'
                                         : c == '\n';
    if (!ok) {
      return Protocol::Opaque;
    }
  }
  return Protocol::Http1;
}

}  // namespace

Protocol detect_protocol(std::span<const uint8_t> prefix) {
  if (prefix.size() > kMaxDetectionBytes) {
    prefix = prefix.first(kMaxDetectionBytes);
  }
  if (prefix.empty()) {
    return Protocol::Undecided;
  }
  std::size_t n = std::min(prefix.size(), kH2Preface.size());
  if (std::equal(prefix.begin(), prefix.begin() + static_cast<std::ptrdiff_t>(n),
                 kH2Preface.begin())) {
    // "PRI" is also a method token: only the full preface settles it.
    return n == kH2Preface.size() ? Protocol::Http2 : Protocol::Undecided;
  }
  return detect_http1(prefix);
}

Protocol declared_protocol(std::string_view app_protocol) {
  if (app_protocol == "http") {
    return Protocol::Http1;
  }
  if (app_protocol == "http2" || app_protocol == "grpc" || app_protocol == "kubernetes.io/h2c") {
    return Protocol::Http2;
  }
  // Any other declared protocol (tcp, mysql, redis, tls...) is not HTTP: trusted, no wait.
  return app_protocol.empty() ? Protocol::Undecided : Protocol::Opaque;
}

std::string_view protocol_name(Protocol p) {
  switch (p) {
    case Protocol::Http1:
      return "http";
    case Protocol::Http2:
      return "http2";
    case Protocol::Opaque:
      return "tcp";
    case Protocol::Undecided:
      break;
  }
  return "undecided";
}

}  // namespace weft::l7
