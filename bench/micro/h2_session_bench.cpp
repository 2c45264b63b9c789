// What one request and its response cost in weft's HTTP/2 code (l7::H2Session over nghttp2), a
// client session and a server session exchanging frames in memory: no sockets, no TLS, no
// scheduler. An agent runs four such sessions per request across nodes (app, tunnel x2, app), so
// this is the part of L7's cost that L4 pass-through does not pay.
//
//   h2_session_bench [h2|grpc] [requests]
//
// Prints the wall time per request. On a shared machine that time moves by ±20% between runs;
// the instruction count does not, so compare builds with
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null h2_session_bench grpc 50000
// ("Collected" ÷ requests).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "l7/H2Session.hpp"

namespace {

using weft::l7::BodyChunk;
using weft::l7::H2Limits;
using weft::l7::H2Session;
using weft::l7::H2Stream;
using weft::l7::Headers;

constexpr int kConcurrent = 10;  // as h2load -m10 in bench/run.sh l7

/// The shape of one load: what the client asks and what the server answers.
struct Load {
  Headers request;
  std::string request_body;
  Headers response;
  std::string response_body;
  Headers trailers;
};

Load load(std::string_view name) {
  if (name == "grpc") {
    return {{{":method", "POST"},
             {":scheme", "http"},
             {":authority", "10.96.0.20:9090"},
             {":path", "/weft.bench.Echo/Say"},
             {"content-type", "application/grpc"},
             {"te", "trailers"},
             {"user-agent", "h2load nghttp2/1.52.0"}},
            std::string("\0\0\0\0\x07\x0a\x05hello", 12),
            {{":status", "200"}, {"server", "nginx/1.22.1"}, {"content-type", "application/grpc"}},
            std::string(28, 'x'),
            {{"grpc-status", "0"}}};
  }
  return {{{":method", "GET"},
           {":scheme", "http"},
           {":authority", "10.96.0.20:81"},
           {":path", "/"},
           {"user-agent", "h2load nghttp2/1.52.0"}},
          "",
          {{":status", "200"},
           {"server", "nginx/1.22.1"},
           {"date", "Tue, 01 Dec 2026 23:59:59 GMT"},
           {"content-type", "text/plain"},
           {"content-length", "22"}},
          std::string(22, 'x'),
          {}};
}

/// Sends `body` (then `trailers`, if any) and ignores what it receives.
struct Side : H2Stream {
  std::string_view body;
  const Headers* trailers_out = nullptr;
  bool closed = false;

  void on_headers(Headers, bool) override {}
  void on_data(std::span<const uint8_t>) override {}
  void on_end_stream() override {}
  void on_close(uint32_t) override { closed = true; }
  BodyChunk read_body(uint8_t* out, std::size_t max) override {
    std::size_t n = std::min(max, body.size());
    std::memcpy(out, body.data(), n);
    body.remove_prefix(n);
    if (!body.empty()) {
      return {n, BodyChunk::State::More};
    }
    bool trailers = trailers_out != nullptr && !trailers_out->empty();
    return {n, trailers ? BodyChunk::State::Trailers : BodyChunk::State::End};
  }
  Headers trailers() override { return *trailers_out; }
};

/// Answers every request once its head has arrived.
struct Server final : H2Session::Acceptor {
  struct Handler final : Side {
    Server* server = nullptr;
    int32_t id = 0;
    void on_headers(Headers, bool) override {
      body = server->load.response_body;
      trailers_out = &server->load.trailers;
      // A head of its own per response, as the agent has (H2Session keeps it until it is sent).
      server->session->submit_response(id, Headers(server->load.response), true);
    }
  };
  const Load& load;
  H2Session* session = nullptr;
  std::vector<std::unique_ptr<Handler>> handlers;

  explicit Server(const Load& l) : load(l) {}
  H2Stream* accept_stream(int32_t id, const Headers&, bool) override {
    auto h = std::make_unique<Handler>();
    h->server = this;
    h->id = id;
    return handlers.emplace_back(std::move(h)).get();
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string_view name = argc > 1 ? argv[1] : "grpc";
  long requests = argc > 2 ? std::atol(argv[2]) : 200000;
  if ((name != "h2" && name != "grpc") || requests < kConcurrent) {
    std::fprintf(stderr, "usage: h2_session_bench [h2|grpc] [requests >= %d]\n", kConcurrent);
    return 2;
  }
  const Load shape = load(name);
  Server server(shape);
  H2Session server_session(H2Session::Role::Server, H2Limits{}, &server);
  server.session = &server_session;
  H2Session client(H2Session::Role::Client, H2Limits{});
  std::vector<uint8_t> to_server;
  std::vector<uint8_t> to_client;
  std::vector<Side> calls(kConcurrent);
  long done = 0;
  auto start = std::chrono::steady_clock::now();
  for (; done + kConcurrent <= requests; done += kConcurrent) {
    for (Side& call : calls) {
      call = Side{};
      call.body = shape.request_body;
      client.submit_request(Headers(shape.request), !call.body.empty(), &call);
    }
    do {
      to_server.clear();
      to_client.clear();
      if (!client.produce(to_server) || !server_session.receive(to_server) ||
          !server_session.produce(to_client) || !client.receive(to_client)) {
        std::fprintf(stderr, "h2_session_bench: a session failed\n");
        return 1;
      }
    } while (!to_server.empty() || !to_client.empty());
    if (!std::all_of(calls.begin(), calls.end(), [](const Side& c) { return c.closed; })) {
      std::fprintf(stderr, "h2_session_bench: a call did not complete\n");
      return 1;
    }
    server.handlers.clear();
  }
  double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %ld requests, %.0f ns per request and response (client + server session)\n",
              std::string(name).c_str(), done, ns / static_cast<double>(done));
  return 0;
}
