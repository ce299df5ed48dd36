#include "routing/router.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "routing/builtin_model.h"
#include "routing/features.h"
#include "routing/linear_model.h"

namespace triage::routing {
namespace {

// The spec itself is wrong (a usage error); see ParseRouterSpec.
Error BadSpec(const std::string& why) {
  return Error::Make(ErrorKind::kInvalidRequest, "bad_router_spec", why);
}

// The file a well-formed spec names is not what it should be.
Error BadFile(const std::string& code, const std::string& why) {
  return Error::Make(ErrorKind::kInvalidRequest, code, why);
}

// Deterministic per prompt: the same text and seed always give the same score.
class RandomScorer : public Scorer {
 public:
  explicit RandomScorer(uint64_t seed) : seed_(seed) {}
  double Score(const RouteInput& in) const override {
    uint64_t h = Fnv1a64(in.prompt_text, 1469598103934665603ull ^ (seed_ * 0x9e3779b97f4a7c15ull));
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return static_cast<double>(h >> 11) / static_cast<double>(1ull << 53);
  }
  std::string Describe() const override { return "random:" + std::to_string(seed_); }

 private:
  uint64_t seed_;
};

// Longer prompts are assumed harder; monotone in the character count.
class LengthScorer : public Scorer {
 public:
  double Score(const RouteInput& in) const override {
    double n = static_cast<double>(in.prompt_text.size());
    return n / (n + 500.0);
  }
  std::string Describe() const override { return "length"; }
};

// "keyword = score" lines; the highest matching score wins, else "default".
class RulesScorer : public Scorer {
 public:
  RulesScorer(std::vector<std::pair<std::string, double>> rules, double def, std::string file)
      : rules_(std::move(rules)), default_(def), file_(std::move(file)) {}
  double Score(const RouteInput& in) const override {
    std::string_view t = in.last_user_text.empty() ? in.prompt_text : in.last_user_text;
    thread_local std::string joined;
    std::string low(HeadTailWindow(t, &joined));
    for (auto& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    double best = -1;
    for (const auto& [kw, s] : rules_) {
      if (s > best && low.find(kw) != std::string::npos) best = s;
    }
    return best < 0 ? default_ : best;
  }
  std::string Describe() const override { return "rules:" + file_; }

 private:
  std::vector<std::pair<std::string, double>> rules_;
  double default_;
  std::string file_;
};

class LearnedScorer : public Scorer {
 public:
  LearnedScorer(LinearModel m, std::string file) : m_(std::move(m)), file_(std::move(file)) {}
  double Score(const RouteInput& in) const override {
    thread_local SparseVec x;
    x.clear();
    ExtractPromptFeatures(in, &x, true, m_.features);
    return m_.Score(x, PromptChars(in, m_.features));
  }
  std::string Describe() const override { return "learned:" + file_; }

 private:
  LinearModel m_;
  std::string file_;
};

class CascadeScorer : public Scorer, public AnswerScorer {
 public:
  CascadeScorer(LinearModel m, std::string file) : m_(std::move(m)), file_(std::move(file)) {}
  // P(strong needed) given the cheap answer; 1 - this is the answer's quality score.
  double Needed(const RouteInput& in, std::string_view answer) const {
    thread_local SparseVec x;
    x.clear();
    ExtractCascadeFeatures(in, answer, &x, m_.features);
    return m_.Score(x, PromptChars(in, m_.features));
  }
  // Before the cheap call there is no answer: scored as an empty answer (escalation-prone);
  // the gateway's cascade path should call ScoreAnswer once the cheap answer is in hand.
  double Score(const RouteInput& in) const override { return Needed(in, {}); }
  double ScoreAnswer(const RouteInput& in, std::string_view answer) const override {
    return 1.0 - Needed(in, answer);
  }
  std::string Describe() const override { return "cascade:" + file_; }

