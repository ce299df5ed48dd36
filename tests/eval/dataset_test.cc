#include "eval/dataset.h"

#include <gtest/gtest.h>

namespace triage::eval {
namespace {

const std::string kDir = std::string(TRIAGE_SOURCE_DIR) + "/tests/fixtures/eval/";

TEST(Dataset, ReadsAnyModelsUnknownKeysAndCountsSkipped) {
  Dataset ds;
  ASSERT_TRUE(ReadOutcomes(kDir + "good.jsonl", "cheap", "strong", &ds).ok());
  ASSERT_EQ(ds.queries.size(), 2u);
  EXPECT_EQ(ds.skipped, 1);
  const Query& q1 = ds.queries[0];
  EXPECT_EQ(q1.id, "q1");
  EXPECT_EQ(q1.benchmark, "toy");
  EXPECT_EQ(q1.prompt_text, "Be brief.\nWhat is 2+2?");
  EXPECT_EQ(q1.last_user_text, "What is 2+2?");
  EXPECT_EQ(q1.message_count, 2);
  EXPECT_DOUBLE_EQ(q1.cheap, 1.0);
  EXPECT_EQ(q1.cheap_response, "2+2=4\n#### 4");
  EXPECT_EQ(q1.strong_response_chars, 0u);  // not recorded
  EXPECT_EQ(ds.queries[1].cheap_response, "");
  EXPECT_EQ(ds.queries[1].strong_response_chars, 13u);  // "A red square."
  EXPECT_TRUE(ds.queries[1].has_image);
  EXPECT_EQ(ds.queries[1].last_user_text, "Describe this");
  EXPECT_DOUBLE_EQ(ds.queries[1].strong, 1.0);
}

TEST(Dataset, CountsEveryModelWithAScore) {
  Dataset ds;
  ASSERT_TRUE(ReadOutcomes(kDir + "good.jsonl", "cheap", "strong", &ds).ok());
  EXPECT_EQ(ds.models, (std::map<std::string, int>{{"cheap", 2}, {"strong", 3}, {"third", 1}}));
  EXPECT_EQ(DescribeModels(ds), "strong (3 queries), cheap (2 queries), third (1 query)");
}

TEST(Dataset, OtherModelNamesAndTheFileNameAsBenchmark) {
  Dataset ds;
  ASSERT_TRUE(ReadOutcomes(kDir + "other_models.jsonl", "cheap", "strong", &ds).ok());
  EXPECT_TRUE(ds.queries.empty());
  EXPECT_EQ(ds.skipped, 4);
  EXPECT_EQ(DescribeModels(ds), "big-model (4 queries), small-model (3 queries)");
  Dataset named;
  ASSERT_TRUE(ReadOutcomes(kDir + "other_models.jsonl", "small-model", "big-model", &named).ok());
  ASSERT_EQ(named.queries.size(), 3u);
  EXPECT_EQ(named.skipped, 1);
  for (const auto& q : named.queries) EXPECT_EQ(q.benchmark, "other_models");  // no field
  EXPECT_DOUBLE_EQ(named.queries[2].strong, 0.5);
}

TEST(Dataset, ThirdModelCanBeCompared) {
  Dataset ds;
  ASSERT_TRUE(ReadOutcomes(kDir + "good.jsonl", "third", "strong", &ds).ok());
  ASSERT_EQ(ds.queries.size(), 1u);
  EXPECT_EQ(ds.skipped, 2);
  EXPECT_DOUBLE_EQ(ds.queries[0].cheap, 0.5);
}

TEST(Dataset, MalformedLineNamesFileAndLine) {
  Dataset ds;
  Status st = ReadOutcomes(kDir + "malformed.jsonl", "cheap", "strong", &ds);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("malformed.jsonl:3:"), std::string::npos) << st.error().message;
}

TEST(Dataset, NonNumericScoreIsAnError) {
  Dataset ds;
  Status st = ReadOutcomes(kDir + "bad_score.jsonl", "cheap", "strong", &ds);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(":1:"), std::string::npos);
  EXPECT_NE(st.error().message.find("score"), std::string::npos);
}

