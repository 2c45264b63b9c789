#include "l7/PeakEwma.hpp"

#include <cmath>

namespace weft::l7 {
namespace {

double ns(std::chrono::steady_clock::duration d) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

}  // namespace

PeakEwma::PeakEwma(Clock::duration initial, Clock::duration decay, Clock::time_point now)
    : rtt_ns_(ns(initial)), decay_ns_(ns(decay) > 0 ? ns(decay) : 1), updated_(now) {}

double PeakEwma::estimate(Clock::time_point now) const {
  double elapsed = now > updated_ ? ns(now - updated_) : 0;
  return rtt_ns_ * std::exp(-elapsed / decay_ns_);
}

double PeakEwma::cost(Clock::time_point now) const {
  return estimate(now) * (static_cast<double>(pending_) + 1);
}

void PeakEwma::finished(Clock::time_point sent, Clock::time_point now) {
  if (pending_ > 0) {
    --pending_;
  }
  double rtt = now > sent ? ns(now - sent) : 0;
  double elapsed = now > updated_ ? ns(now - updated_) : 0;
  double weight = std::exp(-elapsed / decay_ns_);
  if (rtt > rtt_ns_ * weight) {
    rtt_ns_ = rtt;  // the peak: a slower answer counts in full, at once
  } else {
    // Continuous-time EWMA: the older the last update, the more the new sample counts.
    rtt_ns_ = rtt_ns_ * weight + rtt * (1 - weight);
  }
  updated_ = now;
}

}  // namespace weft::l7
