#include "routing/router.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>

#include "routing/arith_check.h"
#include "routing/builtin_model.h"
#include "routing/linear_model.h"

namespace triage::routing {
namespace {

RouteInput In(std::string_view text) {
  RouteInput in;
  in.prompt_text = text;
  in.last_user_text = text;
  in.message_count = 1;
  return in;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/triage_router_test_" + name;
}

// The route header's score has as many decimals as keep it on the right side of each
// threshold printed with the same decimals.
TEST(ScoreDigits, AsFewAsKeepTheComparisonTrue) {
  const std::vector<double> th = {0.582657, 0.678897};
  EXPECT_EQ(ScoreDigits(0.31, th), 2);  // far from both: "0.31"
  EXPECT_EQ(FormatScore(0.31, ScoreDigits(0.31, th)), "0.31");
  EXPECT_EQ(ScoreDigits(0.576027, th), 3);  // "0.58" would read as >= "0.58"
  EXPECT_EQ(FormatScore(0.576027, 3), "0.576");
  // "0.583" against "0.583" would read as equal: "0.5832" against "0.5827".
  EXPECT_EQ(ScoreDigits(0.583207, th), 4);
  EXPECT_EQ(ScoreDigits(0.6789, th), 6);         // 0.678900 against 0.678897
  EXPECT_EQ(ScoreDigits(0.582657, th), 2);       // equal to the threshold: equal when printed
  EXPECT_EQ(ScoreDigits(0.5826570001, th), 10);  // above the threshold, not equal to it
  EXPECT_EQ(ScoreDigits(0.5, {}), 2);
}

// Regression: a score within 5e-7 of a threshold printed equal to it (digits were capped at 6):
// "score=0.310000 → open" against a threshold of 0.31, though the score was below it.
TEST(ScoreDigits, AScoreJustBelowAThresholdNeverPrintsEqualToIt) {
  const std::vector<double> th = {0.31};
  for (double score : {0.3099997, 0.31 - 1e-9, 0.31 - 1e-13, std::nextafter(0.31, 0.0),
                       std::nextafter(0.31, 1.0), 0.3100004}) {
    const int d = ScoreDigits(score, th);
    const double printed_score = std::strtod(FormatScore(score, d).c_str(), nullptr);
    const double printed_th = std::strtod(FormatScore(0.31, d).c_str(), nullptr);
    EXPECT_EQ(score >= 0.31, printed_score >= printed_th) << FormatScore(score, d);
    EXPECT_NE(printed_score, printed_th) << FormatScore(score, d) << " vs " << FormatScore(0.31, d);
  }
  EXPECT_EQ(FormatScore(0.3099997, ScoreDigits(0.3099997, th)), "0.3099997");
  EXPECT_EQ(FormatScore(0.31, ScoreDigits(0.31, th)), "0.31");
  // Tiny thresholds, where 17 decimals are not enough: the shortest round-trip form.
  const double tiny = 1e-18;
  EXPECT_EQ(ScoreDigits(std::nextafter(tiny, 0.0), {tiny}), kShortestDigits);
  EXPECT_EQ(FormatScore(0.25, kShortestDigits), "0.25");
}

TEST(ChooseTier, CountsThresholdsAtOrBelowScore) {
  std::vector<double> th{0.3, 0.8};
  EXPECT_EQ(ChooseTier(0.0, th), 0u);
  EXPECT_EQ(ChooseTier(0.29, th), 0u);
  EXPECT_EQ(ChooseTier(0.3, th), 1u);
  EXPECT_EQ(ChooseTier(0.79, th), 1u);
  EXPECT_EQ(ChooseTier(0.8, th), 2u);
  EXPECT_EQ(ChooseTier(1.0, th), 2u);
  EXPECT_EQ(ChooseTier(0.5, {}), 0u);
}

TEST(RandomScorer, DeterministicPerPromptAndSeed) {
  auto a = MakeScorer("random:7");
  auto b = MakeScorer("random:7");
  auto c = MakeScorer("random:8");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->Score(In("hello")), (*b)->Score(In("hello")));
  EXPECT_NE((*a)->Score(In("hello")), (*c)->Score(In("hello")));
  EXPECT_NE((*a)->Score(In("hello")), (*a)->Score(In("hello!")));
  double sum = 0;
  for (int i = 0; i < 2000; ++i) {
    double s = (*a)->Score(In("prompt " + std::to_string(i)));
    ASSERT_GE(s, 0.0);
    ASSERT_LT(s, 1.0);
    sum += s;
  }
  EXPECT_NEAR(sum / 2000, 0.5, 0.03);
}

TEST(MakeScorer, RejectsUnknownSpecsAndMissingFiles) {
  EXPECT_FALSE(MakeScorer("magic").ok());
  EXPECT_FALSE(MakeScorer("random:abc").ok());
  EXPECT_FALSE(MakeScorer("learned:").ok());
  auto r = MakeScorer("learned:/nonexistent/model");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/model"), std::string::npos);
}

// A bad spec is a usage error (code bad_router_spec, checked without reading anything); a
// file the spec names that is missing or wrong is not. Regressions: "cascade:" said "cannot
// open model file " with no name, "learned:" called itself an unknown router, and "random:-1"
// and an overflowing seed both silently became seed 2^64-1.
TEST(ParseRouterSpec, BadSpecsAreUsageErrorsWithTheirReason) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"bogus", "unknown router 'bogus'"},
      {"random:abc", "random seed must be an integer from 0 to 18446744073709551615, got 'abc'"},
      {"random:-1", "got '-1'"},
      {"random:+1", "got '+1'"},
      {"random:99999999999999999999", "got '99999999999999999999'"},
      {"random:", "got ''"},
      {"length:5", "length takes no argument"},
      {"rules:", "router 'rules:' needs a file: rules:FILE"},
      {"learned:", "router 'learned:' needs a file: learned:MODEL_FILE or learned:builtin"},
      {"learned", "router 'learned' needs a file"},
      {"cascade:", "router 'cascade:' needs a file: cascade:MODEL_FILE"},
      {"cascade:builtin", "only learned has a built-in model; use cascade:MODEL_FILE"}};
  for (const auto& [spec, why] : bad) {
    auto p = ParseRouterSpec(spec);
    ASSERT_FALSE(p.ok()) << spec;
    EXPECT_EQ(p.error().code, "bad_router_spec") << spec;
    EXPECT_NE(p.error().message.find(why), std::string::npos) << p.error().message;
    auto m = MakeScorer(spec);
    ASSERT_FALSE(m.ok()) << spec;
    EXPECT_EQ(m.error().message, p.error().message);
  }
  auto max = ParseRouterSpec("random:18446744073709551615");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->seed, 18446744073709551615ull);
  auto plain = ParseRouterSpec("random");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->seed, 0u);
  auto learned = ParseRouterSpec("learned:/no/such.model");
  ASSERT_TRUE(learned.ok());  // no file is read
  EXPECT_EQ(learned->kind, "learned");
  EXPECT_EQ(learned->arg, "/no/such.model");
  for (const char* spec :
       {"learned:/no/such.model", "cascade:/no/such.model", "rules:/no/such.txt"}) {
    auto m = MakeScorer(spec);
    ASSERT_FALSE(m.ok()) << spec;
    EXPECT_NE(m.error().code, "bad_router_spec") << spec;
  }
}

