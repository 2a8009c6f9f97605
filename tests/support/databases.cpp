#include "tests/support/databases.hpp"

#include "config/database_url.hpp"
#include "tests/support/test_logs.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <vector>

namespace pourd::test {

namespace {

std::string
env(const char* name)
{
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Unique across processes and runs: process ids are reused, and rand()
// repeats its sequence in every process.
std::string
unique_name()
{
  static std::atomic<int> counter{0};
  static const unsigned seed = std::random_device{}();
  return std::to_string(getpid()) + "_" + std::to_string(seed % 1000000) + "_" +
         std::to_string(++counter);
}

// Temporary directories of this process, removed when it exits.
std::vector<std::string>&
temporary_dirs()
{
  static std::vector<std::string> dirs;
  return dirs;
}

void
remove_temporary_dirs()
{
  for (const auto& dir : temporary_dirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

} // namespace

std::vector<std::string>
backends()
{
  std::vector<std::string> out{"sqlite"};
  if (!env("POURD_TEST_MYSQL_URL").empty())
    out.push_back("mysql");
  else if (env("POURD_TEST_REQUIRE_MYSQL") == "1")
    throw std::runtime_error(
        "POURD_TEST_REQUIRE_MYSQL=1 but POURD_TEST_MYSQL_URL is not set; "
        "run the tests through scripts/with-mariadb.sh");
  return out;
}

std::string
fresh_database_url(const std::string& backend)
{
  if (backend == "sqlite") {
    std::string dir =
        (std::filesystem::temp_directory_path() / "pourd-test-XXXXXX").string();
    if (!mkdtemp(dir.data()))
      throw std::runtime_error("cannot create a temporary directory");
    if (temporary_dirs().empty())
      std::atexit(remove_temporary_dirs);
    temporary_dirs().push_back(dir);
    return "sqlite://" + dir + "/pourd.db";
  }
  const std::string base = env("POURD_TEST_MYSQL_URL");
  if (base.empty())
    throw std::runtime_error("POURD_TEST_MYSQL_URL is not set");
  const std::string name = "pourd_t_" + unique_name();
  const auto base_options = config::parse_database_url(base);
  record_secret(base_options.password);
  auto admin = orm::Store::open(base_options);
  admin->transact([&](orm::Tx& tx) {
    tx.execute("CREATE DATABASE " + name +
               " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
  });
  return base.substr(0, base.rfind('/') + 1) + name;
}

std::unique_ptr<orm::Store>
fresh_store(const std::string& backend)
{
  auto store =
      orm::Store::open(config::parse_database_url(fresh_database_url(backend)));
  store->migrate();
  return store;
}

std::string
shared_data_dir()
{
  if (const std::string dir = env("POURD_SHARED_DATA"); !dir.empty())
    return dir;
  return std::string(POURD_SOURCE_DIR) + "/../shared/data";
}

std::vector<std::string>
shared_logs()
{
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(shared_data_dir(), ec), end;
       !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".csv")
      out.push_back(it->path().string());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace pourd::test
