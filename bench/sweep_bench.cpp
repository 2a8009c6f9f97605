// Orphan recovery throughput next to the raw rate of the same database:
// batched "UPDATE ... WHERE id IN (...)" of 1,000 rows per transaction on
// the same table, measured in the same run.
//
//   sweep_bench --database=URL [--pours=N] [--users=U]
//
// The database must be empty; the schema is created.
#include "config/database_url.hpp"
#include "engine/engine.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace {

using namespace pourd;
using clock_type = std::chrono::steady_clock;

double
seconds_since(clock_type::time_point start)
{
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

std::string
cpu_model()
{
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0)
      return line.substr(line.find(':') + 2);
  return "unknown";
}

// A user's history: sessions of 1 to 6 pours 5 to 50 minutes apart,
// sessions 1 to 4 days apart, all orphans.
std::vector<std::int64_t>
history(std::mt19937_64& rng, std::size_t pours)
{
  std::vector<std::int64_t> out;
  std::int64_t t =
      1'600'000'000'000 + std::uniform_int_distribution<std::int64_t>(
                              0, 30 * engine::k_day_ms)(rng);
  std::uniform_int_distribution<int> per_session(1, 6);
  std::uniform_int_distribution<std::int64_t> gap(5, 50);
  std::uniform_int_distribution<std::int64_t> days(1, 4);
  while (out.size() < pours) {
    const int n = per_session(rng);
    for (int i = 0; i < n && out.size() < pours; ++i) {
      out.push_back(t);
      t += gap(rng) * engine::k_minute_ms;
    }
    t += days(rng) * engine::k_day_ms;
  }
  return out;
}

} // namespace

int
main(int argc, char** argv)
{
  CLI::App app{"Orphan sweep benchmark"};
  std::string url;
  std::size_t pours = 1'000'000;
  std::size_t users = 10'000;
  app.add_option("--database", url, "database URL (empty)")->required();
  app.add_option("--pours", pours, "orphaned pours to recover");
  app.add_option("--users", users, "users they belong to");
  CLI11_PARSE(app, argc, argv);
  if (users == 0 || pours < users) {
    std::fprintf(stderr, "sweep_bench: need at least one pour per user\n");
    return 2;
  }

  auto options = config::parse_database_url(url);
  auto store = orm::Store::open(options);
  store->migrate();
  engine::Engine eng(*store, engine::Settings{});

  // Users, one bottle each, then the orphans in multi-row inserts.
  std::mt19937_64 rng(2026);
  std::vector<std::int64_t> pour_ids;
  const auto load_start = clock_type::now();
  std::vector<std::pair<std::int64_t, std::int64_t>> owners; // user, bottle
  store->transact([&](orm::Tx& tx) {
    if (tx.count_orphans() != 0 || !tx.users().empty())
      throw std::runtime_error("the database is not empty");
    owners.clear();
    for (std::size_t i = 0; i < users; ++i) {
      orm::User u;
      u.email = "bench" + std::to_string(i) + "@example.com";
      u.email_key = u.email;
      u.time_zone = "UTC";
      tx.insert(u);
      orm::Bottle b;
      b.user_id = u.id;
      b.name = "House pour";
      b.price_minor = 4000;
      tx.insert(b);
      owners.emplace_back(u.id, b.id);
    }
  });
  const std::size_t per_user = pours / users;
  std::string sql;
  std::size_t rows = 0;
  auto flush = [&] {
    if (rows == 0)
      return;
    store->transact([&](orm::Tx& tx) { tx.execute(sql); });
    sql.clear();
    rows = 0;
  };
  for (std::size_t i = 0; i < users; ++i) {
    const std::size_t n = per_user + (i < pours % users ? 1 : 0);
    for (std::int64_t t : history(rng, n)) {
      if (rows == 0)
        sql = "INSERT INTO pourd_pour (user_id, bottle_id, poured_at_ms, "
              "utc_offset_min, local_day, amount_coz, cost_minor, notes, "
              "location, tags, companions, auto_grouped, own_offset, "
              "created_at_ms) VALUES ";
      else
        sql += ',';
      sql += "(" + std::to_string(owners[i].first) + "," +
             std::to_string(owners[i].second) + "," + std::to_string(t) +
             ",0," + std::to_string(engine::local_day(t, 0, 0)) +
             ",150,237,'','','','',1,0," + std::to_string(t) + ")";
      if (++rows == 1000)
        flush();
    }
  }
  flush();
  const double load_s = seconds_since(load_start);

  // pourd's recovery.
  const auto sweep_start = clock_type::now();
  engine::RecoveryOptions run;
  run.execute = true;
  run.batch = 1000;
  const auto report = eng.recover(run);
  const double sweep_s = seconds_since(sweep_start);
  if (report.remaining != 0 ||
      report.fixed != static_cast<std::int64_t>(pours)) {
    std::fprintf(stderr, "sweep_bench: recovery left %lld orphans\n",
                 static_cast<long long>(report.remaining));
    return 1;
  }
  std::size_t violations = 0;
  if (pours <= 50'000)
    violations = eng.check().size();

  // The raw rate: the same pours set back to orphans, then assigned in
  // batches of 1,000 ids per transaction.
  store->transact([&](orm::Tx& tx) {
    pour_ids.clear();
    for (const auto& [user_id, bottle_id] : owners)
      for (const auto& p : tx.pours_of_user(user_id))
        pour_ids.push_back(p.id);
    tx.execute("UPDATE pourd_pour SET session_id = NULL");
  });
  const auto raw_start = clock_type::now();
  for (std::size_t i = 0; i < pour_ids.size(); i += 1000) {
    const std::vector<std::int64_t> chunk(
        pour_ids.begin() + static_cast<std::ptrdiff_t>(i),
        pour_ids.begin() +
            static_cast<std::ptrdiff_t>(std::min(pour_ids.size(), i + 1000)));
    store->transact([&](orm::Tx& tx) { tx.assign_pours(1, chunk); });
  }
  const double raw_s = seconds_since(raw_start);

  const double ours = static_cast<double>(pours) / sweep_s;
  const double raw = static_cast<double>(pours) / raw_s;
  std::printf("machine     %u cores, %s\n", std::thread::hardware_concurrency(),
              cpu_model().c_str());
  std::printf("backend     %s\n",
              options.backend == orm::Backend::mysql ? "mysql" : "sqlite");
  std::printf("data        %zu orphans over %zu users, loaded in %.1f s\n",
              pours, users, load_s);
  std::printf("%-34s %12s %10s\n", "row", "pours/s", "seconds");
  std::printf("%-34s %12.0f %10.2f\n", "pourd recovery (batch 1000)", ours,
              sweep_s);
  std::printf("%-34s %12.0f %10.2f\n", "raw UPDATE ... IN (1000 ids)", raw,
              raw_s);
  std::printf("ratio       %.2f of the raw rate (target 0.50)\n", ours / raw);
  std::printf("sessions    %lld created in %lld batches\n",
              static_cast<long long>(report.sessions_created),
              static_cast<long long>(report.batches));
  if (pours <= 50'000)
    std::printf("check       %zu violations\n", violations);
  return violations == 0 ? 0 : 1;
}