TEST(LengthScorer, MonotoneInLength) {
  auto s = MakeScorer("length");
  ASSERT_TRUE(s.ok());
  EXPECT_LT((*s)->Score(In("short")), (*s)->Score(In(std::string(2000, 'x'))));
}

TEST(RulesScorer, HighestMatchWins) {
  auto s = MakeScorer(std::string("rules:") + TRIAGE_SOURCE_DIR + "/tests/fixtures/eval/rules.txt");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_DOUBLE_EQ((*s)->Score(In("hello")), 0.2);
  EXPECT_DOUBLE_EQ((*s)->Score(In("Calculate this")), 0.6);
  EXPECT_DOUBLE_EQ((*s)->Score(In("calculate then PROVE it")), 0.9);
  // A long prompt is read by its first 256 and last 1,280 chars, like feature set 2.
  const std::string filler(3000, '.');
  EXPECT_DOUBLE_EQ((*s)->Score(In(filler + "Now prove it.")), 0.9);
  EXPECT_DOUBLE_EQ((*s)->Score(In("Prove it." + filler)), 0.9);
  EXPECT_DOUBLE_EQ((*s)->Score(In(filler.substr(0, 1000) + "prove" + filler)), 0.2);
}

// The shipped rules file parses (including the " not " and "=" keywords) and ranks a
// state-tracking word problem above plain algebra, with the default in between.
TEST(RulesScorer, ShippedRulesFile) {
  auto s = MakeScorer(std::string("rules:") + TRIAGE_SOURCE_DIR + "/models/rules-v1.txt");
  ASSERT_TRUE(s.ok()) << s.error().message;
  double story = (*s)->Score(In("She had 12 apples and gave away half. How many are remaining?"));
  double plain = (*s)->Score(In("Hello there"));
  double algebra = (*s)->Score(In("Simplify sqrt(x^2) for x > 0"));
  EXPECT_DOUBLE_EQ(story, 0.70);
  EXPECT_DOUBLE_EQ(plain, 0.40);
  EXPECT_DOUBLE_EQ(algebra, 0.15);
  EXPECT_DOUBLE_EQ((*s)->Score(In("Which is not a prime?")), 0.60);
  EXPECT_DOUBLE_EQ((*s)->Score(In("If y = 3, what is y?")), 0.25);
}

// Writes `text` as a rules file and loads it.
Result<std::shared_ptr<const Scorer>> Rules(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << text;
  return MakeScorer("rules:" + path);
}

// Regression: the parser trimmed every keyword, so the shipped " not " (documented as needing
// its spaces) also matched inside "nothing", "cannot" and "knot".
TEST(RulesScorer, SpacesAroundAKeywordArePartOfIt) {
  auto s = MakeScorer(std::string("rules:") + TRIAGE_SOURCE_DIR + "/models/rules-v1.txt");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_DOUBLE_EQ((*s)->Score(In("Which is not a prime?")), 0.60);
  EXPECT_DOUBLE_EQ((*s)->Score(In("Nothing here")), 0.40);
  EXPECT_DOUBLE_EQ((*s)->Score(In("I cannot tie a knot")), 0.40);
  // One space (or tab) before '=' separates; leading and other trailing ones count; a CR of a
  // CRLF line and spaces around the score do not; blank lines are skipped.
  auto r = Rules("spaces.txt", "default = 0.1\r\n  \n word = 0.5\nend  = 0.7  \nkey\t= 0.3\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ((*r)->Score(In("a sword")), 0.1);  // " word" needs the space
  EXPECT_DOUBLE_EQ((*r)->Score(In("a word")), 0.5);
  EXPECT_DOUBLE_EQ((*r)->Score(In("the end")), 0.1);  // "end " needs the space after
  EXPECT_DOUBLE_EQ((*r)->Score(In("the end is near")), 0.7);
  EXPECT_DOUBLE_EQ((*r)->Score(In("keys")), 0.3);
}

// Regression: "0.5x" was read as 0.5 and "nan" passed the range check; an empty keyword was
// blamed on its score.
TEST(RulesScorer, BadScoresAndEmptyKeywordsNameTheLineAndTheFault) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"half = 0.5x", ":2: score must be a number in [0,1]"},
      {"half = nan", ":2: score must be a number in [0,1]"},
      {"half = inf", ":2: score must be a number in [0,1]"},
      {"half = 1.5", ":2: score must be a number in [0,1]"},
      {"half = -0.1", ":2: score must be a number in [0,1]"},
      {"half = 0x0.8", ":2: score must be a number in [0,1]"},
      {"half =", ":2: score must be a number in [0,1]"},
      {"half = 0.5 # why", ":2: score must be a number in [0,1]"},
      {" = 0.5", ":2: empty keyword: expected 'keyword = score'"},
      {"= 0.5", ":2: empty keyword: expected 'keyword = score'"},
      {"   = 0.5", ":2: empty keyword: expected 'keyword = score'"},
      {"half 0.5", ":2: expected 'keyword = score'"}};
  int i = 0;
  for (const auto& [line, why] : cases) {
    const std::string name = "bad" + std::to_string(i++) + ".txt";
    auto r = Rules(name, "default = 0.4\n" + line + "\n");
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.error().message, TempPath(name) + why) << line;
    EXPECT_NE(r.error().code, "bad_router_spec");  // the file is at fault, not the spec
  }
  auto ok = Rules("good.txt", "half = 1\ntwice = 0\nthrice = .25\nmore = 5e-1\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_DOUBLE_EQ((*ok)->Score(In("half")), 1.0);
  EXPECT_DOUBLE_EQ((*ok)->Score(In("thrice")), 0.25);
  EXPECT_DOUBLE_EQ((*ok)->Score(In("more")), 0.5);
}

