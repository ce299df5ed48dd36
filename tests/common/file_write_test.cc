// WriteFileAtomically: the whole file or the old one, never a cut one; every failure reported.
#include "common/file_write.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace triage {
namespace {

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/triage_file_write_test_" + name;
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// No ".NAME.tmp-*" file is left next to `path`.
bool NoTemporaryLeft(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  const std::string prefix = "." + std::filesystem::path(path).filename().string() + ".tmp-";
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) return false;
  return true;
}

TEST(WriteFileAtomically, WritesAndReplacesKeepingThePermissions) {
  const std::string path = TempPath("plain.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  EXPECT_EQ(Slurp(path), "first");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer").ok());
  EXPECT_EQ(Slurp(path), "second, longer");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(NoTemporaryLeft(path));
  std::remove(path.c_str());
}

TEST(WriteFileAtomically, ASymlinkIsFollowed) {
  const std::string target = TempPath("target.txt"), link = TempPath("link.txt");
  std::remove(link.c_str());
  ASSERT_TRUE(WriteFileAtomically(target, "old").ok());
  std::filesystem::create_symlink(target, link);
  ASSERT_TRUE(WriteFileAtomically(link, "new").ok());
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(Slurp(target), "new");
  std::remove(link.c_str());
  std::remove(target.c_str());
}

// Regression: a symlink whose target did not exist yet (a dangling link, as `ln -s` leaves before
// the first write) was replaced by a regular file, where opening it creates its target.
TEST(WriteFileAtomically, ADanglingSymlinkGetsItsTargetCreated) {
  const std::string target = TempPath("dangling_target.txt"), link = TempPath("dangling.txt");
  std::remove(link.c_str());
  std::remove(target.c_str());
  // Relative, as ln -s writes it: resolved against the link's directory.
  std::filesystem::create_symlink(std::filesystem::path(target).filename(), link);
  ASSERT_TRUE(CheckWritablePath(link).ok());
  ASSERT_TRUE(WriteFileAtomically(link, "created").ok());
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(Slurp(target), "created");
  EXPECT_TRUE(NoTemporaryLeft(target));
  std::remove(link.c_str());
  std::remove(target.c_str());
}

// Regression: eval and calibrate wrote through a buffered std::ofstream and checked it before the
// close, so a full disk (/dev/full here) printed "wrote FILE" and exited 0.
TEST(WriteFileAtomically, ADeviceIsWrittenInPlaceAndItsErrorsReported) {
  Status full = WriteFileAtomically("/dev/full", "a few bytes");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().message, "cannot write /dev/full: No space left on device");
  EXPECT_TRUE(WriteFileAtomically("/dev/null", "gone").ok());
}

TEST(WriteFileAtomically, AFailedWriteLeavesTheOldFileAndNoTemporary) {
  const std::string path = TempPath("keep.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "the good old content").ok());
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* prev = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit low = old;
  low.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &low), 0);
  Status st = WriteFileAtomically(path, std::string(100000, 'x'));
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, prev);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "cannot write " + path + ": File too large");
  EXPECT_EQ(Slurp(path), "the good old content");
  EXPECT_TRUE(NoTemporaryLeft(path));
  std::remove(path.c_str());
}

// Regression: a `triage train --out m.json` killed between writing its temporary and renaming
// it left ".m.json.tmp-N" next to m.json for good. The next write removes such leftovers when
// they are surely stale (older than 10 minutes), and only files of exactly that pattern.
TEST(WriteFileAtomically, RemovesStaleTemporariesOfTheSamePathOnly) {
  const std::filesystem::path dir = TempPath("stale");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "m.json").string();
  auto make = [&](const std::string& name, bool old) {
    const std::string p = (dir / name).string();
    std::ofstream(p) << "partial";
    if (old) {
      struct timespec times[2] = {{time(nullptr) - 3600, 0}, {time(nullptr) - 3600, 0}};
      utimensat(AT_FDCWD, p.c_str(), times, 0);
    }
    return p;
  };
  const std::string stale = make(".m.json.tmp-123456", true);
  const std::string fresh = make(".m.json.tmp-654321", false);  // may be a live write
  const std::string other = make(".other.json.tmp-123", true);  // another file's
  const std::string odd = make(".m.json.tmp-12ab", true);       // not our pattern
  const std::string mine = make("m.json.tmp-123", true);        // no leading dot
  std::filesystem::create_directory(dir / ".m.json.tmp-999");   // a directory
  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());
  EXPECT_EQ(Slurp(path), "new");
  EXPECT_FALSE(std::filesystem::exists(stale));
  for (const auto& kept : {fresh, other, odd, mine, (dir / ".m.json.tmp-999").string()})
    EXPECT_TRUE(std::filesystem::exists(kept)) << kept;
  std::filesystem::remove_all(dir);
}

