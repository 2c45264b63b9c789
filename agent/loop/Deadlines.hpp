// Request deadlines of one worker, earliest first.
#pragma once

#include <chrono>
#include <map>

namespace weft::proxy {

class L7Exchange;

/// What an exchange waits for.
enum class TimerKind {
  Request,  ///< the whole request's timeout (route timeouts.request, grpc-timeout)
  Try,      ///< one attempt's timeout (route timeouts.backendRequest)
  Retry,    ///< the backoff before the next attempt
};

struct TimerRef {
  L7Exchange* exchange;
  TimerKind kind;
};

/// An exchange keeps the iterators of its entries to cancel them; the worker's timer expires
/// the entries that are due.
using Deadlines = std::multimap<std::chrono::steady_clock::time_point, TimerRef>;

}  // namespace weft::proxy
