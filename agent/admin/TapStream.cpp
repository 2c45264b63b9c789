#include "agent/admin/TapStream.hpp"

#include <civetweb.h>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/tap/TapHub.hpp"

namespace weft::agent {
namespace {

/// Silent for this long, the stream sends a keep-alive (a blank NDJSON line, an SSE comment):
/// how a session learns that its client left.
constexpr auto kKeepAlive = std::chrono::seconds(2);

void refuse(mg_connection* conn, int status, const std::string& reason) {
  std::string body = reason + "\n";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), body.size());
  mg_write(conn, body.data(), body.size());
}

std::string url_decode(std::string_view text) {
  std::string out(text.size() + 1, '\0');
  int n = mg_url_decode(text.data(), static_cast<int>(text.size()), out.data(),
                        static_cast<int>(out.size()), /*is_form_url_encoded=*/1);
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::vector<std::pair<std::string, std::string>> query_pairs(const char* query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest = query != nullptr ? query : "";
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (item.empty()) {
      continue;
    }
    auto eq = item.find('=');
    out.emplace_back(url_decode(item.substr(0, eq)), eq == std::string_view::npos
                                                         ? std::string()
                                                         : url_decode(item.substr(eq + 1)));
  }
  return out;
}

/// The session's own settings, taken out of the query before the filters are parsed.
struct SessionOptions {
  unsigned max_rps = 0;  ///< 0: the agent's default
  std::chrono::seconds duration{0};
  bool sse = false;
};

Result<SessionOptions> take_session_options(std::vector<std::pair<std::string, std::string>>& q,
                                            const char* accept) {
  SessionOptions options;
  options.sse = accept != nullptr &&
                std::string_view(accept).find("text/event-stream") != std::string_view::npos;
  for (auto it = q.begin(); it != q.end();) {
    const auto& [key, value] = *it;
    if (key == "max_rps" || key == "duration") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || (key == "max_rps" && n == 0)) {
        return fail(Error::Kind::Config, fmt::format("{}: expected a positive whole number, got "
                                                     "\"{}\"",
                                                     key, value));
      }
      if (key == "max_rps") {
        options.max_rps = n;
      } else {
        options.duration = std::chrono::seconds(n);
      }
    } else if (key == "format") {
      if (value != "ndjson" && value != "sse") {
        return fail(Error::Kind::Config,
                    fmt::format("format: expected ndjson or sse, got \"{}\"", value));
      }
      options.sse = value == "sse";
    } else {
      ++it;
      continue;
    }
    it = q.erase(it);
  }
  return options;
}

bool send(mg_connection* conn, const std::string& text) {
  return mg_send_chunk(conn, text.data(), static_cast<unsigned>(text.size())) > 0;
}

}  // namespace

void serve_tap(mg_connection* conn, TapHub& hub, const std::atomic<bool>& stopping) {
  const mg_request_info* info = mg_get_request_info(conn);
  auto remote = IpAddr::parse(info->remote_addr);
  if (!remote || !remote->is_loopback()) {
    return refuse(conn, 403, "tap: plaintext tap is served to loopback clients only");
  }
  auto query = query_pairs(info->query_string);
  auto options = take_session_options(query, mg_get_header(conn, "Accept"));
  if (!options) {
    return refuse(conn, 400, "tap: " + options.error().message);
  }
  auto filter = parse_tap_filter(query);
  if (!filter) {
    return refuse(conn, 400, "tap: " + filter.error().message);
  }
  std::string who = fmt::format("{}:{}", info->remote_addr, info->remote_port);
  auto session = hub.open(std::move(*filter), options->max_rps, who);
  if (!session) {
    return refuse(conn, 429, "tap: " + session.error().message);
  }
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            options->sse ? "text/event-stream" : "application/x-ndjson");
  auto start = std::chrono::steady_clock::now();
  auto last_sent = start;
  bool open = true;
  while (open && !stopping.load()) {
    auto events = (*session)->take(std::chrono::milliseconds(500));
    auto now = std::chrono::steady_clock::now();
    std::string out;
    for (const TapEvent& e : events) {
      out +=
          options->sse ? fmt::format("id: {}\ndata: {}\n\n", e.id, to_json(e)) : to_json(e) + "\n";
    }
    if (out.empty() && now - last_sent >= kKeepAlive) {
      out = options->sse ? ": keep-alive\n\n" : "\n";
    }
    if (!out.empty()) {
      open = send(conn, out);
      last_sent = now;
    }
    if (options->duration.count() > 0 && now - start >= options->duration) {
      break;
    }
  }
  if (open) {
    mg_send_chunk(conn, "", 0);
  }
  hub.close(*session);
}

}  // namespace weft::agent
