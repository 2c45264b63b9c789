#include "weftctl/MetricsText.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

using weft::weftctl::parse_metrics_text;

TEST_CASE("metrics text: an agent's exposition, comments, escapes, +Inf and timestamps") {
  auto samples = parse_metrics_text(
      "# HELP weft_requests_total HTTP requests and gRPC calls through the agent, by outcome\n"
      "# TYPE weft_requests_total counter\n"
      "weft_requests_total{reporter=\"source\",route=\"\",response_code=\"200\"} 42\n"
      "\n"
      "weft_request_duration_seconds_bucket{le=\"+Inf\", path=\"a\\\\b \\\"c\\\"\\nd\",} 7 "
      "1700000000000\r\n"
      "  up\t1e3\n"
      "weft_x{} -Inf\n"
      "weft_y NaN -5\n"
      "weft_z +0.5");
  REQUIRE(samples);
  REQUIRE(samples->size() == 6);
  const auto& first = (*samples)[0];
  CHECK(first.name == "weft_requests_total");
  CHECK(first.value == 42);
  CHECK(first.labels.size() == 3);
  CHECK(first.label("reporter") == "source");
  CHECK(first.label("route").empty());
  CHECK(first.label("absent").empty());
  const auto& bucket = (*samples)[1];
  CHECK(bucket.label("le") == "+Inf");
  CHECK(bucket.label("path") == "a\\b \"c\"\nd");
  CHECK(bucket.value == 7);
  CHECK((*samples)[2].name == "up");
  CHECK((*samples)[2].value == 1000);
  CHECK(std::isinf((*samples)[3].value));
  CHECK((*samples)[3].value < 0);
  CHECK(std::isnan((*samples)[4].value));
  CHECK((*samples)[5].value == 0.5);
}

TEST_CASE("metrics text: a malformed line is an error naming it") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"ok 1\n{a=\"b\"} 1", "line 2: expected a metric name at column 1, got \"{a=\"b\"} 1\""},
      {"m 1\nm", "line 2: expected a blank before the value at column 2, got the end of the line"},
      {"m{a=\"b} 1", "expected a label value's closing quote"},
      {"m{a=\"\\t\"} 1", "expected a label value's closing quote"},
      {"m{a=b} 1", "line 1: expected a quoted label value at column 5"},
      {"m{a} 1", "expected '=' after a label name"},
      {"m{a=\"b\" c=\"d\"} 1", "expected ',' or '}' after a label"},
      {"m{9=\"b\"} 1", "expected a label name or '}'"},
      {"m 1x", "expected a number, +Inf, -Inf or NaN at column 3, got \"1x\""},
      {"m +-1", "expected a number"},
      {"m 0x10", "expected a number"},
      {"m 1 2.5", "expected a timestamp in milliseconds or the end of the line"},
      {"m 1 2 3", "expected the end of the line at column 7"},
  };
  for (const Case& c : cases) {
    std::string text = c.text;
    CAPTURE(text);
    auto samples = parse_metrics_text(text);
    REQUIRE_FALSE(samples);
    CHECK(samples.error().kind == weft::Error::Kind::Protocol);
    CHECK_MESSAGE(samples.error().message.find(c.message) != std::string::npos,
                  samples.error().message);
  }
}

TEST_CASE("metrics text: an error quotes at most 60 bytes of its line") {
  std::string line = "m " + std::string(1000, 'x');
  auto samples = parse_metrics_text(line);
  REQUIRE_FALSE(samples);
  CHECK(samples.error().message.size() < 160);
}
