#include "admin/server.hpp"

#include "admin/logging.hpp"
#include "admin/metrics.hpp"
#include "admin/router.hpp"
#include "admin/wire.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <list>
#include <optional>
#include <set>

namespace pourd::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

constexpr auto k_use = asio::as_tuple(asio::use_awaitable);

// What an idle connection's buffer may keep; larger ones are given back.
// A typical request fits, so a keep-alive client reads it in one go.
constexpr std::size_t k_idle_buffer = 2048;

const logging::Log&
log()
{
  static const logging::Log l("admin");
  return l;
}

} // namespace

// --------------------------------------------------------------------------

struct Server::Impl : std::enable_shared_from_this<Server::Impl>
{
  Impl(asio::io_context& io_, asio::thread_pool& pool_, const Router& router_,
       Metrics& metrics_, ServerOptions options_)
      : io(io_), pool(pool_), router(router_), metrics(metrics_),
        options(std::move(options_)), acceptor(io_), drain_timer(io_)
  {}

  // What a connection's coroutine shares with stop() and the listener.
  struct Connection
  {
    beast::tcp_stream* stream = nullptr;
    // Reading a request's header is not busy: stop() may cut it off.
    bool busy = false;
    // Waiting for the first byte of a request, with an empty buffer:
    // such a connection may be closed at any time without losing work.
    bool idle = false;
    std::list<Connection*>::iterator idle_at;
  };

  asio::io_context& io;
  asio::thread_pool& pool;
  const Router& router;
  Metrics& metrics;
  ServerOptions options;
  tcp::acceptor acceptor;
  asio::steady_timer drain_timer;
  std::set<Connection*> connections;
  // Idle connections, the one idle longest first.
  std::list<Connection*> idle;
  bool stopping = false;
  std::chrono::steady_clock::time_point accept_warned{};
  long long accept_failures = 0;
  std::function<void()> on_drained;

  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);
  awaitable<Response> answer(Request& request, std::string& label);
  awaitable<void> refuse(tcp::socket socket);
  awaitable<void> linger_close(beast::tcp_stream& stream,
                               beast::flat_buffer& buffer);

  void idle_begin(Connection* c)
  {
    c->idle = true;
    c->idle_at = idle.insert(idle.end(), c);
  }

  void idle_end(Connection* c)
  {
    if (!c->idle)
      return;
    c->idle = false;
    idle.erase(c->idle_at);
  }

  // Closes the connection idle longest; false when none is idle.
  bool evict_oldest_idle()
  {
    if (idle.empty())
      return false;
    Connection* c = idle.front();
    idle_end(c);
    c->stream->cancel();
    return true;
  }

  void opened(Connection* c)
  {
    connections.insert(c);
    metrics.http_connections(static_cast<double>(connections.size()));
  }

  void closed(Connection* c)
  {
    idle_end(c);
    connections.erase(c);
    metrics.http_connections(static_cast<double>(connections.size()));
    if (stopping && connections.empty())
      drained();
  }

  void drained()
  {
    // Once only: the drain deadline and the last close may both get here.
    if (!on_drained)
      return;
    drain_timer.cancel();
    if (auto done = std::exchange(on_drained, nullptr))
      asio::post(io, std::move(done));
  }
};

awaitable<void>
Server::Impl::accept_loop()
{
  auto self = shared_from_this();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(k_use);
    if (stopping)
      co_return;
    if (ec) {
      // Out of descriptors: an idle connection gives one back. A line
      // every 10 s at most, since the listener stays readable.
      ++accept_failures;
      const auto now = std::chrono::steady_clock::now();
      if (now - accept_warned > std::chrono::seconds(10)) {
        accept_warned = now;
        log().warn("accept failed", {{"error", ec.message()},
                                     {"failures", accept_failures},
                                     {"open", connections.size()}});
        accept_failures = 0;
      }
      const bool freed = evict_oldest_idle();
      if (freed)
        metrics.http_connection_closed("evicted");
      asio::steady_timer pause(io, std::chrono::milliseconds(freed ? 1 : 50));
      co_await pause.async_wait(k_use);
      continue;
    }
    // At the limit a new client is worth more than the one that has
    // waited longest without asking anything. Limitation: when every
    // connection is busy (slow requests included) the new one gets a 503
    // and is not queued.
    if (connections.size() >= options.max_connections) {
      if (evict_oldest_idle()) {
        metrics.http_connection_closed("evicted");
      } else {
        metrics.http_connection_closed("refused");
        asio::co_spawn(io, refuse(std::move(socket)), asio::detached);
        continue;
      }
    }
    asio::co_spawn(io, serve(std::move(socket)), [](std::exception_ptr e) {
      if (!e)
        return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log().error("connection failed", {{"error", ex.what()}});
      }
    });
  }
}

awaitable<void>
Server::Impl::refuse(tcp::socket socket)
{
  // Over the connection limit: a short answer rather than a silent close,
  // so clients can tell overload from a crash.
  static const std::string body =
      "{\"title\":\"Service Unavailable\",\"status\":503,"
      "\"detail\":\"Too many open connections.\"}";
  static const std::string answer =
      "HTTP/1.1 503 Service Unavailable\r\n"
      "Content-Type: application/problem+json\r\n"
      "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  metrics.http_request("unmatched", "", 503, 0);
  co_await asio::async_write(socket, asio::buffer(answer), k_use);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

awaitable<void>
Server::Impl::linger_close(beast::tcp_stream& stream,
                           beast::flat_buffer& buffer)
{
  // Closing with unread input makes the kernel reset the connection,
  // which can destroy the answer we just sent. Read and drop what the
  // client is still sending, briefly, before closing.
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::seconds(2));
  std::size_t total = 0;
  while (total < 8 * 1024 * 1024) {
    buffer.consume(buffer.size());
    auto [ec, n] =
        co_await stream.async_read_some(buffer.prepare(64 * 1024), k_use);
    if (ec)
      break;
    total += n;
  }
  stream.socket().close(ignored);
}

