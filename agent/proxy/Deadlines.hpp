// Request deadlines of one worker, earliest first.
#pragma once

#include <chrono>
#include <map>

namespace weft::proxy {

class L7Exchange;

/// An exchange keeps the iterator of its entry to cancel it; the worker's timer expires the
/// entries that are due.
using Deadlines = std::multimap<std::chrono::steady_clock::time_point, L7Exchange*>;

}  // namespace weft::proxy
