// Clients that try to hurt the admin endpoint: slow ones, oversized ones,
// ones that try to smuggle a second request past the framing, and
// thousands that connect and say nothing. Each runs against the real
// pourd binary on loopback; writes are checked in the database.
#include "tests/admin/fixture.hpp"
#include "tests/support/databases.hpp"
#include "tests/support/test_logs.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace pourd::test {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

double
seconds_since(clock_type::time_point t)
{
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// A raw loopback connection, for bytes no proper client would send.
class Socket
{
public:
  explicit Socket(unsigned short port)
  {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
      return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Socket()
  {
    if (fd_ >= 0)
      ::close(fd_);
  }
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool ok() const { return fd_ >= 0; }

  // False once the peer has closed or reset the connection.
  bool send(const std::string& bytes)
  {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n =
          ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until the peer closes or nothing comes for `quiet`; `closed`
  // tells which.
  std::string read_all(milliseconds quiet, bool& closed)
  {
    std::string out;
    closed = false;
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0)
        return out;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  // True when the peer has closed: readable with nothing (or a reset).
  bool peer_closed()
  {
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0)
      return false;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN);
  }

private:
  int fd_ = -1;
};

// Status codes of every answer in `bytes`, in order.
std::vector<int>
statuses(const std::string& bytes)
{
  std::vector<int> out;
  for (auto at = bytes.find("HTTP/1.1 "); at != std::string::npos;
       at = bytes.find("HTTP/1.1 ", at + 1)) {
    // Only status lines: at the start or right after a body.
    if (at + 12 <= bytes.size() &&
        (at == 0 || bytes[at - 1] == '}' || bytes[at - 1] == '\n'))
      out.push_back(std::atoi(bytes.c_str() + at + 9));
  }
  return out;
}

long
rss_kib(pid_t pid)
{
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

std::size_t
open_descriptors(pid_t pid)
{
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator
           it("/proc/" + std::to_string(pid) + "/fd", ec),
       end;
       !ec && it != end; it.increment(ec))
    ++n;
  return n;
}

// A GET /healthz on a fresh connection; its time in seconds, or a large
// number when it failed.
double
timed_health(unsigned short port)
{
  const auto t = clock_type::now();
  const HttpResult r = http(port, "GET", "/healthz");
  return r.status == 200 ? seconds_since(t) : 1e9;
}

std::string
auth_header(const Api& api)
{
  return "Authorization: Bearer " + api.token() + "\r\n";
}

// A complete request that would write a pour, to hide in other bytes.
std::string
hidden_pour(const Api& api)
{
  const std::string body =
      R"({"user_id":1,"bottle_id":1,"amount_oz":1,"notes":"smuggled"})";
  return "POST /api/pours HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth_header(api) +
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

DaemonOptions
with_flags(std::vector<std::string> args)
{
  DaemonOptions o;
  o.args = std::move(args);
  return o;
}

std::string
hex(std::size_t n)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

// ---------------------------------------------------------------------------

TEST(HostileTest, SlowClientsAreCutOffWhileOthersAreServed)
{
  Running run = start("sqlite", with_flags({"--request-timeout=2s"}));
  ASSERT_TRUE(run.daemon->started());
  const Api& api = *run.api;
  ASSERT_EQ(make_user(api, "slow@example.com"), 1);
  ASSERT_EQ(make_bottle(api, 1), 1);

  // Half trickle a header that never ends, half a body that never ends.
  constexpr int k_slow = 20;
  std::vector<Socket> slow;
  for (int i = 0; i < k_slow; ++i) {
    slow.emplace_back(api.port());
    ASSERT_TRUE(slow.back().ok());
    if (i % 2 == 0)
      ASSERT_TRUE(slow.back().send("POST /api/pours HTTP/1.1\r\nHost: x\r\n"));
    else
      ASSERT_TRUE(slow.back().send("POST /api/pours HTTP/1.1\r\nHost: x\r\n" +
                                   auth_header(api) +
                                   "Content-Length: 5000\r\n\r\n{"));
  }
  const auto began = clock_type::now();
  std::vector<double> cut_at(k_slow, 0);
  double slowest_other = 0;
  int others = 0;
  while (seconds_since(began) < 8 &&
         std::count(cut_at.begin(), cut_at.end(), 0.0) > 0) {
    // One byte a tick from each slow client still connected.
    for (int i = 0; i < k_slow; ++i) {
      if (cut_at[i] != 0)
        continue;
      if (slow[i].peer_closed() ||
          !slow[i].send(i % 2 == 0 ? std::string("X") : std::string(" ")))
        cut_at[i] = seconds_since(began);
    }
    slowest_other = std::max(slowest_other, timed_health(api.port()));
    ++others;
    std::this_thread::sleep_for(milliseconds(100));
  }

  std::printf("slow clients: %d cut off after %.2f to %.2f s; %d other "
              "requests meanwhile, the slowest %.1f ms\n",
              k_slow, *std::min_element(cut_at.begin(), cut_at.end()),
              *std::max_element(cut_at.begin(), cut_at.end()), others,
              slowest_other * 1e3);
  for (int i = 0; i < k_slow; ++i) {
    SCOPED_TRACE(i);
    // The request deadline is 2 s from the first byte; allow for a busy
    // machine but not for the 30 s idle timeout.
    EXPECT_GT(cut_at[i], 1.5);
    EXPECT_LT(cut_at[i], 6.0);
  }
  EXPECT_GE(others, 10);
  EXPECT_LT(slowest_other, 1.0) << "a prompt client waited that long";
  EXPECT_EQ(count_rows(*run.open_store()).pours, 0u);
  const std::string metrics = http(api.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("pourd_http_connections_closed_total{reason="
                         "\"request_timeout\"} " +
                         std::to_string(k_slow)),
            std::string::npos)
      << metrics;
}

TEST(HostileTest, OversizedRequestsAreRefusedAndTheConnectionClosed)
{
  Running run = start("sqlite");
  ASSERT_TRUE(run.daemon->started());
  const Api& api = *run.api;
  ASSERT_EQ(make_user(api, "big@example.com"), 1);
  ASSERT_EQ(make_bottle(api, 1), 1);
  const std::string head =
      "POST /api/pours HTTP/1.1\r\nHost: x\r\n" + auth_header(api);

  struct Case
  {
    const char* what;
    std::string bytes;
    int status;
  };
  const std::string many_fields = [] {
    std::string s;
    for (int i = 0; i < 2000; ++i)
      s += "X-F" + std::to_string(i) + ": y\r\n";
    return s;
  }();
  const std::vector<Case> cases = {
      {"one huge header", head + "X-Big: " + std::string(20000, 'a') + "\r\n",
       431},
      {"many small headers", head + many_fields, 431},
      {"huge request line",
       "GET /healthz?" + std::string(20000, 'q') + " HTTP/1.1\r\nHost: x\r\n",
       431},
      // The body follows anyway and holds a real pour: it must not run.
      {"declared body too large",
       head + "Content-Length: 10000000\r\n\r\n" + hidden_pour(api), 413},
      {"chunked body too large",
       head + "Transfer-Encoding: chunked\r\n\r\n" + hex(70000) + "\r\n" +
           std::string(70000, ' ') + "\r\n0\r\n\r\n" + hidden_pour(api),
       413},
      {"many small chunks too large",
       [&] {
         std::string s = head + "Transfer-Encoding: chunked\r\n\r\n";
         for (int i = 0; i < 700; ++i)
           s += "64\r\n" + std::string(100, ' ') + "\r\n";
         return s + "0\r\n\r\n" + hidden_pour(api);
       }(),
       413},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Socket s(api.port());
    ASSERT_TRUE(s.ok());
    s.send(c.bytes + "\r\n");
    bool closed = false;
    const std::string answer = s.read_all(milliseconds(5000), closed);
    EXPECT_EQ(statuses(answer), std::vector<int>{c.status}) << answer;
    EXPECT_NE(answer.find("Content-Type: application/problem+json"),
              std::string::npos)
        << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
    EXPECT_TRUE(closed) << "the connection stayed open";
  }
  EXPECT_EQ(count_rows(*run.open_store()).pours, 0u);
  EXPECT_EQ(timed_health(api.port()) < 1.0, true);
}

// Each case frames a first request so that some reader could take part of
// it for a second request, and hides a pour there. pourd must answer
// once and write nothing.
TEST(HostileTest, SmuggledRequestsAreNeverExecuted)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const Api& api = *run.api;
    ASSERT_EQ(make_user(api, "smuggle@example.com"), 1);
    ASSERT_EQ(make_bottle(api, 1), 1);
    const std::string hidden = hidden_pour(api);
    const std::string head =
        "POST /api/users HTTP/1.1\r\nHost: x\r\n" + auth_header(api);
    const std::string chunk0 = "0\r\n\r\n";
    const std::string cl =
        "Content-Length: " + std::to_string(chunk0.size()) + "\r\n";

    struct Case
    {
      const char* what;
      std::string bytes;
      // Refused as ambiguous framing, so the connection must close too.
      bool framing = true;
    };
    const std::vector<Case> cases = {
        {"Content-Length then Transfer-Encoding",
         head + cl + "Transfer-Encoding: chunked\r\n\r\n" + chunk0 + hidden},
        {"Transfer-Encoding then Content-Length",
         head + "Transfer-Encoding: chunked\r\n" + cl + "\r\n" + chunk0 +
             hidden},
        {"two different Content-Lengths",
         head + "Content-Length: 2\r\nContent-Length: " +
             std::to_string(2 + hidden.size()) + "\r\n\r\n{}" + hidden},
        {"Content-Length list that disagrees",
         head + "Content-Length: 2, " + std::to_string(2 + hidden.size()) +
             "\r\n\r\n{}" + hidden},
        {"chunked, identity",
         head + "Transfer-Encoding: chunked, identity\r\n\r\n" + chunk0 +
             hidden},
        {"identity", head + "Transfer-Encoding: identity\r\n\r\n" + hidden},
        {"unknown coding",
         head + "Transfer-Encoding: xchunked\r\n\r\n" + chunk0 + hidden},
        {"gzip, chunked",
         head + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunk0 + hidden},
        {"two Transfer-Encoding fields",
         head +
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity"
             "\r\n\r\n" +
             chunk0 + hidden},
        {"space before the colon",
         head + "Transfer-Encoding : chunked\r\n\r\n" + chunk0 + hidden},
        {"tab before chunked beside a Content-Length",
         head + cl + "Transfer-Encoding:\tchunked\r\n\r\n" + chunk0 + hidden},
        {"folded Transfer-Encoding beside a Content-Length",
         head + cl + "Transfer-Encoding:\r\n chunked\r\n\r\n" + chunk0 +
             hidden},
        {"Transfer-Encoding in HTTP/1.0",
         "POST /api/users HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n" +
             auth_header(api) + "Transfer-Encoding: chunked\r\n\r\n" + chunk0 +
             hidden},
        {"chunk size not hex",
         head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + hidden},
        {"negative chunk size",
         head + "Transfer-Encoding: chunked\r\n\r\n-1\r\n" + hidden},
        {"chunk size that overflows",
         head + "Transfer-Encoding: chunked\r\n\r\n1" + std::string(20, '0') +
             "\r\n" + hidden},
        {"chunk size with 0x", head + "Transfer-Encoding: chunked\r\n\r\n0x" +
                                   hex(hidden.size()) + "\r\n" + hidden +
                                   "\r\n0\r\n\r\n"},
        {"Content-Length with a sign", head + "Content-Length: +" +
                                           std::to_string(hidden.size()) +
                                           "\r\n\r\n" + hidden},
        {"no Host", "POST /api/users HTTP/1.1\r\n" + auth_header(api) +
                        "Content-Length: 0\r\n\r\n" + hidden},
        {"two Hosts", head + "Host: y\r\nContent-Length: 0\r\n\r\n" + hidden},
        // Unambiguous framing: the hidden request is body, never a
        // request, and the body is not a valid one.
        {"a request inside a chunk, tab before chunked",
         head + "Transfer-Encoding:\tchunked\r\n\r\n" + hex(hidden.size()) +
             "\r\n" + hidden + "\r\n0\r\n\r\n",
         false},
        {"a request after JSON inside Content-Length",
         head + "Content-Length: " + std::to_string(2 + hidden.size()) +
             "\r\n\r\n{}" + hidden,
         false},
        {"a wrong token with a right one hidden in the body",
         "POST /api/pours HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
         "not-the-token\r\nContent-Length: " +
             std::to_string(hidden.size()) + "\r\n\r\n" + hidden,
         false},
    };

    auto store = run.open_store();
    const Counts before = count_rows(*store);
    for (const auto& c : cases) {
      SCOPED_TRACE(c.what);
      Socket s(api.port());
      ASSERT_TRUE(s.ok());
      s.send(c.bytes);
      bool closed = false;
      const std::string answer = s.read_all(milliseconds(1500), closed);
      const std::vector<int> got = statuses(answer);
      ASSERT_EQ(got.size(), 1u) << answer;
      if (c.framing) {
        EXPECT_EQ(got[0], 400) << answer;
        EXPECT_TRUE(closed) << "the connection stayed open";
      } else {
        EXPECT_TRUE(got[0] == 400 || got[0] == 401) << answer;
      }
      EXPECT_NE(answer.find("application/problem+json"), std::string::npos);
      EXPECT_EQ(count_rows(*store), before) << to_string(count_rows(*store));
    }

    // The hidden request itself is a good one: sent openly, it writes.
    Socket s(api.port());
    s.send(hidden);
    bool closed = false;
    EXPECT_EQ(statuses(s.read_all(milliseconds(3000), closed)),
              std::vector<int>{201});
    EXPECT_EQ(count_rows(*store).pours, before.pours + 1);
  }
}

