// Many writers at once: per-user serialization keeps one session per
// window and exact statistics.
#include "config/database_url.hpp"
#include "tests/engine/engine_fixture.hpp"

#include <atomic>
#include <thread>

namespace pourd::test {
namespace {

class ConcurrencyTest : public EngineTest
{
protected:
  void SetUp() override
  {
    auto options = config::parse_database_url(fresh_database_url(GetParam()));
    options.max_connections = 32;
    store_ = orm::Store::open(options);
    store_->migrate();
    now_ms_ = at("2026-12-03T21:15:00Z");
  }

  // Runs `threads` threads, each calling `fn(thread_index)`; counts the
  // exceptions they throw.
  int run(int threads, const std::function<void(int)>& fn)
  {
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
      pool.emplace_back([&, i] {
        try {
          fn(i);
        } catch (const std::exception& e) {
          ++failures;
          ADD_FAILURE() << "thread " << i << ": " << e.what();
        }
      });
    for (auto& t : pool)
      t.join();
    return failures;
  }
};

TEST_P(ConcurrencyTest, ThirtyTwoWritersForOneUserMakeOneSession)
{
  auto u = add_user("Europe/Oslo");
  auto b = add_bottle(u.id, 60.0);
  const int threads = 32;
  const int per_thread = 4;
  const std::int64_t base = at("2026-12-03T20:00:00Z");
  std::atomic<std::int64_t> cost{0};
  std::atomic<std::int64_t> amount{0};
  EXPECT_EQ(run(threads,
                [&](int i) {
                  for (int k = 0; k < per_thread; ++k) {
                    engine::NewPour p;
                    p.user_id = u.id;
                    p.bottle_id = b.id;
                    p.amount_oz = 0.5 + 0.25 * ((i + k) % 8);
                    p.rating = (i % 10) + 0.5;
                    // All within the same minute.
                    p.poured_at = engine::Instant{
                        base + (i * per_thread + k) * 400, std::nullopt};
                    auto r = engine().create_pour(p);
                    cost += r.pour.cost_minor.get();
                    amount += r.pour.amount_coz;
                  }
                }),
            0);

  auto sessions = engine().sessions(u.id, {}, {});
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].pour_count, threads * per_thread);
  EXPECT_EQ(sessions[0].total_amount_coz, amount.load());
  EXPECT_EQ(sessions[0].total_cost_minor, cost.load());
  EXPECT_EQ(sessions[0].rated_count, threads * per_thread);
  for (const auto& v : engine().check())
    ADD_FAILURE() << v.reason;
}

TEST_P(ConcurrencyTest, ManyUsersInParallelKeepTheirSessionsApart)
{
  const int users = 8;
  std::vector<orm::User> people;
  std::vector<orm::Bottle> bottles;
  for (int i = 0; i < users; ++i) {
    people.push_back(add_user());
    bottles.push_back(add_bottle(people.back().id));
  }
  const std::int64_t base = at("2026-12-03T20:00:00Z");
  // Four threads per user, interleaved so users contend for the pool.
  EXPECT_EQ(run(users * 4,
                [&](int i) {
                  const int who = i % users;
                  for (int k = 0; k < 5; ++k) {
                    engine::NewPour p;
                    p.user_id = people[who].id;
                    p.bottle_id = bottles[who].id;
                    p.amount_oz = 1;
                    p.poured_at = engine::Instant{base + (i * 5 + k) * 1000,
                                                  std::nullopt};
                    engine().create_pour(p);
                  }
                }),
            0);
  for (const auto& person : people) {
    auto sessions = engine().sessions(person.id, {}, {});
    ASSERT_EQ(sessions.size(), 1u);
    EXPECT_EQ(sessions[0].pour_count, 20);
    EXPECT_EQ(sessions[0].user_id, person.id);
  }
  EXPECT_TRUE(engine().check().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrencyTest,
                         ::testing::ValuesIn(backends()), backend_name);

} // namespace
} // namespace pourd::test
