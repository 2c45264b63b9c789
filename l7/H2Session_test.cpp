#include "l7/H2Session.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace weft::l7 {
namespace {

/// A stream owner that records what it is told and sends a fixed body (and trailers).
struct Recorder final : H2Stream {
  Headers head;
  Headers trailers_in;
  std::string data;
  bool ended = false;
  std::optional<uint32_t> closed;
  std::string body_out;
  std::size_t sent = 0;
  Headers trailers_out;

  void on_headers(Headers headers, bool end_stream) override {
    (head.empty() ? head : trailers_in) = std::move(headers);
    ended = ended || end_stream;
  }
  void on_data(std::span<const uint8_t> d) override {
    data.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  void on_end_stream() override { ended = true; }
  void on_close(uint32_t error_code) override { closed = error_code; }
  BodyChunk read_body(uint8_t* out, std::size_t max) override {
    std::size_t n = std::min(max, body_out.size() - sent);
    std::copy_n(body_out.data() + sent, n, out);
    sent += n;
    if (sent < body_out.size()) {
      return {n, BodyChunk::State::More};
    }
    return {n, trailers_out.empty() ? BodyChunk::State::End : BodyChunk::State::Trailers};
  }
  Headers trailers() override { return trailers_out; }
};

struct Server final : H2Session::Acceptor {
  std::map<int32_t, std::unique_ptr<Recorder>> streams;
  H2Stream* accept_stream(int32_t id, const Headers& /*head*/, bool /*end_stream*/) override {
    return (streams[id] = std::make_unique<Recorder>()).get();
  }
};

/// Moves frames between the two sessions until neither has anything to say.
void pump(H2Session& client, H2Session& server) {
  for (int round = 0; round < 100; ++round) {
    std::vector<uint8_t> c2s;
    std::vector<uint8_t> s2c;
    REQUIRE(client.produce(c2s));
    REQUIRE(server.receive(c2s));
    REQUIRE(server.produce(s2c));
    REQUIRE(client.receive(s2c));
    if (c2s.empty() && s2c.empty()) {
      return;
    }
  }
  FAIL("the sessions never went quiet");
}

Headers request(std::string path) {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":authority", "svc"},
          {":path", std::move(path)},
          {"content-type", "application/grpc"}};
}

TEST_CASE("a request and a response travel with bodies and trailers (gRPC's shape)") {
  Server acceptor;
  H2Session server(H2Session::Role::Server, H2Limits{}, &acceptor);
  H2Session client(H2Session::Role::Client, H2Limits{});
  Recorder call;
  call.body_out = "hello";
  int32_t id = client.submit_request(request("/echo.Echo/Say"), true, &call);
  REQUIRE(id > 0);
  pump(client, server);
  REQUIRE(acceptor.streams.count(id) == 1);
  Recorder& handled = *acceptor.streams[id];
  CHECK(*find_header(handled.head, ":path") == "/echo.Echo/Say");
  CHECK(handled.data == "hello");
  CHECK(handled.ended);
  server.consume(id, handled.data.size());

  handled.body_out = "world";
  handled.trailers_out = {{"grpc-status", "0"}};
  REQUIRE(server.submit_response(id, {{":status", "200"}}, true) == 0);
  pump(client, server);
  CHECK(*find_header(call.head, ":status") == "200");
  CHECK(call.data == "world");
  CHECK(*find_header(call.trailers_in, "grpc-status") == "0");
  CHECK(call.ended);
  CHECK(call.closed == NGHTTP2_NO_ERROR);
  CHECK(handled.closed == NGHTTP2_NO_ERROR);
  CHECK(client.stream_count() == 0);
}

TEST_CASE("window opens only as the receiver consumes") {
  Server acceptor;
  H2Limits small;
  small.stream_window = 16384;
  small.connection_window = 65535;
  H2Session server(H2Session::Role::Server, small, &acceptor);
  H2Session client(H2Session::Role::Client, H2Limits{});
  pump(client, server);  // SETTINGS first: before them a sender may use the default 64 KiB
  Recorder call;
  call.body_out = std::string(100000, 'x');
  int32_t id = client.submit_request(request("/big"), true, &call);
  pump(client, server);
  Recorder& handled = *acceptor.streams[id];
  CHECK(handled.data.size() == 16384);
  CHECK_FALSE(handled.ended);
  std::size_t consumed = 0;
  while (!handled.ended) {
    std::size_t before = handled.data.size();
    server.consume(id, before - consumed);
    consumed = before;
    pump(client, server);
    REQUIRE(handled.data.size() > before);
  }
  CHECK(handled.data == call.body_out);
}

