#include "daemon/app.hpp"

#include "admin/api.hpp"
#include "admin/handlers.hpp"
#include "admin/logging.hpp"
#include "admin/metrics.hpp"
#include "admin/router.hpp"
#include "admin/server.hpp"
#include "config/database_url.hpp"
#include "daemon/admin_token.hpp"
#include "daemon/lease.hpp"
#include "daemon/notify.hpp"
#include "daemon/sweep_timer.hpp"
#include "daemon/sweeper.hpp"
#include "engine/engine.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <future>
#include <thread>

#ifndef POURD_VERSION
#define POURD_VERSION "unknown"
#endif

namespace pourd::daemon {

namespace asio = boost::asio;

namespace {

// How long SIGTERM waits for in-flight requests, and then for the sweep
// batch in progress; systemd's TimeoutStopSec must exceed the sum.
constexpr std::chrono::seconds k_drain{10};

std::string
listen_text(const config::Config& c)
{
  if (c.listen_host.find(':') != std::string::npos)
    return "[" + c.listen_host + "]:" + std::to_string(c.listen_port);
  return c.listen_host + ":" + std::to_string(c.listen_port);
}

// The secrets a configuration names, the admin token falling back to the
// generated file.
admin::Secrets
secrets_of(const config::Config& c, const logging::Log& log)
{
  admin::Secrets s;
  s.cron_secret = c.cron_secret;
  if (!c.admin_token.empty()) {
    s.admin_token = c.admin_token;
    log.info("admin token configured",
             {{"source", c.admin_token_file.empty() ? std::string("value")
                                                    : c.admin_token_file}});
  } else {
    const TokenFile file = load_or_create_admin_token(c.state_dir);
    s.admin_token = file.token;
    log.info(file.created ? "admin token generated" : "admin token read",
             {{"path", file.path}});
  }
  if (s.cron_secret.empty())
    log.warn("no cron secret configured; the cron route answers 503",
             {{"key", "cron_secret"}});
  return s;
}

// Creates the state directory and, for SQLite, the database's directory.
void
prepare_directories(const config::Config& c)
{
  std::filesystem::create_directories(c.state_dir);
  if (c.connect.backend == orm::Backend::sqlite &&
      c.connect.path != ":memory:") {
    const auto parent = std::filesystem::path(c.connect.path).parent_path();
    if (!parent.empty())
      std::filesystem::create_directories(parent);
  }
}

// Every connection takes a descriptor, and so do database connections,
// the SQLite file and the log. A soft limit below what `max_connections`
// needs is raised towards the hard limit; systemd's default soft limit
// (1024) would otherwise cap the connections pourd can hold.
void
raise_descriptor_limit(std::size_t max_connections, const logging::Log& log)
{
  constexpr rlim_t k_reserve = 64;
  const rlim_t want = static_cast<rlim_t>(max_connections) + k_reserve;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= want)
    return;
  rlimit raised = limit;
  raised.rlim_cur = std::min(want, limit.rlim_max);
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
    limit = raised;
  if (limit.rlim_cur < want)
    log.warn("open file limit below what max_connections needs; idle "
             "connections will be closed early when it runs out",
             {{"limit", static_cast<long long>(limit.rlim_cur)},
              {"needed", static_cast<long long>(want)},
              {"key", "max_connections"}});
}

} // namespace

