// Raw bytes as one admin HTTP connection: read with the server's parser and
// limits (admin/wire.hpp), routed and answered by the daemon's router and
// handlers against a SQLite store, pipelined requests one after another as
// the server's connection loop takes them. Every answer is checked (see
// ApiFixture::serve) and the session rules must hold afterwards.
#include "admin/wire.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <sstream>

#include "fuzz/api_fixture.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace pourd;

// A client's bytes as a blocking stream. Some inputs arrive in small
// pieces, so the parser also sees requests split at every kind of place.
class InputStream
{
public:
  InputStream(const std::uint8_t* data, std::size_t size)
      : data_(data), size_(size), piece_(size % 3 == 0 ? 7 : size + 1)
  {}

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, boost::system::error_code& ec)
  {
    if (at_ == size_) {
      ec = asio::error::eof;
      return 0;
    }
    ec = {};
    const std::size_t n = asio::buffer_copy(
        buffers, asio::buffer(data_ + at_, std::min(piece_, size_ - at_)));
    at_ += n;
    return n;
  }

  template <class Buffers> std::size_t read_some(const Buffers& buffers)
  {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec)
      throw boost::system::system_error(ec);
    return n;
  }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t piece_;
  std::size_t at_ = 0;
};

// Bounds the work one input can ask for; the server has no such bound,
// but its idle timeout ends a connection that keeps it busy.
constexpr int k_max_requests = 8;

// The answer as the server writes it; checks Beast accepts it.
void
write_answer(const pourd::admin::Response& response, unsigned version,
             bool keep_alive)
{
  auto out = admin::wire::to_beast(response, version, keep_alive);
  std::ostringstream os;
  os << out;
  if (os.str().find("\r\n\r\n") == std::string::npos)
    fuzz::fail("answer has no header end");
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  auto& fixture = fuzz::ApiFixture::get();
  fixture.next_input();

  const admin::ServerOptions options;
  InputStream stream(data, size);
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < k_max_requests; ++i) {
    admin::wire::Parser parser;
    admin::wire::limit(parser, options);
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    std::optional<admin::Response> early;
    if (!ec)
      early = admin::wire::framing_failure(parser.get());
    // The server answers "100 Continue" here; nothing to send back.
    if (!ec && !early && parser.get()[http::field::expect] == "100-continue")
      admin::wire::may_continue(parser, options, ec);
    if (!ec && !early && !parser.is_done())
      http::read(stream, buffer, parser, ec);
    if (!early && ec)
      early = admin::wire::read_failure(ec, options);

    if (early || ec) {
      // The server answers and closes, or just closes.
      if (early)
        write_answer(*early, 11, false);
      break;
    }
    admin::Request request = admin::wire::to_request(parser.get());
    const admin::Response response = fixture.serve(request);
    const bool keep_alive = parser.get().keep_alive();
    write_answer(response, parser.get().version(), keep_alive);
    if (!keep_alive)
      break;
  }
  fixture.check_rules();
  return 0;
}
