// The operator's story on every real drink log in ../shared/data: import,
// see the orphans, plan a fix that writes nothing, apply it, and find no
// orphan and no rule violation left. Expectations are computed here from
// the file and the rule, not from the code under test.
#include "config/database_url.hpp"
#include "tests/cli/cli_backends.hpp"
#include "tests/cli/run_pourctl.hpp"
#include "tests/support/databases.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

namespace pourd::test {
namespace {

namespace json = boost::json;

constexpr std::int64_t k_minute = 60'000;
constexpr std::int64_t k_day = 1440 * k_minute;
constexpr std::int64_t k_timeout = 240 * k_minute; // the default T

struct LogRow
{
  std::string id;
  std::int64_t utc_ms = 0;
  std::int32_t offset_min = 0;
};

struct Expectation
{
  std::size_t rows = 0;
  std::vector<LogRow> distinct; // first copy of each check-in, time order
  std::size_t sessions = 0;
  std::map<std::string, std::string> local_time; // by check-in id
};

// The logs quote fields but never break lines inside them.
std::vector<std::string>
split(const std::string& line)
{
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"')
      out.back() += line[++i];
    else if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      out.emplace_back();
    else if (c != '\r')
      out.back() += c;
  }
  return out;
}

std::int64_t
parse_utc(const std::string& text) // 2016-03-01T18:06:42Z
{
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  EXPECT_FALSE(in.fail()) << text;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

std::string
local_text(std::int64_t utc_ms, std::int32_t offset_min)
{
  const std::time_t t = (utc_ms + offset_min * k_minute) / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const int a = std::abs(offset_min);
  const int n = static_cast<int>(
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm));
  std::snprintf(buf + n, sizeof buf - n, "%c%02d:%02d",
                offset_min < 0 ? '-' : '+', a / 60, a % 60);
  return buf;
}

std::int64_t
floor_div(std::int64_t a, std::int64_t b)
{
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

Expectation
expect_from(const std::string& path)
{
  Expectation e;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const auto header = split(line);
  auto column = [&](const char* name) {
    return static_cast<std::size_t>(
        std::find(header.begin(), header.end(), name) - header.begin());
  };
  const std::size_t id = column("checkin_id"), at = column("created_at_utc"),
                    off = column("tz_offset_minutes");
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    ++e.rows;
    const auto f = split(line);
    if (!seen.insert(f[id]).second)
      continue;
    LogRow row{f[id], parse_utc(f[at]), std::stoi(f[off])};
    e.local_time[row.id] = local_text(row.utc_ms, row.offset_min);
    e.distinct.push_back(row);
  }
  std::stable_sort(
      e.distinct.begin(), e.distinct.end(),
      [](const LogRow& a, const LogRow& b) { return a.utc_ms < b.utc_ms; });
  // DESIGN 1.2: consecutive pours share a session exactly when at most T
  // apart on the same local day.
  for (std::size_t i = 0; i < e.distinct.size(); ++i) {
    const LogRow& r = e.distinct[i];
    if (i == 0) {
      e.sessions = 1;
      continue;
    }
    const LogRow& p = e.distinct[i - 1];
    const bool same_day =
        floor_div(r.utc_ms + r.offset_min * k_minute, k_day) ==
        floor_div(p.utc_ms + p.offset_min * k_minute, k_day);
    if (!same_day || r.utc_ms - p.utc_ms > k_timeout)
      ++e.sessions;
  }
  return e;
}

// Every user, session and pour, field by field, as one text.
std::string
dump(const std::string& url)
{
  auto store = orm::Store::open(config::parse_database_url(url));
  std::ostringstream out;
  store->transact([&](orm::Tx& tx) {
    out.str("");
    for (const orm::User& u : tx.users()) {
      out << "user " << u.id << ' ' << u.email << ' ' << u.time_zone << '\n';
      for (const orm::Session& s : tx.all_sessions(u.id))
        out << "session " << s.id << ' ' << s.name << ' ' << s.local_day << ' '
            << s.pour_count << ' ' << s.total_amount_coz << ' '
            << s.rating_sum_tenths << '\n';
      for (const orm::Pour& p : tx.pours_of_user(u.id))
        out << "pour " << p.id << ' ' << p.bottle_id << ' '
            << (p.session_id.null() ? -1 : *p.session_id) << ' '
            << p.poured_at_ms << ' ' << p.utc_offset_min << ' ' << p.local_day
            << ' ' << p.amount_coz << ' '
            << (p.rating_tenths.null() ? -1 : *p.rating_tenths) << ' '
            << (p.external_id.null() ? "" : *p.external_id) << '\n';
    }
  });
  return out.str();
}

using Param = std::tuple<std::string, std::string>; // backend, file name

class RealLogTest : public ::testing::TestWithParam<Param>
{
};

TEST_P(RealLogTest, ImportMonitorPlanFixAndCheck)
{
  const auto& [backend, name] = GetParam();
  POURD_SKIP_UNLESS_AVAILABLE(backend);
  const std::string path = shared_data_dir() + "/" + name;
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  const Expectation e = expect_from(path);
  const auto imported = static_cast<std::int64_t>(e.distinct.size());
  const auto duplicates = static_cast<std::int64_t>(e.rows) - imported;
  const std::string email = "drinker@example.test";
  const std::string url = fresh_database_url(backend);
  auto run = [&](const std::vector<std::string>& args) {
    return run_pourctl(url, args);
  };

  ASSERT_EQ(run({"migrate"}).status, 0);

  RunResult r = run({"import", path, "--format", "drink-log-csv", "--user",
                     email, "--time-zone", "Europe/Oslo", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  json::value v = r.json();
  EXPECT_EQ(v.at("read").as_int64(), static_cast<std::int64_t>(e.rows));
  EXPECT_EQ(v.at("imported").as_int64(), imported);
  EXPECT_EQ(v.at("duplicates").as_int64(), duplicates);
  EXPECT_EQ(v.at("bad").as_int64(), 0);

  r = run({"monitor-orphaned-pours", "--json"});
  EXPECT_EQ(r.status, 1) << "orphans exist";
  v = r.json();
  EXPECT_EQ(v.at("count").as_int64(), imported);
  ASSERT_EQ(v.at("by_user").as_array().size(), 1u);
  EXPECT_EQ(v.at("by_user").at(0).at("email").as_string(), email);

  // Before the fix every orphan is itself a violation.
  EXPECT_EQ(run({"debug-pour-sessions", email}).status, 1);

  const std::string before = dump(url);
  r = run({"fix-orphaned-pours", email, "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  const json::value plan = r.json();
  EXPECT_FALSE(plan.at("execute").as_bool());
  EXPECT_EQ(plan.at("found").as_int64(), imported);
  EXPECT_EQ(plan.at("to_assign").as_int64(), imported);
  EXPECT_FALSE(plan.as_object().contains("fixed"));
  EXPECT_EQ(plan.at("sessions_created").as_int64(),
            static_cast<std::int64_t>(e.sessions));
  EXPECT_EQ(dump(url), before) << "a dry run writes nothing";

  r = run({"fix-orphaned-pours", email, "--execute", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json::value done = r.json();
  EXPECT_EQ(done.at("found").as_int64(), imported);
  EXPECT_EQ(done.at("fixed").as_int64(), imported);
  EXPECT_EQ(done.at("remaining").as_int64(), 0);
  EXPECT_EQ(done.at("sessions_created").as_int64(),
            plan.at("sessions_created").as_int64())
      << "the plan is what --execute does";

  r = run({"monitor-orphaned-pours"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "no orphaned pours\n");

  r = run({"debug-pour-sessions", email, "--json"});
  EXPECT_EQ(r.status, 0) << r.out.substr(0, 2000);
  v = r.json();
  EXPECT_TRUE(v.at("violations").as_array().empty());
  EXPECT_TRUE(v.at("orphans").as_array().empty());
  const json::array& sessions = v.at("sessions").as_array();
  EXPECT_EQ(sessions.size(), e.sessions);
  std::size_t pours = 0, wrong_local = 0;
  for (const json::value& s : sessions)
    for (const json::value& p : s.at("pours").as_array()) {
      ++pours;
      const std::string id(p.at("external_id").as_string());
      if (e.local_time.at(id) != p.at("local_time").as_string())
        ++wrong_local;
    }
  EXPECT_EQ(pours, e.distinct.size());
  EXPECT_EQ(wrong_local, 0u) << "pours keep the log's own local time";

  r = run(
      {"import", path, "--format", "drink-log-csv", "--user", email, "--json"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.json().at("imported").as_int64(), 0);
  EXPECT_EQ(r.json().at("duplicates").as_int64(),
            static_cast<std::int64_t>(e.rows));
  EXPECT_EQ(run({"monitor-orphaned-pours"}).status, 0);

  std::cout << name << " on " << backend << ": rows " << e.rows << ", imported "
            << imported << ", duplicates " << duplicates << ", orphans "
            << imported << ", sessions created "
            << done.at("sessions_created").as_int64() << ", violations 0\n";
}

std::vector<Param>
params()
{
  std::vector<std::string> files;
  for (const std::string& path : shared_logs())
    files.push_back(std::filesystem::path(path).filename().string());
  std::vector<Param> out;
  for (const std::string& backend : cli_backends())
    for (const std::string& f : files)
      out.emplace_back(backend, f);
  return out;
}

std::string
param_name(const ::testing::TestParamInfo<Param>& info)
{
  std::string file = std::get<1>(info.param);
  file = file.substr(0, file.rfind('.'));
  for (char& c : file)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  return std::get<0>(info.param) + "_" + file;
}

INSTANTIATE_TEST_SUITE_P(SharedData, RealLogTest, ::testing::ValuesIn(params()),
                         param_name);

// Without the logs the suite above has no cases; this says why.
TEST(SharedData, RealLogsArePresent)
{
  EXPECT_GE(shared_logs().size(), 2u)
      << "no drink logs (*.csv) in " << shared_data_dir()
      << "; put the checkout beside shared/ or set POURD_SHARED_DATA";
}

} // namespace
} // namespace pourd::test