// Regression: a UTF-8 byte-order mark stayed in the first line: "default = 0.9" became a
// keyword no prompt contains (every score the 0.5 default), "# comment" a malformed rule.
TEST(RulesScorer, AByteOrderMarkIsNotPartOfTheFirstLine) {
  auto r = Rules("bom.txt",
                 "\xEF\xBB\xBF"
                 "default = 0.9\r\nhalf = 0.1\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ((*r)->Score(In("anything")), 0.9);
  EXPECT_DOUBLE_EQ((*r)->Score(In("half of it")), 0.1);
  auto c = Rules("bom_comment.txt", "\xEF\xBB\xBF# my rules\nhalf = 0.1\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_DOUBLE_EQ((*c)->Score(In("anything")), 0.5);
  // Only at the start of the file: later, those bytes are part of a keyword.
  auto later = Rules("bom_later.txt", "half = 0.1\n\xEF\xBB\xBFx = 0.3\n");
  ASSERT_TRUE(later.ok()) << later.error().message;
  EXPECT_DOUBLE_EQ((*later)->Score(In("x")), 0.5);
}

// Regression: a directory opened as an empty stream and loaded as a rules file without rules,
// and so did an empty or comments-only file: every prompt scored 0.5 without a word.
TEST(RulesScorer, ADirectoryOrAFileWithoutRulesIsRefused) {
  auto dir = MakeScorer("rules:" + ::testing::TempDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find("is a directory"), std::string::npos) << dir.error().message;
  for (const std::string text : {"", "\n\n", "# only a comment\n\n# another\n"}) {
    auto r = Rules("norules.txt", text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().message, "rules file " + TempPath("norules.txt") +
                                     " has no rules: expected 'keyword = score' lines");
  }
  // A default alone is a fixed score, and stays allowed.
  auto fixed = Rules("default_only.txt", "# everything mid\ndefault = 0.7\n");
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_DOUBLE_EQ((*fixed)->Score(In("anything")), 0.7);
}

LinearModel SampleModel(ModelKind kind) {
  LinearModel m;
  m.kind = kind;
  m.bias[0] = -0.25f;
  SparseVec x;
  ExtractPromptFeatures(In("What is the integral of x^2?"), &x);
  for (const auto& [i, v] : x) m.weights[i] += 0.5f;
  m.note = "unit test";
  return m;
}

TEST(ModelFile, RoundTripPreservesScores) {
  LinearModel m = SampleModel(ModelKind::kLearned);
  std::string path = TempPath("roundtrip.model");
  ASSERT_TRUE(WriteModelFile(m, path).ok());
  auto back = ReadModelFile(path);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->note, "unit test");
  EXPECT_EQ(back->bias, m.bias);
  EXPECT_EQ(back->weights, m.weights);
  auto s = MakeScorer("learned:" + path);
  ASSERT_TRUE(s.ok());
  SparseVec x;
  ExtractPromptFeatures(In("What is the integral of x^2?"), &x);
  EXPECT_NEAR((*s)->Score(In("What is the integral of x^2?")), m.Probability(x), 1e-12);
  EXPECT_GT((*s)->Score(In("What is the integral of x^2?")), (*s)->Score(In("hi")));
  // A learned model is not a cascade model.
  EXPECT_FALSE(LoadAnswerScorer(path).ok());
  std::remove(path.c_str());
}

TEST(ModelFile, CorruptWrongVersionAndWrongMagicAreClearErrors) {
  std::string bytes = SerializeModel(SampleModel(ModelKind::kLearned));
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  auto r = ParseModel(flipped, "f");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("checksum"), std::string::npos) << r.error().message;

  std::string v5 = bytes;
  v5[8] = 5;  // version field follows the 8-byte magic
  r = ParseModel(v5, "f");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("version 5"), std::string::npos) << r.error().message;

  r = ParseModel("hello world, not a model", "f");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("magic"), std::string::npos);

  r = ParseModel(bytes.substr(0, bytes.size() - 20), "f");
  EXPECT_FALSE(r.ok());
}

