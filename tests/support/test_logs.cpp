#include "tests/support/test_logs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace pourd::test {

namespace {

std::mutex g_mutex;

// "Suite.Name" of the running test, made safe for a file name.
std::string
test_name()
{
  std::string name = "no-test";
  if (const auto* info =
          ::testing::UnitTest::GetInstance()->current_test_info())
    name = std::string(info->test_suite_name()) + "." + info->name();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
      c = '_';
  return name;
}

std::string
subdir(const char* name)
{
  const auto dir = std::filesystem::path(test_log_dir()) / name;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return dir.string();
}

} // namespace

std::string
test_log_dir()
{
  if (const char* dir = std::getenv("POURD_TEST_LOG_DIR"); dir && *dir)
    return dir;
  return POURD_BINARY_DIR "/test-logs";
}

void
record_secret(const std::string& secret)
{
  if (secret.empty())
    return;
  const std::lock_guard lock(g_mutex);
  std::ofstream(subdir("secrets") + "/" + std::to_string(::getpid()) + ".txt",
                std::ios::app)
      << secret << '\n';
}

void
keep_log(const std::string& path, const std::string& label)
{
  static std::atomic<int> counter{0};
  if (!std::filesystem::exists(path))
    return;
  const std::string to = subdir("logs") + "/" + test_name() + "-" + label +
                         "-" + std::to_string(::getpid()) + "-" +
                         std::to_string(++counter) + ".log";
  std::error_code ec;
  std::filesystem::copy_file(
      path, to, std::filesystem::copy_options::overwrite_existing, ec);
}

void
append_log(const std::string& label, const std::string& text)
{
  const std::lock_guard lock(g_mutex);
  std::ofstream(subdir("logs") + "/" + test_name() + "-" + label + "-" +
                    std::to_string(::getpid()) + ".log",
                std::ios::app)
      << text;
}

} // namespace pourd::test
