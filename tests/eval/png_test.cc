#include "eval/png.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "eval/plot.h"

namespace triage::eval {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

uint32_t BigEndian(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

class PngTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("triage-png-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(PngPath, ExtensionIgnoresCase) {
  EXPECT_TRUE(IsPngPath("curve.png"));
  EXPECT_TRUE(IsPngPath("/tmp/a/CURVE.PNG"));
  EXPECT_TRUE(HasExtension("x.Svg", ".svg"));
  EXPECT_FALSE(IsPngPath("curve.svg"));
  EXPECT_FALSE(IsPngPath("png"));
  EXPECT_FALSE(IsPngPath(".png"));  // a name, not only an extension
  EXPECT_FALSE(IsPngPath("curve.png.svg"));
}

// The PNG has the signature, an IHDR of the SVG's size times the scale, and more than a blank
// page: a picture with a black bar compresses to more than a white one does.
TEST_F(PngTest, RendersTheSvgAtTheScale) {
  ASSERT_TRUE(PngSupport().ok()) << PngSupport().error().message;
  const std::string white =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"80\"></svg>";
  const std::string bar =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"80\">"
      "<rect x=\"10\" y=\"10\" width=\"50\" height=\"30\" fill=\"black\"/>"
      "<text x=\"10\" y=\"70\">triage</text></svg>";
  Status s = WritePng(white, (dir_ / "white.png").string(), 2.0);
  ASSERT_TRUE(s.ok()) << s.error().message;
  s = WritePng(bar, (dir_ / "bar.png").string(), 2.0);
  ASSERT_TRUE(s.ok()) << s.error().message;
  for (const char* name : {"white.png", "bar.png"}) {
    const std::string png = ReadFile(dir_ / name);
    ASSERT_GT(png.size(), 33u) << name;
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << name;
    EXPECT_EQ(png.substr(12, 4), "IHDR") << name;
    EXPECT_EQ(BigEndian(png, 16), 240u) << name;
    EXPECT_EQ(BigEndian(png, 20), 160u) << name;
  }
  EXPECT_GT(ReadFile(dir_ / "bar.png").size(), ReadFile(dir_ / "white.png").size());
}

TEST_F(PngTest, RendersTheCostQualityPlot) {
  ASSERT_TRUE(PngSupport().ok()) << PngSupport().error().message;
  BenchReport r;
  r.name = "b";
  r.queries = 4;
  r.q_cheap = 0.5;
  r.q_strong = 1.0;
  r.fine = {{0.0, 0.5}, {0.5, 0.8}, {1.0, 1.0}};
  r.deciles = r.fine;
  const std::string svg = PlotSvg(r, {{0.0, 0.5}, {0.5, 1.0}, {1.0, 1.0}}, "length");
  const fs::path out = dir_ / "plot.png";
  Status s = WritePng(svg, out.string(), 1.0);
  ASSERT_TRUE(s.ok()) << s.error().message;
  const std::string png = ReadFile(out);
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_GT(BigEndian(png, 16), 100u);
}

TEST_F(PngTest, ErrorsNameTheCause) {
  ASSERT_TRUE(PngSupport().ok()) << PngSupport().error().message;
  Status bad = WritePng("this is not svg", (dir_ / "bad.png").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "png_failed");
  EXPECT_NE(bad.error().message.find("cannot read the SVG"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "bad.png"));
  const std::string ok = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>";
  Status nodir = WritePng(ok, (dir_ / "missing" / "x.png").string());
  ASSERT_FALSE(nodir.ok());
  EXPECT_NE(nodir.error().message.find("cannot write"), std::string::npos) << nodir.error().message;
  Status nosize = WritePng("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\"/>",
                           (dir_ / "empty.png").string());
  ASSERT_FALSE(nosize.ok());
  EXPECT_NE(nosize.error().message.find("width and height"), std::string::npos)
      << nosize.error().message;
}

}  // namespace
}  // namespace triage::eval