// Regression: NaN or infinite numbers (what `train --learning-rate 1e300` wrote) pass the
// checksum; the scorers then gave NaN scores, which eval printed as "threshold -nan" and the
// gateway's tier choice would have read as the cheapest tier.
TEST(ModelFile, NonFiniteNumbersAreRefused) {
  const float nan = std::nanf(""), inf = INFINITY;
  for (int field = 0; field < 4; ++field) {
    LinearModel m = SampleModel(ModelKind::kLearned);
    m.length_prior = 0.1f;
    if (field == 0) m.bias[0] = nan;
    if (field == 1) m.weights[123] = inf;
    if (field == 2) m.weights[456] = -inf;
    if (field == 3) m.length_chars = inf;
    if (field < 3) EXPECT_FALSE(m.AllFinite()) << field;
    auto r = ParseModel(SerializeModel(m), "nan.model");
    ASSERT_FALSE(r.ok()) << field;
    const std::string why = field == 0   ? "model file nan.model: bias is not a finite number"
                            : field == 1 ? "model file nan.model: weight 123 is not a finite number"
                            : field == 2 ? "model file nan.model: weight 456 is not a finite number"
                                         : "model file nan.model: length prior out of range";
    EXPECT_EQ(r.error().message.substr(0, why.size()), why) << r.error().message;
  }
  EXPECT_TRUE(SampleModel(ModelKind::kLearned).AllFinite());
}

// A directory and an empty file said "bad magic".
TEST(ModelFile, DirectoryAndEmptyFileSaySo) {
  auto dir = ReadModelFile(::testing::TempDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find("is a directory, not a model file"), std::string::npos)
      << dir.error().message;
  const std::string empty = TempPath("empty.model");
  std::ofstream(empty, std::ios::binary).close();
  auto e = ReadModelFile(empty);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "model file " + empty + ": the file is empty");
  std::remove(empty.c_str());
}

// Regression: WriteModelFile truncated the file, then wrote it: a write that failed half-way
// (a full disk, a file size limit) left a cut model where a good one had been.
TEST(ModelFile, AFailedWriteLeavesTheOldFileWhole) {
  const std::string path = TempPath("keep.model");
  LinearModel small = SampleModel(ModelKind::kLearned);
  ASSERT_TRUE(WriteModelFile(small, path).ok());
  const std::string before = SerializeModel(small);
  LinearModel big = SampleModel(ModelKind::kLearned);
  for (uint32_t i = 0; i < kFeatureDim; i += 2) big.weights[i] = 0.25f;  // ~260 KB
  // A file size limit below the new model's size, with SIGXFSZ ignored: write() fails (EFBIG).
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* prev = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit low = old;
  low.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &low), 0);
  Status st = WriteModelFile(big, path);
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, prev);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("cannot write " + path + ": "), std::string::npos)
      << st.error().message;
  std::ifstream f(path, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after.size(), before.size());
  EXPECT_TRUE(after == before);
  ASSERT_TRUE(ReadModelFile(path).ok());
  std::remove(path.c_str());
}

// A version-1 file (one head, no heads field) as the first release wrote it.
std::string V1Bytes(float bias, uint32_t index, float weight) {
  std::string s = "TRIAGERM";
  auto put = [&](auto v) { s.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  put(uint32_t{1});  // version
  put(uint32_t{1});  // kind: learned
  put(kFeatureDim);
  put(bias);
  put(uint32_t{1});  // nnz
  put(index);
  put(weight);
  put(uint32_t{2});
  s += "v1";
  put(Fnv1a64(s));
  return s;
}

TEST(ModelFile, ReadsVersionOneFiles) {
  auto m = ParseModel(V1Bytes(0.5f, 7, -1.25f), "old.model");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->heads, 1u);
  EXPECT_EQ(m->bias[0], 0.5f);
  EXPECT_EQ(m->weights[7], -1.25f);
  EXPECT_EQ(m->note, "v1");
  EXPECT_NEAR(m->Probability(SparseVec{{7, 1.0f}}), 1.0 / (1.0 + std::exp(0.75)), 1e-9);
}

TEST(PromptFilter, HoldsEveryPromptAddedAndFewOthers) {
  std::vector<uint64_t> in;
  for (int i = 0; i < 2000; ++i)
    in.push_back(PromptFingerprint("training prompt " + std::to_string(i)));
  PromptFilter f = PromptFilter::Build(in);
  EXPECT_EQ(f.count, 2000u);
  EXPECT_EQ(f.hashes, 7u);
  EXPECT_EQ(f.bits.size(), 2500u);  // 10 bits per prompt
  for (uint64_t fp : in) EXPECT_TRUE(f.MayContain(fp));
  int false_matches = 0;
  for (int i = 0; i < 20000; ++i)
    false_matches += f.MayContain(PromptFingerprint("unseen prompt " + std::to_string(i)));
  EXPECT_LT(false_matches, 20000 * 3 / 100);       // ~0.8% expected at 10 bits and 7 probes
  EXPECT_FALSE(PromptFilter{}.MayContain(in[0]));  // no record: nothing matches
  EXPECT_TRUE(PromptFilter::Build({}).empty());
}

