// The no_path_retry table.
#include "mpath/no_path.hpp"

#include <array>

namespace iscsi::mpath {

namespace {

using State = NoPathMachine::State;
using Event = NoPathMachine::Event;
using Action = NoPathMachine::Action;

struct Step {
  State next;
  Action action;
};

// A row's handler sees the setting and the tick count (which it may advance).
using Handler = Step (*)(const NoPathRetry&, unsigned& ticks);

struct Row {
  State from;
  Event event;
  Handler handler;
};

Step lost(const NoPathRetry& s, unsigned& ticks) {
  ticks = 0;
  if (s.kind == NoPathRetry::Kind::fail) return {State::failing, Action::fail_now};
  return {State::queueing, Action::start_queueing};
}

Step tick_queueing(const NoPathRetry& s, unsigned& ticks) {
  if (s.kind != NoPathRetry::Kind::checks) return {State::queueing, Action::none};
  if (++ticks >= s.checks) return {State::failing, Action::give_up};
  return {State::queueing, Action::none};
}

Step stay_failing(const NoPathRetry&, unsigned&) { return {State::failing, Action::none}; }

Step back(const NoPathRetry&, unsigned& ticks) {
  ticks = 0;
  return {State::serving, Action::resume};
}

constexpr std::array<Row, 5> kTable{{
    {State::serving, Event::paths_lost, &lost},
    {State::queueing, Event::tick, &tick_queueing},
    {State::queueing, Event::path_back, &back},
    {State::failing, Event::tick, &stay_failing},
    {State::failing, Event::path_back, &back},
}};

}  // namespace

std::optional<NoPathMachine::Action> NoPathMachine::on(Event e) noexcept {
  for (const auto& r : kTable) {
    if (r.from == state_ && r.event == e) {
      const Step s = r.handler(setting_, ticks_);
      state_ = s.next;
      return s.action;
    }
  }
  return std::nullopt;
}

std::string_view to_string(NoPathMachine::State s) noexcept {
  switch (s) {
    case State::serving: return "serving";
    case State::queueing: return "queueing";
    case State::failing: return "failing";
  }
  return "unknown";
}

std::string_view to_string(NoPathMachine::Event e) noexcept {
  switch (e) {
    case Event::paths_lost: return "paths_lost";
    case Event::tick: return "tick";
    case Event::path_back: return "path_back";
  }
  return "unknown";
}

}  // namespace iscsi::mpath
