// import: legacy drink logs and pour dumps become orphaned pours, which
// the sweep (or fix-orphaned-pours) then groups into sessions.
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "engine/import.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

namespace pourd::cli {

namespace {

struct ImportCommandOptions
{
  std::string file;
  std::string format;
  std::string user;
  std::string time_zone;
  double default_amount_oz = engine::k_default_import_amount_oz;
  std::optional<double> rating_scale;
  bool json = false;
};

std::string
read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw UsageError("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    throw UsageError("cannot read '" + path + "'");
  return buf.str();
}

int
run_import(Context& context, const ImportCommandOptions& o)
{
  engine::ImportOptions options;
  options.format = o.format == "pours-json"
                       ? engine::ImportFormat::pours_json
                       : engine::ImportFormat::drink_log_csv;
  options.user_email = o.user;
  if (!o.time_zone.empty()) {
    if (!engine::valid_time_zone(o.time_zone))
      throw UsageError("--time-zone '" + o.time_zone +
                       "' is not an IANA time zone");
    options.time_zone = o.time_zone;
  }
  options.default_amount_oz = o.default_amount_oz;
  options.rating_scale = o.rating_scale;

  const std::string text = read_file(o.file);
  engine::ParsedFile parsed;
  try {
    parsed = engine::parse_import(text, options);
  } catch (const engine::ImportFileError& e) {
    std::cerr << o.file;
    if (e.line() > 0)
      std::cerr << ":" << e.line();
    std::cerr << ": " << e.what() << "\nnothing was imported\n";
    return k_exit_usage;
  }

  // The database is opened only once the file proved usable.
  orm::Store& store = context.store();
  Progress progress("importing " + o.file);
  const engine::ImportSummary summary =
      engine::import_rows(store, context.config().rules, parsed, options,
                          [&](std::size_t done, std::size_t total) {
                            progress.update(done, total);
                          });
  progress.finish();

  for (const engine::RowError& error : summary.errors)
    std::cerr << o.file << ":" << error.line << ": " << error.reason << '\n';

  if (o.json) {
    boost::json::object out;
    out["file"] = o.file;
    out["read"] = summary.read;
    out["imported"] = summary.imported;
    out["duplicates"] = summary.duplicates;
    out["bad"] = summary.bad;
    out["users_created"] = summary.users_created;
    out["bottles_created"] = summary.bottles_created;
    print_json(out);
  } else {
    std::cout << o.file << ": read " << summary.read << " rows, imported "
              << summary.imported << ", duplicates " << summary.duplicates
              << ", bad " << summary.bad << " (users created "
              << summary.users_created << ", bottles created "
              << summary.bottles_created << ")\n";
    if (summary.imported > 0)
      std::cout << "imported pours are orphans until the sweep or "
                   "`pourctl fix-orphaned-pours` groups them\n";
  }
  return summary.bad > 0 ? k_exit_problem : k_exit_ok;
}

} // namespace

void
add_import_command(CLI::App& app, Commands& out)
{
  auto o = std::make_shared<ImportCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "import", "import legacy pours as orphans (rows already imported are "
                "skipped)");
  cmd->add_option("FILE", o->file, "the file to import")->required();
  cmd->add_option("--format", o->format, "drink-log-csv or pours-json")
      ->required()
      ->check(CLI::IsMember({"drink-log-csv", "pours-json"}));
  cmd->add_option("--user", o->user,
                  "owner of the rows (required for drink-log-csv); created "
                  "when missing");
  cmd->add_option("--time-zone", o->time_zone,
                  "IANA time zone of users the import creates");
  cmd->add_option("--default-amount-oz", o->default_amount_oz,
                  "amount of rows that carry none (default 5)")
      ->check(CLI::Range(0.1, 10.0));
  cmd->add_option("--rating-scale", o->rating_scale,
                  "ratings in the file run 0..MAX (default 5 for CSV, 10 "
                  "for JSON) and become 0..10")
      ->check(CLI::Range(0.1, 1000.0));
  cmd->add_flag("--json", o->json, "print the summary as JSON");
  out.push_back({cmd, [o](Context& c) { return run_import(c, *o); }});
}

} // namespace pourd::cli
