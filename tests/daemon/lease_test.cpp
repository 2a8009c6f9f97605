// The sweep lease between instances sharing one database.
#include "config/database_url.hpp"
#include "daemon/lease.hpp"
#include "tests/support/databases.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace pourd::test {
namespace {

using namespace std::chrono_literals;

TEST(LeaseTest, OneHolderAtATimeAndExpiredLeasesAreTakenOver)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    auto store = fresh_store(backend);
    std::int64_t now = 1'000'000;
    auto clock = [&now] { return now; };
    daemon::Lease a(*store, "orphan_sweep", "host-a:1", 60s, clock);
    daemon::Lease b(*store, "orphan_sweep", "host-b:2", 60s, clock);

    EXPECT_TRUE(a.acquire());
    std::string other;
    EXPECT_FALSE(b.acquire(&other));
    EXPECT_EQ(other, "host-a:1");
    // The holder may take it again, and renew it.
    EXPECT_TRUE(a.acquire());
    now += 50'000;
    EXPECT_TRUE(a.renew());

    // Renewed at 50 s for 60 s: still held at 100 s.
    now += 50'000;
    EXPECT_FALSE(b.acquire());
    // Expired: taken over, and the old holder notices on renewal.
    now += 20'000;
    EXPECT_TRUE(b.acquire());
    EXPECT_FALSE(a.renew());
    a.release(); // not a's any more: changes nothing
    EXPECT_FALSE(a.acquire());

    b.release();
    EXPECT_TRUE(a.acquire());
  }
}

TEST(LeaseTest, InstancesRacingForAnExpiredLeaseElectExactlyOne)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    const std::string url = fresh_database_url(backend);
    auto first = orm::Store::open(config::parse_database_url(url));
    first->migrate();
    // An expired lease left by a crashed instance.
    std::int64_t now = 1'000'000;
    daemon::Lease crashed(*first, "orphan_sweep", "gone:1", 1s,
                          [&now] { return now - 10'000; });
    ASSERT_TRUE(crashed.acquire());

    // Eight instances, each with its own connections, try at once.
    constexpr int instances = 8;
    std::vector<std::unique_ptr<orm::Store>> stores;
    for (int i = 0; i < instances; ++i)
      stores.push_back(orm::Store::open(config::parse_database_url(url)));
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < instances; ++i)
      threads.emplace_back([&, i] {
        daemon::Lease lease(*stores[i], "orphan_sweep",
                            "host-" + std::to_string(i) + ":1", 60s,
                            [&now] { return now; });
        if (lease.acquire())
          ++winners;
      });
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(winners.load(), 1);
  }
}

TEST(LeaseTest, HolderNamesHostAndProcess)
{
  const std::string holder = daemon::this_holder();
  EXPECT_NE(holder.find(':'), std::string::npos);
  EXPECT_EQ(holder.substr(holder.rfind(':') + 1), std::to_string(getpid()));
}

} // namespace
} // namespace pourd::test
