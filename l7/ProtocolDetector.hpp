// Which protocol an app speaks on a new outbound connection, read from its first bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace weft::l7 {

enum class Protocol {
  Undecided,  ///< the bytes so far fit HTTP/1.x or HTTP/2: read more
  Http1,      ///< an HTTP/1.0 or HTTP/1.1 request line
  Http2,      ///< the HTTP/2 client connection preface ("prior knowledge", h2c)
  Opaque,     ///< anything else (TLS from the app, a database protocol): carried as TCP
};

/// The longest prefix detection ever needs: a request line longer than this is taken as HTTP/1
/// when it started like one (the HTTP/1 parser then refuses it with 414), else as opaque.
inline constexpr std::size_t kMaxDetectionBytes = 8192;

/// Classifies `prefix`, the first bytes the app sent. Never reads past kMaxDetectionBytes.
Protocol detect_protocol(std::span<const uint8_t> prefix);

/// What a Service port's `appProtocol` declares, so detection can be skipped: `http` (HTTP/1),
/// `http2`, `grpc` or `kubernetes.io/h2c` (HTTP/2 prior knowledge); any other value (`tcp`,
/// `mysql`, `tls`...) is opaque. Undecided only when it is empty: detect from the bytes.
Protocol declared_protocol(std::string_view app_protocol);

std::string_view protocol_name(Protocol p);

}  // namespace weft::l7