 private:
  LinearModel m_;
  std::string file_;
};

// A rules score: a decimal number in [0,1], nothing else on the line but spaces (strtod alone
// took "0.5x" as 0.5, and "nan" failed no comparison).
bool ParseScore(std::string_view text, double* out) {
  const size_t b = text.find_first_not_of(" \t");
  if (b == std::string_view::npos) return false;
  const std::string num(text.substr(b, text.find_last_not_of(" \t") + 1 - b));
  if (num.find_first_not_of("0123456789.eE+-") != std::string::npos) return false;
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size() || !(v >= 0 && v <= 1)) return false;
  *out = v;
  return true;
}

Result<std::shared_ptr<const Scorer>> LoadRules(const std::string& file) {
  // A directory opens as an empty stream: it used to load as a file without rules, every
  // prompt scoring 0.5.
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    return BadFile("bad_rules_file", "rules file " + file + " is a directory");
  std::ifstream f(file);
  if (!f)  // errno says why: missing, a path through a file, permission
    return BadFile("no_such_file", "cannot open rules file " + file + ": " + std::strerror(errno));
  std::vector<std::pair<std::string, double>> rules;
  double def = 0.5;
  bool has_default = false;
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A UTF-8 byte-order mark (Windows editors write one) is not part of the first keyword: it
    // made "default = 0.9" a keyword no prompt contains, and "# comment" not a comment.
    if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    const std::string at = file + ":" + std::to_string(n) + ": ";
    // The last '=' separates: a keyword may itself contain '=' ("= = 0.25").
    const size_t eq = line.rfind('=');
    if (eq == std::string::npos)
      return BadFile("bad_rules_file", at + "expected 'keyword = score'");
    // The keyword is everything before " = " but the one space (or tab) next to '=': other
    // spaces are part of it, so " not  = 0.6" is the keyword " not " (not the word inside
    // "nothing" or "cannot").
    std::string kw = line.substr(0, eq);
    if (!kw.empty() && (kw.back() == ' ' || kw.back() == '\t')) kw.pop_back();
    if (kw.find_first_not_of(" \t") == std::string::npos)
      return BadFile("bad_rules_file", at + "empty keyword: expected 'keyword = score'");
    double s = 0;
    if (!ParseScore(std::string_view(line).substr(eq + 1), &s))
      return BadFile("bad_rules_file", at + "score must be a number in [0,1]");
    for (auto& c : kw) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (kw == "default") {
      def = s;
      has_default = true;
    } else {
      rules.emplace_back(kw, s);
    }
  }
  // Nothing but blank lines and comments (or an empty file, /dev/null) is a mistake, not a
  // router: it would score every prompt 0.5. A file of `default = s` alone is a fixed score.
  if (rules.empty() && !has_default)
    return BadFile("bad_rules_file",
                   "rules file " + file + " has no rules: expected 'keyword = score' lines");
  return std::shared_ptr<const Scorer>(std::make_shared<RulesScorer>(std::move(rules), def, file));
}

Result<LinearModel> ParseBuiltin() {
  return ParseModel(std::string(BuiltinLearnedModel()), "builtin (models/learned-v4.model)");
}

Result<std::shared_ptr<const CascadeScorer>> LoadCascade(const std::string& file) {
  auto m = ReadModelFile(file);
  if (!m) return m.error();
  if (m->kind != ModelKind::kCascade)
    return BadFile("wrong_model_kind",
                   "model file " + file + " is a learned model, not a cascade model");
  return std::make_shared<const CascadeScorer>(std::move(*m), file);
}

}  // namespace

