// Fuzzes an HTTP/2 session (l7::H2Session over nghttp2) the way the agent drives one: as the
// server of an app connection or of a peer agent's tunnel, where the input is what the client
// sends, and as the client of an upstream pool, where it is what the app's server answers. The
// input is fed in chunks and the output drained after each; stream owners answer (bodies copied or
// not, deferred, with trailers, informational heads first) or send requests, reset, let go
// (detach) or stall; the connection ends with a graceful shutdown or a transport failure. Checks
// what the agent relies on: no event for a stream after its close or detach, heads before bodies
// and trailers last, the session's stream count matches the owners it holds, every owner hears of
// the end, each drain writes whole frames, and with HTTP checks on (app connections) heads and
// trailers hold only what RFC 9113 section 8 allows, content-length matches the body, requests
// have their pseudo-headers and responses a three-digit status. ASan catches what the session
// touches after it is freed: owners are freed at the end of the round in which they closed or
// were let go.
//
// Input: byte 0 = flags, byte 1 = role and chunks, then the peer's bytes.
//   byte 0 bit 0     the target sends the peer's preface first (the client's magic and an empty
//                    SETTINGS, or the server's empty SETTINGS), so that mutations are not all
//                    spent on it;
//   byte 0 bits 1-2  limits: the app side's, the tunnel's (HTTP unchecked, large windows), or
//                    small windows, stream limit and header lists, with HTTP checked or not;
//   byte 0 bit 3     the end: a graceful shutdown (GOAWAY) before the peer goes, else it just goes;
//   byte 0 bits 4-7  how the stream owners behave, mixed with each stream's id (client role: also
//                    how many requests, 1-4, are sent before the peer's bytes are read);
//   byte 1 bit 7     client role (else server);
//   byte 1 bits 0-6  how to cut the peer's bytes into chunks (0: one chunk).
//
// nghttp2 itself is the system library, not instrumented: coverage comes from H2Session, this
// file and the extra counters below, which count what the session wrote (frame types, flags,
// error codes) and how streams closed, so that inputs provoking new reactions are kept.
#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz/Check.hpp"
#include "l7/GrpcTimeout.hpp"
#include "l7/H2Session.hpp"

