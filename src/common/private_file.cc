#include "common/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pgk {

Result<std::string> ReadPrivateFile(const std::string& path, const std::string& what, size_t max_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string message = "cannot open " + what + " " + path + ": " + std::strerror(err);
    if (err == ENOENT) return Status::NotFound(message);
    return Status::IO(message);
  }
  struct stat st {};
  std::string text;
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = Status::IO("cannot stat " + what + " " + path + ": " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    status = Status::InvalidArgument(what + " " + path + " is not a regular file");
  } else if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    status = Status::Refused(what + " " + path + " is accessible by group or others (mode " + mode + ")",
                             "chmod 600 " + path);
  } else {
    text.resize(max_size + 1);
    size_t got = 0;
    while (got < text.size()) {
      ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = Status::IO("cannot read " + what + " " + path + ": " + std::strerror(errno));
        break;
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    if (status.ok() && got > max_size) {
      status = Status::InvalidArgument(what + " " + path + " is larger than " + std::to_string(max_size) + " bytes");
    }
    text.resize(status.ok() ? got : 0);
  }
  ::close(fd);
  if (!status.ok()) return status;
  return text;
}

}  // namespace pgk
