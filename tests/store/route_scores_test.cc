#include "store/route_scores.h"

#include <gtest/gtest.h>

#include <fstream>

#include "ledger_test_util.h"
#include "store/ledger.h"

namespace triage::store {
namespace {

using testing::MakeRow;
using testing::TempDir;

TEST(RouteScores, ScoredRowsInOrderWithKindAndSinceFilter) {
  TempDir dir;
  const std::string url = "sqlite://" + dir.File("l.db");
  {
    auto ledger = OpenLedger(url);
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    for (int n = 1; n <= 10; ++n) (*ledger)->Append(MakeRow(n), [](Status) {});
    LedgerRow cascade = MakeRow(11);
    cascade.route = "cascade score=0.62 >= 0.50 \u2192 mid";
    cascade.route_score = 0.62;
    (*ledger)->Append(cascade, [](Status) {});
    (*ledger)->Flush();
  }
  auto all = ReadRouteScores(url, 0);
  ASSERT_TRUE(all.ok()) << all.error().message;
  // MakeRow: rows 5 and 10 have no score; the others score (n % 10) / 10.
  ASSERT_EQ(all->size(), 9u);
  EXPECT_EQ((*all)[0].kind, "learned");
  EXPECT_DOUBLE_EQ((*all)[0].score, 0.1);
  EXPECT_DOUBLE_EQ((*all)[7].score, 0.9);
  EXPECT_EQ(all->back().kind, "cascade");
  EXPECT_DOUBLE_EQ(all->back().score, 0.62);
  // ts_ms of row n is 1'790'000'000'000 + n.
  auto recent = ReadRouteScores(url, 1'790'000'000'000 + 8);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);  // rows 8, 9 and 11
  EXPECT_DOUBLE_EQ((*recent)[0].score, 0.8);
}

TEST(RouteScores, ClearErrors) {
  TempDir dir;
  auto mem = ReadRouteScores("sqlite::memory:", 0);
  ASSERT_FALSE(mem.ok());
  EXPECT_NE(mem.error().message.find("in-memory"), std::string::npos);
  auto missing = ReadRouteScores("sqlite://" + dir.File("none.db"), 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no ledger file"), std::string::npos);
  std::ofstream(dir.File("text.db")) << "not a database at all, just some text\n";
  auto text = ReadRouteScores("sqlite://" + dir.File("text.db"), 0);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.error().message.find("not a triage ledger"), std::string::npos)
      << text.error().message;
  EXPECT_FALSE(ReadRouteScores("postgres://x", 0).ok());
}

}  // namespace
}  // namespace triage::store