awaitable<Response>
Server::Impl::answer(Request& request, std::string& label)
{
  const Router::Match match = router.match(request);
  label = match.label;
  if (match.answer)
    co_return *match.answer;
  if (!match.route->blocking)
    co_return router.handle(match, request);

  // Database work runs on the pool; this coroutine resumes on `io`.
  co_return co_await asio::co_spawn(
      pool,
      [&]() -> awaitable<Response> { co_return router.handle(match, request); },
      asio::use_awaitable);
}

awaitable<void>
Server::Impl::serve(tcp::socket socket)
{
  auto self = shared_from_this();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  Connection connection;
  connection.stream = &stream;
  opened(&connection);
  struct Closer
  {
    Impl* impl;
    Connection* c;
    ~Closer() { impl->closed(c); }
  } closer{this, &connection};

  for (;;) {
    if (stopping)
      break;
    connection.busy = false;

    // Between requests: wait for the next one's first byte, holding as
    // little memory as a connection can, so thousands of idle clients
    // stay cheap.
    if (buffer.size() == 0) {
      if (buffer.capacity() > k_idle_buffer)
        buffer.shrink_to_fit();
      idle_begin(&connection);
      stream.expires_after(options.idle_timeout);
      auto [ec, n] =
          co_await stream.async_read_some(buffer.prepare(k_idle_buffer), k_use);
      idle_end(&connection);
      if (ec == beast::error::timeout)
        metrics.http_connection_closed("idle_timeout");
      if (ec)
        break;
      buffer.commit(n);
    }

    // From the first byte on, the whole request has one deadline: a
    // client trickling bytes holds the connection no longer than that.
    wire::Parser parser;
    wire::limit(parser, options);
    stream.expires_after(options.request_timeout);

    auto [ec, n] =
        co_await http::async_read_header(stream, buffer, parser, k_use);
    connection.busy = true;
    std::optional<Response> early;
    if (!ec)
      early = wire::framing_failure(parser.get());
    if (!ec && !early && parser.get()[http::field::expect] == "100-continue" &&
        wire::may_continue(parser, options, ec)) {
      http::response<http::empty_body> go{http::status::continue_,
                                          parser.get().version()};
      auto [wec, wn] = co_await http::async_write(stream, go, k_use);
      ec = wec;
    }
    if (!ec && !early && !parser.is_done())
      std::tie(ec, n) =
          co_await http::async_read(stream, buffer, parser, k_use);

    // A request refused for its framing is answered below; the rest of
    // it is never read as one.
    if (!early && ec == beast::error::timeout) {
      // The stream closed the socket: nobody to answer.
      metrics.http_connection_closed("request_timeout");
      break;
    }
    if (!early && ec) {
      early = wire::read_failure(ec, options);
      if (!early)
        break;
    }
    const bool failed = early.has_value();

    const auto started = std::chrono::steady_clock::now();
    std::string label = "unmatched";
    std::string method;
    Response response;
    unsigned version = 11;
    bool keep_alive = false;
    if (failed) {
      response = std::move(*early);
    } else {
      Request request = wire::to_request(parser.get());
      method = request.method;
      version = parser.get().version();
      keep_alive = parser.get().keep_alive();
      response = co_await answer(request, label);
    }
    keep_alive = keep_alive && !stopping;

    auto out = wire::to_beast(response, version, keep_alive);
    stream.expires_after(options.request_timeout);
    auto [wec, wn] = co_await http::async_write(stream, out, k_use);

    const double seconds = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - started)
                               .count();
    metrics.http_request(label, method, response.status, seconds);
    if (log().debug_enabled())
      log().debug("request",
                  {{"method", method},
                   {"route", label},
                   {"status", response.status},
                   {"duration_us", static_cast<long long>(seconds * 1e6)}});
    if (wec)
      break;
    if (failed) {
      co_await linger_close(stream, buffer);
      co_return;
    }
    if (!keep_alive)
      break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// --------------------------------------------------------------------------

Server::Server(asio::io_context& io, asio::thread_pool& pool,
               const Router& router, Metrics& metrics, ServerOptions options)
    : impl_(
          std::make_shared<Impl>(io, pool, router, metrics, std::move(options)))
{
  const auto address = asio::ip::make_address(impl_->options.host);
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

Server::~Server() = default;

std::string
Server::address() const
{
  const auto ep = impl_->acceptor.local_endpoint();
  if (ep.address().is_v6())
    return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

unsigned short
Server::port() const
{
  return impl_->acceptor.local_endpoint().port();
}

void
Server::start()
{
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
}

void
Server::stop(std::chrono::milliseconds drain, std::function<void()> done)
{
  auto& impl = *impl_;
  impl.stopping = true;
  impl.on_drained = std::move(done);
  boost::system::error_code ignored;
  impl.acceptor.close(ignored);

  // Idle connections wait in a read: cancel it. Busy ones answer first.
  for (auto* c : impl.connections)
    if (!c->busy)
      c->stream->cancel();
  if (impl.connections.empty()) {
    impl.drained();
    return;
  }

  impl.drain_timer.expires_after(drain);
  impl.drain_timer.async_wait(
      [self = impl_](const boost::system::error_code& ec) {
        if (ec)
          return;
        log().warn("drain deadline passed; closing connections",
                   {{"open", self->connections.size()}});
        for (auto* c : self->connections) {
          boost::system::error_code ignored2;
          c->stream->socket().close(ignored2);
        }
        self->drained();
      });
}

} // namespace pourd::admin
