#include "admin/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace pourd::admin {

namespace pm = prometheus;

namespace {

const pm::Histogram::BucketBoundaries&
latency_buckets()
{
  static const pm::Histogram::BucketBoundaries b = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return b;
}

// The method as a label value: the methods of RFC 9110 as they are,
// anything else a client makes up as "other", so that inventing methods
// cannot add series without bound. Empty (no request was read) stays.
std::string
method_label(const std::string& method)
{
  static const char* const known[] = {"GET",     "HEAD",   "POST",
                                      "PUT",     "DELETE", "CONNECT",
                                      "OPTIONS", "TRACE",  "PATCH"};
  if (method.empty())
    return method;
  for (const char* k : known)
    if (method == k)
      return method;
  return "other";
}

} // namespace

Metrics::Metrics() : registry_(std::make_shared<pm::Registry>())
{
  auto& r = *registry_;
  requests_ = &pm::BuildCounter()
                   .Name("pourd_http_requests_total")
                   .Help("HTTP requests answered, by route, method and status")
                   .Register(r);
  latency_ = &pm::BuildHistogram()
                  .Name("pourd_http_request_duration_seconds")
                  .Help("Time from a whole request read to its answer")
                  .Register(r);
  connections_ = &pm::BuildGauge()
                      .Name("pourd_http_connections")
                      .Help("Open admin HTTP connections")
                      .Register(r)
                      .Add({});
  connections_closed_ =
      &pm::BuildCounter()
           .Name("pourd_http_connections_closed_total")
           .Help("Connections pourd closed on its own, by reason")
           .Register(r);
  auth_failures_ = &pm::BuildCounter()
                        .Name("pourd_auth_failures_total")
                        .Help("Requests refused for a missing or wrong token")
                        .Register(r);
  pours_ = &pm::BuildCounter()
                .Name("pourd_pours_created_total")
                .Help("Pours created through the admin API")
                .Register(r)
                .Add({});
  sessions_ = &pm::BuildCounter()
                   .Name("pourd_sessions_created_total")
                   .Help("Sessions created, by origin")
                   .Register(r);
  sweeps_ = &pm::BuildCounter()
                 .Name("pourd_sweeps_total")
                 .Help("Orphan sweeps, by trigger and result")
                 .Register(r);
  orphans_found_ = &pm::BuildCounter()
                        .Name("pourd_orphans_found_total")
                        .Help("Orphaned pours found by sweeps")
                        .Register(r)
                        .Add({});
  orphans_fixed_ = &pm::BuildCounter()
                        .Name("pourd_orphans_fixed_total")
                        .Help("Orphaned pours given a session by sweeps")
                        .Register(r)
                        .Add({});
  orphans_remaining_ = &pm::BuildGauge()
                            .Name("pourd_orphans_remaining")
                            .Help("Orphaned pours left after the last sweep")
                            .Register(r)
                            .Add({});
  sweep_duration_ =
      &pm::BuildHistogram()
           .Name("pourd_sweep_duration_seconds")
           .Help("Duration of finished sweeps")
           .Register(r)
           .Add({}, pm::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1, 5,
                                                    10, 30, 60, 300});
  db_errors_ = &pm::BuildCounter()
                    .Name("pourd_database_errors_total")
                    .Help("Database errors that failed a request or sweep")
                    .Register(r);
  db_retries_ = &pm::BuildCounter()
                     .Name("pourd_database_retries_total")
                     .Help("Recoverable database errors, by kind and "
                           "whether the transaction was retried")
                     .Register(r);

  // Series that exist before their first event, so dashboards and
  // alerts see zeros rather than gaps.
  for (const char* origin : {"auto", "current", "explicit", "recovered"})
    sessions_->Add({{"origin", origin}});
  for (const char* realm : {"admin", "cron"})
    auth_failures_->Add({{"realm", realm}});
  for (const char* reason :
       {"idle_timeout", "request_timeout", "evicted", "refused"})
    connections_closed_->Add({{"reason", reason}});
  for (const char* kind : {"unavailable", "duplicate", "schema",
                           "unknown_outcome", "full", "read_only", "other"})
    db_errors_->Add({{"kind", kind}});
  for (const char* kind :
       {"deadlock", "timeout", "connection_lost", "commit_lost", "not_ready"})
    for (const char* retried : {"true", "false"})
      db_retries_->Add({{"kind", kind}, {"retried", retried}});
}

Metrics::~Metrics() = default;

void
Metrics::http_request(const std::string& route, const std::string& method,
                      unsigned status, double seconds)
{
  const std::string code = std::to_string(status);
  const std::string verb = method_label(method);
  requests_->Add({{"route", route}, {"method", verb}, {"status", code}})
      .Increment();
  latency_
      ->Add({{"route", route}, {"method", verb}, {"status", code}},
            latency_buckets())
      .Observe(seconds);
}

void
Metrics::http_connections(double open)
{
  connections_->Set(open);
}

void
Metrics::http_connection_closed(const std::string& reason)
{
  connections_closed_->Add({{"reason", reason}}).Increment();
}

void
Metrics::auth_failure(const std::string& realm)
{
  auth_failures_->Add({{"realm", realm}}).Increment();
}

void
Metrics::pour_created()
{
  pours_->Increment();
}

void
Metrics::session_created(const std::string& origin)
{
  sessions_->Add({{"origin", origin}}).Increment();
}

void
Metrics::sweep(const std::string& trigger, const std::string& result,
               long long found, long long fixed, long long remaining,
               double seconds)
{
  sweeps_->Add({{"trigger", trigger}, {"result", result}}).Increment();
  if (result == "skipped")
    return;
  orphans_found_->Increment(static_cast<double>(found));
  orphans_fixed_->Increment(static_cast<double>(fixed));
  if (result == "ok")
    orphans_remaining_->Set(static_cast<double>(remaining));
  sweep_duration_->Observe(seconds);
}

void
Metrics::database_error(const std::string& kind)
{
  db_errors_->Add({{"kind", kind}}).Increment();
}

void
Metrics::database_retry(const std::string& kind, bool retrying)
{
  db_retries_->Add({{"kind", kind}, {"retried", retrying ? "true" : "false"}})
      .Increment();
}

std::string
Metrics::text() const
{
  return pm::TextSerializer().Serialize(registry_->Collect());
}

} // namespace pourd::admin
