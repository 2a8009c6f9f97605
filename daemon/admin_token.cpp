#include "daemon/admin_token.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace pourd::daemon {

namespace {

std::string
random_hex(std::size_t bytes)
{
  static const char digits[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  std::size_t got = 0;
  if (fd >= 0) {
    while (got < bytes) {
      const ssize_t n = ::read(fd, raw.data() + got, bytes - got);
      if (n <= 0)
        break;
      got += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  if (got < bytes) {
    // No /dev/urandom in this sandbox: random_device is the kernel's
    // generator too on Linux.
    std::random_device rd;
    for (auto& c : raw)
      c = static_cast<char>(rd() & 0xff);
  }
  std::string hex;
  for (unsigned char c : raw) {
    hex += digits[c >> 4];
    hex += digits[c & 0xf];
  }
  return hex;
}

std::string
read_token(const std::string& path)
{
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string token = buf.str();
  while (!token.empty() &&
         (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  return token;
}

} // namespace

TokenFile
load_or_create_admin_token(const std::string& state_dir)
{
  TokenFile out;
  out.path = state_dir + "/admin-token";
  if (::access(out.path.c_str(), F_OK) == 0) {
    out.token = read_token(out.path);
    if (out.token.empty())
      throw std::runtime_error("admin token file '" + out.path +
                               "' is empty or unreadable");
    return out;
  }

  out.token = random_hex(32);
  // O_EXCL: two instances sharing a state directory must not both write.
  const int fd =
      ::open(out.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return load_or_create_admin_token(state_dir);
    throw std::runtime_error("cannot create admin token file '" + out.path +
                             "': " + std::strerror(errno));
  }
  const std::string line = out.token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) ==
                  static_cast<ssize_t>(line.size());
  ::fsync(fd);
  ::close(fd);
  if (!ok)
    throw std::runtime_error("cannot write admin token file '" + out.path +
                             "'");
  out.created = true;
  return out;
}

} // namespace pourd::daemon
