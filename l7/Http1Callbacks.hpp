// The libhttp-parser callbacks that drive an Http1Parser (internal header: it includes
// <http_parser.h>, which the agent's headers keep out).
#pragma once

#include <http_parser.h>

#include <cstddef>

namespace weft::l7 {

/// The libhttp-parser callbacks: each finds its Http1Parser in parser->data. Data callbacks see
/// pointers into the caller's bytes, so what is kept is copied. A friend of Http1Parser.
struct Http1Callbacks {
  static int message_begin(http_parser* p);
  static int url(http_parser* p, const char* at, std::size_t len);
  static int header_field(http_parser* p, const char* at, std::size_t len);
  static int header_value(http_parser* p, const char* at, std::size_t len);
  /// Pauses so that feed() checks the head before anyone sees it. The return value tells
  /// http-parser whether a body can follow: 1 none, 2 none and no more HTTP (101).
  static int headers_complete(http_parser* p);
  static int body(http_parser* p, const char* at, std::size_t len);
  static int chunk_header(http_parser* p);
  /// After the CRLF that ends a chunk's data; also (not paused) at the end of the trailers.
  static int chunk_complete(http_parser* p);
  static int message_complete(http_parser* p);

  /// All of the above, for http_parser_execute().
  static const http_parser_settings kSettings;
};

}  // namespace weft::l7