Result<RouterSpec> ParseRouterSpec(const std::string& spec) {
  const size_t colon = spec.find(':');
  RouterSpec r;
  r.kind = spec.substr(0, colon);
  if (colon != std::string::npos) r.arg = spec.substr(colon + 1);
  if (r.kind == "random") {
    if (colon == std::string::npos) return r;
    // Digits only, in range: strtoull wrapped "-1" and clamped overflow to the same seed.
    const char* end = r.arg.data() + r.arg.size();
    auto [ptr, ec] = std::from_chars(r.arg.data(), end, r.seed);
    if (r.arg.empty() || ec != std::errc() || ptr != end)
      return BadSpec("random seed must be an integer from 0 to 18446744073709551615, got '" +
                     r.arg + "' (random:SEED, or random for seed 0)");
    return r;
  }
  if (r.kind == "length") {
    if (colon == std::string::npos) return r;
    return BadSpec("length takes no argument: use 'length', not '" + spec + "'");
  }
  if (r.kind == "rules" || r.kind == "learned" || r.kind == "cascade") {
    // Only learned has a model built in ("cascade:./builtin" reads a file of that name).
    if (r.kind == "cascade" && r.arg == "builtin")
      return BadSpec(
          "router 'cascade:builtin': only learned has a built-in model; use "
          "cascade:MODEL_FILE (models/cascade-v3.model ships with the source; `triage "
          "train --kind cascade --out FILE` makes one)");
    if (!r.arg.empty()) return r;
    return BadSpec("router '" + spec + "' needs a file: " +
                   (r.kind == "rules"     ? "rules:FILE"
                    : r.kind == "learned" ? "learned:MODEL_FILE or learned:builtin"
                                          : "cascade:MODEL_FILE"));
  }
  return BadSpec("unknown router '" + spec +
                 "' (expected random[:seed], length, rules:FILE, learned:MODEL_FILE, "
                 "learned:builtin or cascade:MODEL_FILE)");
}

Result<std::shared_ptr<const Scorer>> MakeScorer(const std::string& spec) {
  auto p = ParseRouterSpec(spec);
  if (!p) return p.error();
  if (p->kind == "random")
    return std::shared_ptr<const Scorer>(std::make_shared<RandomScorer>(p->seed));
  if (p->kind == "length") return std::shared_ptr<const Scorer>(std::make_shared<LengthScorer>());
  if (p->kind == "rules") return LoadRules(p->arg);
  if (p->kind == "learned") {
    auto m = p->arg == "builtin" ? ParseBuiltin() : ReadModelFile(p->arg);
    if (!m) return m.error();
    if (m->kind != ModelKind::kLearned)
      return BadFile("wrong_model_kind",
                     "model file " + p->arg + " is a cascade model; use cascade:" + p->arg);
    return std::shared_ptr<const Scorer>(std::make_shared<LearnedScorer>(std::move(*m), p->arg));
  }
  auto c = LoadCascade(p->arg);
  if (!c) return c.error();
  return std::shared_ptr<const Scorer>(*c);
}

size_t ChooseTier(double score, const std::vector<double>& thresholds) {
  return static_cast<size_t>(std::upper_bound(thresholds.begin(), thresholds.end(), score) -
                             thresholds.begin());
}

std::string FormatScore(double value, int digits) {
  char buf[48];
  if (digits < 0) {
    // The shortest decimal that reads back as exactly `value`.
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
    if (ec == std::errc()) return std::string(buf, end);
    digits = 17;
  }
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

int ScoreDigits(double score, const std::vector<double>& thresholds) {
  // Up to 17 decimals: scores and thresholds are in [0, 1], where 17 decimals tell nearly any
  // two doubles apart; past that, the shortest round-trip form of each (kShortestDigits).
  for (int d = 2; d <= 17; ++d) {
    const double s = std::strtod(FormatScore(score, d).c_str(), nullptr);
    bool same = true;
    for (double t : thresholds) {
      const double tp = std::strtod(FormatScore(t, d).c_str(), nullptr);
      same = same && (score >= t) == (s >= tp) && (score == t) == (s == tp);
    }
    if (same) return d;
  }
  return kShortestDigits;
}

Result<std::shared_ptr<const AnswerScorer>> LoadAnswerScorer(const std::string& model_file) {
  auto c = LoadCascade(model_file);
  if (!c) return c.error();
  return std::shared_ptr<const AnswerScorer>(*c);
}

Result<std::optional<LinearModel>> ModelOfSpec(const std::string& spec) {
  auto wrap = [](Result<LinearModel> m) -> Result<std::optional<LinearModel>> {
    if (!m) return m.error();
    return std::optional<LinearModel>(std::move(*m));
  };
  if (spec == "learned:builtin") return wrap(ParseBuiltin());
  for (const char* kind : {"learned:", "cascade:"}) {
    if (spec.rfind(kind, 0) == 0 && spec.size() > 8) return wrap(ReadModelFile(spec.substr(8)));
  }
  return std::optional<LinearModel>();
}

}  // namespace triage::routing
