#include "config/config.hpp"
#include "config/database_url.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace pourd::config {
namespace {

class ConfigTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    dir_ = std::filesystem::temp_directory_path() /
           ("pourd-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text)
  {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // The message of the ConfigError that loading `sources` throws.
  static std::string error_of(const Sources& sources)
  {
    try {
      load(sources);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError";
    return "";
  }

  std::filesystem::path dir_;
};

TEST_F(ConfigTest, DefaultsServeAFirstRun)
{
  Sources s;
  s.config_file = write("empty.conf", "");
  const Config c = load(s);
  EXPECT_EQ(c.state_dir, "./var");
  EXPECT_EQ(c.database, "sqlite://./var/pourd.db");
  EXPECT_EQ(c.connect.backend, orm::Backend::sqlite);
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8787);
  EXPECT_EQ(c.rules.session_timeout_ms, 4 * 3'600'000);
  EXPECT_EQ(c.rules.current_window_ms, 2 * 3'600'000);
  EXPECT_EQ(c.sweep_interval.count(), 5 * 60'000);
  EXPECT_TRUE(c.cron_secret.empty());
}

TEST_F(ConfigTest, FlagsBeatEnvironmentWhichBeatsTheFile)
{
  Sources s;
  s.config_file = write("pourd.conf", "# comment\n"
                                      "session_timeout = 3h\n"
                                      "current_window = \"90m\"\n"
                                      "log_level = warn\n");
  s.environment = {{"POURD_SESSION_TIMEOUT", "5h"},
                   {"POURD_LOG_LEVEL", "debug"},
                   {"POURD_TEST_MYSQL_URL", "not a key of ours"}};
  s.flags = {{"session-timeout", "6h"}};
  const Config c = load(s);
  EXPECT_EQ(c.unknown_environment,
            std::vector<std::string>{"POURD_TEST_MYSQL_URL"});
  EXPECT_EQ(c.rules.session_timeout_ms, 6 * 3'600'000);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.rules.current_window_ms, 90 * 60'000);
}

TEST_F(ConfigTest, UnknownKeysAndBadValuesNameTheKey)
{
  Sources s;
  s.config_file = write("typo.conf", "sweep_intervall = 5m\n");
  EXPECT_NE(error_of(s).find("typo.conf:1: unknown configuration key "
                             "'sweep_intervall'"),
            std::string::npos);

  s.config_file = write("bad.conf", "session_timeout = soon\n");
  EXPECT_NE(error_of(s).find("'session_timeout'"), std::string::npos);

  s.config_file = write("ok.conf", "");
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"listen", "8787"},
           {"listen", "localhost:8787"},
           {"listen", "999.1.1.1:8787"},
           {"sweep_interval", "1ms"},
           {"day_boundary", "25:00"},
           // from_chars reads a sign: these were taken as -01:00 and 04:59.
           {"day_boundary", "-1:00"},
           {"day_boundary", "05:-1"},
           {"day_boundary", "5:00"},
           {"default_time_zone", "Europe/Atlantis"},
           {"sweep_batch", "0"},
           {"log_format", "json"},
           {"database", "postgres://x"},
           {"current_window", "0"},
           {"max_connections", "0"},
           {"max_connections", "many"},
           {"idle_timeout", "0"},
           {"request_timeout", "soon"}}) {
    s.flags = {{key, value}};
    EXPECT_NE(error_of(s).find("'" + key + "' (flag --" + key + ")"),
              std::string::npos)
        << key;
  }
  s.flags = {{"no-such-flag", "1"}};
  EXPECT_NE(error_of(s).find("--no-such-flag"), std::string::npos);
}

