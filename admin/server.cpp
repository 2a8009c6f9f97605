#include "admin/server.hpp"

#include "admin/logging.hpp"
#include "admin/metrics.hpp"
#include "admin/problem.hpp"
#include "admin/router.hpp"

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

#include <algorithm>
#include <set>

namespace pourd::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

constexpr auto k_use = asio::as_tuple(asio::use_awaitable);

const logging::Log&
log()
{
  static const logging::Log l("admin");
  return l;
}

// Errors that only mean the peer went away or we closed on purpose.
bool
expected_end(const boost::system::error_code& ec)
{
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == beast::error::timeout ||
         ec == http::error::partial_message;
}

Request
to_request(const http::request<http::string_body>& in)
{
  Request r;
  r.method = std::string(in.method_string());
  r.target = std::string(in.target());
  for (const auto& field : in) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
      return static_cast<char>(std::tolower(c));
    });
    r.headers[name] = std::string(field.value());
  }
  r.body = in.body();
  return r;
}

http::response<http::string_body>
to_beast(const Response& in, unsigned version, bool keep_alive)
{
  http::response<http::string_body> out{static_cast<http::status>(in.status),
                                        version};
  out.set(http::field::server, "pourd");
  out.set(http::field::content_type, in.content_type);
  out.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : in.headers)
    out.set(name, value);
  out.body() = in.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
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

  // What a connection's coroutine shares with stop().
  struct Connection
  {
    beast::tcp_stream* stream = nullptr;
    bool busy = false;
  };

  asio::io_context& io;
  asio::thread_pool& pool;
  const Router& router;
  Metrics& metrics;
  ServerOptions options;
  tcp::acceptor acceptor;
  asio::steady_timer drain_timer;
  std::set<Connection*> connections;
  bool stopping = false;
  std::function<void()> on_drained;

  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);
  awaitable<Response> answer(Request& request, std::string& label);
  awaitable<void> refuse(tcp::socket socket);
  awaitable<void> linger_close(beast::tcp_stream& stream,
                               beast::flat_buffer& buffer);

  void opened(Connection* c)
  {
    connections.insert(c);
    metrics.http_connections(static_cast<double>(connections.size()));
  }

  void closed(Connection* c)
  {
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
      // Running out of descriptors is worth a line; keep accepting.
      log().warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(io, std::chrono::milliseconds(50));
      co_await pause.async_wait(k_use);
      continue;
    }
    // Limitation: a client over the limit gets a 503 but is not queued.
    if (connections.size() >= options.max_connections) {
      asio::co_spawn(io, refuse(std::move(socket)), asio::detached);
      continue;
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
  Connection connection{&stream, false};
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
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    stream.expires_after(options.idle_timeout);

    auto [ec, n] =
        co_await http::async_read_header(stream, buffer, parser, k_use);
    connection.busy = true;
    Response early;
    bool failed = false;
    if (!ec && parser.get()[http::field::expect] == "100-continue") {
      const auto length = parser.content_length();
      if (length && *length > options.body_limit) {
        ec = http::error::body_limit;
      } else {
        http::response<http::empty_body> go{http::status::continue_,
                                            parser.get().version()};
        auto [wec, wn] = co_await http::async_write(stream, go, k_use);
        ec = wec;
      }
    }
    if (!ec && !parser.is_done())
      std::tie(ec, n) =
          co_await http::async_read(stream, buffer, parser, k_use);

    if (ec == http::error::body_limit) {
      early = problem(413, "The body is larger than " +
                               std::to_string(options.body_limit) + " bytes.");
      failed = true;
    } else if (ec == http::error::header_limit) {
      early = problem(431, "The request headers are too large.");
      failed = true;
    } else if (ec && expected_end(ec)) {
      break;
    } else if (ec) {
      early = problem(
          400, "The request is not valid HTTP/1.1: " + ec.message() + ".");
      failed = true;
    }

    const auto started = std::chrono::steady_clock::now();
    std::string label = "unmatched";
    std::string method;
    Response response;
    unsigned version = 11;
    bool keep_alive = false;
    if (failed) {
      response = std::move(early);
    } else {
      Request request = to_request(parser.get());
      method = request.method;
      version = parser.get().version();
      keep_alive = parser.get().keep_alive();
      response = co_await answer(request, label);
    }
    keep_alive = keep_alive && !stopping;

    auto out = to_beast(response, version, keep_alive);
    stream.expires_after(options.idle_timeout);
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