TEST_CASE("a reset reaches the other side's owner") {
  Server acceptor;
  H2Session server(H2Session::Role::Server, H2Limits{}, &acceptor);
  H2Session client(H2Session::Role::Client, H2Limits{});
  Recorder call;
  int32_t id = client.submit_request(request("/slow"), true, &call);
  call.body_out = "partial";
  pump(client, server);
  client.reset(id, NGHTTP2_CANCEL);
  pump(client, server);
  CHECK(call.closed == NGHTTP2_CANCEL);
  CHECK(acceptor.streams[id]->closed == NGHTTP2_CANCEL);
}

TEST_CASE("a header list over the limit is answered 431, the connection lives on") {
  Server acceptor;
  H2Limits limits;
  limits.max_header_list = 4096;
  H2Session server(H2Session::Role::Server, limits, &acceptor);
  H2Session client(H2Session::Role::Client, H2Limits{});
  Headers big = request("/big-headers");
  big.push_back({"x-filler", std::string(8000, 'a')});
  Recorder call;
  int32_t id = client.submit_request(big, false, &call);
  pump(client, server);
  CHECK(*find_header(call.head, ":status") == "431");
  CHECK(acceptor.streams.count(id) == 0);  // nobody was asked to own the oversized request

  Recorder second;
  int32_t id2 = client.submit_request(request("/small"), false, &second);
  pump(client, server);
  CHECK(*find_header(acceptor.streams[id2]->head, ":path") == "/small");
}

TEST_CASE("a connection that does not start with the preface is a protocol error") {
  Server acceptor;
  H2Session server(H2Session::Role::Server, H2Limits{}, &acceptor);
  std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  auto r = server.receive({reinterpret_cast<const uint8_t*>(junk.data()), junk.size()});
  CHECK_FALSE(r);
  std::vector<uint8_t> out;
  CHECK(server.produce(out));
  CHECK_FALSE(server.alive());
}

TEST_CASE("answers that end before their owners consume them give the connection window back") {
  // The proxy's case: a small answer arrives whole in one read and its stream closes before
  // the other side of the exchange has passed the body on (and consumed it).
  H2Limits small;
  small.connection_window = 64 * 1024;
  H2Session client(H2Session::Role::Client, small);
  Server acceptor;
  H2Session server(H2Session::Role::Server, H2Limits{}, &acceptor);
  constexpr int kAnswers = 200;  // 200 KiB of answers through a 64 KiB connection window
  std::vector<std::unique_ptr<Recorder>> calls;
  for (int i = 0; i < kAnswers; ++i) {
    calls.push_back(std::make_unique<Recorder>());
    REQUIRE(client.submit_request(request("/" + std::to_string(i)), false, calls.back().get()) > 0);
  }
  pump(client, server);
  REQUIRE(acceptor.streams.size() == kAnswers);
  for (auto& [id, stream] : acceptor.streams) {
    stream->body_out = std::string(1024, 'x');
    REQUIRE(server.submit_response(id, {{":status", "200"}}, true) == 0);
  }
  pump(client, server);
  auto complete = std::count_if(calls.begin(), calls.end(), [](const auto& c) {
    return c->closed == NGHTTP2_NO_ERROR && c->data.size() == 1024;
  });
  CHECK(complete == kAnswers);
}

TEST_CASE("HTTP checks of received messages are on unless the peer is trusted to have made them") {
  // A body longer than its content-length: nghttp2 resets the stream when it checks HTTP.
  auto send = [](bool check_http) {
    Server acceptor;
    H2Limits limits;
    limits.check_http = check_http;
    H2Session server(H2Session::Role::Server, limits, &acceptor);
    H2Session client(H2Session::Role::Client, H2Limits{});
    Recorder call;
    call.body_out = "five!";
    Headers head = request("/len");
    head.push_back({"content-length", "3"});
    int32_t id = client.submit_request(head, true, &call);
    REQUIRE(id > 0);
    pump(client, server);
    return std::make_pair(acceptor.streams.count(id) == 1 ? acceptor.streams[id]->data : "",
                          call.closed);
  };
  auto [checked_data, checked_close] = send(true);
  CHECK(checked_data != "five!");
  CHECK(checked_close == NGHTTP2_PROTOCOL_ERROR);
  auto [trusted_data, trusted_close] = send(false);
  CHECK(trusted_data == "five!");
  CHECK_FALSE(trusted_close.has_value());  // open, waiting for the answer
}

