// pourctl: reads pourd's configuration, runs one command, and turns what
// went wrong into the exit statuses of API.md.
#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "config/config.hpp"
#include "engine/engine.hpp"
#include "orm/store.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <map>

namespace {

using namespace pourd;

// Library log lines go to stderr so --json output stays clean. Below
// warnings they would only repeat what pourctl prints itself, unless the
// configuration asks for debugging.
void
set_up_logging(const config::Config& config)
{
  auto logger = spdlog::stderr_color_mt("pourctl");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  const auto level = spdlog::level::from_str(config.log_level);
  spdlog::set_level(level < spdlog::level::info
                        ? level
                        : std::max(level, spdlog::level::warn));
}

int
fail(const std::string& message, int status)
{
  std::cerr << "pourctl: " << message << '\n';
  return status;
}

} // namespace

int
main(int argc, char** argv)
{
  using namespace pourd::cli;

  CLI::App app{"pourctl: administer pourd's pours and sessions", "pourctl"};
  app.set_version_flag("--version", "pourctl " POURD_VERSION);
  app.require_subcommand(1);
  // Settings may follow the command too: `pourctl import F --database=U`.
  app.fallthrough();

  std::string config_file;
  app.add_option("--config", config_file,
                 "configuration file (default /etc/pourd/pourd.conf when "
                 "it exists)");

  // Every configuration key is also a flag, as for pourd itself.
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> given;
  for (const std::string& key : config::known_keys()) {
    std::string dashed = key;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    std::string names = "--" + dashed;
    if (dashed != key)
      names += ",--" + key;
    given[key] = app.add_option(names, values[key], "configuration key " + key)
                     ->group("Configuration");
  }

  Commands commands;
  add_admin_commands(app, commands);
  add_import_command(app, commands);
  add_orphan_commands(app, commands);
  add_debug_command(app, commands);
  add_self_test_command(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here too, with status 0.
    return app.exit(e) == 0 ? k_exit_ok : k_exit_usage;
  }

  try {
    config::Sources sources;
    sources.config_file = config_file;
    sources.environment = config::environment();
    for (const auto& [key, option] : given)
      if (option->count() > 0)
        sources.flags[key] = values[key];
    Context context(config::load(sources));
    set_up_logging(context.config());

    for (const Command& command : commands)
      if (command.app->parsed())
        return command.run(context);
    return fail("no command given (see --help)", k_exit_usage);
  } catch (const config::ConfigError& e) {
    return fail(e.what(), k_exit_usage);
  } catch (const UsageError& e) {
    return fail(e.what(), k_exit_usage);
  } catch (const engine::ValidationError& e) {
    std::cerr << "pourctl: " << e.what() << '\n';
    for (const auto& error : e.errors())
      std::cerr << "  " << error.field << ": " << error.message << '\n';
    return k_exit_usage;
  } catch (const engine::NotFound& e) {
    return fail(e.what(), k_exit_usage);
  } catch (const engine::Conflict& e) {
    return fail(e.what(), k_exit_usage);
  } catch (const orm::DatabaseError& e) {
    // A schema to migrate is the operator's next step, not an outage.
    if (e.kind() == orm::DatabaseError::Kind::schema)
      return fail(e.what(), k_exit_usage);
    return fail("database: " + std::string(e.what()), k_exit_unavailable);
  } catch (const std::exception& e) {
    return fail("unexpected error: " + std::string(e.what()), k_exit_problem);
  }
}
