// pourd's admin API wired as the daemon wires it (store, engine, metrics,
// secrets, the sweeper, the router over api_routes), on a SQLite file in
// a private temporary directory, for the fuzz targets that send requests.
//
// The database starts from a small fixed state (two users, two bottles,
// a session with pours, orphans for the sweep) and is made afresh every
// few hundred inputs, so it stays small and inputs stay cheap. Engine time
// is fixed, so one input behaves the same on every run from a fresh state.
//
// Not thread-safe: libFuzzer calls a target from one thread.
#pragma once

#include "admin/http_types.hpp"
#include "admin/router.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fuzz/fail.hpp"

namespace pourd::fuzz {

inline constexpr const char* k_admin_token = "fuzz-admin-token-0123";
inline constexpr const char* k_cron_secret = "fuzz-cron-secret-4567";

class ApiFixture
{
public:
  // The one fixture of the process, made on first use.
  static ApiFixture& get();

  ~ApiFixture();

  // Call once per input: starts over from a fresh database every
  // `k_inputs_per_database` inputs.
  void next_input();

  // Routes and answers `request` as the server does after reading it,
  // records it in the metrics, and checks what every answer must satisfy
  // (see check_answer); aborts on a breach.
  admin::Response serve(admin::Request& request);

  // Aborts when a stored session or pour breaks the session rules.
  void check_rules();

  struct State;

private:
  ApiFixture();
  void open_fresh();
  void check(std::optional<std::int64_t> user_id, const char* when);

  std::string dir_;
  std::size_t inputs_ = 0;
  std::unique_ptr<State> state_;
};

} // namespace pourd::fuzz