namespace {

using weft::l7::BodyChunk;
using weft::l7::find_header;
using weft::l7::H2Limits;
using weft::l7::H2Session;
using weft::l7::H2Stream;
using weft::l7::Header;
using weft::l7::Headers;

using weft::fuzz::check;

// libFuzzer's extra counters (Linux): each nonzero byte is a feature, like a covered edge. A
// global because libFuzzer finds them by their section; nothing else in the target is global.
constexpr std::size_t kFeatureSlots = 512;
__attribute__((section("__libfuzzer_extra_counters"))) uint8_t g_features[kFeatureSlots];

void feature(std::size_t slot) {
  uint8_t& c = g_features[slot % kFeatureSlots];
  c = c == 255 ? 255 : c + 1;
}

/// Features of one frame the server wrote: type, and the error code (RST_STREAM, GOAWAY) or the
/// flags (the others).
void frame_feature(uint8_t type, uint8_t flags, uint32_t code) {
  std::size_t t = std::min<std::size_t>(type, 10);
  std::size_t sub = (type == NGHTTP2_RST_STREAM || type == NGHTTP2_GOAWAY)
                        ? std::min<uint32_t>(code, 15)
                        : flags & 0x0f;
  feature(t * 16 + sub);
}

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr uint8_t kEmptySettings[] = {0, 0, 0, NGHTTP2_SETTINGS, 0, 0, 0, 0, 0};

/// Cuts and choices derived from a seed byte (xorshift).
struct Rng {
  uint64_t state;
  explicit Rng(uint8_t seed) : state(0x9e3779b97f4a7c15ull * (seed + 1u)) {}
  uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

H2Limits limits_for(unsigned profile) {
  H2Limits limits;  // the app side's (AppHttp)
  if (profile == 1) {
    limits.max_concurrent_streams = 1024;  // the tunnel's (TunnelSession)
    limits.stream_window = 4u << 20;
    limits.connection_window = 32u << 20;
    limits.check_http = false;
  } else if (profile >= 2) {
    limits.max_concurrent_streams = 4;
    limits.stream_window = 4096;
    limits.connection_window = 16384;
    limits.max_header_list = 512;
    limits.check_http = profile == 2;
  }
  return limits;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// RFC 9113 section 8.2.1: what an HTTP-checked session may pass on (the agent writes these
/// fields into HTTP/1.1 heads: a CR or LF here would split a request).
void check_field(const Header& h, bool trailer) {
  std::string_view name = h.name;
  check(!name.empty());
  if (name.front() == ':') {
    check(!trailer);
    name.remove_prefix(1);
    check(!name.empty());
  }
  for (char c : name) {
    check(is_token_char(c));
  }
  for (char c : h.value) {
    check(c != '\0' && c != '\r' && c != '\n');
  }
  if (trailer || h.name.front() != ':') {
    if (!h.value.empty()) {
      check(h.value.front() != ' ' && h.value.front() != '\t');
      check(h.value.back() != ' ' && h.value.back() != '\t');
    }
    return;
  }
  // Pseudo-headers become the HTTP/1.1 request line and Host: no whitespace or control at all.
  for (char c : h.value) {
    auto u = static_cast<unsigned char>(c);
    check(u > 0x20 && u != 0x7f);
  }
}

struct Connection;

/// What a stream's owner does.
enum class Behaviour {
  Answer,         ///< 200 with a copied body once the request ends
  GrpcEarly,      ///< 200 at once (from the head's callback), body then trailers
  Informational,  ///< 100, then 200 without a body, once the request ends
  Deferred,       ///< 200 at once, body deferred until the request ends, then written no-copy
                  ///< (client role: a request body deferred for one round)
  Reset,          ///< resets the stream on its first DATA (in the callback) or once it ends
  Detach,         ///< lets go of the stream on its first DATA (in the callback) or once it ends
  Stall,          ///< never answers, never consumes: the close gives its window back
  Refuse,         ///< the acceptor answers 400 itself and owns nothing (the tunnel's bad request)
                  ///< (client role: a GET)
};
constexpr unsigned kBehaviours = 8;

struct Owner final : H2Stream {
  Connection& conn;
  int32_t id;
  Behaviour behaviour;
  Headers head;
  bool got_head = false;
  uint64_t data_bytes = 0;
  std::size_t unconsumed = 0;
  bool ended = false;      ///< the peer's message ended (END_STREAM)
  bool done = false;       ///< closed or detached: nothing more may reach it
  bool answered = false;   ///< our head was submitted (server role: the final one)
  bool was_reset = false;  ///< this side reset it
  bool release = false;    ///< a Deferred body may go now
  std::size_t body_left = 0;

  Owner(Connection& c, int32_t i, Behaviour b) : conn(c), id(i), behaviour(b) {}

  void on_headers(Headers headers, bool end_stream) override;
  void on_data(std::span<const uint8_t> data) override;
  void on_end_stream() override;
  void on_close(uint32_t error_code) override;
  BodyChunk read_body(uint8_t* out, std::size_t max) override;
  void take_body(std::size_t length, std::vector<uint8_t>& out) override;
  Headers trailers() override;

  void on_response(Headers headers, bool end_stream);
  void end_of_message();
  void answer(bool has_body);
};

Behaviour behaviour_for(unsigned behaviours, unsigned n) {
  return static_cast<Behaviour>(((behaviours ^ n) & 0xff) % kBehaviours);
}

struct Connection final : H2Session::Acceptor {
  H2Limits limits;
  unsigned behaviours;
  bool client;
  /// Declared before the session, so they outlive it.
  std::vector<std::unique_ptr<Owner>> owners;
  H2Session session;
  std::vector<uint8_t> out;  ///< what one drain wrote

  Connection(const H2Limits& l, unsigned b, bool c)
      : limits(l),
        behaviours(b),
        client(c),
        session(c ? H2Session::Role::Client : H2Session::Role::Server, limits, c ? nullptr : this) {
  }

  /// Client role: the requests sent before the server's bytes are read.
  void start_requests() {
    unsigned count = 1 + behaviours % 4;
    for (unsigned i = 0; i < count; ++i) {
      Behaviour b = behaviour_for(behaviours, i);
      bool post = b == Behaviour::Answer || b == Behaviour::GrpcEarly || b == Behaviour::Deferred;
      Headers head = {{":method", post ? "POST" : "GET"},
                      {":scheme", "http"},
                      {":authority", "echo.demo:8080"},
                      {":path", "/r" + std::to_string(i)}};
      if (b == Behaviour::GrpcEarly) {
        head.push_back({"content-type", "application/grpc"});
        head.push_back({"te", "trailers"});
      }
      auto owner = std::make_unique<Owner>(*this, 0, b);
      owner->answered = true;
      owner->body_left = post ? 100 + 997 * i : 0;
      int32_t id = session.submit_request(std::move(head), post, owner.get());
      if (id > 0) {
        owner->id = id;
        owners.push_back(std::move(owner));
      }
    }
  }

  H2Stream* accept_stream(int32_t id, const Headers& head, bool end_stream) override {
    check(id > 0 && id % 2 == 1);
    if (limits.check_http) {
      const std::string* method = find_header(head, ":method");
      check(method != nullptr && !method->empty());
      check(*method == "CONNECT" || find_header(head, ":path") != nullptr);
      for (const Header& h : head) {
        check_field(h, false);
      }
    }
    if (const std::string* t = find_header(head, "grpc-timeout")) {
      if (auto timeout = weft::l7::parse_grpc_timeout(*t)) {  // as L7Exchange reads it
        check(timeout->count() >= 0);
      }
    }
    Behaviour b = behaviour_for(behaviours, static_cast<unsigned>(id >> 1));
    if (b == Behaviour::Refuse) {
      session.submit_response(id, {{":status", "400"}}, false);
      return nullptr;
    }
    owners.push_back(std::make_unique<Owner>(*this, id, b));
    (void)end_stream;  // on_headers says it again
    return owners.back().get();
  }

  std::size_t live() const {
    return static_cast<std::size_t>(
        std::count_if(owners.begin(), owners.end(), [](const auto& o) { return !o->done; }));
  }

  /// The owners' work between two reads: consume what was passed on, answer what ended,
  /// resume deferred bodies, reset or let go. Then frees the owners that are done.
  void act() {
    for (std::size_t i = 0; i < owners.size(); ++i) {
      Owner& o = *owners[i];
      if (o.done) {
        continue;
      }
      if (o.unconsumed > 0 && o.behaviour != Behaviour::Stall) {
        session.consume(o.id, std::exchange(o.unconsumed, 0));
      }
      if (client && o.behaviour == Behaviour::Deferred && !o.release) {
        o.release = true;  // a round after the head
        session.resume(o.id);
      }
      if (!o.ended) {
        continue;
      }
      switch (o.behaviour) {
        case Behaviour::Answer:
          if (!client && !o.answered) {
            o.answer(true);
          }
          break;
        case Behaviour::Informational:
          if (!client && !o.answered) {
            session.submit_response(o.id, {{":status", "100"}}, false);
            o.answer(false);
          }
          break;
        case Behaviour::Deferred:
          if (!o.release) {
            o.release = true;
            session.resume(o.id);
          }
          break;
        case Behaviour::Reset:
          if (!o.was_reset) {
            o.was_reset = true;
            session.reset(o.id, NGHTTP2_CANCEL);
          }
          break;
        case Behaviour::Detach:
          session.detach(o.id);
          o.done = true;
          break;
        case Behaviour::GrpcEarly:
        case Behaviour::Stall:
        case Behaviour::Refuse:
          break;
      }
    }
    check(session.stream_count() == live());
    std::erase_if(owners, [](const auto& o) { return o->done; });
  }

  /// Writes what the session has to send, `batch` bytes at a time; false once it failed.
  bool drain(std::size_t batch) {
    out.clear();  // keeps its capacity: one allocation per input, not one per round
    bool ok = true;
    for (int i = 0; i < 1024 && session.wants_write(); ++i) {
      std::size_t before = out.size();
      if (!session.produce(out, batch == SIZE_MAX ? SIZE_MAX : before + batch)) {
        ok = false;
        break;
      }
      if (out.size() == before) {
        break;
      }
    }
    std::span<const uint8_t> frames = out;
    if (client && frames.size() >= kPreface.size() &&
        std::equal(kPreface.begin(), kPreface.end(), frames.begin())) {
      frames = frames.subspan(kPreface.size());  // the client's magic, not a frame
    }
    census(frames);
    return ok;
  }

  /// Reads what one drain wrote: whole frames only, each counted as features.
  static void census(std::span<const uint8_t> out) {
    while (!out.empty()) {
      check(out.size() >= 9);
      const uint8_t* f = out.data();
      std::size_t length = (std::size_t{f[0]} << 16) | (std::size_t{f[1]} << 8) | f[2];
      check(out.size() >= 9 + length);
      uint32_t code = 0;
      if (f[3] == NGHTTP2_RST_STREAM && length >= 4) {
        code = (uint32_t{f[9]} << 24) | (uint32_t{f[10]} << 16) | (uint32_t{f[11]} << 8) | f[12];
      } else if (f[3] == NGHTTP2_GOAWAY && length >= 8) {
        code = (uint32_t{f[13]} << 24) | (uint32_t{f[14]} << 16) | (uint32_t{f[15]} << 8) | f[16];
      }
      frame_feature(f[3], f[4], code);
      out = out.subspan(9 + length);
    }
  }
};

void Owner::on_headers(Headers headers, bool end_stream) {
  check(!done && !ended);
  if (conn.client) {
    on_response(std::move(headers), end_stream);
    return;
  }
  if (!got_head) {
    got_head = true;
    head = std::move(headers);
    if (behaviour == Behaviour::GrpcEarly || behaviour == Behaviour::Deferred) {
      answer(true);  // from inside nghttp2's callback, as a proxy answering early does
    }
  } else {
    // Trailers: with HTTP checked, only at the end and without pseudo-headers.
    if (conn.limits.check_http) {
      check(end_stream);
      for (const Header& h : headers) {
        check_field(h, true);
      }
    }
    feature(256 + 1);
  }
  if (end_stream) {
    end_of_message();
  }
}

void Owner::on_response(Headers headers, bool end_stream) {
  if (!conn.limits.check_http) {
    // Unchecked, any block may come: the first is taken as the head.
    if (!got_head) {
      got_head = true;
      head = std::move(headers);
    }
    if (end_stream) {
      end_of_message();
    }
    return;
  }
  const std::string* status = find_header(headers, ":status");
  bool trailers = got_head;
  for (const Header& h : headers) {
    check_field(h, trailers);
    check(h.name.front() != ':' || h.name == ":status");
  }
  if (trailers) {
    check(end_stream && status == nullptr);
    feature(256 + 1);
  } else {
    check(status != nullptr && status->size() == 3);
    for (char c : *status) {
      check(c >= '0' && c <= '9');
    }
    feature(256 + 32 + ((*status)[0] - '0'));
    if ((*status)[0] == '1') {
      check(!end_stream && *status != "101");  // informational: the final head follows
      return;
    }
    got_head = true;
    head = std::move(headers);
  }
  if (end_stream) {
    end_of_message();
  }
}

void Owner::on_data(std::span<const uint8_t> data) {
  check(!done && !ended && (got_head || (conn.client && !conn.limits.check_http)));
  data_bytes += data.size();
  unconsumed += data.size();
  if (behaviour == Behaviour::Reset && !was_reset) {
    was_reset = true;
    conn.session.reset(id, NGHTTP2_CANCEL);
  } else if (behaviour == Behaviour::Detach) {
    done = true;
    conn.session.detach(id);  // `this` stays allocated until the round ends
  }
}

void Owner::on_end_stream() {
  check(!done && !ended && (got_head || (conn.client && !conn.limits.check_http)));
  end_of_message();
}

void Owner::end_of_message() {
  ended = true;
  feature(256 + 2);
  if (!conn.limits.check_http || was_reset) {
    return;
  }
  // nghttp2 refuses a body longer or shorter than content-length (a CONNECT request has none;
  // 204 and 304 answers have no body whatever they say).
  const std::string* length = find_header(head, "content-length");
  bool counted = false;
  if (conn.client) {
    const std::string* status = find_header(head, ":status");
    counted = status != nullptr && *status != "204" && *status != "304";
  } else {
    const std::string* method = find_header(head, ":method");
    counted = method != nullptr && *method != "CONNECT";
  }
  if (length != nullptr && counted) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
    check(ec == std::errc() && end == length->data() + length->size());
    check(n == data_bytes);
  }
}

void Owner::on_close(uint32_t error_code) {
  check(!done);
  done = true;
  feature(256 + 16 + std::min<uint32_t>(error_code, 15));
}

void Owner::answer(bool has_body) {
  answered = true;
  // Most bodies fit one frame; every fourth stream's spans frames and the peer's windows.
  auto n = static_cast<std::size_t>(id) * 7919;
  body_left = !has_body ? 0 : (id >> 1) % 4 == 3 ? n % 40000 : n % 1000;
  Headers h = {{":status", "200"}};
  if (behaviour == Behaviour::GrpcEarly) {
    h.push_back({"content-type", "application/grpc"});
  }
  if (conn.session.submit_response(id, std::move(h), has_body) != 0) {
    body_left = 0;
  }
}

BodyChunk Owner::read_body(uint8_t* out, std::size_t max) {
  check(!done && answered);
  if (behaviour == Behaviour::Deferred && !release) {
    return {0, BodyChunk::State::Deferred};
  }
  std::size_t n = std::min(max, body_left);
  body_left -= n;
  BodyChunk::State state = BodyChunk::State::More;
  if (body_left == 0) {
    state = behaviour == Behaviour::GrpcEarly ? BodyChunk::State::Trailers : BodyChunk::State::End;
  }
  if (behaviour == Behaviour::Deferred) {
    return {n, state, true};  // take_body writes it
  }
  std::fill_n(out, n, static_cast<uint8_t>('a' + id % 26));
  return {n, state};
}

void Owner::take_body(std::size_t length, std::vector<uint8_t>& out) {
  check(!done);
  out.insert(out.end(), length, static_cast<uint8_t>('A' + id % 26));
}

Headers Owner::trailers() {
  check(!done && behaviour == Behaviour::GrpcEarly);
  return {{"grpc-status", "0"}, {"grpc-message", "ok"}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t flags = data[0];
  const bool client = (data[1] & 0x80) != 0;
  const uint8_t chunking = data[1] & 0x7f;
  Rng rng(chunking);
  std::span<const uint8_t> input(data + 2, size - 2);

  Connection conn(limits_for((flags >> 1) & 3), flags >> 4, client);
  bool closing = false;
  auto round = [&](std::span<const uint8_t> bytes) {
    if (!conn.session.receive(bytes)) {
      closing = true;  // a connection error: the GOAWAY is written, then the socket closed
      feature(256 + 3);
    }
    conn.act();
    std::size_t batch = rng.next() % 4 == 0 ? 1 + rng.next() % 2048 : SIZE_MAX;
    if (!conn.drain(batch)) {
      closing = true;
    }
    conn.act();
  };

  if (client) {
    // An upstream connection: the preface and the requests leave before any answer arrives.
    conn.start_requests();
    conn.drain(SIZE_MAX);
  }
  if (flags & 1) {
    std::vector<uint8_t> start;
    if (!client) {
      start.assign(kPreface.begin(), kPreface.end());
    }
    start.insert(start.end(), std::begin(kEmptySettings), std::end(kEmptySettings));
    round(start);
  }
  std::size_t pos = 0;
  while (!closing && pos < input.size() && conn.session.alive()) {
    std::size_t n = input.size() - pos;
    if (chunking != 0) {
      static constexpr std::size_t kSpans[] = {1, 8, 64, 1024};
      n = std::min(n, 1 + rng.next() % kSpans[rng.next() % 4]);
    }
    round(input.subspan(pos, n));
    pos += n;
  }
  if (!closing && (flags & 8)) {
    // The agent's drain: (server) a notice, a round trip later the GOAWAY naming the last
    // stream taken.
    if (!client) {
      conn.session.shutdown_notice();
      conn.drain(SIZE_MAX);
    }
    conn.session.goaway(NGHTTP2_NO_ERROR);
    conn.drain(SIZE_MAX);
    conn.act();
  }
  // The peer goes (or the agent closes after its GOAWAY): every owner hears of it.
  conn.session.close_all(NGHTTP2_CANCEL);
  for (const auto& o : conn.owners) {
    check(o->done);
  }
  check(conn.session.stream_count() == 0);
  return 0;
}
