#include "tests/admin/http_client.hpp"

#include <arpa/inet.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace pourd::test {

namespace {

// Every socket operation gives up after this, so no test hangs.
constexpr int k_timeout_s = 20;

int
connect_to(unsigned short port, std::string& error)
{
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  timeval tv{k_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool
send_all(int fd, const std::string& bytes, std::string& error)
{
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      error = std::string("send: ") + std::strerror(errno);
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one answer from `fd`, keeping surplus bytes in `pending`.
HttpResult
read_answer(int fd, std::string& pending)
{
  HttpResult r;
  char buf[16384];
  auto fill = [&]() -> bool {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    pending.append(buf, static_cast<std::size_t>(n));
    return true;
  };

  std::size_t head_end;
  for (;;) {
    head_end = pending.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      // Interim answers (100 Continue) precede the real one.
      if (pending.compare(0, 12, "HTTP/1.1 100") == 0) {
        pending.erase(0, head_end + 4);
        continue;
      }
      break;
    }
    if (!fill()) {
      r.error = pending.empty() ? "no answer" : "truncated head";
      return r;
    }
  }

  const std::string head = pending.substr(0, head_end);
  pending.erase(0, head_end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() >= 12)
    r.status = std::atoi(status_line.c_str() + 9);
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos
                                                         : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    r.headers[name] = value;
  }

  std::size_t length = 0;
  if (auto it = r.headers.find("content-length"); it != r.headers.end())
    length = std::stoul(it->second);
  while (pending.size() < length)
    if (!fill()) {
      r.error = "truncated body";
      break;
    }
  r.body = pending.substr(0, length);
  pending.erase(0, std::min(length, pending.size()));
  return r;
}

std::string
request_text(const std::string& method, const std::string& target,
             const std::string& body, const Headers& headers, bool close)
{
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers)
    out += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close)
    out += "Connection: close\r\n";
  out += "\r\n" + body;
  return out;
}

} // namespace

const std::string&
HttpResult::header(const std::string& lower) const
{
  static const std::string none;
  auto it = headers.find(lower);
  return it == headers.end() ? none : it->second;
}

boost::json::value
HttpResult::json() const
{
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec)
    return nullptr;
  return v;
}

HttpResult
raw_http(unsigned short port, const std::string& bytes)
{
  HttpResult r;
  const int fd = connect_to(port, r.error);
  if (fd < 0)
    return r;
  std::string error;
  // A server may answer before reading everything (413); read anyway.
  send_all(fd, bytes, error);
  std::string pending;
  r = read_answer(fd, pending);
  if (r.status == 0 && !error.empty())
    r.error = error;
  ::close(fd);
  return r;
}

HttpResult
http(unsigned short port, const std::string& method, const std::string& target,
     const std::string& body, const Headers& headers)
{
  return raw_http(port, request_text(method, target, body, headers, true));
}

std::vector<HttpResult>
pipeline(unsigned short port, const std::vector<std::string>& requests)
{
  std::vector<HttpResult> out;
  std::string error;
  const int fd = connect_to(port, error);
  if (fd < 0)
    return out;
  std::string pending;
  for (const auto& req : requests) {
    if (!send_all(fd, req, error))
      break;
    out.push_back(read_answer(fd, pending));
    if (out.back().status == 0)
      break;
  }
  ::close(fd);
  return out;
}

bool
refuses_connections(unsigned short port)
{
  std::string error;
  const int fd = connect_to(port, error);
  if (fd < 0)
    return true;
  ::close(fd);
  return false;
}

HttpResult
Api::get(const std::string& target) const
{
  return http(port_, "GET", target, "",
              {{"Authorization", "Bearer " + token_}});
}

HttpResult
Api::post(const std::string& target, const std::string& body,
          Headers extra) const
{
  extra.emplace_back("Authorization", "Bearer " + token_);
  extra.emplace_back("Content-Type", "application/json");
  return http(port_, "POST", target, body, extra);
}

HttpResult
Api::post(const std::string& target, const boost::json::value& body,
          Headers extra) const
{
  return post(target, boost::json::serialize(body), std::move(extra));
}

} // namespace pourd::test
