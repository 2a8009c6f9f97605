// pourd's counters for Prometheus, with stable names.
//
// Thread-safe: any thread may record; prometheus-cpp locks per family.
#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T> class Family;
} // namespace prometheus

namespace pourd::admin {

class Metrics
{
public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One answered HTTP request; `route` is the route pattern, never the
  // raw path, so label values stay few.
  void http_request(const std::string& route, const std::string& method,
                    unsigned status, double seconds);
  void http_connections(double open);
  // A connection pourd closed on its own: "idle_timeout",
  // "request_timeout", "evicted" (for a new client at the limit) or
  // "refused" (at the limit with none idle).
  void http_connection_closed(const std::string& reason);
  void auth_failure(const std::string& realm);

  void pour_created();
  void session_created(const std::string& origin);

  // One finished sweep; `result` is "ok", "error" or "skipped".
  void sweep(const std::string& trigger, const std::string& result,
             long long found, long long fixed, long long remaining,
             double seconds);

  // A database error that reached a caller, by kind.
  void database_error(const std::string& kind);
  // A recoverable error the store saw; `retrying` false when it gave up.
  void database_retry(const std::string& kind, bool retrying);

  // The Prometheus text exposition format.
  std::string text() const;

private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Gauge* connections_;
  prometheus::Family<prometheus::Counter>* connections_closed_;
  prometheus::Family<prometheus::Counter>* auth_failures_;
  prometheus::Counter* pours_;
  prometheus::Family<prometheus::Counter>* sessions_;
  prometheus::Family<prometheus::Counter>* sweeps_;
  prometheus::Counter* orphans_found_;
  prometheus::Counter* orphans_fixed_;
  prometheus::Gauge* orphans_remaining_;
  prometheus::Histogram* sweep_duration_;
  prometheus::Family<prometheus::Counter>* db_errors_;
  prometheus::Family<prometheus::Counter>* db_retries_;
};

} // namespace pourd::admin
