// WriteFileAtomically: the whole file or the old one, never a cut one; every failure reported.
#include "common/file_write.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

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

TEST(WriteFileAtomically, NoSuchDirectoryOrADirectoryAreErrors) {
  Status st = WriteFileAtomically(TempPath("no/such/dir/x.txt"), "x");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("No such file or directory"), std::string::npos)
      << st.error().message;
  st = WriteFileAtomically(::testing::TempDir(), "x");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("Is a directory"), std::string::npos) << st.error().message;
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
