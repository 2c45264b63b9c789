// parse_yaml(): yaml-cpp's event parser feeding a DocumentBuilder. yaml-cpp's own node tree is
// never built: the events carry all a decoder reads (a scalar's text and tag, anchors, aliases).
#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <sstream>
#include <string>

#include "agent/discovery/Document.hpp"
#include "agent/discovery/DocumentBuilder.hpp"
#include "agent/discovery/Text.hpp"

namespace weft::discovery {
namespace {

/// yaml-cpp tags plain (unquoted) scalars "?" and quoted ones "!"; only a plain scalar or an
/// explicit !!int may be a number, as in JSON where "80" is a string and 80 a number.
bool may_be_number(const std::string& tag) {
  return tag == "?" || tag == "tag:yaml.org,2002:int";
}

/// yaml-cpp's events, in document order, to the builder. Exceptions (the builder's TooLarge,
/// yaml-cpp's own) go through the parser to parse_yaml().
class Events final : public YAML::EventHandler {
 public:
  explicit Events(DocumentBuilder& builder) : builder_(builder) {}

  void OnDocumentStart(const YAML::Mark&) override { builder_.begin_document(); }
  void OnDocumentEnd() override { builder_.end_document(); }
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { builder_.null(anchor); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override { builder_.alias(anchor); }
  void OnScalar(const YAML::Mark&, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    builder_.scalar(value, may_be_number(tag), anchor);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    builder_.begin_list(anchor);
  }
  void OnSequenceEnd() override { builder_.end_collection(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    builder_.begin_map(anchor);
  }
  void OnMapEnd() override { builder_.end_collection(); }

 private:
  DocumentBuilder& builder_;
};

/// " at line L, column C" for a parser error, or nothing when yaml-cpp gives no position.
std::string position(const YAML::Mark& mark) {
  if (mark.is_null()) {
    return {};
  }
  return fmt::format(" at line {}, column {}", mark.line + 1, mark.column + 1);
}

Error protocol_error(std::string message) {
  return make_error(Error::Kind::Protocol, std::move(message));
}

}  // namespace

Result<Document> parse_yaml(std::string_view source, std::string_view bytes,
                            const DecodeLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return std::unexpected(
        protocol_error(fmt::format("{}: {} bytes is more than the limit of {} bytes", source,
                                   bytes.size(), limits.max_bytes)));
  }
  try {
    std::istringstream in{std::string(bytes)};
    YAML::Parser parser(in);
    DocumentBuilder builder(limits, "YAML nodes");
    Events events(builder);
    while (parser.HandleNextDocument(events)) {
    }
    return builder.take();
  } catch (const TooLarge& e) {
    return std::unexpected(protocol_error(fmt::format("{}: too large: {}", source, e.reason)));
  } catch (const YAML::DeepRecursion& e) {
    return std::unexpected(
        protocol_error(fmt::format("{}: invalid YAML{}: nested deeper than {} levels", source,
                                   position(e.mark), e.depth() - 1)));
  } catch (const YAML::Exception& e) {
    return std::unexpected(protocol_error(
        fmt::format("{}: invalid YAML{}: {}", source, position(e.mark), escape(e.msg))));
  } catch (const std::exception& e) {
    return std::unexpected(protocol_error(fmt::format("{}: {}", source, escape(e.what()))));
  }
}

}  // namespace weft::discovery
