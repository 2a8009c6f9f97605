// The admin HTTP/1.1 server: a listener and one coroutine per connection.
//
// Threading: everything here runs on the one thread that runs `io`; the
// router's blocking handlers run on `pool` and the connection resumes on
// `io` afterwards, so network threads never wait for the database.
// Beast stays inside server.cpp to keep this header cheap to include.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
class thread_pool;
} // namespace boost::asio

namespace pourd::admin {

class Metrics;
class Router;

// The limits a hostile or broken client runs into. The daemon takes the
// connection count and timeouts from its configuration.
struct ServerOptions
{
  std::string host = "127.0.0.1";
  unsigned short port = 8787; // 0: any free port
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 16 * 1024;
  // At the limit a new client takes the place of the connection that has
  // been idle longest; with none idle it gets a 503.
  std::size_t max_connections = 1024;
  // A connection waiting for its next request is closed after this.
  std::chrono::milliseconds idle_timeout{30'000};
  // From its first byte, a request's header and body must arrive within
  // this, and its answer must be taken within it too; else the
  // connection is closed.
  std::chrono::milliseconds request_timeout{10'000};
};

class Server
{
public:
  // Binds and listens at once; throws std::system_error when it cannot.
  Server(boost::asio::io_context& io, boost::asio::thread_pool& pool,
         const Router& router, Metrics& metrics, ServerOptions options);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound address, for logs, e.g. "127.0.0.1:8787".
  std::string address() const;
  unsigned short port() const;

  // Starts accepting. Call once, before running `io`.
  void start();

  // Stops accepting, closes idle connections and lets each busy one
  // answer its request (with "Connection: close"); after `drain`, closes
  // the rest. `done` runs on `io` once no connection is left. Call on the
  // `io` thread.
  void stop(std::chrono::milliseconds drain, std::function<void()> done);

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

} // namespace pourd::admin
