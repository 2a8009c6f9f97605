#include "tests/cli/run_pourctl.hpp"

#include "config/database_url.hpp"
#include "tests/support/test_logs.hpp"

#include <boost/json.hpp>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace pourd::test {

namespace {

std::string
slurp(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string
binary()
{
  const char* dir = std::getenv("POURD_BIN_DIR");
  return std::string(dir ? dir : POURD_BINARY_DIR "/bin") + "/pourctl";
}

} // namespace

boost::json::value
RunResult::json() const
{
  boost::system::error_code ec;
  auto v = boost::json::parse(out, ec);
  EXPECT_FALSE(ec) << "not JSON: " << out << "\nstderr: " << err;
  return ec ? boost::json::value() : v;
}

std::string
temp_dir()
{
  std::string templ =
      (std::filesystem::temp_directory_path() / "pourctl-test-XXXXXX").string();
  if (!mkdtemp(templ.data()))
    throw std::runtime_error("mkdtemp failed");
  return templ;
}

void
write_file(const std::string& path, const std::string& content)
{
  std::ofstream out(path, std::ios::binary);
  out << content;
}

RunResult
run_pourctl(const std::string& database_url,
            const std::vector<std::string>& args, std::chrono::seconds limit)
{
  static const std::string dir = temp_dir();
  const std::string out_path = dir + "/stdout";
  const std::string err_path = dir + "/stderr";

  std::vector<std::string> argv_s = {binary(), "--config", "/dev/null"};
  if (!database_url.empty())
    argv_s.push_back("--database=" + database_url);
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }

  RunResult result;
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int wstatus = 0;
  while (waitpid(pid, &wstatus, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
      ADD_FAILURE() << "pourctl took longer than " << limit.count()
                    << " s and was killed";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(wstatus))
    result.status = WEXITSTATUS(wstatus);
  result.out = slurp(out_path);
  result.err = slurp(err_path);

  // Kept for the final check that no secret reaches a log.
  try {
    if (!database_url.empty())
      record_secret(config::parse_database_url(database_url).password);
  } catch (const std::exception&) {
  }
  std::string command = "$ pourctl";
  for (std::size_t i = 1; i < argv_s.size(); ++i) {
    command += ' ';
    if (argv_s[i].starts_with("--database=")) {
      command += "--database=";
      command += config::redact_database_url(argv_s[i].substr(11));
    } else {
      command += argv_s[i];
    }
  }
  append_log("pourctl", command + "\n" + result.out + result.err);
  return result;
}

} // namespace pourd::test
