// The real drink logs, imported as orphans and recovered by the sweep.
// The expected number of sessions is counted here from the rule itself,
// not from the code under test.
#include "tests/engine/engine_fixture.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace pourd::test {
namespace {

struct Row
{
  std::string checkin_id;
  std::int64_t utc_ms = 0;
  std::int32_t offset_min = 0;
  std::optional<std::int32_t> rating_tenths; // 0-5 scale doubled to 0-10
};

// Splits one CSV record (quotes may wrap fields; the logs have no line
// breaks inside fields).
std::vector<std::string>
csv_fields(const std::string& line)
{
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

std::vector<Row>
read_log(const std::string& path)
{
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const auto header = csv_fields(line);
  auto column = [&](const char* name) {
    auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<std::size_t>(it - header.begin());
  };
  const auto id = column("checkin_id");
  const auto utc = column("created_at_utc");
  const auto offset = column("tz_offset_minutes");
  const auto rating = column("rating");
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    const auto f = csv_fields(line);
    Row r;
    r.checkin_id = f.at(id);
    r.utc_ms = engine::parse_time(f.at(utc)).value().utc_ms;
    r.offset_min = std::stoi(f.at(offset));
    if (!f.at(rating).empty())
      r.rating_tenths =
          static_cast<std::int32_t>(std::lround(std::stod(f.at(rating)) * 20));
    rows.push_back(r);
  }
  return rows;
}

// Days since the epoch of the local wall-clock date.
std::int64_t
wall_date(const Row& r)
{
  const std::int64_t wall = r.utc_ms + std::int64_t{r.offset_min} * 60'000;
  const std::int64_t day = 86'400'000;
  return wall >= 0 ? wall / day : -((-wall - 1) / day) - 1;
}

class RealDataTest : public EngineTest
{
};

TEST_P(RealDataTest, EveryLogRecoversIntoRuleExactSessions)
{
  const auto dir = shared_data_dir();
  std::vector<std::filesystem::path> logs;
  for (const std::string& path : shared_logs())
    logs.emplace_back(path);
  ASSERT_GE(logs.size(), 2u)
      << "no drink logs in " << dir << " (set POURD_SHARED_DATA)";

  const std::int64_t amount_coz = 500; // the logs carry no amounts
  for (const auto& log : logs) {
    SCOPED_TRACE(log.filename().string());
    auto rows = read_log(log.string());
    ASSERT_FALSE(rows.empty());

    // Duplicate records (same check-in id) count once.
    std::set<std::string> seen;
    std::vector<Row> unique;
    for (const auto& r : rows)
      if (seen.insert(r.checkin_id).second)
        unique.push_back(r);

    auto u = add_user(log.filename().string().find("-us") != std::string::npos
                          ? "America/New_York"
                          : "Europe/Oslo");
    auto b = add_bottle(u.id, 30.0);
    std::int64_t cost_sum = 0;
    std::int64_t rating_sum = 0;
    std::int64_t rated = 0;
    for (std::size_t i = 0; i < unique.size(); i += 1000) {
      store_->transact([&](orm::Tx& tx) {
        for (std::size_t k = i; k < std::min(unique.size(), i + 1000); ++k) {
          const Row& r = unique[k];
          orm::Pour p;
          p.user_id = u.id;
          p.bottle_id = b.id;
          p.poured_at_ms = r.utc_ms;
          p.utc_offset_min = r.offset_min;
          p.own_offset = true;
          p.local_day = static_cast<std::int32_t>(wall_date(r));
          p.amount_coz = amount_coz;
          p.cost_minor = engine::pour_cost(3000, 750, amount_coz);
          if (r.rating_tenths)
            p.rating_tenths = *r.rating_tenths;
          p.external_id = r.checkin_id;
          tx.insert(p);
        }
      });
    }
    for (const auto& r : unique) {
      cost_sum += engine::pour_cost(3000, 750, amount_coz);
      if (r.rating_tenths) {
        rating_sum += *r.rating_tenths;
        ++rated;
      }
    }

    // The rule, counted directly: sort by time, split on a gap over 4 h
    // or a change of local date.
    auto sorted = unique;
    std::sort(sorted.begin(), sorted.end(),
              [](const Row& a, const Row& c) { return a.utc_ms < c.utc_ms; });
    std::int64_t expected_sessions = 1;
    for (std::size_t k = 1; k < sorted.size(); ++k)
      if (sorted[k].utc_ms - sorted[k - 1].utc_ms > 4 * 3'600'000 ||
          wall_date(sorted[k]) != wall_date(sorted[k - 1]))
        ++expected_sessions;

    engine::RecoveryOptions run;
    run.execute = true;
    run.user_id = u.id;
    run.batch = 1000;
    const auto report = engine().recover(run);
    EXPECT_EQ(report.found, static_cast<std::int64_t>(unique.size()));
    EXPECT_EQ(report.fixed, static_cast<std::int64_t>(unique.size()));
    EXPECT_EQ(report.remaining, 0);

    const auto sessions = engine().sessions(u.id, {}, {});
    std::int64_t pours = 0, amount = 0, cost = 0, ratings = 0, rated_n = 0;
    for (const auto& s : sessions) {
      pours += s.pour_count;
      amount += s.total_amount_coz;
      cost += s.total_cost_minor;
      ratings += s.rating_sum_tenths;
      rated_n += s.rated_count;
    }
    EXPECT_EQ(pours, static_cast<std::int64_t>(unique.size()));
    EXPECT_EQ(amount, amount_coz * static_cast<std::int64_t>(unique.size()));
    EXPECT_EQ(cost, cost_sum);
    EXPECT_EQ(ratings, rating_sum);
    EXPECT_EQ(rated_n, rated);
    EXPECT_EQ(static_cast<std::int64_t>(sessions.size()), expected_sessions);
    EXPECT_EQ(report.sessions_created, expected_sessions);
    const auto violations = engine().check(u.id);
    EXPECT_TRUE(violations.empty())
        << violations.size()
        << " violations, first: " << violations.front().reason;

    std::cout << "[ figures  ] " << log.filename().string() << " ("
              << GetParam() << "): rows=" << rows.size()
              << " pours=" << unique.size() << " sessions=" << sessions.size()
              << " batches=" << report.batches << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, RealDataTest,
                         ::testing::ValuesIn(backends()), backend_name);

} // namespace
} // namespace pourd::test
