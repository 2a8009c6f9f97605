// The daemon's life: flags and configuration errors, the generated admin
// token, systemd notifications, SIGHUP reload, SIGTERM drain, metrics.
#include "config/database_url.hpp"
#include "engine/rules.hpp"
#include "tests/admin/fixture.hpp"
#include "tests/support/databases.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace pourd::test {
namespace {

using namespace std::chrono_literals;

TEST(LifecycleTest, HelpVersionAndConfigurationErrors)
{
  std::string out;
  EXPECT_EQ(run_pourd({"--help"}, out), 0);
  EXPECT_NE(out.find("--sweep-interval=VALUE"), std::string::npos) << out;
  EXPECT_NE(out.find("--config FILE"), std::string::npos);

  EXPECT_EQ(run_pourd({"--version"}, out), 0);
  EXPECT_EQ(out.rfind("pourd ", 0), 0u) << out;

  const std::string dir = temp_dir("pourd-cfg");
  const std::string state = "--state-dir=" + dir;
  EXPECT_EQ(run_pourd({state, "--sweep-batch=0"}, out), 2);
  EXPECT_NE(out.find("sweep_batch"), std::string::npos) << out;

  EXPECT_EQ(run_pourd({state, "--no-such-key=1"}, out), 2);
  EXPECT_NE(out.find("no-such-key"), std::string::npos) << out;

  EXPECT_EQ(run_pourd({state, "--config=" + dir + "/missing.conf"}, out), 2);
  EXPECT_NE(out.find("missing.conf"), std::string::npos) << out;

  EXPECT_EQ(run_pourd({state}, out, {{"POURD_LOG_FORMAT", "json"}}), 2);
  EXPECT_NE(out.find("log_format"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

TEST(LifecycleTest, AdminTokenIsGeneratedPrivateAndNeverLogged)
{
  Running run = start("sqlite");
  ASSERT_TRUE(run.daemon->started());
  const std::string path = run.daemon->dir() + "/state/admin-token";
  struct stat st
  {
  };
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const std::string token = run.daemon->admin_token();
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(run.daemon->log().find("admin token generated\" path=" + path),
            std::string::npos)
      << run.daemon->log();
  EXPECT_EQ(run.daemon->log().find(token), std::string::npos);
  EXPECT_EQ(run.api->get("/api/orphans").status, 200);
}

TEST(LifecycleTest, ConfiguredAdminTokenIsUsedAndDatabasePasswordRedacted)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    DaemonOptions options;
    options.args = {"--admin-token=configured-admin-token"};
    Running run = start(backend, options);
    ASSERT_TRUE(run.daemon->started());
    const Api api(run.daemon->port(), "configured-admin-token");
    EXPECT_EQ(api.get("/api/orphans").status, 200);
    EXPECT_FALSE(
        std::filesystem::exists(run.daemon->dir() + "/state/admin-token"));
    const std::string log = run.daemon->log();
    EXPECT_EQ(log.find("configured-admin-token"), std::string::npos);
    if (backend == "mysql") {
      const std::string password =
          config::parse_database_url(run.database_url).password;
      ASSERT_FALSE(password.empty());
      EXPECT_EQ(log.find(password), std::string::npos)
          << "the database password reached the log";
    }
  }
}

// A stand-in for systemd's notification socket.
class NotifySocket
{
public:
  NotifySocket() : path_(temp_dir("pourd-notify") + "/notify.sock")
  {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  ~NotifySocket()
  {
    ::close(fd_);
    std::filesystem::remove_all(std::filesystem::path(path_).parent_path());
  }

  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // Collects datagrams until one contains `needle`; false on timeout.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout)
  {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (received_.find(needle) != std::string::npos)
        return true;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0)
        received_.append(buf, static_cast<std::size_t>(n)).append("\n");
    }
    return received_.find(needle) != std::string::npos;
  }

  const std::string& received() const { return received_; }

private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::string received_;
};

TEST(LifecycleTest, NotifiesSystemdOfReadinessWatchdogAndStopping)
{
  NotifySocket notify;
  ASSERT_TRUE(notify.bound());
  DaemonOptions options;
  options.env = {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "400000"}};
  Running run = start("sqlite", options);
  ASSERT_TRUE(run.daemon->started());

  EXPECT_TRUE(notify.wait_for("READY=1", 10s)) << notify.received();
  EXPECT_TRUE(notify.wait_for("STATUS=", 5s)) << notify.received();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", 5s)) << notify.received();

