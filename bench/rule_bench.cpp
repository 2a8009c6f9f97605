// The pure session-rule decision for one pour: where does it go among the
// day's sessions? Baseline: the same loop without the decision.
#include "engine/rules.hpp"

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

namespace {

using pourd::engine::k_hour_ms;

std::vector<pourd::orm::Session>
day_sessions(int count)
{
  std::vector<pourd::orm::Session> out;
  for (int i = 0; i < count; ++i) {
    pourd::orm::Session s;
    s.pour_count = 3;
    s.first_pour_ms = i * 6 * k_hour_ms;
    s.last_pour_ms = i * 6 * k_hour_ms + k_hour_ms;
    out.push_back(s);
  }
  return out;
}

void
BM_PlanOnePour(benchmark::State& state)
{
  const auto sessions = day_sessions(static_cast<int>(state.range(0)));
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> when(0, 24 * k_hour_ms);
  std::vector<std::int64_t> times(1);
  for (auto _ : state) {
    times[0] = when(rng);
    auto plan = pourd::engine::plan_day(sessions, times, 4 * k_hour_ms);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_PlanOnePour)->Arg(0)->Arg(1)->Arg(4);

void
BM_PlanADayOfOrphans(benchmark::State& state)
{
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> when(0, 24 * k_hour_ms);
  std::vector<std::int64_t> times(static_cast<std::size_t>(state.range(0)));
  for (auto& t : times)
    t = when(rng);
  for (auto _ : state) {
    auto plan = pourd::engine::plan_day({}, times, 4 * k_hour_ms);
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_PlanADayOfOrphans)->Arg(10)->Arg(100);

// Baseline: drawing the random time alone.
void
BM_Baseline(benchmark::State& state)
{
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> when(0, 24 * k_hour_ms);
  for (auto _ : state)
    benchmark::DoNotOptimize(when(rng));
}
BENCHMARK(BM_Baseline);

} // namespace