// Raises this process's descriptor limit (pourd inherits it) so that
// `needed` sockets fit; false when the hard limit is too low.
bool
raise_descriptor_limit(rlim_t needed)
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return false;
  if (limit.rlim_cur >= needed)
    return true;
  limit.rlim_cur = std::min(limit.rlim_max, needed);
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur >= needed;
}

std::vector<Socket>
open_idle(unsigned short port, int n)
{
  std::vector<Socket> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    out.emplace_back(port);
    if (!out.back().ok()) {
      ADD_FAILURE() << "connection " << i
                    << " failed: " << std::strerror(errno);
      out.pop_back();
      break;
    }
  }
  return out;
}

constexpr int k_idle = 4000;

TEST(HostileTest, ThousandsOfIdleConnectionsStayCheapAndTimeOut)
{
  ASSERT_TRUE(raise_descriptor_limit(k_idle + 1000))
      << "the hard descriptor limit is below " << k_idle + 1000;
  Running run = start(
      "sqlite", with_flags({"--max-connections=5000", "--idle-timeout=5s"}));
  ASSERT_TRUE(run.daemon->started());
  const Api& api = *run.api;
  const pid_t pid = run.daemon->pid();
  ASSERT_EQ(make_user(api, "idle@example.com"), 1);
  ASSERT_EQ(make_bottle(api, 1), 1);
  // Let the set-up requests' connections close first.
  std::this_thread::sleep_for(milliseconds(200));
  const long rss_before = rss_kib(pid);
  const std::size_t fds_before = open_descriptors(pid);

  const auto opened_at = clock_type::now();
  std::vector<Socket> idle = open_idle(api.port(), k_idle);
  ASSERT_EQ(idle.size(), static_cast<std::size_t>(k_idle));
  // Accepted when pourd holds a descriptor for each (a few of its own
  // may come and go meanwhile).
  const std::size_t all_held = fds_before + k_idle - 5;
  while (open_descriptors(pid) < all_held && seconds_since(opened_at) < 4)
    std::this_thread::sleep_for(milliseconds(20));
  ASSERT_GE(open_descriptors(pid), all_held);
  const long rss_after = rss_kib(pid);

  // Another client is served promptly, reads and writes alike.
  const double health = timed_health(api.port());
  const auto t = clock_type::now();
  const HttpResult pour =
      api.post("/api/pours", pour_body(1, 1, "2026-12-03T21:15:00Z"));
  const double write = seconds_since(t);
  const double opened = seconds_since(opened_at);
  std::printf("idle connections: %d, RSS %ld KiB before, %ld KiB after "
              "(%.1f KiB each); /healthz %.1f ms, a pour %.1f ms\n",
              k_idle, rss_before, rss_after,
              static_cast<double>(rss_after - rss_before) / k_idle,
              health * 1e3, write * 1e3);
  EXPECT_LT(health, 1.0);
  EXPECT_EQ(pour.status, 201) << pour.body;
  EXPECT_LT(write, 2.0);
  // Measured near 6 KiB per idle connection; 16 KiB leaves room for
  // allocator noise but not for a buffer kept per connection.
  EXPECT_LT(rss_after - rss_before, 16L * k_idle) << "KiB";

  // None of them was closed before its idle timeout...
  if (opened < 4.5) {
    int closed_early = 0;
    for (auto& s : idle)
      closed_early += s.peer_closed() ? 1 : 0;
    EXPECT_EQ(closed_early, 0);
  }
  // ...and all are closed after it.
  while (open_descriptors(pid) > fds_before + 10 &&
         seconds_since(opened_at) < 15)
    std::this_thread::sleep_for(milliseconds(100));
  EXPECT_LE(open_descriptors(pid), fds_before + 10);
  int still_open = 0;
  for (auto& s : idle)
    still_open += s.peer_closed() ? 0 : 1;
  EXPECT_EQ(still_open, 0);
  EXPECT_GE(seconds_since(opened_at), 4.5);
  EXPECT_LT(timed_health(api.port()), 1.0);
}

