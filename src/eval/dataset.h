#pragma once
// Recorded outcomes (shared/data/outcomes/README format): one JSON object per line with the
// request messages and, per model, a score in [0,1] and optionally the recorded response.
// Not thread-safe to build; read-only afterwards.
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "routing/router.h"

namespace triage::eval {

struct Outcome {
  double score = 0;
  std::string response;  // empty when not recorded
};

struct Query {
  std::string id, benchmark, category;
  std::string prompt_text, last_user_text, prev_user_text;
  int message_count = 0;
  int system_messages = 0;  // role "system" or "developer"
  size_t system_bytes = 0;  // their bytes in prompt_text, "\n" joiners included
  bool has_tools = false, has_image = false;
  double cheap = 0, strong = 0;  // scores of the two compared models
  std::string cheap_response;
  // Length in bytes of the strong model's recorded `response`; 0 when not recorded (only the
  // length is kept: it sizes the strong answer's output tokens in cost estimates).
  size_t strong_response_chars = 0;
  // Recorded per-query cost of each compared model (`cost_usd`); negative when absent.
  double cheap_cost = -1, strong_cost = -1;

  // Views into this query's strings: valid while the Query lives.
  routing::RouteInput Input() const;
};

struct Dataset {
  std::vector<Query> queries;
  int skipped = 0;  // lines lacking an outcome for one of the compared models
  // Per file read, in order: how many of its lines were kept and skipped (a file whose lines
  // all lack the compared models is worth a warning when other files have them).
  struct File {
    std::string path;
    size_t kept = 0;
    int skipped = 0;
  };
  std::vector<File> files;
  // Lines whose `id` appeared on an earlier line of the same file (each still counts as its own
  // query), and the first such: "FILE: id \"x\" on lines 3 and 9".
  int duplicate_ids = 0;
  std::string first_duplicate;
  // Every model key with a numeric score, and on how many lines (kept or skipped): what to
  // offer as --cheap / --strong when the compared models are missing.
  std::map<std::string, int> models;
  // Set by RenameOverallBenchmark: the name its queries now carry ("" when none was renamed),
  // and how many they are.
  std::string overall_renamed_to;
  size_t overall_renamed = 0;
};

// The name reports give the aggregate of all benchmarks (`eval`'s last table, the key in
// `--json`'s `benchmarks`, `train --cv`'s last row).
inline constexpr char kOverall[] = "overall";

// Queries whose benchmark is named "overall" (a `benchmark` field, or a file overall.jsonl
// without one) would be taken for, or in --json overwrite, the aggregate: renames them to
// "overall-benchmark" ("overall-benchmark-2", ... when a benchmark has that name already) and
// records it in ds->overall_renamed_to / overall_renamed. Call once all files are read.
void RenameOverallBenchmark(Dataset* ds);

// "a (10 queries), b (7 queries)": the models of ds.models, most frequent first.
std::string DescribeModels(const Dataset& ds);

// Reads a .jsonl file, keeping the two compared models. A query whose outcome for either is
// absent (or has a null score) is skipped and counted. A malformed line fails with
// "FILE:LINE: why" (a non-string `id`, `benchmark` or message `role` included, and a message
// `content` that is not a string, null or a list of parts; JSON the parser refuses says where
// and why; a score outside [0,1] is quoted, with a hint when it looks like a judge's 1-10
// score); a directory, an empty file or one with only blank lines fails with "FILE: why". A
// line without a `benchmark` field is grouped under the file's name without its extension. Messages
// may omit `content` when they carry `tool_calls` (OpenAI assistant turns). Appends to *out so
// several files make one dataset.
Status ReadOutcomes(const std::string& path, const std::string& cheap, const std::string& strong,
                    Dataset* out);

}  // namespace triage::eval
