// The sweep lease between instances sharing one database.
#include "daemon/lease.hpp"
#include "tests/support/databases.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

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

TEST(LeaseTest, HolderNamesHostAndProcess)
{
  const std::string holder = daemon::this_holder();
  EXPECT_NE(holder.find(':'), std::string::npos);
  EXPECT_EQ(holder.substr(holder.rfind(':') + 1), std::to_string(getpid()));
}

} // namespace
} // namespace pourd::test
