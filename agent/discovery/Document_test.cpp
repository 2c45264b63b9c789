#include "agent/discovery/Document.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace weft::discovery {
namespace {

/// The value of `key` in the map `node` (the first of equal keys), or nullptr.
const DocNode* get(const DocNode& node, std::string_view key) {
  for (const auto& [k, v] : node.entries) {
    if (k->is_scalar() && k->scalar == key) {
      return v;
    }
  }
  return nullptr;
}

TEST_CASE("parse_yaml keeps a scalar's text and whether it may be a number") {
  Document doc = parse_yaml("t.yaml", R"(
plain: 80
quoted: "80"
single: '80'
tagged: !!int "80"
float: 1.50
yes: true
octal: 007
empty:
tilde: ~
word: null
)")
                     .value();
  REQUIRE(doc.roots().size() == 1);
  const DocNode& root = *doc.roots()[0];
  REQUIRE(root.is_map());
  struct Case {
    std::string_view key;
    bool plain;
    std::string_view text;
  };
  for (const Case& c :
       {Case{"plain", true, "80"}, Case{"quoted", false, "80"}, Case{"single", false, "80"},
        Case{"tagged", true, "80"}, Case{"float", true, "1.50"}, Case{"yes", true, "true"},
        Case{"octal", true, "007"}}) {
    INFO(c.key);
    const DocNode* node = get(root, c.key);
    REQUIRE(node != nullptr);
    CHECK(node->is_scalar());
    CHECK(node->plain == c.plain);
    CHECK(node->scalar == c.text);
  }
  for (std::string_view key : {"empty", "tilde", "word"}) {
    INFO(key);
    REQUIRE(get(root, key) != nullptr);
    CHECK(get(root, key)->is_null());
  }
}

TEST_CASE("parse_json keeps numbers as written and strings as text only") {
  Document doc = parse_json("t.json", R"({"n": 80, "neg": -3, "big": 18446744073709551615,
    "f": 1.50, "s": "80", "t": true, "z": null, "l": [1, "a"], "e": {}})")
                     .value();
  REQUIRE(doc.roots().size() == 1);
  const DocNode& root = *doc.roots()[0];
  CHECK(get(root, "n")->plain);
  CHECK(get(root, "n")->scalar == "80");
  CHECK(get(root, "neg")->scalar == "-3");
  CHECK(get(root, "big")->scalar == "18446744073709551615");
  CHECK(get(root, "f")->scalar == "1.50");
  CHECK(get(root, "f")->plain);
  CHECK_FALSE(get(root, "s")->plain);
  CHECK(get(root, "s")->scalar == "80");
  CHECK(get(root, "t")->plain);
  CHECK(get(root, "t")->scalar == "true");
  CHECK(get(root, "z")->is_null());
  REQUIRE(get(root, "l")->is_list());
  CHECK(get(root, "l")->items.size() == 2);
  CHECK(get(root, "e")->is_map());
  CHECK(get(root, "e")->entries.empty());
}

TEST_CASE("parsers keep duplicate keys in order, for the decoder to refuse") {
  for (auto doc : {parse_yaml("t.yaml", "{a: 1, b: 2, a: 3}"),
                   parse_json("t.json", R"({"a": 1, "b": 2, "a": 3})")}) {
    REQUIRE(doc.has_value());
    const DocNode& root = *doc->roots()[0];
    REQUIRE(root.entries.size() == 3);
    CHECK(root.entries[0].first->scalar == "a");
    CHECK(root.entries[0].second->scalar == "1");
    CHECK(root.entries[2].first->scalar == "a");
    CHECK(root.entries[2].second->scalar == "3");
  }
}

TEST_CASE("parse_yaml shares an anchored node with its aliases, per document") {
  Document doc = parse_yaml("t.yaml", R"(
a: &x {k: v}
b: *x
---
a: &x [1]
b: *x
---
)")
                     .value();
  REQUIRE(doc.roots().size() == 3);
  const DocNode& first = *doc.roots()[0];
  CHECK(get(first, "a") == get(first, "b"));
  CHECK(get(first, "a")->is_map());
  const DocNode& second = *doc.roots()[1];
  CHECK(get(second, "a") == get(second, "b"));
  CHECK(get(second, "a")->is_list());
  CHECK(doc.roots()[2]->is_null());  // an empty document
}

TEST_CASE("a Document's nodes stay put when it moves") {
  auto parsed = parse_yaml("t.yaml", "a: [1, 2]\n");
  REQUIRE(parsed.has_value());
  const DocNode* root = parsed->roots()[0];
  Document moved = std::move(*parsed);
  CHECK(moved.roots()[0] == root);
  CHECK(get(*root, "a")->items.size() == 2);
}

}  // namespace
}  // namespace weft::discovery
