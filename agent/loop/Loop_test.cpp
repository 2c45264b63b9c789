#include "agent/loop/Loop.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using weft::proxy::Flushable;
using weft::proxy::Loop;
using weft::proxy::Retirable;
using weft::proxy::Timed;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct Recorder final : Timed {
  Recorder(std::vector<std::string>& l, std::string n) : log(&l), name(std::move(n)) {}
  std::vector<std::string>* log;
  std::string name;
  void timer_fired(unsigned kind) override { log->push_back(name + ":" + std::to_string(kind)); }
};

struct Carrier final : Flushable {
  Carrier(Loop& lp, std::vector<std::string>& l, std::string n, Retirable* f = nullptr)
      : loop(&lp), log(&l), name(std::move(n)), finishes(f) {}
  Loop* loop;
  std::vector<std::string>* log;
  std::string name;
  Retirable* finishes = nullptr;  ///< retired by this carrier's flush
  void touch() override {
    if (!dirty) {
      dirty = true;
      loop->needs_flush(*this);
    }
  }
  void flush_pending() override {
    log->push_back("flush " + name);
    if (finishes != nullptr) {
      loop->retire(*finishes);
    }
  }
};

struct Finished final : Retirable {
  Finished(std::vector<std::string>& l, std::string n) : log(&l), name(std::move(n)) {}
  std::vector<std::string>* log;
  std::string name;
  Flushable* touches = nullptr;  ///< its erasure touches this carrier (an exchange's connection)
  void erase_now() override {
    log->push_back("erase " + name);
    if (touches != nullptr) {
      touches->touch();
    }
  }
};

}  // namespace

TEST_CASE("loop: deadlines fire when due, earliest first, unless cancelled") {
  Loop loop(0, 1, nullptr);
  std::vector<std::string> log;
  Recorder a(log, "a");
  Recorder b(log, "b");
  auto t0 = Clock::now();
  CHECK_FALSE(loop.next_deadline());
  loop.add_deadline(t0 + milliseconds(30), &a, 2);
  loop.add_deadline(t0 + milliseconds(10), &b, 0);
  auto cancelled = loop.add_deadline(t0 + milliseconds(20), &a, 1);
  REQUIRE(loop.next_deadline());
  CHECK(*loop.next_deadline() == t0 + milliseconds(10));
  loop.cancel_deadline(cancelled);
  loop.expire_deadlines(t0 + milliseconds(5));
  CHECK(log.empty());
  loop.expire_deadlines(t0 + milliseconds(30));
  CHECK(log == std::vector<std::string>{"b:0", "a:2"});
  CHECK_FALSE(loop.next_deadline());
}

TEST_CASE("loop: settle flushes touched carriers, then erases what finished, until quiet") {
  Loop loop(0, 1, nullptr);
  std::vector<std::string> log;
  Finished x(log, "x");
  Finished y(log, "y");
  Carrier c(loop, log, "c", &y);  // its flush finishes y
  Carrier d(loop, log, "d");
  c.touch();
  c.touch();  // once in the list
  d.touch();
  loop.retire(x);
  CHECK(x.retired);
  loop.settle();
  // Flushes first (newest first), then the retired: x, and y that c's flush retired.
  CHECK(log == std::vector<std::string>{"flush d", "flush c", "erase x", "erase y"});
  CHECK_FALSE(x.retired);
  CHECK_FALSE(c.dirty);
  log.clear();
  loop.settle();
  CHECK(log.empty());
}

TEST_CASE("loop: what an erasure touches is flushed in the same settle") {
  Loop loop(0, 1, nullptr);
  std::vector<std::string> log;
  Carrier connection(loop, log, "connection");
  Finished exchange(log, "exchange");
  exchange.touches = &connection;
  loop.retire(exchange);
  loop.settle();
  CHECK(log == std::vector<std::string>{"erase exchange", "flush connection"});
}

TEST_CASE("loop: a forgotten carrier and an unretired object are left alone") {
  Loop loop(0, 1, nullptr);
  std::vector<std::string> log;
  Finished x(log, "x");
  Carrier c(loop, log, "c");
  c.touch();
  loop.forget(c);  // destroyed before the loop settled
  loop.retire(x);
  loop.unretire(x);
  loop.settle();
  CHECK(log.empty());
}

TEST_CASE("loop: without a ring the clock moves by hand") {
  Loop loop(3, 1, nullptr);
  auto t = Clock::now() + std::chrono::hours(1);
  loop.set_now(t);
  CHECK(loop.now() == t);
  CHECK(loop.index() == 3);
}