TEST(Dataset, RecordedCostsToolTurnsAndNullScores) {
  Dataset ds;
  Status st = ReadOutcomes(kDir + "costs.jsonl", "cheap", "strong", &ds);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(ds.queries.size(), 3u);
  EXPECT_EQ(ds.skipped, 2);  // c4: null score, c5: null outcome
  const Query& c1 = ds.queries[0];
  EXPECT_EQ(c1.message_count, 4);  // the assistant turn has tool_calls and no content
  EXPECT_TRUE(c1.has_tools);
  EXPECT_EQ(c1.last_user_text, "And pack what?");
  EXPECT_EQ(c1.prev_user_text, "Plan a trip.");
  // The assistant turn without content adds no text, as the gateway reads it (it used to add an
  // empty one: "Plan a trip.\n\nsunny...", which the live router never scored).
  EXPECT_EQ(c1.prompt_text, "Plan a trip.\nsunny\nAnd pack what?");
  EXPECT_DOUBLE_EQ(c1.cheap_cost, 0.001);
  EXPECT_DOUBLE_EQ(c1.strong_cost, 0.03);
  EXPECT_LT(ds.queries[2].cheap_cost, 0);  // c3: not recorded
  EXPECT_DOUBLE_EQ(ds.queries[2].strong_cost, 0.04);
}

TEST(Dataset, NegativeCostAndContentlessMessageAreErrors) {
  Dataset ds;
  Status st = ReadOutcomes(kDir + "bad_cost.jsonl", "cheap", "strong", &ds);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("bad_cost.jsonl:2:"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("cost_usd"), std::string::npos);
  Dataset ds2;
  st = ReadOutcomes(kDir + "no_content.jsonl", "cheap", "strong", &ds2);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("no_content.jsonl:1:"), std::string::npos);
  EXPECT_NE(st.error().message.find("content"), std::string::npos);
}

// Regression: a number or null as `id` or `role` threw nlohmann's type_error out of
// ReadOutcomes, and eval/train/calibrate aborted (exit 134) instead of naming the line.
TEST(Dataset, NonStringIdOrRoleNamesTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bad_id.jsonl:2: 'id' must be a string, got number", "bad_id.jsonl"},
      {"null_id.jsonl:1: 'id' must be a string, got null", "null_id.jsonl"},
      {"bad_role.jsonl:3: a message's 'role' must be a string, got number", "bad_role.jsonl"},
      {"null_role.jsonl:1: a message's 'role' must be a string, got null", "null_role.jsonl"}};
  for (const auto& [want, file] : cases) {
    Dataset ds;
    Status st = Ok{};
    ASSERT_NO_THROW(st = ReadOutcomes(kDir + file, "cheap", "strong", &ds)) << file;
    ASSERT_FALSE(st.ok()) << file;
    EXPECT_NE(st.error().message.find(want), std::string::npos) << st.error().message;
  }
}

// Regression: a message `content` that is a number, a boolean or an object (not a list of
// parts) read as empty text, and a `benchmark` that is not a string became the file's name,
// both silently; now they name the line like the other malformed cases.
TEST(Dataset, NonTextContentOrBenchmarkNamesTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bad_content.jsonl:2: a message's 'content' must be a string, null or a list of parts, "
       "got number",
       "bad_content.jsonl"},
      {"bool_content.jsonl:1: a message's 'content' must be a string, null or a list of parts, "
       "got boolean",
       "bool_content.jsonl"},
      {"object_content.jsonl:3: a message's 'content' must be a string, null or a list of parts, "
       "got object",
       "object_content.jsonl"},
      {"bad_benchmark.jsonl:2: 'benchmark' must be a string, got number", "bad_benchmark.jsonl"}};
  for (const auto& [want, file] : cases) {
    Dataset ds;
    Status st = Ok{};
    ASSERT_NO_THROW(st = ReadOutcomes(kDir + file, "cheap", "strong", &ds)) << file;
    ASSERT_FALSE(st.ok()) << file;
    EXPECT_NE(st.error().message.find(want), std::string::npos) << st.error().message;
    EXPECT_EQ(st.error().code, "bad_outcomes") << file;
  }  // A null benchmark is an absent one: the file's name.
  Dataset ds;
  ASSERT_TRUE(ReadOutcomes(kDir + "null_benchmark.jsonl", "cheap", "strong", &ds).ok());
  ASSERT_EQ(ds.queries.size(), 1u);
  EXPECT_EQ(ds.queries[0].benchmark, "null_benchmark");
}

