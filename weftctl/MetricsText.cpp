#include "weftctl/MetricsText.hpp"

#include <fmt/format.h>

#include <charconv>

namespace weft::weftctl {
namespace {

/// What the error messages quote of a bad line: enough to find it, never the whole input.
constexpr std::size_t kQuoted = 60;

bool name_start(char c, bool metric) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}

bool name_char(char c, bool metric) {
  return name_start(c, metric) || (c >= '0' && c <= '9');
}

/// One line being read: a cursor and the line's number for errors.
class LineReader {
 public:
  LineReader(std::string_view line, std::size_t number) : line_(line), number_(number) {}

  bool done() const { return pos_ == line_.size(); }
  char peek() const { return done() ? '\0' : line_[pos_]; }
  void skip_blanks() {
    while (!done() && (line_[pos_] == ' ' || line_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool take(char c) {
    if (peek() != c) {
      return false;
    }
    ++pos_;
    return true;
  }
  /// A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or a label name (no ':').
  std::string_view name(bool metric) {
    std::size_t start = pos_;
    if (!name_start(peek(), metric)) {
      return {};
    }
    while (!done() && name_char(line_[pos_], metric)) {
      ++pos_;
    }
    return line_.substr(start, pos_ - start);
  }
  std::size_t position() const { return pos_; }
  /// Back to `position()`, for an error that names where a word began.
  void rewind(std::size_t position) { pos_ = position; }
  /// The text up to the next blank or the end.
  std::string_view word() {
    std::size_t start = pos_;
    while (!done() && line_[pos_] != ' ' && line_[pos_] != '\t') {
      ++pos_;
    }
    return line_.substr(start, pos_ - start);
  }
  /// A quoted label value after its opening quote, unescaped; false when it does not end.
  bool quoted(std::string& out) {
    while (!done()) {
      char c = line_[pos_++];
      if (c == '"') {
        return true;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      char escaped = peek();
      if (escaped == 'n') {
        out.push_back('\n');
      } else if (escaped == '\\' || escaped == '"') {
        out.push_back(escaped);
      } else {
        return false;  // the format knows no other escape (nor a line ending in one)
      }
      ++pos_;
    }
    return false;
  }
  std::unexpected<Error> fail(std::string_view expected) const {
    std::string_view rest = line_.substr(pos_);
    return weft::fail(
        Error::Kind::Protocol,
        fmt::format("line {}: expected {} at column {}, got {}", number_, expected, pos_ + 1,
                    rest.empty() ? std::string("the end of the line")
                                 : fmt::format("\"{}\"", rest.substr(0, kQuoted))));
  }

 private:
  std::string_view line_;
  std::size_t number_;
  std::size_t pos_ = 0;
};

/// Go's float syntax as Prometheus writes it: decimal or exponent notation, +Inf, -Inf, NaN.
bool parse_value(std::string_view text, double& out) {
  if (text.starts_with('+')) {
    text.remove_prefix(1);
    if (text.starts_with('-') || text.starts_with('+')) {
      return false;
    }
  }
  if (text.empty()) {
    return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool is_timestamp(std::string_view text) {
  if (text.starts_with('-')) {
    text.remove_prefix(1);
  }
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

Result<MetricSample> parse_sample(LineReader& r) {
  MetricSample sample;
  sample.name = r.name(/*metric=*/true);
  if (sample.name.empty()) {
    return r.fail("a metric name");
  }
  if (r.take('{')) {
    for (;;) {
      r.skip_blanks();
      if (r.take('}')) {
        break;
      }
      std::string_view label = r.name(/*metric=*/false);
      if (label.empty()) {
        return r.fail("a label name or '}'");
      }
      r.skip_blanks();
      if (!r.take('=')) {
        return r.fail("'=' after a label name");
      }
      r.skip_blanks();
      if (!r.take('"')) {
        return r.fail("a quoted label value");
      }
      std::string value;
      if (!r.quoted(value)) {
        return r.fail("a label value's closing quote (escapes: \\\\ \\\" \\n)");
      }
      sample.labels.emplace_back(label, std::move(value));
      r.skip_blanks();
      if (!r.take(',') && r.peek() != '}') {
        return r.fail("',' or '}' after a label");
      }
    }
  }
  if (r.peek() != ' ' && r.peek() != '\t') {
    return r.fail("a blank before the value");
  }
  r.skip_blanks();
  std::size_t at = r.position();
  if (!parse_value(r.word(), sample.value)) {
    r.rewind(at);
    return r.fail("a number, +Inf, -Inf or NaN");
  }
  r.skip_blanks();
  at = r.position();
  if (!r.done() && !is_timestamp(r.word())) {
    r.rewind(at);
    return r.fail("a timestamp in milliseconds or the end of the line");
  }
  r.skip_blanks();
  if (!r.done()) {
    return r.fail("the end of the line");
  }
  return sample;
}

}  // namespace

std::string_view MetricSample::label(std::string_view name) const {
  for (const auto& [key, value] : labels) {
    if (key == name) {
      return value;
    }
  }
  return {};
}

Result<std::vector<MetricSample>> parse_metrics_text(std::string_view text) {
  std::vector<MetricSample> samples;
  std::size_t number = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    LineReader r(line, number);
    r.skip_blanks();
    if (r.done() || r.peek() == '#') {
      continue;
    }
    if (samples.size() == kMaxSamples) {
      return fail(Error::Kind::Protocol,
                  fmt::format("line {}: more than {} samples", number, kMaxSamples));
    }
    auto sample = parse_sample(r);
    if (!sample) {
      return std::unexpected(std::move(sample.error()));
    }
    samples.push_back(std::move(*sample));
  }
  return samples;
}

}  // namespace weft::weftctl