TEST_F(ConfigTest, SecretsComeFromValuesFilesOrCredentials)
{
  Sources s;
  s.config_file = write("pourd.conf", "");
  const auto creds = dir_ / "credentials";
  std::filesystem::create_directories(creds);
  std::ofstream(creds / "admin_token") << "from-credential\n";
  std::ofstream(creds / "cron_secret") << "cron-from-credential\n";
  s.environment = {{"CREDENTIALS_DIRECTORY", creds.string()}};
  Config c = load(s);
  EXPECT_EQ(c.admin_token, "from-credential");
  EXPECT_EQ(c.cron_secret, "cron-from-credential");

  s.flags = {{"cron_secret_file", write("cron", "from-file\n")}};
  s.environment["CRON_SECRET"] = "from-environment";
  c = load(s);
  EXPECT_EQ(c.cron_secret, "from-environment"); // a value beats a file

  s.environment.erase("CRON_SECRET");
  c = load(s);
  EXPECT_EQ(c.cron_secret, "from-file");

  s.flags = {{"admin_token_file", (dir_ / "missing").string()}};
  EXPECT_NE(error_of(s).find("'admin_token_file'"), std::string::npos);
}

TEST_F(ConfigTest, StateDirectoryFromSystemd)
{
  Sources s;
  s.config_file = write("pourd.conf", "");
  s.environment = {{"STATE_DIRECTORY", "/var/lib/pourd:/var/lib/other"}};
  const Config c = load(s);
  EXPECT_EQ(c.state_dir, "/var/lib/pourd");
  EXPECT_EQ(c.database, "sqlite:///var/lib/pourd/pourd.db");
}

TEST(DurationTest, ParsesWholeNumbersWithUnits)
{
  EXPECT_EQ(parse_duration("250ms")->count(), 250);
  EXPECT_EQ(parse_duration("90s")->count(), 90'000);
  EXPECT_EQ(parse_duration("5m")->count(), 300'000);
  EXPECT_EQ(parse_duration("4h")->count(), 14'400'000);
  EXPECT_EQ(parse_duration("0")->count(), 0);
  for (const char* bad : {"", "5", "m", "1.5h", "-1s", "4 h", "4hours"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(DatabaseUrlTest, ParsesMysqlWithSocketAndEscapes)
{
  auto o = parse_database_url(
      "mysql://pourd:p%40ss%3Aw%2Fd@db.example:3307/pourd?socket=/run/m.sock");
  EXPECT_EQ(o.backend, orm::Backend::mysql);
  EXPECT_EQ(o.user, "pourd");
  EXPECT_EQ(o.password, "p@ss:w/d");
  EXPECT_EQ(o.host, "db.example");
  EXPECT_EQ(o.port, 3307u);
  EXPECT_EQ(o.database, "pourd");
  EXPECT_EQ(o.socket, "/run/m.sock");

  auto s = parse_database_url("sqlite:///var/lib/pourd/pourd.db");
  EXPECT_EQ(s.backend, orm::Backend::sqlite);
  EXPECT_EQ(s.path, "/var/lib/pourd/pourd.db");
}

TEST(DatabaseUrlTest, RejectsWhatItCannotUse)
{
  for (const char* bad :
       {"sqlite://", "mysql://host/db", "mysql://u@h:99999/db", "mysql://u@h/",
        "mysql://u@h/a/b", "mysql://u@h/db?sslmode=on", "postgres://u@h/db"})
    EXPECT_THROW(parse_database_url(bad), std::invalid_argument) << bad;
}

TEST(DatabaseUrlTest, RedactsThePassword)
{
  const std::string url = "mysql://pourd:hunter2@127.0.0.1/pourd";
  EXPECT_EQ(redact_database_url(url), "mysql://pourd:***@127.0.0.1/pourd");
  // Also when the URL is too broken to parse.
  for (const char* broken : {"mysql://u:sec ret@h/db", "mysql://u:s%zzt@h/db"})
    try {
      parse_database_url(broken);
      ADD_FAILURE() << broken;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("sec"), std::string::npos);
      EXPECT_EQ(std::string(e.what()).find("zz"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("mysql://u:***@h/db"),
                std::string::npos)
          << e.what();
    }
  try {
    parse_database_url("mysql://pourd:hunter2@127.0.0.1:0/pourd");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
}

} // namespace
} // namespace pourd::config