// Regression: a `category` that was a number or an object read silently as "(none)"; now it
// names the line like a `benchmark` that is not a string, and null is read as absent.
TEST(Dataset, NonStringCategoryNamesTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bad_category.jsonl:3: 'category' must be a string, got number", "bad_category.jsonl"},
      {"object_category.jsonl:1: 'category' must be a string, got object",
       "object_category.jsonl"}};
  for (const auto& [want, file] : cases) {
    Dataset ds;
    Status st = Ok{};
    ASSERT_NO_THROW(st = ReadOutcomes(kDir + file, "cheap", "strong", &ds)) << file;
    ASSERT_FALSE(st.ok()) << file;
    EXPECT_NE(st.error().message.find(want), std::string::npos) << st.error().message;
    EXPECT_EQ(st.error().code, "bad_outcomes") << file;
  }
  Dataset ds;
  Status st = ReadOutcomes(kDir + "null_category.jsonl", "cheap", "strong", &ds);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(ds.queries.size(), 2u);
  EXPECT_EQ(ds.queries[0].category, "");  // null: no category, "(none)" in --by-category
  EXPECT_EQ(ds.queries[1].category, "maths");
}

// What the outcomes README allows still reads: content null, an empty list, and parts of
// unknown types (or that are not objects, or whose `text` is not a string) ignored.
TEST(Dataset, ContentNullEmptyListAndUnknownPartsRead) {
  Dataset ds;
  Status st = ReadOutcomes(kDir + "content_kinds.jsonl", "cheap", "strong", &ds);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(ds.queries.size(), 1u);
  const Query& q = ds.queries[0];
  EXPECT_EQ(q.benchmark, "kinds");
  EXPECT_EQ(q.message_count, 3);
  EXPECT_EQ(q.last_user_text, "Look\nhere");
  EXPECT_TRUE(q.has_image);
  EXPECT_EQ(q.system_messages, 1);
}

// Regression: a benchmark named "overall" collided with the aggregate of that name in the
// reports; it is renamed, to a name no other benchmark has.
TEST(Dataset, BenchmarkNamedOverallIsRenamed) {
  Dataset ds;
  ASSERT_TRUE(ReadOutcomes(kDir + "overall_named.jsonl", "cheap", "strong", &ds).ok());
  EXPECT_EQ(ds.queries[0].benchmark, "overall");  // as read; the rename is a separate step
  RenameOverallBenchmark(&ds);
  EXPECT_EQ(ds.overall_renamed, 6u);
  EXPECT_EQ(ds.overall_renamed_to, "overall-benchmark");
  std::map<std::string, int> names;
  for (const auto& q : ds.queries) ++names[q.benchmark];
  EXPECT_EQ(names, (std::map<std::string, int>{{"other", 4}, {"overall-benchmark", 6}}));

  // "overall-benchmark" taken too: the next free name.
  Dataset taken;
  taken.queries.resize(3);
  taken.queries[0].benchmark = "overall";
  taken.queries[1].benchmark = "overall-benchmark";
  taken.queries[2].benchmark = "overall";
  RenameOverallBenchmark(&taken);
  EXPECT_EQ(taken.overall_renamed, 2u);
  EXPECT_EQ(taken.overall_renamed_to, "overall-benchmark-2");
  EXPECT_EQ(taken.queries[0].benchmark, "overall-benchmark-2");
  EXPECT_EQ(taken.queries[1].benchmark, "overall-benchmark");

  // No benchmark of that name: nothing changes. A file overall.jsonl without `benchmark`
  // fields is named "overall" by its file name, and renamed too.
  Dataset none;
  ASSERT_TRUE(ReadOutcomes(kDir + "good.jsonl", "cheap", "strong", &none).ok());
  RenameOverallBenchmark(&none);
  EXPECT_EQ(none.overall_renamed, 0u);
  EXPECT_EQ(none.overall_renamed_to, "");
  Dataset stem;
  ASSERT_TRUE(ReadOutcomes(kDir + "overall/overall.jsonl", "cheap", "strong", &stem).ok());
  RenameOverallBenchmark(&stem);
  EXPECT_EQ(stem.overall_renamed, 3u);
}

// Regression: an empty file, /dev/null or a directory read as zero queries, and the command
// then said "...the files have outcomes for no model has a numeric score".
TEST(Dataset, NothingToReadIsAnErrorThatSaysWhat) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {kDir + "empty.jsonl", "empty.jsonl: the file is empty; expected one JSON object per line"},
      {kDir + "blank.jsonl", "blank.jsonl: has only blank lines (3); expected one JSON object"},
      {"/dev/null", "/dev/null: the file is empty"},
      {kDir, "eval/: is a directory, not an outcomes file"}};
  for (const auto& [path, want] : cases) {
    Dataset ds;
    Status st = ReadOutcomes(path, "cheap", "strong", &ds);
    ASSERT_FALSE(st.ok()) << path;
    EXPECT_NE(st.error().message.find(want), std::string::npos) << st.error().message;
  }
  // Lines whose scores are all null still read: they are skipped, not an error here.
  Dataset ds;
  ASSERT_TRUE(ReadOutcomes(kDir + "null_scores.jsonl", "cheap", "strong", &ds).ok());
  EXPECT_EQ(ds.skipped, 1);
  EXPECT_TRUE(ds.models.empty());
}

