#include "agent/kube/RedirectionMarker.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "agent/kube/ApiObjects.hpp"
#include "agent/kube/WatchTable.hpp"
#include "common/Log.hpp"

namespace weft::kube {
namespace {

constexpr std::string_view kEnabled = "enabled";
/// How long a sent patch is trusted to be on its way through the watch, and how often the
/// marker looks again without being woken.
constexpr std::chrono::seconds kRetry{5};

std::optional<std::string> annotation(const discovery::PodInfo& pod) {
  auto it = pod.annotations.find(std::string(kRedirectionAnnotation));
  return it == pod.annotations.end() ? std::nullopt : std::optional(it->second);
}

}  // namespace

void RedirectionMarker::set_meshed(std::set<std::string> pods) {
  {
    std::lock_guard lock(mutex_);
    meshed_ = std::move(pods);
  }
  wake();
}

void RedirectionMarker::hand_over() {
  std::lock_guard lock(mutex_);
  meshed_.reset();
}

void RedirectionMarker::set_world(std::shared_ptr<const discovery::World> world) {
  {
    std::lock_guard lock(mutex_);
    world_ = std::move(world);
  }
  wake();
}

void RedirectionMarker::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_one();
}

std::map<std::string, std::optional<std::string>> RedirectionMarker::wanted_changes() {
  std::map<std::string, std::optional<std::string>> out;
  if (!meshed_ || !world_) {
    return out;
  }
  for (const auto& pod : world_->pods()) {
    if (pod.synthesized || pod.node_name != node_name_) {
      continue;
    }
    std::string key = fmt::format("{}/{}", pod.ns, pod.name);
    bool meshed = meshed_->contains(key);
    auto now = annotation(pod);
    if (meshed && now != kEnabled) {
      out[key] = std::string(kEnabled);
    } else if (!meshed && now == kEnabled) {
      out[key] = std::nullopt;
    }
  }
  auto now = std::chrono::steady_clock::now();
  std::erase_if(sent_, [&](const auto& entry) { return now - entry.second.second >= kRetry; });
  std::erase_if(out, [&](const auto& change) {
    auto it = sent_.find(change.first);
    return it != sent_.end() && it->second.first == change.second;
  });
  return out;
}

bool RedirectionMarker::send(const std::string& key, const std::optional<std::string>& value) {
  auto slash = key.find('/');
  std::string ns = key.substr(0, slash);
  std::string name = key.substr(slash + 1);
  nlohmann::json patch;
  patch["metadata"]["annotations"][std::string(kRedirectionAnnotation)] =
      value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  std::string target = fmt::format("/api/v1/namespaces/{}/pods/{}", ns, name);
  ++patches;
  auto answer = client_->patch(target, "application/merge-patch+json", patch.dump());
  if (answer && answer->status == 200) {
    log::info("pod.redirection_marked", "pod={} {}={}", key, kRedirectionAnnotation,
              value.value_or("(removed)"));
    return true;
  }
  ++patch_failures;
  if (answer && answer->status == 404) {
    log::debug("pod.redirection_mark_failed", "pod={} status=404 (deleted)", key);
  } else {
    log::warn("pod.redirection_mark_failed", "pod={} error=\"{}\"", key,
              answer
                  ? fmt::format("status {}: {}", answer->status, read_status(answer->body).message)
                  : answer.error().message);
  }
  return false;
}

void RedirectionMarker::run(const std::atomic<bool>& stop) {
  while (!stop) {
    std::map<std::string, std::optional<std::string>> changes;
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, kRetry, [&] { return woken_ || stop.load(); });
      woken_ = false;
      changes = wanted_changes();
    }
    for (const auto& [key, value] : changes) {
      if (stop) {
        return;
      }
      bool ok = send(key, value);
      std::lock_guard lock(mutex_);
      if (ok) {
        sent_[key] = {value, std::chrono::steady_clock::now()};
      } else {
        sent_.erase(key);
      }
    }
  }
}

}  // namespace weft::kube
