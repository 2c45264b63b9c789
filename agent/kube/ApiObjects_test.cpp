#include "agent/kube/ApiObjects.hpp"

#include <doctest/doctest.h>

#include "agent/discovery/Document.hpp"
#include "agent/discovery/ManifestDecoder.hpp"

using weft::kube::WatchEvent;

TEST_CASE("a list page: items without kind decode as the list's kind; resourceVersion, continue") {
  auto doc = weft::discovery::parse_json("list", R"({"kind":"ServiceList","apiVersion":"v1",
        "metadata":{"resourceVersion":"42","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==","remainingItemCount":3},
        "items":[{"metadata":{"name":"echo","namespace":"demo","resourceVersion":"40",
          "managedFields":[{"manager":"kubectl","operation":"Apply","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{}}}]},
          "spec":{"clusterIP":"10.96.0.10","ports":[{"name":"http","port":80}]},"status":{"loadBalancer":{}}}]})");
  REQUIRE(doc);
  auto page = weft::kube::read_list(*doc);
  REQUIRE(page);
  CHECK(page->resource_version == "42");
  CHECK(page->continue_token == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==");
  REQUIRE(page->items.size() == 1);
  CHECK(weft::kube::object_key(*page->items[0]) == "demo/echo");
  auto decoded = weft::discovery::decode_list_item(*page->items[0], "v1", "Service", "LIST");
  REQUIRE_MESSAGE(decoded, decoded.error().message);
  REQUIRE(decoded->objects.size() == 1);
  CHECK(std::get<weft::discovery::Service>(decoded->objects[0]).name == "echo");

  auto status = weft::discovery::parse_json("s", R"({"kind":"Status","code":410})");
  REQUIRE(status);
  CHECK_FALSE(weft::kube::read_list(*status));
}

TEST_CASE("watch events, bookmarks and a 410 ERROR") {
  auto event = [](std::string_view text) {
    auto doc = weft::discovery::parse_json("watch", text);
    REQUIRE(doc);
    auto e = weft::kube::read_event(*doc);
    return std::make_pair(std::move(*doc), e);
  };
  auto [added_doc, added] = event(
      R"({"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","namespace":"n","resourceVersion":"7"}}})");
  REQUIRE(added);
  CHECK(added->type == WatchEvent::Type::Added);
  CHECK(added->resource_version == "7");
  CHECK(weft::kube::object_key(*added->object) == "n/a");

  auto [bookmark_doc, bookmark] = event(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"99","creationTimestamp":null}}})");
  REQUIRE(bookmark);
  CHECK(bookmark->type == WatchEvent::Type::Bookmark);
  CHECK(bookmark->resource_version == "99");

  auto [error_doc, error] = event(
      R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (90)","reason":"Expired","code":410}})j");
  REQUIRE(error);
  CHECK(error->type == WatchEvent::Type::Error);
  auto status = weft::kube::read_status(error->object);
  CHECK(status.code == 410);
  CHECK(status.reason == "Expired");
  CHECK(status.message == "too old resource version: 5 (90)");

  CHECK_FALSE(event(R"({"type":"SYNC","object":{}})").second);
  CHECK_FALSE(event(R"({"type":"ADDED","object":"x"})").second);
  CHECK_FALSE(event(R"([1,2])").second);
}

TEST_CASE("a Status body, or the start of what is not one") {
  auto status = weft::kube::read_status(
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})");
  CHECK(status.code == 401);
  CHECK(status.message == "Unauthorized");
  auto html = weft::kube::read_status("<html>bad gateway</html>");
  CHECK(html.code == 0);
  CHECK(html.message == "<html>bad gateway</html>");
}

TEST_CASE("query values are percent-encoded") {
  CHECK(weft::kube::query_escape("spec.nodeName=node-1") == "spec.nodeName%3Dnode-1");
  CHECK(weft::kube::query_escape("a+b/c==") == "a%2Bb%2Fc%3D%3D");
}