TEST(WriteFileAtomically, NoSuchDirectoryOrADirectoryAreErrors) {
  Status st = WriteFileAtomically(TempPath("no/such/dir/x.txt"), "x");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("No such file or directory"), std::string::npos)
      << st.error().message;
  st = WriteFileAtomically(::testing::TempDir(), "x");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("Is a directory"), std::string::npos) << st.error().message;
}

// Regression: /dev/stdout (and /dev/fd/N) redirected by the shell to a regular file resolved to
// that file, which the rename replaced: `triage eval --scores /dev/stdout > out.txt` lost the
// report the process printed to its stdout (it went to the unlinked inode), and `>> log` lost
// the log. Such a name is the process's own descriptor: written there, at its offset.
TEST(WriteFileAtomically, AnOwnDescriptorIsWrittenWhereItStands) {
  for (const std::string prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    const std::string path = TempPath("redirected.txt");
    ASSERT_TRUE(WriteFileAtomically(path, "earlier line\n").ok());
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "head\n", 5), 5);
    ASSERT_TRUE(WriteFileAtomically(prefix + std::to_string(fd), "body\n").ok()) << prefix;
    ASSERT_EQ(::write(fd, "tail\n", 5), 5);
    ::close(fd);
    EXPECT_EQ(Slurp(path), "earlier line\nhead\nbody\ntail\n") << prefix;
    EXPECT_TRUE(NoTemporaryLeft(path));
    EXPECT_TRUE(CheckWritablePath(prefix + "1").ok());
    std::remove(path.c_str());
  }
}

// Regression: a file its owner made read-only (chmod a-w) was replaced by the rename, which
// needs only the directory's permission; opening it for writing, as before, is refused. Run as
// `nobody` in a child process, since root may write any file.
TEST(WriteFileAtomically, AReadOnlyFileIsRefusedNotReplaced) {
  const std::string dir = TempPath("ro_dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  const std::string path = dir + "/model.bin";
  // Root's directory (not writable by nobody) with a file nobody may write, linked from `dir`.
  const std::string closed = TempPath("ro_closed_dir"), link = dir + "/link.bin";
  std::filesystem::remove_all(closed);
  std::filesystem::create_directory(closed);
  ASSERT_EQ(::chmod(closed.c_str(), 0755), 0);
  ASSERT_TRUE(WriteFileAtomically(closed + "/target.bin", "t").ok());
  ASSERT_EQ(::chmod((closed + "/target.bin").c_str(), 0666), 0);
  std::filesystem::create_symlink(closed + "/target.bin", link);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    if (!WriteFileAtomically(path, "kept").ok()) ::_exit(11);
    if (::chmod(path.c_str(), 0444) != 0) ::_exit(12);
    Status st = WriteFileAtomically(path, "replaced");
    if (st.ok()) ::_exit(13);
    if (st.error().message != "cannot write " + path + ": Permission denied") ::_exit(14);
    if (Slurp(path) != "kept") ::_exit(15);
    if (CheckWritablePath(path).ok()) ::_exit(16);
    // A symlink (in a directory this user may write) to a file in one it may not: the new file
    // is made next to the target, so the check refuses it before the work, not the write after.
    if (CheckWritablePath(link).ok()) ::_exit(17);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 first write, 13 replaced, 14 message, "
                                       "15 content, 16 CheckWritablePath, 17 symlink's dir";
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(closed);
}

TEST(CheckWritablePath, SaysWhyBeforeAnyWork) {
  EXPECT_TRUE(CheckWritablePath(TempPath("new.txt")).ok());
  EXPECT_TRUE(CheckWritablePath("/dev/null").ok());
  Status st = CheckWritablePath(TempPath("nodir/x.model"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "cannot write " + TempPath("nodir/x.model") + ": no directory " + TempPath("nodir"));
  st = CheckWritablePath(::testing::TempDir());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("it is a directory"), std::string::npos);
}

}  // namespace
}  // namespace triage
