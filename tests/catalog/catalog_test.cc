#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <set>

namespace triage::catalog {
namespace {

TEST(Catalog, HasEveryProductModelInOrder) {
  const std::vector<std::string> expected = {
      "gemma-4-e2b",       "gemma-4-e4b",     "gemma-4-26b-a4b", "gemma-4-31b",
      "qwen-3.6-35b-a3b",  "deepseek-v4",     "glm-5.1",         "kimi-k2.6",
      "claude-sonnet-4.6", "claude-opus-4.7", "gpt-5.5"};
  std::vector<std::string> ids;
  for (const ModelInfo& m : Builtin()) ids.push_back(m.id);
  EXPECT_EQ(ids, expected);
}

TEST(Catalog, FindReturnsTheEntryOrNull) {
  const ModelInfo* m = Find("claude-sonnet-4.6");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->id, "claude-sonnet-4.6");
  EXPECT_EQ(Find("claude-sonnet-4-6"), nullptr);
  EXPECT_EQ(Find(""), nullptr);
  EXPECT_EQ(Find("gpt-5.5 "), nullptr);
}

TEST(Catalog, StatedPricesInMicros) {
  auto price = [](std::string_view id) { return Find(id)->price.value(); };
  EXPECT_EQ(price("claude-sonnet-4.6").input_micros_per_mtok, 3'000'000);
  EXPECT_EQ(price("claude-sonnet-4.6").output_micros_per_mtok, 15'000'000);
  EXPECT_EQ(price("claude-opus-4.7").input_micros_per_mtok, 5'000'000);
  EXPECT_EQ(price("claude-opus-4.7").output_micros_per_mtok, 25'000'000);
  EXPECT_EQ(price("gpt-5.5").input_micros_per_mtok, 5'000'000);
  EXPECT_EQ(price("gpt-5.5").output_micros_per_mtok, 30'000'000);
  for (std::string_view id : {"gemma-4-31b", "gemma-4-26b-a4b"}) {
    EXPECT_EQ(price(id).input_micros_per_mtok, 200'000) << id;
    EXPECT_EQ(price(id).output_micros_per_mtok, 200'000) << id;
  }
  // PRODUCT.md states no cached-input price for any model.
  for (const ModelInfo& m : Builtin()) {
    if (m.price) {
      EXPECT_FALSE(m.price->cached_input_micros_per_mtok) << m.id;
    }
  }
}

TEST(Catalog, FiguresNotStatedAreUnknown) {
  for (std::string_view id :
       {"gemma-4-e2b", "gemma-4-e4b", "qwen-3.6-35b-a3b", "deepseek-v4", "glm-5.1", "kimi-k2.6"}) {
    EXPECT_FALSE(Find(id)->price) << id;
  }
  for (std::string_view id : {"qwen-3.6-35b-a3b", "glm-5.1", "kimi-k2.6"}) {
    EXPECT_FALSE(Find(id)->context_tokens) << id;
  }
  // A range is not a price, but it is kept where a human can see it.
  EXPECT_NE(Find("deepseek-v4")->notes.find("0.30-1.00"), std::string::npos);
}

TEST(Catalog, ContextLengths) {
  EXPECT_EQ(Find("gemma-4-e2b")->context_tokens, 131072);
  EXPECT_EQ(Find("gemma-4-31b")->context_tokens, 262144);
  EXPECT_EQ(Find("deepseek-v4")->context_tokens, 1048576);
  EXPECT_EQ(Find("claude-sonnet-4.6")->context_tokens, 200000);
  EXPECT_EQ(Find("claude-opus-4.7")->context_tokens, 200000);
  EXPECT_EQ(Find("gpt-5.5")->context_tokens, 262144);
}

TEST(Catalog, KindLicenceModalities) {
  const ModelInfo* e2b = Find("gemma-4-e2b");
  EXPECT_EQ(e2b->modalities, (std::vector<std::string>{"text", "image", "audio"}));
  EXPECT_EQ(e2b->licence, "Apache-2.0");
  EXPECT_TRUE(e2b->open_weight);
  EXPECT_EQ(Find("deepseek-v4")->modalities, std::vector<std::string>{"text"});
  EXPECT_EQ(Find("kimi-k2.6")->licence, "MIT-style");
  EXPECT_EQ(Find("gemma-4-26b-a4b")->kind, "open, MoE (4B active)");
  int closed = 0;
  for (const ModelInfo& m : Builtin()) {
    if (!m.open_weight) {
      ++closed;
      EXPECT_EQ(m.kind, "closed API") << m.id;
      EXPECT_TRUE(m.price) << "closed APIs publish prices: " << m.id;
    }
  }
  EXPECT_EQ(closed, 3);
}

TEST(Catalog, IdsAreUnique) {
  std::set<std::string> ids;
  for (const ModelInfo& m : Builtin()) EXPECT_TRUE(ids.insert(m.id).second) << m.id;
}

}  // namespace
}  // namespace triage::catalog
