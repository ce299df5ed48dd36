#include "common/file_write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string_view>

namespace triage {
namespace {

Error WriteError(const std::string& path, int err) {
  return Error::Make(ErrorKind::kInternal, "write_failed",
                     "cannot write " + path + ": " + std::strerror(err));
}

// Writes all of `bytes` to `fd`; 0 or the errno of the failure.
int WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// The directory `path` is in ("." for a bare name).
std::filesystem::path DirOf(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

// The descriptor `path` names when it is one of this process's own and open: /dev/stdout,
// /dev/stderr, /dev/fd/N, /proc/self/fd/N. -1 otherwise. Those names lead (through /proc) to
// whatever the descriptor is, a regular file too when the shell redirected it to one: replacing
// that file would leave the descriptor on an unlinked inode, and the process's other output to
// it (the report printed next to `--scores /dev/stdout`) would go nowhere.
int OwnDescriptor(const std::string& path) {
  int fd = -1;
  if (path == "/dev/stdout") {
    fd = STDOUT_FILENO;
  } else if (path == "/dev/stderr") {
    fd = STDERR_FILENO;
  } else {
    for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
      const std::string_view p = prefix;
      if (path.size() <= p.size() || path.size() > p.size() + 9 ||
          path.compare(0, p.size(), p) != 0)
        continue;
      const std::string digits = path.substr(p.size());
      if (digits.find_first_not_of("0123456789") != std::string::npos) return -1;
      fd = std::stoi(digits);
    }
  }
  if (fd < 0 || ::fcntl(fd, F_GETFD) == -1) return -1;
  return fd;
}

// The file a write to `path` lands in: `path` with its symlinks resolved, also when the last
// one dangles (open(O_CREAT) creates its target; replacing the link instead would leave the
// target missing and the link gone). `path` itself when nothing resolves.
std::string TargetOf(const std::string& path) {
  std::error_code ec;
  if (auto real = std::filesystem::canonical(path, ec); !ec) return real.string();
  std::filesystem::path p = path;
  for (int hops = 0; hops < 40 && std::filesystem::is_symlink(p, ec); ++hops) {
    const std::filesystem::path to = std::filesystem::read_symlink(p, ec);
    if (ec) break;
    p = to.is_absolute() ? to : p.parent_path() / to;
  }
  return p.string();
}

// A temporary file older than this next to a file just written was left by a write that was
// killed between creating it and renaming it: no write keeps its temporary this long (each
// is written, synced and renamed at once), so removing it cannot cut a live one.
constexpr auto kStaleTemporary = std::chrono::minutes(10);

// Removes the leftovers of killed writes of `target`: regular files in its directory, owned by
// this user, named exactly ".NAME.tmp-DIGITS" (the pattern WriteFileAtomically creates), last
// modified more than kStaleTemporary ago. Best effort: an error leaves the file.
void RemoveStaleTemporaries(const std::string& target) {
  const std::filesystem::path dir = DirOf(target);
  const std::string prefix = "." + std::filesystem::path(target).filename().string() + ".tmp-";
  const auto now = std::chrono::system_clock::now();
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string_view digits = std::string_view(name).substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid())
      continue;
    const auto mtime = std::chrono::system_clock::from_time_t(st.st_mtime);
    if (now - mtime > kStaleTemporary) ::unlink(it->path().c_str());
  }
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  if (const int fd = OwnDescriptor(path); fd >= 0) {
    // Written where the descriptor stands, after what the process already printed to it.
    std::fflush(nullptr);
    if (const int err = WriteAll(fd, bytes); err != 0) return WriteError(path, err);
    return Ok{};
  }
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return WriteError(path, EISDIR);
  // A file this user may not write (chmod a-w) is refused as opening it would be, not replaced
  // by a rename that only needs the directory's permission.
  if (exists && S_ISREG(st.st_mode) && ::access(path.c_str(), W_OK) != 0)
    return WriteError(path, errno);
  if (exists && !S_ISREG(st.st_mode)) {
    // A device or a FIFO: nothing to replace, and no temporary file belongs next to it.
    const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return WriteError(path, errno);
    int err = WriteAll(fd, bytes);
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) return WriteError(path, err);
    return Ok{};
  }
  const std::string target = TargetOf(path);  // a symlink's target is replaced, not the link
  std::random_device rd;
  const std::string tmp =
      (DirOf(target) /
       ("." + std::filesystem::path(target).filename().string() + ".tmp-" + std::to_string(rd())))
          .string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return WriteError(path, errno);
  int err = WriteAll(fd, bytes);
  if (err == 0 && exists && ::fchmod(fd, st.st_mode & 07777) != 0) err = errno;
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), target.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return WriteError(path, err);
  }
  RemoveStaleTemporaries(target);
  return Ok{};
}

Status CheckWritablePath(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Error::Make(ErrorKind::kInvalidRequest, "bad_output_path",
                       "cannot write " + path + ": " + why);
  };
  if (OwnDescriptor(path) >= 0) return Ok{};  // /dev/stdout and the like, written in place
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return bad("it is a directory; name a file");
    if (!S_ISREG(st.st_mode)) return Ok{};  // a device or a FIFO, written in place
    if (::access(path.c_str(), W_OK) != 0) return bad(std::strerror(errno));
  }
  std::error_code ec;
  // The new file is made next to a symlink's target (WriteFileAtomically), so that directory
  // counts.
  const std::filesystem::path dir = DirOf(TargetOf(path));
  if (!std::filesystem::is_directory(dir, ec)) return bad("no directory " + dir.string());
  // The new file is made next to the old one, so the directory must take it.
  if (::access(dir.c_str(), W_OK) != 0) return bad(std::strerror(errno));
  return Ok{};
}

}  // namespace triage