TEST(Dataset, MissingFileIsAnError) {
  Dataset ds;
  EXPECT_FALSE(ReadOutcomes(kDir + "nope.jsonl", "cheap", "strong", &ds).ok());
}

// A judge's raw 1-10 score is refused with the value and what to do; a "7/10" string is quoted.
TEST(Dataset, ScoreMessagesQuoteTheValue) {
  Dataset ds;
  Status st = ReadOutcomes(kDir + "judge_raw.jsonl", "cheap", "strong", &ds);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(
                "judge_raw.jsonl:2: score 7 for cheap is outside [0,1] (a judge's 1-10 score "
                "must be divided by 10)"),
            std::string::npos)
      << st.error().message;
  Dataset ds2;
  st = ReadOutcomes(kDir + "judge_string.jsonl", "cheap", "strong", &ds2);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(
                "judge_string.jsonl:1: outcome for cheap needs a numeric 'score' in [0,1], got "
                "\"7/10\""),
            std::string::npos)
      << st.error().message;
}

// Malformed JSON says where and why, with bytes that are not printable ASCII shown as '?'.
TEST(Dataset, MalformedJsonSaysWhy) {
  Dataset ds;
  Status st = ReadOutcomes(kDir + "latin1.jsonl", "cheap", "strong", &ds);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_NE(m.find("latin1.jsonl:1: malformed JSON (column "), std::string::npos) << m;
  EXPECT_NE(m.find("ill-formed UTF-8"), std::string::npos) << m;
  for (char c : m) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << m;
}

// CRLF line ends and a UTF-8 byte-order mark are read; a repeated id is counted, not refused.
TEST(Dataset, CrlfBomAndDuplicateIds) {
  Dataset ds;
  ASSERT_TRUE(ReadOutcomes(kDir + "crlf_dup.jsonl", "cheap", "strong", &ds).ok());
  ASSERT_EQ(ds.queries.size(), 2u);
  EXPECT_EQ(ds.queries[1].prompt_text, "again");
  EXPECT_DOUBLE_EQ(ds.queries[0].cheap, 0.7);
  EXPECT_EQ(ds.duplicate_ids, 1);
  EXPECT_NE(ds.first_duplicate.find("id \"r1\" on lines 1 and 2"), std::string::npos)
      << ds.first_duplicate;
  ASSERT_TRUE(ReadOutcomes(kDir + "bom.jsonl", "cheap", "strong", &ds).ok());
  ASSERT_EQ(ds.queries.size(), 3u);
  EXPECT_EQ(ds.queries[2].id, "b1");
  ASSERT_EQ(ds.files.size(), 2u);
  EXPECT_EQ(ds.files[0].kept, 2u);
  EXPECT_EQ(ds.files[1].kept, 1u);
}

// An MT-Bench-like file: second turns (user, assistant, user) read with the last user message as
// the question and the first as the one before; an assistant turn of only tool_calls (content
// null) and one of content parts; judge scores in tenths; lines missing a compared model skipped.
TEST(Dataset, MtBenchLikeSecondTurns) {
  Dataset ds;
  ASSERT_TRUE(
      ReadOutcomes(kDir + "mtbench_like.jsonl", "mixtral-8x7b-instruct", "gpt-4-1106-preview", &ds)
          .ok());
  EXPECT_EQ(ds.queries.size(), 52u);
  EXPECT_EQ(ds.skipped, 8);
  EXPECT_EQ(ds.models.size(), 7u);
  EXPECT_EQ(ds.duplicate_ids, 0);
  const Query* second = nullptr;
  for (const auto& q : ds.queries)
    if (q.id == "mtb-84-t2") second = &q;
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->benchmark, "mtbench_like");  // no `benchmark`: the file's name
  EXPECT_EQ(second->category, "writing");
  EXPECT_EQ(second->message_count, 3);
  EXPECT_EQ(second->last_user_text, "Add a tagline under ten words.");
  EXPECT_EQ(second->prev_user_text,
            "Write a product description for a waterproof hiking backpack.");
  EXPECT_TRUE(second->has_tools);  // question 84: the assistant turn is tool_calls only
  for (const auto& q : ds.queries) {
    EXPECT_GE(q.cheap, 0.0);
    EXPECT_LE(q.strong, 1.0);
  }
}

}  // namespace
}  // namespace triage::eval
