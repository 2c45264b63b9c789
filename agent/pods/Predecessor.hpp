// The agent a starting agent replaces on the node (ARCHITECTURE.md, "Hand-over"), reached through
// the registration socket it still owns.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/Error.hpp"
#include "common/Fd.hpp"

namespace weft::agent {

class Predecessor {
 public:
  /// Connects to the agent serving `path`; nullopt when none does (a first start, or the agent
  /// before is gone and its socket file refuses).
  static Result<std::optional<Predecessor>> connect(const std::string& path);

  /// Asks it to hand the node over: it answers the registrations queued before, stops taking
  /// any, leaves the state file and the pods' marks to us, and says so. Call it once the path
  /// leads to our own socket, so nothing can queue there after the ones it answers.
  Result<void> hand_over(std::chrono::milliseconds timeout);

 private:
  explicit Predecessor(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace weft::agent
