#include "l7/Http1Parser.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::l7 {
namespace {

/// Records events as text ("head", "body:<bytes>" with adjacent bodies merged, "trailers",
/// "end") and keeps the heads and trailers.
struct Recorder final : Http1Parser::Handler {
  std::vector<std::string> events;
  std::vector<Http1Head> heads;
  std::vector<Headers> trailers;
  std::function<void(const Http1Head&)> head_hook;

  void on_head(Http1Head head) override {
    events.emplace_back("head");
    heads.push_back(std::move(head));
    if (head_hook) {
      head_hook(heads.back());
    }
  }
  void on_body(std::span<const uint8_t> data) override {
    std::string_view bytes(reinterpret_cast<const char*>(data.data()), data.size());
    if (events.empty() || !events.back().starts_with("body:")) {
      events.emplace_back("body:");
    }
    events.back().append(bytes);
  }
  void on_trailers(Headers t) override {
    events.emplace_back("trailers");
    trailers.push_back(std::move(t));
  }
  void on_message_end() override { events.emplace_back("end"); }
};

std::expected<std::size_t, Http1Error> feed(Http1Parser& parser, std::string_view bytes) {
  return parser.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

struct Outcome {
  std::vector<std::string> events;
  std::vector<Http1Head> heads;
  std::vector<Headers> trailers;
  std::optional<Http1Error> error;
  std::size_t consumed = 0;  ///< where parsing stopped for good (error, upgrade or the end)
};

/// Parses `input` handed over `step` bytes at a time (0: all at once), feeding again whatever
/// a message end left unconsumed, as a connection would; then finish() unless `keep_open`.
Outcome run(Http1Parser::Kind kind, std::string_view input, std::size_t step = 0,
            const Http1Limits& limits = {}, bool keep_open = false) {
  Recorder rec;
  Http1Parser parser(kind, rec, limits);
  Outcome out;
  std::size_t pos = 0;
  std::size_t avail = step == 0 ? input.size() : std::min(step, input.size());
  while (pos < input.size()) {
    auto r = feed(parser, input.substr(pos, avail - pos));
    if (!r) {
      out.error = r.error();
      break;
    }
    pos += *r;
    if (!rec.heads.empty() && rec.heads.back().upgrade && !rec.events.empty() &&
        rec.events.back() == "end") {
      break;  // the rest is not HTTP
    }
    if (pos == avail) {
      avail = step == 0 ? input.size() : std::min(avail + step, input.size());
    }
  }
  if (!out.error && !keep_open) {
    if (auto r = parser.finish(); !r) {
      out.error = r.error();
    }
  }
  out.consumed = pos;
  out.events = rec.events;
  out.heads = rec.heads;
  out.trailers = rec.trailers;
  return out;
}

Outcome request(std::string_view input, std::size_t step = 0, const Http1Limits& limits = {}) {
  return run(Http1Parser::Kind::Request, input, step, limits);
}

Outcome response(std::string_view input, std::size_t step = 0) {
  return run(Http1Parser::Kind::Response, input, step);
}

/// The status a request is refused with, or 0.
int refused(std::string_view input, const Http1Limits& limits = {}) {
  Outcome whole = request(input, 0, limits);
  Outcome bytewise = request(input, 1, limits);
  // However the bytes arrive, the same verdict.
  CHECK(whole.error.has_value() == bytewise.error.has_value());
  if (whole.error && bytewise.error) {
    CHECK(whole.error->status == bytewise.error->status);
    CHECK(whole.error->reason == bytewise.error->reason);
  }
  return whole.error ? whole.error->status : 0;
}

/// Why a request is refused ("" if it is not).
std::string reason(std::string_view input) {
  Outcome out = request(input);
  return out.error ? out.error->reason : "";
}

std::string with_head(std::string_view fields, std::string_view rest = "") {
  return "POST /p HTTP/1.1\r\nHost: svc\r\n" + std::string(fields) + "\r\n" + std::string(rest);
}

TEST_CASE("a request head: method, target, version, fields lower-cased in order") {
  Outcome out = request(
      "GET /a/b?c=d HTTP/1.1\r\nHost: svc:8080\r\nX-Trace: one \r\nAccept: */*\r\n"
      "x-trace: two\r\nEmpty:\r\n\r\n");
  REQUIRE_FALSE(out.error);
  CHECK(out.events == std::vector<std::string>{"head", "end"});
  REQUIRE(out.heads.size() == 1);
  const Http1Head& h = out.heads[0];
  CHECK(h.method == "GET");
  CHECK(h.target == "/a/b?c=d");
  CHECK(h.status == 0);
  CHECK(h.version_minor == 1);
  REQUIRE(h.headers.size() == 5);
  CHECK(h.headers[0].name == "host");
  CHECK(h.headers[0].value == "svc:8080");
  CHECK(h.headers[1].name == "x-trace");
  CHECK(h.headers[1].value == "one");  // optional whitespace around the value is not the value
  CHECK(h.headers[2].name == "accept");
  CHECK(h.headers[3].name == "x-trace");
  CHECK(h.headers[3].value == "two");
  CHECK(h.headers[4].name == "empty");
  CHECK(h.headers[4].value.empty());
  CHECK(h.keep_alive);
  CHECK_FALSE(h.chunked);
  CHECK_FALSE(h.content_length);
  CHECK_FALSE(h.upgrade);
  CHECK_FALSE(h.expect_continue);
  CHECK_FALSE(h.has_body());
}

TEST_CASE("absolute-form, asterisk-form and authority-form (CONNECT) targets are kept as sent") {
  Outcome abs = request("GET http://svc.ns:80/x?y HTTP/1.1\r\nHost: svc.ns\r\n\r\n");
  REQUIRE_FALSE(abs.error);
  CHECK(abs.heads[0].target == "http://svc.ns:80/x?y");
  Outcome star = request("OPTIONS * HTTP/1.1\r\nHost: svc\r\n\r\n");
  REQUIRE_FALSE(star.error);
  CHECK(star.heads[0].target == "*");
  Outcome connect = request("CONNECT svc.ns:443 HTTP/1.1\r\nHost: svc.ns:443\r\n\r\nTLS...");
  REQUIRE_FALSE(connect.error);
  CHECK(connect.heads[0].method == "CONNECT");
  CHECK(connect.heads[0].target == "svc.ns:443");
  CHECK(connect.heads[0].upgrade);
  CHECK(connect.consumed == std::string_view("CONNECT svc.ns:443 HTTP/1.1\r\n"
                                             "Host: svc.ns:443\r\n\r\n")
                                .size());
  CHECK(refused("CONNECT /path HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(refused("CONNECT svc.ns HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("a Content-Length body is delivered and ends the message") {
  Outcome out = request(with_head("Content-Length: 5\r\n", "hello"));
  REQUIRE_FALSE(out.error);
  CHECK(out.events == std::vector<std::string>{"head", "body:hello", "end"});
  CHECK(out.heads[0].content_length == 5u);
  CHECK(out.heads[0].has_body());
  Outcome empty = request(with_head("Content-Length: 0\r\n"));
  CHECK(empty.events == std::vector<std::string>{"head", "end"});
  CHECK(empty.heads[0].content_length == 0u);
  CHECK_FALSE(empty.heads[0].has_body());
}

TEST_CASE("a chunked body with extensions and trailers") {
  std::string input = with_head("Transfer-Encoding: chunked\r\n",
                                "5\r\nhello\r\n"
                                "6;name=value;quoted=\"a \\\" b\" ; flag\r\n world\r\n"
                                "0\r\ngrpc-status: 0\r\nGrpc-Message: ok \r\n\r\n");
  Outcome out = request(input);
  REQUIRE_FALSE(out.error);
  CHECK(out.events == std::vector<std::string>{"head", "body:hello world", "trailers", "end"});
  CHECK(out.heads[0].chunked);
  CHECK(out.heads[0].has_body());
  REQUIRE(out.trailers.size() == 1);
  REQUIRE(out.trailers[0].size() == 2);
  CHECK(out.trailers[0][0].name == "grpc-status");
  CHECK(out.trailers[0][0].value == "0");
  CHECK(out.trailers[0][1].name == "grpc-message");
  CHECK(out.trailers[0][1].value == "ok");
  CHECK(out.consumed == input.size());

  // No trailer fields: on_trailers is not called.
  Outcome bare = request(with_head("Transfer-Encoding: Chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"));
  REQUIRE_FALSE(bare.error);
  CHECK(bare.events == std::vector<std::string>{"head", "body:abc", "end"});
}

TEST_CASE("framing fields in trailers are refused") {
  for (std::string_view field : {"Content-Length: 3", "Transfer-Encoding: chunked",
                                 "Connection: close", "Host: other", "Upgrade: x"}) {
    CAPTURE(field);
    std::string trailer = "0\r\n" + std::string(field) + "\r\n\r\n";
    CHECK(refused(with_head("Transfer-Encoding: chunked\r\n", "1\r\na\r\n" + trailer)) == 400);
  }
}

TEST_CASE("pipelined requests: each feed stops right after a message") {
  std::string first = with_head("Content-Length: 3\r\n", "abc");
  std::string second = "GET /two HTTP/1.1\r\nHost: svc\r\n\r\n";
  std::string both = first + second;
  Recorder rec;
  Http1Parser parser(Http1Parser::Kind::Request, rec);
  auto r = feed(parser, both);
  REQUIRE(r);
  CHECK(*r == first.size());
  CHECK(rec.events == std::vector<std::string>{"head", "body:abc", "end"});
  CHECK_FALSE(parser.in_message());
  r = feed(parser, std::string_view(both).substr(*r));
  REQUIRE(r);
  CHECK(*r == second.size());
  CHECK(rec.events.size() == 5);
  CHECK(rec.heads[1].target == "/two");
  // A partial message is consumed and remembered.
  r = feed(parser, "GET / HT");
  REQUIRE(r);
  CHECK(*r == 8);
  CHECK(parser.in_message());
  CHECK_FALSE(parser.finish());  // cut short
}

TEST_CASE("buffers released between messages, never inside one") {
  Recorder rec;
  Http1Parser parser(Http1Parser::Kind::Request, rec);
  std::string chunked =
      "POST /a-rather-long-target-to-keep-the-start-line-off-the-stack HTTP/1.1\r\n"
      "Host: svc\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-sum: 1\r\n\r\n";
  REQUIRE(feed(parser, chunked));
  parser.release_buffers();  // idle: the next message parses as before
  REQUIRE(feed(parser, chunked.substr(0, 40)));
  CHECK(parser.in_message());
  parser.release_buffers();  // inside a message: nothing is dropped
  REQUIRE(feed(parser, chunked.substr(40)));
  CHECK(rec.events == std::vector<std::string>{"head", "body:abc", "trailers", "end", "head",
                                               "body:abc", "trailers", "end"});
  CHECK(rec.heads[1].target == rec.heads[0].target);
  REQUIRE(rec.trailers[1].size() == 1);
  CHECK(rec.trailers[1][0].value == "1");
}

TEST_CASE("feeding byte by byte gives the same events as one feed") {
  std::vector<std::string> requests = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      with_head("Content-Length: 11\r\n", "hello world") + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n",
      with_head("Transfer-Encoding: chunked\r\n",
                "5;a=b\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-t: 1\r\n\r\n") +
          "\r\nDELETE /x HTTP/1.0\r\n\r\n",
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05",
  };
  for (const std::string& input : requests) {
    CAPTURE(input);
    Outcome whole = request(input);
    for (std::size_t step : {1, 2, 7}) {
      Outcome split = request(input, step);
      CHECK_FALSE(whole.error);
      CHECK_FALSE(split.error);
      CHECK(split.events == whole.events);
      CHECK(split.consumed == whole.consumed);
      REQUIRE(split.heads.size() == whole.heads.size());
      for (std::size_t i = 0; i < whole.heads.size(); ++i) {
        CHECK(split.heads[i].target == whole.heads[i].target);
        CHECK(split.heads[i].headers.size() == whole.heads[i].headers.size());
      }
    }
  }
  std::string responses =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil close";
  Outcome whole = response(responses);
  REQUIRE_FALSE(whole.error);
  CHECK(whole.events == std::vector<std::string>{"head", "end", "head", "body:abc", "end", "head",
                                                 "end", "head", "body:until close", "end"});
  CHECK(response(responses, 1).events == whole.events);
}

TEST_CASE("Content-Length and Transfer-Encoding together are refused (CL.TE, TE.CL)") {
  CHECK(refused(with_head("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nX")) ==
        400);
  CHECK(refused(with_head("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                          "8\r\nSMUGGLED\r\n0\r\n\r\n")) == 400);
  CHECK(refused(with_head("Transfer-Encoding: gzip\r\nContent-Length: 3\r\n", "abc")) == 400);
}

TEST_CASE("repeated or malformed Content-Length is refused") {
  CHECK(refused(with_head("Content-Length: 3\r\nContent-Length: 3\r\n", "abc")) == 400);
  CHECK(refused(with_head("Content-Length: 3\r\nContent-Length: 4\r\n", "abcd")) == 400);
  CHECK(refused(with_head("Content-Length: 3, 3\r\n", "abc")) == 400);
  CHECK(refused(with_head("Content-Length: +3\r\n", "abc")) == 400);
  CHECK(refused(with_head("Content-Length: 0x3\r\n", "abc")) == 400);
  CHECK(refused(with_head("Content-Length: 1 2\r\n", "abc")) == 400);
  CHECK(refused(with_head("Content-Length:\r\n")) == 400);
  CHECK(refused(with_head("Content-Length: 99999999999999999999999\r\n")) == 400);
  CHECK(refused(with_head("Content-Length: 3 \r\n", "abc")) == 0);  // trailing OWS
}

TEST_CASE("a request's Transfer-Encoding must be exactly chunked (400 off-grammar, 501 codings)") {
  auto te = [](std::string_view value) {
    return refused(with_head("Transfer-Encoding: " + std::string(value) + "\r\n", "0\r\n\r\n"));
  };
  CHECK(te("chunked") == 0);
  CHECK(te("CHUNKED") == 0);
  CHECK(te("gzip") == 400);  // chunked is not last: no way to find the end
  CHECK(te("chunked, gzip") == 400);
  CHECK(te("xchunked") == 400);
  CHECK(te("chunkedx") == 400);
  CHECK(te("chunked ") == 400);  // http-parser takes this as chunked
  CHECK(te("chunked\t") == 400);
  CHECK(te("chunked , gzip") == 400);
  CHECK(te("chunked, chunked") == 400);  // http-parser takes this as chunked
  CHECK(te("chunked;q=1") == 400);
  CHECK(te(", chunked") == 400);
  CHECK(te("\"chunked\"") == 400);
  CHECK(te("gzip, chunked") == 501);  // well-formed, but the agent decodes no coding
  CHECK(te("identity") == 400);
  // Two fields are one list: chunked then gzip leaves gzip last.
  CHECK(refused(with_head("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
                          "0\r\n\r\n")) == 400);
  CHECK(refused(with_head("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                          "0\r\n\r\n")) == 501);
  CHECK(refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
}

TEST_CASE("Debian's http-parser is built without HTTP_PARSER_STRICT: what it lets through") {
  // Any two bytes after chunk data pass as its CRLF there; here they would start a chunk 0xa5.
  CHECK(reason(with_head("Transfer-Encoding: chunked\r\n", "5\r\nhello0a5\r\n")) ==
        "chunk data not followed by CRLF");
  // Any byte after the CR that ends the head passes as its LF.
  CHECK(reason("GET / HTTP/1.1\r\nHost: a\r\n\rX") == "CR not followed by LF");
  // SP is a field-name character.
  CHECK(reason("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == "invalid character in a field name");
  // "HTTP" is not checked after its H, and the target takes HT and bytes past 0x7f.
  CHECK(refused("GET / HXXX/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(reason("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n") ==
        "invalid character in the request-target");
  CHECK(refused("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  // It never refuses a message after Connection: close.
  CHECK(reason("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n") ==
        "bytes after a message that closed the connection");
}

TEST_CASE("bad chunk sizes and chunk lines are refused") {
  auto chunked = [](std::string_view body) {
    return refused(with_head("Transfer-Encoding: chunked\r\n", body));
  };
  CHECK(chunked("5\r\nhello\r\n0\r\n\r\n") == 0);
  CHECK(chunked("zz\r\nhello\r\n0\r\n\r\n") == 400);
  CHECK(chunked("-5\r\nhello\r\n0\r\n\r\n") == 400);
  CHECK(chunked("fffffffffffffffff1\r\nhello\r\n0\r\n\r\n") == 400);  // overflows 64 bits
  CHECK(chunked("5\r\nhelloX0\r\n\r\n") == 400);                      // data not followed by CRLF
  CHECK(chunked("5\r\nhello\n0\r\n\r\n") == 400);
  CHECK(chunked("5\nhello\r\n0\r\n\r\n") == 400);
  CHECK(chunked("5 junk\r\nhello\r\n0\r\n\r\n") == 400);  // http-parser skips anything after SP
  CHECK(chunked("5 \r\nhello\r\n0\r\n\r\n") == 400);
  CHECK(chunked("5;a\nb\r\nhello\r\n0\r\n\r\n") == 400);  // a bare LF in an extension
  CHECK(chunked("5;a=\"open\r\nhello\r\n0\r\n\r\n") == 400);
  CHECK(chunked("5;=v\r\nhello\r\n0\r\n\r\n") == 400);
  CHECK(chunked("5;" + std::string(5000, 'a') + "\r\nhello\r\n0\r\n\r\n") == 400);
  CHECK(chunked("\r\n5\r\nhello\r\n0\r\n\r\n") == 400);
}

TEST_CASE("a head over max_head_bytes or with too many fields is refused with 431") {
  std::string big = with_head("X-Big: " + std::string(100 * 1024, 'a') + "\r\n");
  CHECK(refused(big) == 431);

  Http1Limits small;
  small.max_head_bytes = 64;
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  head += "X: " + std::string(64 - head.size() - 7, 'b') + "\r\n\r\n";
  REQUIRE(head.size() == 64);
  CHECK(refused(head, small) == 0);
  CHECK(refused("\r\n" + head, small) == 431);  // empty lines before it count
  head.insert(20, "b");
  CHECK(refused(head, small) == 431);

  Http1Limits few;
  few.max_headers = 3;
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", few) == 0);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", few) == 431);
  // The limits hold for trailers too.
  CHECK(refused(with_head("Transfer-Encoding: chunked\r\n",
                          "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
                few) == 431);
  CHECK(refused(with_head("Transfer-Encoding: chunked\r\n",
                          "0\r\nA: " + std::string(100 * 1024, 'a') + "\r\n\r\n")) == 431);
}

TEST_CASE("a request-target over max_target_bytes is refused with 414") {
  CHECK(refused("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n") == 414);
  CHECK(refused("GET /" + std::string(8000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
}

TEST_CASE("bare CR or LF, obs-fold, and bad field names are refused") {
  CHECK(refused("GET / HTTP/1.1\nHost: a\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\n\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\rX: y\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n") == 400);  // obs-fold
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);  // space before the colon
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nX\x01: 1\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n") == 400);
  CHECK(refused(std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 36)) == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n") == 0);  // obs-text
}

TEST_CASE("the request line: single spaces, a known method, HTTP/1.x") {
  CHECK(refused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(refused("GET /  HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == 400);
  CHECK(refused("get / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(refused("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(refused("GET /\r\n\r\n") == 400);  // HTTP/0.9
  CHECK(refused("SOURCE / ICE/1.0\r\n\r\n") == 400);
  CHECK(refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 400);              // the HTTP/2 preface
  CHECK(refused("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") == 400);  // TLS
  CHECK(refused(std::string(4, '\0')) == 400);
  CHECK(refused("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);  // empty lines first
}

TEST_CASE("Host: exactly one in HTTP/1.1, at most one in HTTP/1.0") {
  CHECK(refused("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(refused("GET / HTTP/1.0\r\n\r\n") == 0);
  CHECK(refused("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("keep-alive: HTTP/1.1 by default, HTTP/1.0 when asked, never after Connection: close") {
  CHECK(request("GET / HTTP/1.1\r\nHost: a\r\n\r\n").heads[0].keep_alive);
  CHECK_FALSE(
      request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").heads[0].keep_alive);
  CHECK_FALSE(
      request("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n").heads[0].keep_alive);
  Outcome old = request("GET / HTTP/1.0\r\n\r\n");
  CHECK(old.heads[0].version_minor == 0);
  CHECK_FALSE(old.heads[0].keep_alive);
  CHECK(request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").heads[0].keep_alive);
  // Another request after one that closes the connection is refused.
  Outcome after = request(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(after.heads.size() == 1);
  REQUIRE(after.error);
  CHECK(after.error->status == 400);
}

TEST_CASE("Expect: 100-continue is flagged (HTTP/1.1 only)") {
  Outcome out = request(with_head("Expect: 100-Continue\r\nContent-Length: 2\r\n", "ok"));
  REQUIRE_FALSE(out.error);
  CHECK(out.heads[0].expect_continue);
  CHECK_FALSE(request(with_head("Content-Length: 0\r\n")).heads[0].expect_continue);
  CHECK_FALSE(request("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").heads[0].expect_continue);
}

TEST_CASE("an Upgrade request stops parsing after its head; the rest is the caller's") {
  std::string head =
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  std::string frames = "\x81\x05hello GET / HTTP/1.1\r\n";
  Recorder rec;
  Http1Parser parser(Http1Parser::Kind::Request, rec);
  auto r = feed(parser, head + frames);
  REQUIRE(r);
  CHECK(*r == head.size());
  CHECK(rec.events == std::vector<std::string>{"head", "end"});
  CHECK(rec.heads[0].upgrade);
  CHECK_FALSE(parser.in_message());
  // Upgrade without Connection: upgrade is only an announcement.
  CHECK_FALSE(request("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n").heads[0].upgrade);
}

TEST_CASE("responses: 1xx heads, 101, 204 and 304 without bodies") {
  Outcome cont =
      response("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  REQUIRE_FALSE(cont.error);
  CHECK(cont.events == std::vector<std::string>{"head", "end", "head", "body:ok", "end"});
  CHECK(cont.heads[0].status == 100);
  CHECK(cont.heads[0].no_body);
  CHECK_FALSE(cont.heads[0].has_body());
  CHECK(cont.heads[1].status == 200);
  CHECK(cont.heads[1].has_body());

  std::string switching =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  Recorder rec;
  Http1Parser parser(Http1Parser::Kind::Response, rec);
  auto r = feed(parser, switching + "\x81\x02hi");
  REQUIRE(r);
  CHECK(*r == switching.size());
  CHECK(rec.events == std::vector<std::string>{"head", "end"});
  CHECK(rec.heads[0].upgrade);

  // Whatever their headers say, 204 and 304 end with the head.
  Outcome none = response(
      "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  REQUIRE_FALSE(none.error);
  CHECK(none.events == std::vector<std::string>{"head", "end", "head", "end", "head", "end"});
  CHECK(none.heads[0].content_length == 5u);
  CHECK_FALSE(none.heads[0].has_body());
  CHECK_FALSE(none.heads[1].has_body());
}

TEST_CASE("a response without framing runs until the server closes") {
  std::string input = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it";
  Outcome out = response(input);
  REQUIRE_FALSE(out.error);
  CHECK(out.events == std::vector<std::string>{"head", "body:all of it", "end"});
  CHECK(out.heads[0].has_body());
  CHECK_FALSE(out.heads[0].keep_alive);

  Outcome open = run(Http1Parser::Kind::Response, input, 0, {}, true);
  CHECK(open.events == std::vector<std::string>{"head", "body:all of it"});

  // A response with Transfer-Encoding but without chunked also runs until close.
  Outcome gzip = response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b");
  REQUIRE_FALSE(gzip.error);
  CHECK(gzip.events == std::vector<std::string>{"head", "body:\x1f\x8b", "end"});

  // A response cut short is an error.
  Outcome cut = response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
  REQUIRE(cut.error);
  CHECK(cut.error->status == 502);
}

TEST_CASE("expect_no_body: a response to HEAD, or to CONNECT from on_head") {
  Recorder rec;
  Http1Parser parser(Http1Parser::Kind::Response, rec);
  parser.expect_no_body();
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  auto r = feed(parser, head + next);
  REQUIRE(r);
  CHECK(*r == head.size());
  CHECK(rec.heads[0].content_length == 10u);
  CHECK(rec.heads[0].no_body);
  CHECK_FALSE(rec.heads[0].has_body());
  CHECK(rec.heads[0].keep_alive);
  r = feed(parser, next);  // the flag was for one response only
  REQUIRE(r);
  CHECK(*r == next.size());
  CHECK(rec.events == std::vector<std::string>{"head", "end", "head", "body:ok", "end"});

  // An interim response does not use it up.
  Outcome interim = [] {
    Recorder rec2;
    Http1Parser p2(Http1Parser::Kind::Response, rec2);
    p2.expect_no_body();
    std::string in =
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    auto a = feed(p2, in);
    auto b = feed(p2, std::string_view(in).substr(*a));
    Outcome o;
    o.events = rec2.events;
    o.consumed = *a + *b;
    return o;
  }();
  CHECK(interim.events == std::vector<std::string>{"head", "end", "head", "end"});

  Recorder tunnel;
  Http1Parser connect(Http1Parser::Kind::Response, tunnel);
  tunnel.head_hook = [&](const Http1Head& h) {
    if (h.status / 100 == 2) {
      connect.expect_no_body();
    }
  };
  std::string established = "HTTP/1.1 200 Connection Established\r\n\r\n";
  r = feed(connect, established + "\x16\x03\x01");
  REQUIRE(r);
  CHECK(*r == established.size());
  CHECK(tunnel.events == std::vector<std::string>{"head", "end"});
}

TEST_CASE("a malformed response is answered with 502") {
  auto status = [](std::string_view in) {
    Outcome out = response(in);
    return out.error ? out.error->status : 0;
  };
  CHECK(status("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 502);
  CHECK(status("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        502);
  CHECK(status("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") == 502);
  CHECK(status("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n") == 502);
  CHECK(status("HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n") == 502);
  CHECK(status("HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n") == 502);
  CHECK(status("HTTP/1.1 700 Odd\r\nContent-Length: 0\r\n\r\n") == 502);
  CHECK(status("HTTP/2 200\r\n\r\n") == 502);
  CHECK(status("SSH-2.0-OpenSSH\r\n") == 502);
  CHECK(status("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == 0);  // no reason phrase
  CHECK(status("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n") == 0);
  CHECK(status("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n") == 0);
}

TEST_CASE("errors are final") {
  Recorder rec;
  Http1Parser parser(Http1Parser::Kind::Request, rec);
  auto r = feed(parser, "GET / HTTP/1.1\nHost: a\r\n\r\n");
  REQUIRE_FALSE(r);
  CHECK(r.error().status == 400);
  CHECK_FALSE(r.error().reason.empty());
  auto again = feed(parser, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE_FALSE(again);
  CHECK(again.error().reason == r.error().reason);
  CHECK(rec.events.empty());
  CHECK_FALSE(parser.finish());
}

}  // namespace
}  // namespace weft::l7
