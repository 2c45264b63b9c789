// parse_json(): nlohmann::json's SAX parser feeding a DocumentBuilder. No nlohmann::json value is
// built: it would keep only the last of two equal keys and lose a number's spelling.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/discovery/Document.hpp"
#include "agent/discovery/DocumentBuilder.hpp"
#include "agent/discovery/Text.hpp"

namespace weft::discovery {
namespace {

using Json = nlohmann::json;

/// JSON values to the builder, as one document. A failure is kept in `error` and stops the parse.
class Events final : public nlohmann::json_sax<Json> {
 public:
  explicit Events(DocumentBuilder& builder) : builder_(builder) {}

  std::optional<std::string> error;

  bool null() override {
    builder_.null();
    return true;
  }
  bool boolean(bool value) override {
    builder_.scalar(value ? "true" : "false", true);
    return true;
  }
  bool number_integer(number_integer_t value) override {
    builder_.scalar(std::to_string(value), true);
    return true;
  }
  bool number_unsigned(number_unsigned_t value) override {
    builder_.scalar(std::to_string(value), true);
    return true;
  }
  bool number_float(number_float_t, const string_t& text) override {
    builder_.scalar(text, true);  // as written: "1.50" is not an integer, nor "1.5"
    return true;
  }
  bool string(string_t& value) override {
    builder_.scalar(std::move(value), false);
    return true;
  }
  bool binary(binary_t&) override {
    error = "binary values are not JSON";  // only CBOR and the like have them
    return false;
  }
  bool start_object(std::size_t) override {
    if (!nest()) {
      return false;
    }
    builder_.begin_map();
    return true;
  }
  bool key(string_t& value) override {
    builder_.scalar(std::move(value), false);
    return true;
  }
  bool end_object() override {
    builder_.end_collection();
    return true;
  }
  bool start_array(std::size_t) override {
    if (!nest()) {
      return false;
    }
    builder_.begin_list();
    return true;
  }
  bool end_array() override {
    builder_.end_collection();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ...".
    std::string_view what = e.what();
    if (auto bracket = what.find("] "); what.starts_with('[') && bracket != std::string::npos) {
      what.remove_prefix(bracket + 2);
    }
    error = escape(what);
    return false;
  }

 private:
  /// The decoder recurses on the tree, so JSON nests no deeper than YAML may.
  bool nest() {
    if (builder_.depth() >= kMaxNesting) {
      error = fmt::format("nested deeper than {} levels", kMaxNesting);
      return false;
    }
    return true;
  }

  DocumentBuilder& builder_;
};

Error protocol_error(std::string message) {
  return make_error(Error::Kind::Protocol, std::move(message));
}

}  // namespace

Result<Document> parse_json(std::string_view source, std::string_view text,
                            const DecodeLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return std::unexpected(protocol_error(fmt::format(
        "{}: {} bytes is more than the limit of {} bytes", source, text.size(), limits.max_bytes)));
  }
  try {
    DocumentBuilder builder(limits, "JSON values");
    Events events(builder);
    builder.begin_document();
    bool ok = Json::sax_parse(text.begin(), text.end(), &events);
    if (!ok || events.error) {
      return std::unexpected(protocol_error(
          fmt::format("{}: invalid JSON: {}", source, events.error.value_or("parse error"))));
    }
    builder.end_document();
    return builder.take();
  } catch (const TooLarge& e) {
    return std::unexpected(protocol_error(fmt::format("{}: too large: {}", source, e.reason)));
  } catch (const std::exception& e) {
    return std::unexpected(protocol_error(fmt::format("{}: {}", source, escape(e.what()))));
  }
}

}  // namespace weft::discovery