TEST(ModelFile, TrainingPromptFilterRoundTripsAndVersionTwoFilesStillLoad) {
  LinearModel m = SampleModel(ModelKind::kLearned);
  m.trained_on = PromptFilter::Build({PromptFingerprint("a"), PromptFingerprint("b")});
  std::string bytes = SerializeModel(m);
  auto back = ParseModel(bytes, "f");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->trained_on.bits, m.trained_on.bits);
  EXPECT_EQ(back->trained_on.count, 2u);
  EXPECT_TRUE(back->trained_on.MayContain(PromptFingerprint("b")));

  // Version 2 is version 3 without the three filter fields and the filter bytes (and version 3
  // is version 4 without the feature set after the heads field).
  LinearModel plain = SampleModel(ModelKind::kLearned);
  std::string v2 = SerializeModel(plain);
  v2.resize(v2.size() - 8 - 12);  // drop the checksum and the empty filter's three u32
  v2.erase(24, 4);
  v2[8] = 2;
  uint64_t sum = Fnv1a64(v2);
  v2.append(reinterpret_cast<const char*>(&sum), 8);
  auto old = ParseModel(v2, "v2.model");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_TRUE(old->trained_on.empty());
  EXPECT_EQ(old->weights, plain.weights);
  EXPECT_EQ(old->note, plain.note);

  // A filter with bytes but no probes is refused, checksum or not.
  std::string bad = SerializeModel(m);
  const size_t hashes_at = bad.size() - 8 - m.trained_on.bits.size() - 12;
  std::memset(&bad[hashes_at], 0, 4);
  bad.resize(bad.size() - 8);
  sum = Fnv1a64(bad);
  bad.append(reinterpret_cast<const char*>(&sum), 8);
  auto r = ParseModel(bad, "f");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("inconsistent training-prompt filter"), std::string::npos)
      << r.error().message;
}

TEST(ModelOfSpec, TrainedRoutersOnly) {
  auto builtin = ModelOfSpec("learned:builtin");
  ASSERT_TRUE(builtin.ok()) << builtin.error().message;
  ASSERT_TRUE(builtin->has_value());
  EXPECT_FALSE((*builtin)->trained_on.empty());  // the shipped model records its training prompts
  EXPECT_GT((*builtin)->trained_on.count, 10000u);
  for (const char* spec : {"length", "random:3", "rules:whatever.txt"}) {
    auto m = ModelOfSpec(spec);
    ASSERT_TRUE(m.ok()) << spec;
    EXPECT_FALSE(m->has_value()) << spec;
  }
  EXPECT_FALSE(ModelOfSpec("cascade:/nonexistent.model").ok());
}

TEST(ModelFile, TwoHeadsScoreTheExpectedGainAndRoundTrip) {
  LinearModel strong = SampleModel(ModelKind::kLearned), cheap;
  cheap.bias[0] = 1.0f;
  LinearModel m = CombineHeads(strong, cheap);
  ASSERT_EQ(m.heads, 2u);
  SparseVec x;
  ExtractPromptFeatures(In("What is the integral of x^2?"), &x);
  // (P(strong right) - P(cheap right) + 1) / 2, each head its own logistic model.
  double want = (strong.Probability(x) - cheap.Probability(x) + 1.0) / 2.0;
  EXPECT_NEAR(m.Probability(x), want, 1e-9);
  EXPECT_NEAR(m.Margin(x, 1), 1.0, 1e-9);
  auto back = ParseModel(SerializeModel(m), "two.model");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->heads, 2u);
  EXPECT_EQ(back->weights, m.weights);
  EXPECT_EQ(back->bias, m.bias);
  EXPECT_NEAR(back->Probability(x), want, 1e-9);
  EXPECT_EQ(back->length_prior, 0.0f);
  EXPECT_NEAR(back->Score(x, 5000), want, 1e-9);  // no prior: the heads decide alone
  // A head count this build cannot evaluate is refused, not misread.
  std::string bytes = SerializeModel(m);
  bytes[20] = 5;  // heads follows magic, version, kind and dim
  std::string body = bytes.substr(0, bytes.size() - 8);
  uint64_t sum = Fnv1a64(body);
  bytes = body + std::string(reinterpret_cast<const char*>(&sum), 8);
  auto r = ParseModel(bytes, "f");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("head count 5"), std::string::npos) << r.error().message;
}

TEST(ModelFile, LengthPriorBlendsIntoTheScoreAndRoundTrips) {
  LinearModel m = SampleModel(ModelKind::kLearned);
  m.length_prior = 0.25f;
  m.length_chars = 100.0f;
  SparseVec x;
  ExtractPromptFeatures(In("What is the integral of x^2?"), &x);
  const double p = m.Probability(x);
  EXPECT_NEAR(m.Score(x, 300), 0.75 * p + 0.25 * 300.0 / 400.0, 1e-9);
  EXPECT_LT(m.Score(x, 10), m.Score(x, 10000));  // longer prompts lean to the strong model
  auto back = ParseModel(SerializeModel(m), "prior.model");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->length_prior, 0.25f);
  EXPECT_EQ(back->length_chars, 100.0f);
  // The scorer applies the prior with the whole prompt's length.
  std::string path = TempPath("prior.model");
  ASSERT_TRUE(WriteModelFile(m, path).ok());
  auto s = MakeScorer("learned:" + path);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_NEAR((*s)->Score(In("What is the integral of x^2?")), m.Score(x, 28), 1e-9);
  std::remove(path.c_str());
  // A weight outside [0,1] is refused.
  m.length_prior = 1.5f;
  auto bad = ParseModel(SerializeModel(m), "bad.model");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("length prior"), std::string::npos) << bad.error().message;
}

TEST(CascadeModel, AnswerScorerLoadsAndScoresInRange) {
  LinearModel m = SampleModel(ModelKind::kCascade);
  std::string path = TempPath("cascade.model");
  ASSERT_TRUE(WriteModelFile(m, path).ok());
  auto a = LoadAnswerScorer(path);
  ASSERT_TRUE(a.ok()) << a.error().message;
  double v = (*a)->ScoreAnswer(In("What is 3*4?"), "3*4=12\n#### 12");
  EXPECT_GE(v, 0.0);
  EXPECT_LE(v, 1.0);
  EXPECT_FALSE(MakeScorer("learned:" + path).ok());  // kind mismatch
  EXPECT_TRUE(MakeScorer("cascade:" + path).ok());
  std::remove(path.c_str());
}

