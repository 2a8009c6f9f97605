// pourctl's commands. Each add_* function declares its subcommands on the
// CLI11 app and says what runs when one of them was given; the result of
// a run is the exit status (see context.hpp).
#pragma once

#include "cli/context.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace pourd::cli {

struct Command
{
  CLI::App* app = nullptr;
  std::function<int(Context&)> run;
};

using Commands = std::vector<Command>;

// migrate, user add, bottle add
void add_admin_commands(CLI::App& app, Commands& out);
// import
void add_import_command(CLI::App& app, Commands& out);
// monitor-orphaned-pours, fix-orphaned-pours
void add_orphan_commands(CLI::App& app, Commands& out);
// debug-pour-sessions
void add_debug_command(CLI::App& app, Commands& out);
// test-pour-creation
void add_self_test_command(CLI::App& app, Commands& out);

} // namespace pourd::cli
