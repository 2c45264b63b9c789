// Between HTTP/1.1 messages and the HTTP/2 form exchanges work in: a request or response head
// as pseudo-headers plus fields, and the bytes that frame a body on an HTTP/1.1 connection.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "l7/Headers.hpp"
#include "l7/Http1Parser.hpp"

namespace weft::l7 {

/// A request head as HTTP/2 states it (RFC 9113 §8.3.1): :method, :scheme "http", :authority
/// (from the absolute-form target, else Host), :path, then the fields without the
/// connection-specific ones (Connection and what it names, Keep-Alive, Proxy-Connection,
/// Transfer-Encoding, Upgrade, Host; TE except "trailers"). Names are already lower case.
Headers request_to_h2(Http1Head&& head);

/// A response head as HTTP/2 states it: :status, then the fields without connection-specific
/// ones.
Headers response_to_h2(Http1Head&& head);

/// How a body is framed on an HTTP/1.1 connection.
enum class Http1Framing {
  None,           ///< no body
  ContentLength,  ///< the head carries Content-Length: the bytes as they are
  Chunked,        ///< Transfer-Encoding: chunked (and trailers, if any)
  UntilClose,     ///< HTTP/1.0 peer: the body ends when the connection closes
};

/// Appends "METHOD path HTTP/1.1" and the fields of an HTTP/2-form request head to `out`;
/// Host from :authority. A body without Content-Length is sent chunked (`framing` says which).
void append_request_head(std::string& out, const Headers& head, bool has_body,
                         Http1Framing& framing);

/// Appends "HTTP/1.1 <status> <reason>" and the fields of an HTTP/2-form response head to
/// `out`. A body without Content-Length is chunked for an HTTP/1.1 client and close-delimited
/// for HTTP/1.0; `close` adds "connection: close". Informational heads (1xx) carry no framing.
void append_response_head(std::string& out, const Headers& head, bool has_body,
                          bool request_was_head, int client_version_minor, bool close,
                          Http1Framing& framing);

/// Appends `data` framed as `framing` to `out`.
void append_body(std::string& out, Http1Framing framing, std::span<const uint8_t> data);
/// Appends the end of a body: the last chunk and trailers (chunked), nothing otherwise.
void append_body_end(std::string& out, Http1Framing framing, const Headers& trailers);

/// The standard reason phrase of `status` ("OK", "Not Found", ...; "Unknown" otherwise).
std::string_view reason_phrase(int status);

}  // namespace weft::l7