TEST(ArithCheck, FindsWrongEquations) {
  auto ok = CheckArithmetic("So 3 x 60 = 180 meters, and <<180*3=540>>540.");
  EXPECT_EQ(ok.checked, 2);
  EXPECT_EQ(ok.wrong, 0);
  auto bad = CheckArithmetic("He pays 12 * 4 = $46 and then 10 / 4 = 2.5 and (2+3)*2 = 10.");
  EXPECT_EQ(bad.checked, 3);
  EXPECT_EQ(bad.wrong, 1);
  EXPECT_EQ(CheckArithmetic("x = 5, so the answer is 5").checked, 0);
}

// Sum of the values at one feature index.
float At(const SparseVec& x, uint32_t index) {
  float v = 0;
  for (const auto& [i, w] : x) v += i == index ? w : 0.0f;
  return v;
}

TEST(Features, AnswerThatSkipsAGivenQuantityIsMarked) {
  RouteInput in = In("Tom has 12 apples, buys 7 more and eats 3. How many are left?");
  const uint32_t unused_share = kHashDim + 24 + 21;
  SparseVec all, skipped;
  ExtractAnswerFeatures(in, "12 + 7 = 19, 19 - 3 = 16\n#### 16", &all, false);
  ExtractAnswerFeatures(in, "12 + 7 = 19\n#### 19", &skipped, false);
  EXPECT_EQ(At(all, unused_share), 0.0f);
  EXPECT_NEAR(At(skipped, unused_share), 1.0f / 3.0f, 1e-6);
}

SparseVec FeaturesOf(const std::string& prompt, FeatureSet set) {
  SparseVec x;
  ExtractPromptFeatures(In(prompt), &x, true, set);
  return x;
}

// Few-shot prompts, and a document followed by a question, put the question at the end.
std::string WorkedExamples(size_t chars) {
  std::string s;
  while (s.size() < chars) s += "Question: an earlier worked example. Answer: 4\n\n";
  return s;
}

TEST(Features, HeadTailSetReadsTheQuestionAtTheEndOfALongPrompt) {
  const std::string shots = WorkedExamples(3000);
  const std::string a = shots + "Which planet is the largest?",
                    b = shots + "Prove that the sum converges";
  ASSERT_EQ(a.size(), b.size());  // so that the length features agree
  // Feature set 1 reads the first 1,536 chars only: both prompts look the same to it.
  EXPECT_EQ(FeaturesOf(a, FeatureSet::kHead), FeaturesOf(b, FeatureSet::kHead));
  EXPECT_NE(FeaturesOf(a, FeatureSet::kHeadTail), FeaturesOf(b, FeatureSet::kHeadTail));
  // The head still counts: an instruction that opens the prompt changes the features.
  std::string c = a;
  c.replace(0, 9, "Translate");
  EXPECT_NE(FeaturesOf(a, FeatureSet::kHeadTail), FeaturesOf(c, FeatureSet::kHeadTail));
  // The middle does not: the work stays bounded.
  std::string d = a;
  d.replace(1500, 8, "integral");
  EXPECT_EQ(FeaturesOf(a, FeatureSet::kHeadTail), FeaturesOf(d, FeatureSet::kHeadTail));
  // Up to kWindowChars chars both sets read the same features, so a model retrained with set 2
  // scores short prompts as set 1 did.
  const std::string short_prompt = WorkedExamples(1400).substr(0, 1400) + "Which planet?";
  ASSERT_LE(short_prompt.size(), kWindowChars);
  EXPECT_EQ(FeaturesOf(short_prompt, FeatureSet::kHead),
            FeaturesOf(short_prompt, FeatureSet::kHeadTail));
  EXPECT_LT(FeaturesOf(WorkedExamples(200000), FeatureSet::kHeadTail).size(), 3 * kWindowChars);
}

// A model whose only weights are on what the tail of a long prompt hashes to.
LinearModel TailModel(const std::string& prompt, FeatureSet set) {
  LinearModel m;
  m.features = set;
  const SparseVec head = FeaturesOf(prompt, FeatureSet::kHead);
  for (const auto& [i, v] : FeaturesOf(prompt, FeatureSet::kHeadTail)) {
    bool in_head = false;
    for (const auto& [j, w] : head) in_head |= i == j;
    if (!in_head) m.weights[i] = 2.0f;
  }
  return m;
}

TEST(ModelFile, FeatureSetRoundTripsAndTheScorerExtractsIt) {
  const std::string prompt = WorkedExamples(3000) + "Prove that it converges.";
  const std::string dir = ::testing::TempDir();
  for (FeatureSet set : {FeatureSet::kHead, FeatureSet::kHeadTail, FeatureSet::kConversation}) {
    LinearModel m = TailModel(prompt, set);
    auto back = ParseModel(SerializeModel(m), "f");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->features, set);
    const std::string path = dir + "/set" + std::to_string(static_cast<int>(set)) + ".model";
    ASSERT_TRUE(WriteModelFile(m, path).ok());
    auto s = MakeScorer("learned:" + path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    // Set 1 never sees the tail, so the tail's weights do not move its score off 0.5.
    if (set == FeatureSet::kHead) {
      EXPECT_DOUBLE_EQ((*s)->Score(In(prompt)), 0.5);
    } else {
      EXPECT_GT((*s)->Score(In(prompt)), 0.9);
    }
    std::remove(path.c_str());
  }
}