TEST(HostileTest, AtTheConnectionLimitTheLongestIdleMakesRoom)
{
  ASSERT_TRUE(raise_descriptor_limit(3000));
  constexpr int k_limit = 200;
  Running run = start(
      "sqlite", with_flags({"--max-connections=" + std::to_string(k_limit)}));
  ASSERT_TRUE(run.daemon->started());
  const Api& api = *run.api;
  const pid_t pid = run.daemon->pid();
  const std::size_t fds_before = open_descriptors(pid);

  std::vector<Socket> idle = open_idle(api.port(), 5 * k_limit);
  ASSERT_EQ(idle.size(), 5u * k_limit);
  std::this_thread::sleep_for(milliseconds(500));

  // pourd holds no more than its limit (and a few being closed)...
  EXPECT_LE(open_descriptors(pid), fds_before + k_limit + 5);
  // ...closed the oldest, kept the newest...
  EXPECT_TRUE(idle.front().peer_closed());
  EXPECT_FALSE(idle.back().peer_closed());
  // ...and still serves a new client, and the newest idle one.
  EXPECT_LT(timed_health(api.port()), 1.0);
  ASSERT_TRUE(idle.back().send("GET /healthz HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\n\r\n"));
  bool closed = false;
  EXPECT_EQ(statuses(idle.back().read_all(milliseconds(3000), closed)),
            std::vector<int>{200});

  const std::string metrics = http(api.port(), "GET", "/metrics").body;
  const auto at = metrics.find("reason=\"evicted\"} ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::atoi(metrics.c_str() + at + 18), 4 * k_limit - 5);
}

// Secrets a log must never show: right and wrong tokens, in headers, in
// the path and the query, across a SIGHUP reload that changes them and
// one that fails on a mistyped key. The log is at trace level, the most
// it ever says.
TEST(HostileTest, NoTokenReachesTheLogThroughAuthFailuresOrReloads)
{
  std::mt19937_64 rng(std::random_device{}());
  const auto fresh = [&](const char* what) {
    return std::string(what) + "-" + std::to_string(rng());
  };
  const std::string admin1 = fresh("admin-one"), admin2 = fresh("admin-two");
  const std::string cron1 = fresh("cron-one"), cron2 = fresh("cron-two");
  const std::string typo = fresh("typo-secret");
  const std::vector<std::string> wrong = {
      fresh("wrong-admin"), fresh("wrong-cron"), fresh("user:password")};
  for (const auto& secret : {admin1, admin2, cron1, cron2, typo})
    record_secret(secret);
  for (const auto& secret : wrong)
    record_secret(secret);

  const std::string files = temp_dir("pourd-secrets");
  const std::string token_file = files + "/admin.token";
  std::ofstream(token_file) << admin1 << "\n";
  const auto config = [&](const std::string& cron, const std::string& extra) {
    return "log_level = trace\nlog_format = logfmt\nsweep_interval = 0\n"
           "admin_token_file = " +
           token_file + "\ncron_secret = \"" + cron + "\"\n" + extra;
  };
  DaemonOptions options;
  options.cron_secret = "";
  options.config_text = config(cron1, "");
  Running run = start("sqlite", options);
  ASSERT_TRUE(run.daemon->started());
  const unsigned short port = run.daemon->port();
  const auto status = [&](const std::string& target,
                          const std::string& authorization) {
    Headers h;
    if (!authorization.empty())
      h.emplace_back("Authorization", authorization);
    return http(port, "GET", target, "", h).status;
  };

  EXPECT_EQ(status("/api/orphans", "Bearer " + admin1), 200);
  EXPECT_EQ(status("/api/orphans", "Bearer " + wrong[0]), 401);
  EXPECT_EQ(status("/api/orphans", "bearer  " + cron1), 401);
  EXPECT_EQ(status("/api/orphans", "Bearer " + admin1 + "x"), 401);
  EXPECT_EQ(status("/api/orphans", "Basic " + wrong[2]), 401);
  EXPECT_EQ(status("/api/orphans?access_token=" + admin1, ""), 401);
  EXPECT_EQ(status("/api/" + admin1, "Bearer " + admin1), 404);
  EXPECT_EQ(status("/api/cron/check-orphaned-pours", "Bearer " + wrong[1]),
            401);
  EXPECT_EQ(status("/api/cron/check-orphaned-pours", "Bearer " + admin1), 401);
  EXPECT_EQ(status("/api/cron/check-orphaned-pours", "Bearer " + cron1), 200);

  // A reload that changes both secrets...
  std::ofstream(token_file) << admin2 << "\n";
  std::ofstream(run.daemon->config_path()) << config(cron2, "");
  run.daemon->signal(SIGHUP);
  ASSERT_TRUE(
      run.daemon->wait_log("configuration reloaded", milliseconds(10000)));
  EXPECT_EQ(status("/api/orphans", "Bearer " + admin1), 401);
  EXPECT_EQ(status("/api/orphans", "Bearer " + admin2), 200);
  EXPECT_EQ(status("/api/cron/check-orphaned-pours", "Bearer " + cron1), 401);
  EXPECT_EQ(status("/api/cron/check-orphaned-pours", "Bearer " + cron2), 200);

  // ...and one that fails on a mistyped key holding a secret.
  std::ofstream(run.daemon->config_path())
      << config(cron2, "admin_tokn = " + typo + "\n");
  run.daemon->signal(SIGHUP);
  ASSERT_TRUE(run.daemon->wait_log("reload failed", milliseconds(10000)));
  EXPECT_EQ(status("/api/orphans", "Bearer " + admin2), 200);

  const std::string log = run.daemon->log();
  ASSERT_NE(log.find("admin_tokn"), std::string::npos) << log;
  for (const auto& secret :
       {admin1, admin2, cron1, cron2, typo, wrong[0], wrong[1], wrong[2]})
    EXPECT_EQ(log.find(secret), std::string::npos)
        << "a secret starting " << secret.substr(0, 9) << " is in the log";
  std::filesystem::remove_all(files);
}

} // namespace
} // namespace pourd::test