TEST_CASE("streams answered out of order each reach their own owner") {
  // Answers in an order unlike the requests' (every third, then the rest from the newest):
  // the session forgets streams in the middle of its table, many more than it keeps spare.
  constexpr int kCalls = 90;
  Server acceptor;
  H2Session server(H2Session::Role::Server, H2Limits{}, &acceptor);
  H2Session client(H2Session::Role::Client, H2Limits{});
  std::vector<std::unique_ptr<Recorder>> calls;
  std::vector<int32_t> ids;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<Recorder>());
    ids.push_back(
        client.submit_request(request("/" + std::to_string(i)), false, calls.back().get()));
    REQUIRE(ids.back() > 0);
  }
  pump(client, server);
  CHECK(client.stream_count() == kCalls);
  std::vector<int> order;
  for (int i = 0; i < kCalls; i += 3) {
    order.push_back(i);
  }
  for (int i = kCalls - 1; i >= 0; --i) {
    if (i % 3 != 0) {
      order.push_back(i);
    }
  }
  std::size_t open = kCalls;
  for (int i : order) {
    Recorder& handled = *acceptor.streams.at(ids[i]);
    handled.body_out = *find_header(handled.head, ":path");
    REQUIRE(server.submit_response(ids[i], {{":status", "200"}}, true) == 0);
    pump(client, server);
    CHECK(client.stream_count() == --open);
    CHECK(server.stream_count() == open);
  }
  for (int i = 0; i < kCalls; ++i) {
    CHECK(calls[i]->data == "/" + std::to_string(i));
    CHECK(calls[i]->closed == NGHTTP2_NO_ERROR);
  }
}

TEST_CASE("header blocks go out from what was submitted, after the submitter's copies are gone") {
  // nghttp2 encodes a block when it writes the frame, from the session's own Headers: under
  // ASan (the sanitized unit tests) a block freed before that reports a use after free.
  Server acceptor;
  H2Session server(H2Session::Role::Server, H2Limits{}, &acceptor);
  H2Session client(H2Session::Role::Client, H2Limits{});
  const std::string long_value(200, 'v');  // longer than any string kept inline
  Recorder cancelled;
  int32_t first = [&] {
    Headers head = request("/cancelled");
    head.push_back({"x-long", long_value});
    return client.submit_request(std::move(head), false, &cancelled);
  }();
  client.reset(first, NGHTTP2_CANCEL);  // its HEADERS are dropped before they are ever written
  Recorder call;
  int32_t id = [&] {
    Headers head = request("/kept");
    head.push_back({"x-long", long_value});
    return client.submit_request(std::move(head), false, &call);
  }();
  pump(client, server);
  CHECK(cancelled.closed == NGHTTP2_CANCEL);
  CHECK(acceptor.streams.count(first) == 0);
  REQUIRE(acceptor.streams.count(id) == 1);
  const Headers& head = acceptor.streams[id]->head;
  CHECK(*find_header(head, ":path") == "/kept");
  REQUIRE(find_header(head, "x-long") != nullptr);
  CHECK(*find_header(head, "x-long") == long_value);

  REQUIRE(server.submit_response(id, {{":status", "200"}, {"x-long", long_value}}, false) == 0);
  pump(client, server);
  CHECK(*find_header(call.head, "x-long") == long_value);
  CHECK(call.closed == NGHTTP2_NO_ERROR);
}

TEST_CASE("transport failure closes every stream for its owner, as refused if it never left") {
  H2Session client(H2Session::Role::Client, H2Limits{});
  Recorder a;
  Recorder b;
  Recorder c;
  client.submit_request(request("/a"), false, &a);
  client.submit_request(request("/b"), false, &b);
  std::vector<uint8_t> written;
  REQUIRE(client.produce(written));                 // both heads leave
  client.submit_request(request("/c"), false, &c);  // this one never does
  client.close_all(NGHTTP2_INTERNAL_ERROR);
  CHECK(a.closed == NGHTTP2_INTERNAL_ERROR);
  CHECK(b.closed == NGHTTP2_INTERNAL_ERROR);
  CHECK(c.closed == NGHTTP2_REFUSED_STREAM);
  CHECK(client.stream_count() == 0);
}

TEST_CASE("transport failure refuses the requests written where the transport says nothing left") {
  H2Session client(H2Session::Role::Client, H2Limits{});
  Recorder a;
  Recorder b;
  Recorder c;
  std::vector<uint8_t> written;
  client.mark_output(100);
  client.submit_request(request("/a"), false, &a);
  REQUIRE(client.produce(written));
  client.mark_output(200);
  client.submit_request(request("/b"), false, &b);
  REQUIRE(client.produce(written));
  client.submit_request(request("/c"), false, &c);
  client.close_all(NGHTTP2_CONNECT_ERROR, /*never_left=*/150);
  CHECK(a.closed == NGHTTP2_CONNECT_ERROR);   // written at 100: it may have reached the peer
  CHECK(b.closed == NGHTTP2_REFUSED_STREAM);  // written at 200, and nothing past 150 left
  CHECK(c.closed == NGHTTP2_REFUSED_STREAM);  // never written
}

}  // namespace
}  // namespace weft::l7