TEST(ModelFile, VersionThreeFilesReadAsFeatureSetOneAndUnknownSetsAreRefused) {
  LinearModel m =
      TailModel(WorkedExamples(3000) + "Prove that it converges.", FeatureSet::kHeadTail);
  std::string v3 = SerializeModel(m);
  v3.resize(v3.size() - 8);
  auto reseal = [](std::string body) {
    uint64_t sum = Fnv1a64(body);
    return body + std::string(reinterpret_cast<const char*>(&sum), 8);
  };
  std::string unknown = v3;
  unknown[24] = 4;  // the feature set follows magic, version, kind, dim and heads
  auto r = ParseModel(reseal(unknown), "new.model");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("new.model: feature set 4 is not known to this build (it "
                                   "knows 1 to 3)"),
            std::string::npos)
      << r.error().message;
  v3.erase(24, 4);
  v3[8] = 3;
  auto old = ParseModel(reseal(v3), "v3.model");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->features, FeatureSet::kHead);
  EXPECT_EQ(old->weights, m.weights);
}

// An application's fixed system prompt says nothing about how hard one request is: feature set 2
// reads the same features with or without it, and the shipped model gives the same score.
TEST(Features, SetTwoIgnoresTheSystemPrompt) {
  const std::string question = "A shop sells 3 pens for $2. How much do 12 pens cost?";
  const std::string system = WorkedExamples(1200);
  const std::string with_text = system + "\n" + question;
  RouteInput bare = In(question), with = In(question);
  with.prompt_text = with_text;
  with.message_count = 2;
  with.system_messages = 1;
  with.system_bytes = system.size() + 1;
  EXPECT_EQ(PromptChars(with, FeatureSet::kHeadTail), question.size());
  EXPECT_EQ(PromptChars(with, FeatureSet::kHead), with_text.size());
  auto features = [](const RouteInput& in, FeatureSet set) {
    SparseVec x;
    ExtractPromptFeatures(in, &x, true, set);
    return x;
  };
  EXPECT_EQ(features(bare, FeatureSet::kHeadTail), features(with, FeatureSet::kHeadTail));
  EXPECT_NE(features(bare, FeatureSet::kHead), features(with, FeatureSet::kHead));
  auto builtin = MakeScorer("learned:builtin");
  ASSERT_TRUE(builtin.ok()) << builtin.error().message;
  EXPECT_EQ((*builtin)->Score(bare), (*builtin)->Score(with));
  // A second user turn is a turn; a system message is not.
  RouteInput two_turns = with;
  two_turns.system_messages = 0;
  two_turns.system_bytes = 0;
  EXPECT_NE(features(bare, FeatureSet::kHeadTail), features(two_turns, FeatureSet::kHeadTail));
}

// FollowUpWindow is HeadTailWindow of the joined text, built without the join.
TEST(Features, FollowUpWindowIsTheWindowOfTheJoinedText) {
  std::string buf, joined_buf;
  for (size_t p : {size_t{1}, size_t{5}, size_t{255}, size_t{256}, size_t{257}, size_t{1000},
                   size_t{1534}, size_t{1535}, size_t{1536}, size_t{3000}}) {
    for (size_t l : {size_t{0}, size_t{1}, size_t{127}, size_t{1279}, size_t{1280}, size_t{1281},
                     size_t{5000}}) {
      std::string prev(p, 'p'), last(l, 'l');
      for (size_t i = 0; i < p; i += 7) prev[i] = static_cast<char>('A' + i % 26);
      for (size_t i = 0; i < l; i += 5) last[i] = static_cast<char>('a' + i % 26);
      const std::string joined = prev + "\n" + last;
      EXPECT_EQ(FollowUpWindow(prev, last, &buf), HeadTailWindow(joined, &joined_buf))
          << "prev " << p << " last " << l;
    }
  }
}

// Feature set 3 reads a short follow-up together with the user message before it; everything
// else as set 2.
TEST(Features, SetThreeReadsAShortFollowUpWithTheQuestionItFollows) {
  const std::string question = "A shop sells 3 pens for $2. How much do 12 pens cost?";
  const std::string other = "Which planet of the solar system is the largest one?!";
  const std::string follow_up = "Are you sure? Please check it again.";
  ASSERT_EQ(question.size(), other.size());  // so that the length features agree
  ASSERT_LT(follow_up.size(), kFollowUpChars);
  auto conversation = [](const std::string& first, const std::string& last) {
    static std::deque<std::string> texts;  // prompt_text must outlive the RouteInput
    texts.push_back(first + "\nSure, here it is.\n" + last);
    RouteInput in;
    in.prompt_text = texts.back();
    in.prev_user_text = first;
    in.last_user_text = last;
    in.message_count = 3;
    return in;
  };
  auto features = [](const RouteInput& in, FeatureSet set) {
    SparseVec x;
    ExtractPromptFeatures(in, &x, true, set);
    return x;
  };
  const SparseVec a3 = features(conversation(question, follow_up), FeatureSet::kConversation);
  const SparseVec b3 = features(conversation(other, follow_up), FeatureSet::kConversation);
  // Set 2 reads the follow-up alone: both conversations look the same to it.
  EXPECT_EQ(features(conversation(question, follow_up), FeatureSet::kHeadTail),
            features(conversation(other, follow_up), FeatureSet::kHeadTail));
  EXPECT_NE(a3, b3);
  // What set 3 reads is the question, "\n", the follow-up, as one message.
  RouteInput one = conversation(question, follow_up);
  const std::string joined = question + "\n" + follow_up;
  one.last_user_text = joined;
  one.prev_user_text = {};
  EXPECT_EQ(features(one, FeatureSet::kConversation), a3);
  // A last message of kFollowUpChars or more stands alone, as in set 2; so does a single message.
  const std::string long_last(kFollowUpChars, 'x');
  EXPECT_EQ(features(conversation(question, long_last), FeatureSet::kConversation),
            features(conversation(question, long_last), FeatureSet::kHeadTail));
  EXPECT_EQ(features(In(question), FeatureSet::kConversation),
            features(In(question), FeatureSet::kHeadTail));
  // A long question keeps its bounded window.
  const std::string shots = WorkedExamples(200000) + question;
  EXPECT_LT(features(conversation(shots, follow_up), FeatureSet::kConversation).size(),
            3 * kWindowChars);
}

