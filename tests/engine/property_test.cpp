// Random pour histories: whatever the order pours arrive in, and whether
// they come through the write path or as orphans recovered by the sweep,
// the sessions end up the same and the invariant holds.
#include "tests/engine/engine_fixture.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace pourd::test {
namespace {

using engine::k_hour_ms;
using engine::k_minute_ms;

class PropertyTest : public EngineTest
{
protected:
  // Gaps that probe the rule: short, around T, exactly T, T + 1 s, long.
  std::vector<std::int64_t> history(std::mt19937_64& rng, std::size_t n)
  {
    const std::int64_t T = 4 * k_hour_ms;
    std::vector<std::int64_t> out;
    std::int64_t t = at("2026-03-06T18:00:00Z");
    std::uniform_int_distribution<int> kind(0, 99);
    for (std::size_t i = 0; i < n; ++i) {
      const int k = kind(rng);
      std::int64_t gap = 0;
      if (k < 55)
        gap =
            std::uniform_int_distribution<std::int64_t>(20'000, k_hour_ms)(rng);
      else if (k < 75)
        gap = std::uniform_int_distribution<std::int64_t>(
            T - 10 * k_minute_ms, T + 10 * k_minute_ms)(rng);
      else if (k < 82)
        gap = T;
      else if (k < 89)
        gap = T + 1000;
      else
        gap = std::uniform_int_distribution<std::int64_t>(6 * k_hour_ms,
                                                          40 * k_hour_ms)(rng);
      t += gap;
      out.push_back(t);
    }
    return out;
  }

  // The user's sessions as sets of pour times, in a canonical order.
  std::set<std::vector<std::int64_t>> partition(std::int64_t user_id)
  {
    std::map<std::int64_t, std::vector<std::int64_t>> groups;
    store_->transact([&](orm::Tx& tx) {
      groups.clear();
      for (const auto& p : tx.pours_of_user(user_id))
        groups[p.session_id.null() ? -1 : *p.session_id].push_back(
            p.poured_at_ms);
    });
    std::set<std::vector<std::int64_t>> out;
    for (auto& [id, times] : groups) {
      EXPECT_NE(id, -1) << "orphans left for user " << user_id;
      std::sort(times.begin(), times.end());
      out.insert(times);
    }
    return out;
  }

  // The expected sessions, from the rule alone: sorted pours split where
  // the gap exceeds T or the local day changes.
  static std::set<std::vector<std::int64_t>>
  expected(std::vector<std::int64_t> times, const std::string& zone)
  {
    std::sort(times.begin(), times.end());
    std::set<std::vector<std::int64_t>> out;
    std::vector<std::int64_t> group;
    auto day = [&](std::int64_t t) {
      const std::int64_t wall =
          t + std::int64_t{engine::zone_offset(zone, t)} * k_minute_ms;
      return wall >= 0 ? wall / engine::k_day_ms
                       : -((-wall - 1) / engine::k_day_ms) - 1;
    };
    for (std::int64_t t : times) {
      if (!group.empty() &&
          (t - group.back() > 4 * k_hour_ms || day(t) != day(group.back()))) {
        out.insert(group);
        group.clear();
      }
      group.push_back(t);
    }
    if (!group.empty())
      out.insert(group);
    return out;
  }

  void add_orphan(std::int64_t user_id, std::int64_t bottle_id, std::int64_t t,
                  const std::string& zone)
  {
    store_->transact([&](orm::Tx& tx) {
      orm::Pour p;
      p.user_id = user_id;
      p.bottle_id = bottle_id;
      p.poured_at_ms = t;
      p.utc_offset_min = engine::zone_offset(zone, t);
      p.local_day = engine::local_day(t, p.utc_offset_min, 0);
      p.amount_coz = 100;
      tx.insert(p);
    });
  }
};

TEST_P(PropertyTest, GroupingIsIndependentOfArrivalOrder)
{
  const std::vector<std::string> zones = {
      "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"};
  const int seeds = GetParam() == "mysql" ? 4 : 8;
  for (int seed = 1; seed <= seeds; ++seed) {
    std::mt19937_64 rng(seed);
    const std::string zone = zones[seed % zones.size()];
    const auto times = history(rng, 30);
    auto shuffled = times;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);

    auto in_order = add_user(zone);
    auto random = add_user(zone);
    auto mixed = add_user(zone);
    auto b1 = add_bottle(in_order.id);
    auto b2 = add_bottle(random.id);
    auto b3 = add_bottle(mixed.id);
    for (std::int64_t t : times)
      pour(in_order.id, b1.id, engine::utc_text(t));
    for (std::int64_t t : shuffled)
      pour(random.id, b2.id, engine::utc_text(t));
    // Half through the write path, half as orphans for the sweep.
    for (std::size_t i = 0; i < shuffled.size(); ++i) {
      if (i % 2 == 0)
        pour(mixed.id, b3.id, engine::utc_text(shuffled[i]));
      else
        add_orphan(mixed.id, b3.id, shuffled[i], zone);
    }
    engine::RecoveryOptions run;
    run.execute = true;
    run.user_id = mixed.id;
    run.batch = 4;
    engine().recover(run);

    const auto want = expected(times, zone);
    EXPECT_EQ(partition(in_order.id), want) << "seed " << seed;
    EXPECT_EQ(partition(random.id), want) << "seed " << seed;
    EXPECT_EQ(partition(mixed.id), want) << "seed " << seed;
    for (const auto& v : engine().check())
      ADD_FAILURE() << "seed " << seed << ": pour " << v.pour_id << " session "
                    << v.session_id << ": " << v.reason;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, PropertyTest,
                         ::testing::ValuesIn(backends()), backend_name);

} // namespace
} // namespace pourd::test