int
run(const config::Config& initial, const config::Sources& sources)
{
  const logging::Log log("daemon");
  config::Config current = initial;
  log.info("starting",
           {{"version", POURD_VERSION},
            {"database", config::redact_database_url(current.database)},
            {"listen", listen_text(current)},
            {"state_dir", current.state_dir},
            {"config_file", current.config_file}});
  for (const auto& name : current.unknown_environment)
    log.warn("environment variable names no configuration key; ignored",
             {{"variable", name}});

  try {
    prepare_directories(current);
  } catch (const std::exception& e) {
    log.error("cannot create state directory",
              {{"path", current.state_dir}, {"error", e.what()}});
    return k_exit_failure;
  }

  // The database, with its schema created on a first start so the
  // default SQLite file works with no setup. An older schema is left for
  // `pourctl migrate`: upgrading is the operator's decision.
  std::unique_ptr<orm::Store> store;
  try {
    store = orm::Store::open(current.connect);
    if (store->schema_version() == 0) {
      store->migrate();
      log.info("database schema created",
               {{"version", orm::Store::model_version()}});
    }
    store->check_schema();
  } catch (const orm::DatabaseError& e) {
    log.error("database not usable",
              {{"database", config::redact_database_url(current.database)},
               {"error", e.what()}});
    return e.kind() == orm::DatabaseError::Kind::schema ? k_exit_failure
                                                        : k_exit_database;
  }

  admin::Metrics metrics;
  const logging::Log orm_log("orm");
  store->set_retry_observer(
      [&metrics, &orm_log](const char* kind, bool retrying) {
        metrics.database_retry(kind, retrying);
        orm_log.debug("recoverable database error",
                      {{"kind", kind}, {"retrying", retrying}});
      });

  engine::Engine engine(*store, current.rules);
  admin::SecretBox secrets(secrets_of(current, log));
  Sweeper sweeper(engine, metrics, this_holder(), current.sweep_batch);
  sweeper.on_summary([](const std::string& s) { notify_status(s); });
  admin::ApiContext context{engine, *store, metrics, secrets,
                            [&sweeper] { return sweeper.run("cron"); }};
  const admin::Router router(context, admin::api_routes(context));

  // Declared after everything the handlers use, so pending handlers are
  // destroyed (with the io_context) before what they refer to.
  asio::io_context io(1);
  // One thread for database work per pooled connection; the network has
  // a thread of its own.
  asio::thread_pool pool(store->connections());

  admin::ServerOptions options;
  options.host = current.listen_host;
  options.port = current.listen_port;
  options.max_connections = current.max_connections;
  options.idle_timeout = current.idle_timeout;
  options.request_timeout = current.request_timeout;
  raise_descriptor_limit(options.max_connections, log);
  std::unique_ptr<admin::Server> server;
  try {
    server =
        std::make_unique<admin::Server>(io, pool, router, metrics, options);
  } catch (const std::exception& e) {
    log.error("cannot listen",
              {{"listen", listen_text(current)}, {"error", e.what()}});
    pool.join();
    return k_exit_failure;
  }
  server->start();

  SweepTimer timer(io, pool, sweeper);
  timer.set_interval(current.sweep_interval);
  if (current.sweep_interval.count() == 0)
    log.info("sweep timer off", {{"key", "sweep_interval"}});

  asio::steady_timer watchdog(io);
  std::function<void()> ping;
  if (const auto every = watchdog_interval()) {
    ping = [&watchdog, &ping, every = *every] {
      notify_watchdog();
      watchdog.expires_after(every);
      watchdog.async_wait([&ping](const boost::system::error_code& ec) {
        if (!ec)
          ping();
      });
    };
    ping();
  }

  // ------------------------------------------------------------------
  // Signals: SIGHUP reloads, SIGTERM and SIGINT drain and stop.

  auto reload = [&] {
    notify_reloading();
    config::Config next;
    try {
      next = config::load(sources);
    } catch (const std::exception& e) {
      log.error("reload failed; keeping the running configuration",
                {{"error", e.what()}});
      notify_ready();
      return;
    }

    std::string changed;
    std::string restart;
    auto note = [](std::string& list, const char* key) {
      list += list.empty() ? key : std::string(",") + key;
    };
    if (next.log_level != current.log_level ||
        next.log_format != current.log_format) {
      logging::setup(next.log_format, next.log_level);
      if (next.log_level != current.log_level)
        note(changed, "log_level");
      if (next.log_format != current.log_format)
        note(changed, "log_format");
    }
    if (next.sweep_interval != current.sweep_interval) {
      timer.set_interval(next.sweep_interval);
      note(changed, "sweep_interval");
    }
    if (next.sweep_batch != current.sweep_batch) {
      sweeper.set_batch(next.sweep_batch);
      note(changed, "sweep_batch");
    }
    try {
      const admin::Secrets before = secrets.get();
      const admin::Secrets after = secrets_of(next, log);
      if (after.admin_token != before.admin_token)
        note(changed, "admin_token");
      if (after.cron_secret != before.cron_secret)
        note(changed, "cron_secret");
      secrets.set(after);
    } catch (const std::exception& e) {
      log.error("reload could not read the secrets; keeping them",
                {{"error", e.what()}});
    }
    if (next.database != current.database)
      note(restart, "database");
    if (next.listen_host != current.listen_host ||
        next.listen_port != current.listen_port)
      note(restart, "listen");
    if (next.state_dir != current.state_dir)
      note(restart, "state_dir");
    if (next.max_connections != current.max_connections)
      note(restart, "max_connections");
    if (next.idle_timeout != current.idle_timeout)
      note(restart, "idle_timeout");
    if (next.request_timeout != current.request_timeout)
      note(restart, "request_timeout");
    if (next.rules.session_timeout_ms != current.rules.session_timeout_ms)
      note(restart, "session_timeout");
    if (next.rules.current_window_ms != current.rules.current_window_ms)
      note(restart, "current_window");
    if (next.rules.day_boundary_min != current.rules.day_boundary_min)
      note(restart, "day_boundary");
    if (next.rules.default_time_zone != current.rules.default_time_zone)
      note(restart, "default_time_zone");

    log.info("configuration reloaded",
             {{"changed", changed.empty() ? std::string("none") : changed},
              {"file", next.config_file}});
    if (!restart.empty())
      log.warn("some changes take effect only after a restart",
               {{"keys", restart}});
    // Keys needing a restart keep their running values.
    next.database = current.database;
    next.connect = current.connect;
    next.listen_host = current.listen_host;
    next.listen_port = current.listen_port;
    next.state_dir = current.state_dir;
    next.max_connections = current.max_connections;
    next.idle_timeout = current.idle_timeout;
    next.request_timeout = current.request_timeout;
    next.rules = current.rules;
    current = next;
    notify_ready();
  };

  bool stopping = false;
  auto stop = [&](int signal) {
    if (stopping) {
      log.warn("second stop signal; not waiting any longer",
               {{"signal", signal}});
      io.stop();
      return;
    }
    stopping = true;
    const long long drain_s = k_drain.count();
    log.info("stopping", {{"signal", signal}, {"drain_s", drain_s}});
    notify_stopping();
    timer.stop();
    sweeper.stop();
    watchdog.cancel();
    server->stop(k_drain, [&io] { io.stop(); });
  };

  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec)
        return;
      if (sig == SIGHUP)
        reload();
      else
        stop(sig);
      wait_signal();
    });
  };
  wait_signal();

  // Listening and the schema checked: ready. Requests that arrived since
  // the bind wait in the backlog until io runs just below.
  log.info("listening", {{"address", server->address()}});
  notify_status("ready; no sweep yet");
  notify_ready();

  io.run();

  // The network has drained; wait, boundedly, for database work (the
  // sweep batch in progress, requests the deadline cut off).
  auto joined = std::async(std::launch::async, [&pool] { pool.join(); });
  if (joined.wait_for(k_drain) != std::future_status::ready) {
    log.error("database work still running after the drain bound; "
              "exiting without it",
              {{"bound_s", static_cast<long long>(k_drain.count())}});
    std::quick_exit(k_exit_failure);
  }
  log.info("stopped");
  return k_exit_ok;
}

} // namespace pourd::daemon