TEST(Features, BoundedWorkOnHugePrompts) {
  std::string big(200000, 'a');
  SparseVec x;
  ExtractPromptFeatures(In(big), &x);
  EXPECT_LT(x.size(), 3 * kWindowChars);
  for (const auto& [i, v] : x) ASSERT_LT(i, kFeatureDim);
}

}  // namespace
}  // namespace triage::routing

namespace triage::routing {
namespace {

TEST(ShippedModels, LoadAndScoreInRange) {
  const std::string dir = std::string(TRIAGE_SOURCE_DIR) + "/models/";
  auto learned = MakeScorer("learned:" + dir + "learned-v4.model");
  ASSERT_TRUE(learned.ok()) << learned.error().message;
  auto cascade = LoadAnswerScorer(dir + "cascade-v3.model");
  ASSERT_TRUE(cascade.ok()) << cascade.error().message;
  RouteInput in;
  in.prompt_text = in.last_user_text = "A shop sells 3 pens for $2. How much do 12 pens cost?";
  in.message_count = 1;
  double s = (*learned)->Score(in);
  EXPECT_GT(s, 0.0);
  EXPECT_LT(s, 1.0);
  // Correct, well-formed arithmetic should look better than an answer with a wrong product.
  double good = (*cascade)->ScoreAnswer(in, "12 pens is 4 groups of 3. 4 * 2 = 8\n#### 8");
  double bad = (*cascade)->ScoreAnswer(in, "I think maybe 12 * 2 = 30, not sure.");
  EXPECT_GT(good, bad);
}

// The models shipped before feature set 2 stay, and still load as what they are.
TEST(ShippedModels, EveryShippedModelRecordsItsFeatureSet) {
  const std::string dir = std::string(TRIAGE_SOURCE_DIR) + "/models/";
  const std::pair<const char*, FeatureSet> files[] = {
      {"learned-v1.model", FeatureSet::kHead},
      {"cascade-v1.model", FeatureSet::kHead},
      {"learned-v2.model", FeatureSet::kHeadTail},
      {"cascade-v2.model", FeatureSet::kHeadTail},
      {"learned-v3.model", FeatureSet::kConversation},
      {"cascade-v3.model", FeatureSet::kConversation},
      {"learned-v4.model", FeatureSet::kConversation}};
  for (const auto& [file, set] : files) {
    auto m = ReadModelFile(dir + file);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->features, set) << file;
    EXPECT_EQ(m->heads, 2u) << file;
    EXPECT_FALSE(m->trained_on.empty()) << file;
  }
}

// learned-v3 is learned-v2 (the same weights: every dev query is a single turn, which sets 2
// and 3 read alike) scored with feature set 3, so only a short follow-up scores differently.
TEST(ShippedModels, VersionThreeScoresSingleTurnsAsVersionTwoAndReadsFollowUps) {
  const std::string dir = std::string(TRIAGE_SOURCE_DIR) + "/models/";
  auto v2 = MakeScorer("learned:" + dir + "learned-v2.model");
  auto v3 = MakeScorer("learned:" + dir + "learned-v3.model");
  ASSERT_TRUE(v2.ok() && v3.ok());
  for (const char* p : {"Hi!", "What is 17% of 340? Explain.",
                        "Statement 1 | Every group is abelian. Statement 2 | Z is cyclic."})
    EXPECT_DOUBLE_EQ((*v2)->Score(In(p)), (*v3)->Score(In(p))) << p;
  const std::string follow_up = "Are you sure? Check it once more.";
  std::vector<double> by_question;
  for (const std::string question :
       {"Which of these is a mammal? A. shark B. dolphin C. trout D. squid",
        "Let f(x) = x^3 - 3x. Find all x in [-2, 2] where f attains its maximum and prove it."}) {
    const std::string text = question + "\n57.8\n" + follow_up;
    RouteInput in;
    in.prompt_text = text;
    in.prev_user_text = question;
    in.last_user_text = follow_up;
    in.message_count = 3;
    by_question.push_back((*v3)->Score(in));
    if (by_question.size() == 2) {
      // Version 2 never reads the earlier message: its files score as they always did.
      RouteInput first = in;
      first.prev_user_text = {};
      EXPECT_NEAR((*v2)->Score(in), (*v2)->Score(first), 1e-12);
    }
  }
  EXPECT_NE(by_question[0], by_question[1]);
}

// learned:builtin is the shipped file, byte for byte, and scores like it.
TEST(ShippedModels, BuiltinIsTheShippedLearnedModel) {
  const std::string file = std::string(TRIAGE_SOURCE_DIR) + "/models/learned-v4.model";
  std::ifstream f(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_TRUE(BuiltinLearnedModel() == bytes) << "rebuild after retraining models/learned-v4.model";
  auto builtin = MakeScorer("learned:builtin");
  ASSERT_TRUE(builtin.ok()) << builtin.error().message;
  EXPECT_EQ((*builtin)->Describe(), "learned:builtin");
  auto shipped = MakeScorer("learned:" + file);
  ASSERT_TRUE(shipped.ok());
  for (const char* p :
       {"Hi!", "What is 17% of 340? Explain.", "Statement 1 | Every group is abelian."}) {
    EXPECT_DOUBLE_EQ((*builtin)->Score(In(p)), (*shipped)->Score(In(p))) << p;
  }
  // Only the exact spec is the built-in model: anything else is a path.
  EXPECT_FALSE(MakeScorer("learned:builtin2").ok());
}

}  // namespace
}  // namespace triage::routing