  run.daemon->signal(SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1", 10s)) << notify.received();
  EXPECT_EQ(run.daemon->wait_exit(20s), 0);
}

TEST(LifecycleTest, SighupReloadsSecretsLogLevelAndSweepInterval)
{
  DaemonOptions options;
  options.cron_secret.clear();
  options.config_text =
      "cron_secret = first-secret\nlog_level = info\nsweep_interval = 0\n";
  Running run = start("sqlite", options);
  ASSERT_TRUE(run.daemon->started());
  const auto port = run.daemon->port();
  auto cron = [port](const std::string& secret) {
    return http(port, "POST", "/api/cron/check-orphaned-pours", "",
                {{"Authorization", "Bearer " + secret}})
        .status;
  };
  EXPECT_EQ(cron("first-secret"), 200);

  std::ofstream(run.daemon->config_path())
      << "cron_secret = second-secret\nlog_level = debug\n"
         "sweep_interval = 1s\n";
  run.daemon->signal(SIGHUP);
  ASSERT_TRUE(run.daemon->wait_log("msg=\"configuration reloaded\"", 10s))
      << run.daemon->log();
  const std::string log = run.daemon->log();
  const auto line = log.substr(log.find("msg=\"configuration reloaded\""));
  const auto changed = line.substr(0, line.find('\n'));
  EXPECT_NE(changed.find("log_level"), std::string::npos) << changed;
  EXPECT_NE(changed.find("sweep_interval"), std::string::npos) << changed;
  EXPECT_NE(changed.find("cron_secret"), std::string::npos) << changed;
  EXPECT_EQ(log.find("second-secret"), std::string::npos);

  EXPECT_EQ(cron("first-secret"), 401);
  EXPECT_EQ(cron("second-secret"), 200);
  // Debug now logs each request; the timer now sweeps.
  EXPECT_TRUE(run.daemon->wait_log("msg=\"request\"", 5s));
  EXPECT_TRUE(run.daemon->wait_log("trigger=timer", 10s));

  // A broken file is refused and the running configuration stays.
  std::ofstream(run.daemon->config_path()) << "sweep_batch = 0\n";
  run.daemon->signal(SIGHUP);
  EXPECT_TRUE(run.daemon->wait_log("reload failed", 10s));
  EXPECT_EQ(cron("second-secret"), 200);
  EXPECT_EQ(http(port, "GET", "/healthz").status, 200);
}

TEST(LifecycleTest, SigtermUnderLoadExitsZeroKeepingEveryAcknowledgedPour)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const Api& api = *run.api;
    const auto uid = make_user(api, "load@example.com");
    const auto bid = make_bottle(api, uid);

    std::mutex mutex;
    std::vector<std::int64_t> acknowledged;
    std::atomic<int> unexpected{0};
    std::atomic<bool> give_up{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
      clients.emplace_back([&, t] {
        for (int i = 0; !give_up; ++i) {
          // Distinct minutes of one day: every pour is a real write.
          const std::int64_t minute = t * 300 + i;
          auto body = pour_body(uid, bid, "", 1.0);
          body["poured_at"] =
              engine::utc_text(1'790'000'000'000 + (minute % 1000) * 60'000);
          const HttpResult r = api.post("/api/pours", body);
          if (r.status == 201) {
            std::lock_guard lock(mutex);
            acknowledged.push_back(r.json().at("pour").at("id").as_int64());
          } else if (r.status == 0) {
            return; // the daemon stopped listening
          } else if (r.status != 503) {
            ++unexpected;
          }
        }
      });

    std::this_thread::sleep_for(800ms);
    run.daemon->signal(SIGTERM);
    const auto code = run.daemon->wait_exit(30s);
    give_up = true;
    for (auto& c : clients)
      c.join();
    EXPECT_EQ(code, 0) << run.daemon->log();
    EXPECT_EQ(unexpected, 0);
    ASSERT_FALSE(acknowledged.empty());
    EXPECT_TRUE(refuses_connections(api.port()));

    auto store = run.open_store();
    std::size_t missing = 0;
    store->transact([&](orm::Tx& tx) {
      missing = 0;
      for (auto id : acknowledged)
        if (tx.find_pour(id).null())
          ++missing;
    });
    EXPECT_EQ(missing, 0u) << "of " << acknowledged.size();
    // Every pour, acknowledged or cut off, is whole: none is orphaned.
    EXPECT_EQ(count_rows(*store).orphans, 0u);
    const std::string log = run.daemon->log();
    EXPECT_NE(log.find("msg=\"stopping\""), std::string::npos);
    EXPECT_NE(log.find("msg=\"stopped\""), std::string::npos);
  }
}

std::string
find_promtool()
{
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = dirs.find(':', start);
    const std::string dir = dirs.substr(start, end - start);
    const std::string candidate = dir + "/promtool";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return {};
}

std::string
metrics_after_some_traffic(Running& run)
{
  const Api& api = *run.api;
  const auto uid = make_user(api, "metrics@example.com");
  const auto bid = make_bottle(api, uid);
  EXPECT_EQ(api.post("/api/pours", pour_body(uid, bid, "")).status, 201);
  EXPECT_EQ(http(api.port(), "GET", "/api/orphans").status, 401);
  EXPECT_EQ(http(api.port(), "POST", "/api/cron/check-orphaned-pours", "",
                 {{"Authorization", std::string("Bearer ") + k_cron_secret}})
                .status,
            200);
  const HttpResult m = http(api.port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  return m.body;
}

TEST(MetricsTest, StableNamesAndCounts)
{
  Running run = start("sqlite");
  ASSERT_TRUE(run.daemon->started());
  const std::string text = metrics_after_some_traffic(run);
  for (const char* expected : {
           "pourd_pours_created_total 1",
           "pourd_sessions_created_total{origin=\"auto\"} 1",
           "pourd_auth_failures_total{realm=\"admin\"} 1",
           "pourd_http_requests_total{method=\"POST\",route=\"/api/pours\","
           "status=\"201\"} 1",
           "pourd_http_request_duration_seconds_bucket",
           "pourd_sweeps_total{result=\"ok\",trigger=\"cron\"} 1",
           "pourd_orphans_remaining 0",
           "pourd_sweep_duration_seconds_count 1",
           "# TYPE pourd_database_retries_total counter",
           "# TYPE pourd_database_errors_total counter",
       })
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
}

TEST(MetricsTest, PassPromtoolCheck)
{
  const std::string promtool = find_promtool();
  if (promtool.empty())
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  Running run = start("sqlite");
  ASSERT_TRUE(run.daemon->started());
  const std::string text = metrics_after_some_traffic(run);
  const std::string file = run.daemon->dir() + "/metrics.txt";
  std::ofstream(file) << text;
  const std::string command =
      promtool + " check metrics < " + file + " > " + file + ".out 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(file + ".out");
  std::string report((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(status, 0) << report;
}

} // namespace
} // namespace pourd::test
