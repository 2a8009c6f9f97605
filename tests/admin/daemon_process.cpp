#include "tests/admin/daemon_process.hpp"

#include "config/database_url.hpp"
#include "tests/support/test_logs.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace pourd::test {

namespace {

std::string
slurp(const std::string& path)
{
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Forks and execs pourd with `args`, output to `log_path`.
pid_t
spawn(const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env,
      const std::string& log_path)
{
  std::vector<std::string> envs;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    // The parent's settings must not leak into the daemon under test.
    if (entry.starts_with("NOTIFY_SOCKET=") || entry.starts_with("WATCHDOG_") ||
        entry.starts_with("CRON_SECRET=") ||
        entry.starts_with("STATE_DIRECTORY=") ||
        entry.starts_with("CREDENTIALS_DIRECTORY=") ||
        entry.starts_with("JOURNAL_STREAM="))
      continue;
    envs.push_back(entry);
  }
  for (const auto& [k, v] : env)
    envs.push_back(k + "=" + v);

  const std::string binary = pourd_binary();
  std::vector<std::string> argv_s{binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());

  const pid_t pid = ::fork();
  if (pid != 0)
    return pid;

  // Child: only async-signal-safe work from here on would be ideal; the
  // test process is single-threaded at this point in practice.
  const int fd =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : envs)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  ::execve(binary.c_str(), argv.data(), envp.data());
  ::_exit(127);
}

std::optional<int>
wait_pid(pid_t pid, std::chrono::milliseconds timeout)
{
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status))
        return WEXITSTATUS(status);
      if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0)
      return -1;
    if (std::chrono::steady_clock::now() > deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool
names_secret(std::string key)
{
  for (char& c : key)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // admin_token_file and the like name a path, not a secret.
  return (key.find("token") != std::string::npos ||
          key.find("secret") != std::string::npos) &&
         !key.ends_with("_file") && !key.ends_with("-file");
}

// Notes every secret a run of pourd is given, for the final log check:
// token and secret flags, variables and file lines, and the password of
// a database URL.
void
record_secrets(const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env,
               const std::string& config_text)
{
  auto value = [](const std::string& key, const std::string& v) {
    if (names_secret(key)) {
      record_secret(v);
    } else if (key == "database" || key.ends_with("DATABASE")) {
      try {
        record_secret(config::parse_database_url(v).password);
      } catch (const std::exception&) {
      }
    }
  };
  for (const auto& a : args)
    if (const auto eq = a.find('='); a.starts_with("--") && eq != a.npos)
      value(a.substr(2, eq - 2), a.substr(eq + 1));
  for (const auto& [k, v] : env)
    value(k, v);
  std::istringstream lines(config_text);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq == line.npos || line.starts_with("#"))
      continue;
    auto trim = [](std::string t) {
      while (!t.empty() && (t.front() == ' ' || t.front() == '"'))
        t.erase(0, 1);
      while (!t.empty() && (t.back() == ' ' || t.back() == '"'))
        t.pop_back();
      return t;
    };
    value(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
  }
}

// Secrets the test wrote into `dir` as files (token and credential
// files, a rewritten configuration) are noted too.
void
record_secret_files(const std::string& dir)
{
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file())
      continue;
    const std::string name = it->path().filename().string();
    std::string text = slurp(it->path().string());
    if (name.ends_with(".conf")) {
      record_secrets({}, {}, text);
    } else if (names_secret(name) && text.size() < 4096) {
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
      record_secret(text);
    }
  }
}

} // namespace

std::string
pourd_binary()
{
  const char* dir = std::getenv("POURD_BIN_DIR");
  return std::string(dir ? dir : POURD_BINARY_DIR "/bin") + "/pourd";
}

std::string
temp_dir(const std::string& prefix)
{
  static std::atomic<int> counter{0};
  const auto dir =
      std::filesystem::temp_directory_path() /
      (prefix + "-" + std::to_string(::getpid()) + "-" +
       std::to_string(++counter) + "-" + std::to_string(std::rand() % 100000));
  std::filesystem::create_directories(dir);
  return dir.string();
}

int
run_pourd(const std::vector<std::string>& args, std::string& output,
          const std::map<std::string, std::string>& env)
{
  const std::string dir = temp_dir("pourd-run");
  const std::string log = dir + "/out.log";
  record_secrets(args, env, "");
  const pid_t pid = spawn(args, env, log);
  auto code = wait_pid(pid, std::chrono::seconds(30));
  if (!code) {
    ::kill(pid, SIGKILL);
    code = wait_pid(pid, std::chrono::seconds(5));
  }
  output = slurp(log);
  keep_log(log, "pourd-run");
  std::filesystem::remove_all(dir);
  return code.value_or(-1);
}

Daemon::Daemon(DaemonOptions options) : dir_(temp_dir("pourd-daemon"))
{
  std::vector<std::string> args{"--database=" + options.database_url,
                                "--state-dir=" + dir_ + "/state",
                                "--listen=127.0.0.1:0", "--log-format=logfmt"};
  // Flags beat the file, so a test with a file sets these there.
  if (options.config_text.empty()) {
    args.push_back("--sweep-interval=0");
    args.push_back("--log-level=debug");
  }
  if (!options.cron_secret.empty())
    args.push_back("--cron-secret=" + options.cron_secret);
  if (!options.config_text.empty()) {
    std::ofstream(config_path()) << options.config_text;
    args.push_back("--config=" + config_path());
  }
  args.insert(args.end(), options.args.begin(), options.args.end());

  record_secrets(args, options.env, options.config_text);
  pid_ = spawn(args, options.env, dir_ + "/pourd.log");

  // The daemon logs its bound address once it listens.
  const std::string marker = "msg=\"listening\" address=127.0.0.1:";
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = log();
    if (const auto at = text.find(marker); at != std::string::npos) {
      port_ = static_cast<unsigned short>(
          std::atoi(text.c_str() + at + marker.size()));
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Daemon::~Daemon()
{
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait_pid(pid_, std::chrono::seconds(5));
  }
  // What the daemon logged stays for the final check, with every secret
  // it was given (the generated admin token included).
  record_secret_files(dir_);
  keep_log(dir_ + "/pourd.log", "pourd");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string
Daemon::admin_token() const
{
  std::string token = slurp(dir_ + "/state/admin-token");
  while (!token.empty() && token.back() == '\n')
    token.pop_back();
  return token;
}

std::string
Daemon::log() const
{
  return slurp(dir_ + "/pourd.log");
}

bool
Daemon::wait_log(const std::string& needle, std::chrono::milliseconds timeout,
                 int count) const
{
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    const std::string text = log();
    int found = 0;
    for (auto at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1))
      ++found;
    if (found >= count)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

void
Daemon::signal(int sig) const
{
  ::kill(pid_, sig);
}

std::optional<int>
Daemon::wait_exit(std::chrono::milliseconds timeout)
{
  auto code = wait_pid(pid_, timeout);
  if (code)
    exited_ = true;
  return code;
}

} // namespace pourd::test
