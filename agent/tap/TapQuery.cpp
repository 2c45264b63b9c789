#include "agent/tap/TapQuery.hpp"

#include <civetweb.h>
#include <fmt/format.h>

#include <charconv>
#include <string>
#include <utility>
#include <vector>

namespace weft::agent {
namespace {

std::string url_decode(std::string_view text) {
  std::string out(text.size() + 1, '\0');
  int n = mg_url_decode(text.data(), static_cast<int>(text.size()), out.data(),
                        static_cast<int>(out.size()), /*is_form_url_encoded=*/1);
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

/// The session's own settings, taken out of `q` before the filters are parsed.
Result<TapQuery> take_session_options(std::vector<std::pair<std::string, std::string>>& q,
                                      std::string_view accept) {
  TapQuery options;
  options.sse = accept.find("text/event-stream") != std::string_view::npos;
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

}  // namespace

std::vector<std::pair<std::string, std::string>> query_pairs(std::string_view rest) {
  std::vector<std::pair<std::string, std::string>> out;
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

Result<TapQuery> parse_tap_query(std::string_view query, std::string_view accept) {
  auto pairs = query_pairs(query);
  auto options = take_session_options(pairs, accept);
  if (!options) {
    return options;
  }
  auto filter = parse_tap_filter(pairs);
  if (!filter) {
    return std::unexpected(filter.error());
  }
  options->filter = std::move(*filter);
  return options;
}

}  // namespace weft::agent
