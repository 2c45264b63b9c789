// The exchanges an owner (an app's connection, a tunnel session) keeps until they finish.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "agent/http/L7Exchange.hpp"

namespace weft::proxy {

/// Owns exchanges; each knows its slot, so adding and erasing one costs neither a node nor a
/// hash (a map keyed by the exchange's address did both for every request).
class ExchangeSet {
 public:
  L7Exchange& add(std::unique_ptr<L7Exchange> exchange) {
    exchange->slot = items_.size();
    return *items_.emplace_back(std::move(exchange));
  }

  /// Destroys `exchange` after the set has let go of it, so its destructor sees a consistent set.
  bool empty() const { return items_.empty(); }

  void erase(L7Exchange* exchange) {
    std::size_t slot = exchange->slot;
    std::unique_ptr<L7Exchange> gone = std::move(items_[slot]);
    if (slot + 1 != items_.size()) {
      items_[slot] = std::move(items_.back());
      items_[slot]->slot = slot;
    }
    items_.pop_back();
  }

 private:
  std::vector<std::unique_ptr<L7Exchange>> items_;
};

}  // namespace weft::proxy
