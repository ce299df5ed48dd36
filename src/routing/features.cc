#include "routing/features.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>

#include "routing/arith_check.h"

namespace triage::routing {
namespace {

constexpr size_t kCharWindow = 768;
constexpr uint32_t kWordNs = 0x9e3779b1u, kBigramNs = 0x85ebca6bu, kCharNs = 0xc2b2ae35u,
                   kAnsNs = 0x27d4eb2fu, kAnsBigramNs = 0x165667b1u;

inline uint32_t Mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}
inline uint32_t Slot(uint32_t h) { return Mix(h) & (kHashDim - 1); }
// ASCII classification without locale calls: this runs per byte on the hot path.
inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsAlpha(unsigned char c) { return IsUpper(c) || (c >= 'a' && c <= 'z'); }
inline bool IsAlnum(unsigned char c) { return IsAlpha(c) || IsDigit(c); }

inline float Log1p(double x, double scale) { return static_cast<float>(std::log1p(x) / scale); }

bool StartsWithWord(std::string_view text, std::string_view w) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (text.size() - i < w.size()) return false;
  for (size_t k = 0; k < w.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(text[i + k])) != w[k]) return false;
  }
  return true;
}

// Byte -> the byte that char trigrams hash: lowercase letters, every digit as '0'.
constexpr std::array<unsigned char, 256> MakeTrigramTable() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    unsigned char v = static_cast<unsigned char>(c);
    if (c >= 'A' && c <= 'Z') v = static_cast<unsigned char>(c + 32);
    if (c >= '0' && c <= '9') v = '0';
    t[c] = v;
  }
  return t;
}
constexpr std::array<unsigned char, 256> kTrigramByte = MakeTrigramTable();

// Byte -> what a word hashes: lowercase ASCII letters and digits; 0 for every other byte (word
// separators, non-ASCII included).
constexpr std::array<unsigned char, 256> MakeWordTable() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (c >= 'A' && c <= 'Z') t[c] = static_cast<unsigned char>(c + 32);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) t[c] = static_cast<unsigned char>(c);
  }
  return t;
}
constexpr std::array<unsigned char, 256> kWordByte = MakeWordTable();

// Byte -> its ASCII lowercase; every other byte maps to itself.
constexpr std::array<unsigned char, 256> MakeLowerTable() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return t;
}
constexpr std::array<unsigned char, 256> kLowerByte = MakeLowerTable();

// Hashes lowercased word tokens (numbers collapse to their digit count so that topics, not
// values, are learned), word bigrams and char trigrams of the window.
// tail_chars: char trigrams read the last kCharWindow chars of t instead of the first.
void HashText(std::string_view t, uint32_t word_ns, uint32_t bigram_ns, bool chars, SparseVec* out,
              std::vector<uint32_t>* words, bool tail_chars = false) {
  words->clear();
  // One table lookup per byte and one unpredictable branch per word boundary: this loop is
  // the largest part of a routing decision.
  const auto* text = reinterpret_cast<const unsigned char*>(t.data());
  const size_t len = t.size();
  size_t pos = 0;
  for (;;) {
    while (pos < len && kWordByte[text[pos]] == 0) ++pos;
    if (pos == len) break;
    const size_t start = pos;
    uint32_t h = 2166136261u;
    bool numeric = true;
    for (unsigned char c; pos < len && (c = kWordByte[text[pos]]) != 0; ++pos) {
      numeric &= c <= '9';
      h = (h ^ c) * 16777619u;
    }
    words->push_back(numeric ? 0x51ed270bu + static_cast<uint32_t>(std::min<size_t>(pos - start, 6))
                             : h);
  }
  const size_t n = words->size();
  if (n == 0) return;
  const float wv = 1.0f / std::sqrt(static_cast<float>(n));
  for (size_t i = 0; i < n; ++i) {
    out->emplace_back(Slot((*words)[i] ^ word_ns), wv);
    if (i + 1 < n) out->emplace_back(Slot((*words)[i] * 31u + (*words)[i + 1] + bigram_ns), wv);
  }
  // Char trigrams are the costliest part, so they read only the part of the text that carries
  // the question.
  t = tail_chars && t.size() > kCharWindow ? t.substr(t.size() - kCharWindow)
                                           : t.substr(0, std::min(t.size(), kCharWindow));
  if (!chars || t.size() < 3) return;
  const float cv = 0.5f / std::sqrt(static_cast<float>(t.size()));
  const auto* p = reinterpret_cast<const unsigned char*>(t.data());
  uint32_t a = kTrigramByte[p[0]], b = kTrigramByte[p[1]];
  for (size_t i = 2; i < t.size(); ++i) {
    const uint32_t c = kTrigramByte[p[i]];
    out->emplace_back(Slot(((a << 16) | (b << 8) | c) + kCharNs), cv);
    a = b;
    b = c;
  }
}

struct Counts {
  int digits = 0, numbers = 0, ops = 0, lines = 0, questions = 0, upper = 0, nonascii = 0, code = 0,
      latex = 0, dollars = 0, alpha = 0;
};

enum : uint16_t {
  kDigit = 1,
  kUpper = 2,
  kAlpha = 4,
  kOp = 8,
  kLine = 16,
  kQuest = 32,
  kCode = 64,
  kLatex = 128,
  kDollar = 256,
  kNonAscii = 512,
  kNumCont = 1024
};

constexpr std::array<uint16_t, 256> MakeClassTable() {
  std::array<uint16_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint16_t v = 0;
    if (c >= '0' && c <= '9') v |= kDigit;
    if (c >= 'A' && c <= 'Z') v |= kUpper | kAlpha;
    if (c >= 'a' && c <= 'z') v |= kAlpha;
    if (c == '+' || c == '*' || c == '/' || c == '=' || c == '^' || c == '<' || c == '>' ||
        c == '%')
      v |= kOp;
    if (c == '\n') v |= kLine;
    if (c == '?') v |= kQuest;
    if (c == '{' || c == '}' || c == ';' || c == '`') v |= kCode;
    if (c == '\\' || c == '_') v |= kLatex;
    if (c == '$') v |= kDollar;
    if (c >= 0x80) v |= kNonAscii;
    if (c == '.' || c == ',') v |= kNumCont;
    t[c] = v;
  }
  return t;
}
constexpr std::array<uint16_t, 256> kClass = MakeClassTable();

// One histogram pass (a table lookup and an increment per byte), then per-class sums over the
// 256 byte values; digit runs are counted in the same pass.
Counts Count(std::string_view t) {
  std::array<uint32_t, 256> hist{};
  int numbers = 0;
  bool in_num = false;
  for (unsigned char c : t) {
    ++hist[c];
    const uint16_t v = kClass[c];
    const bool d = v & kDigit;
    numbers += d && !in_num;
    in_num = d || (in_num && (v & kNumCont));
  }
  Counts k;
  k.numbers = numbers;
  for (int c = 0; c < 256; ++c) {
    const int n = static_cast<int>(hist[c]);
    if (n == 0) continue;
    const uint16_t v = kClass[c];
    if (v & kDigit) k.digits += n;
    if (v & kUpper) k.upper += n;
    if (v & kAlpha) k.alpha += n;
    if (v & kOp) k.ops += n;
    if (v & kLine) k.lines += n;
    if (v & kQuest) k.questions += n;
    if (v & kCode) k.code += n;
    if (v & kLatex) k.latex += n;
    if (v & kDollar) k.dollars += n;
    if (v & kNonAscii) k.nonascii += n;
  }
  return k;
}

// Cue phrases bucketed by first letter; one pass over the text counts every group.
class CueMatcher {
 public:
  CueMatcher(std::initializer_list<std::initializer_list<std::string_view>> groups) {
    int g = 0;
    for (const auto& group : groups) {
      for (auto cue : group) by_first_[static_cast<unsigned char>(cue[0])].push_back({cue, g});
      ++g;
    }
  }
  // Counts cue occurrences at word starts, ignoring ASCII case. REQUIRES: cues are lowercase;
  // counts sized to groups.
  void Count(std::string_view text, int* counts) const {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    bool prev_alpha = false;
    for (size_t i = 0; i < n; ++i) {
      const unsigned char c = kLowerByte[p[i]];
      if (!prev_alpha) {
        for (const auto& [cue, g] : by_first_[c]) {
          if (cue.size() > n - i) continue;
          size_t k = 1;
          while (k < cue.size() && kLowerByte[p[i + k]] == static_cast<unsigned char>(cue[k])) ++k;
          if (k == cue.size()) ++counts[g];
        }
      }
      prev_alpha = IsAlpha(c);
    }
  }

 private:
  std::array<std::vector<std::pair<std::string_view, int>>, 256> by_first_;
};

// Answer-choice structure: lines starting "A." .. "E." (MMLU-style).
void Choices(std::string_view t, int* count, int* max_len) {
  *count = 0;
  *max_len = 0;
  size_t start = 0;
  while (start < t.size()) {
    size_t end = t.find('\n', start);
    if (end == std::string_view::npos) end = t.size();
    std::string_view line = t.substr(start, end - start);
    if (line.size() >= 2 && line[0] >= 'A' && line[0] <= 'J' &&
        (line[1] == '.' || line[1] == ')')) {
      ++*count;
      *max_len = std::max(*max_len, static_cast<int>(line.size()));
    }
    start = end + 1;
  }
}

// A dense value plus a one-hot bin of it, so a linear model can bend its response
// (very short and very long prompts can both be hard).
void PutDense(uint32_t index, float v, SparseVec* out) {
  if (v != 0.0f) out->emplace_back(index, v);
  int bin = static_cast<int>(std::floor(std::clamp(v, -1.0f, 2.0f) * 6.0f));
  out->emplace_back(Slot(index * 2654435761u + static_cast<uint32_t>(bin + 16)), 0.5f);
}

// True when needle appears in t as a whole number (not inside a longer one).
bool ContainsNumber(std::string_view t, const std::string& needle) {
  for (size_t p = t.find(needle); p != std::string_view::npos; p = t.find(needle, p + 1)) {
    bool lb = p == 0 || !std::isdigit(static_cast<unsigned char>(t[p - 1]));
    size_t e = p + needle.size();
    bool rb = e >= t.size() || !std::isdigit(static_cast<unsigned char>(t[e]));
    if (lb && rb) return true;
  }
  return false;
}

// Calls f with each maximal run of digits in t: "1,000" gives "1" and "000", which matches an
// answer that restates the number with its comma too.
template <class F>
void ForEachNumber(std::string_view t, F f) {
  for (size_t i = 0; i < t.size();) {
    if (!IsDigit(static_cast<unsigned char>(t[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && IsDigit(static_cast<unsigned char>(t[j]))) ++j;
    f(t.substr(i, j - i));
    i = j;
  }
}

// The number after the last "####", else the last number in the text; NaN when none.
double FinalNumber(std::string_view t) {
  size_t from = t.rfind("####");
  std::string_view tail = from == std::string_view::npos ? t : t.substr(from + 4);
  double last = std::nan("");
  for (size_t i = 0; i < tail.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(tail[i]))) continue;
    std::string num;
    bool neg = i > 0 && tail[i - 1] == '-';
    while (i < tail.size() && (std::isdigit(static_cast<unsigned char>(tail[i])) ||
                               tail[i] == ',' || tail[i] == '.')) {
      if (tail[i] != ',') num.push_back(tail[i]);
      ++i;
    }
    while (!num.empty() && num.back() == '.') num.pop_back();
    last = std::strtod(num.c_str(), nullptr) * (neg ? -1 : 1);
    if (from != std::string_view::npos) break;
  }
  return last;
}

}  // namespace

uint64_t Fnv1a64(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string_view HeadTailWindow(std::string_view text, std::string* buf) {
  if (text.size() <= kWindowChars) return text;
  // The head keeps an instruction that opens the prompt; the tail the question that ends it.
  buf->assign(text.substr(0, kHeadChars));
  buf->push_back('\n');
  buf->append(text.substr(text.size() - (kWindowChars - kHeadChars)));
  return *buf;
}

std::string_view FollowUpWindow(std::string_view prev, std::string_view last, std::string* buf) {
  const size_t total = prev.size() + 1 + last.size();
  // Appends chars [from, to) of prev + "\n" + last.
  auto put = [&](size_t from, size_t to) {
    if (from < prev.size()) buf->append(prev.substr(from, std::min(to, prev.size()) - from));
    if (from <= prev.size() && to > prev.size()) buf->push_back('\n');
    const size_t l0 = prev.size() + 1;
    if (to > l0) buf->append(last.substr(from > l0 ? from - l0 : 0, to - std::max(from, l0)));
  };
  buf->clear();
  if (total <= kWindowChars) {
    put(0, total);
  } else {
    put(0, kHeadChars);
    buf->push_back('\n');
    put(total - (kWindowChars - kHeadChars), total);
  }
  return *buf;
}

size_t PromptChars(const RouteInput& in, FeatureSet set) {
  if (set == FeatureSet::kHead) return in.prompt_text.size();
  return in.prompt_text.size() - std::min(in.system_bytes, in.prompt_text.size());
}

void ExtractPromptFeatures(const RouteInput& in, SparseVec* out, bool text_ngrams, FeatureSet set) {
  std::string_view text = in.last_user_text.empty() ? in.prompt_text : in.last_user_text;
  thread_local std::string joined;
  const bool follow_up = set == FeatureSet::kConversation && !in.prev_user_text.empty() &&
                         in.last_user_text.size() < kFollowUpChars;
  size_t text_chars = text.size();
  bool head_tail = set != FeatureSet::kHead && text.size() > kWindowChars;
  std::string_view win;
  if (follow_up) {
    text_chars = in.prev_user_text.size() + 1 + in.last_user_text.size();
    head_tail = text_chars > kWindowChars;
    win = FollowUpWindow(in.prev_user_text, in.last_user_text, &joined);
  } else {
    win = head_tail ? HeadTailWindow(text, &joined)
                    : text.substr(0, std::min(text.size(), kWindowChars));
  }
  thread_local std::vector<uint32_t> words;
  thread_local SparseVec discard;
  discard.clear();
  HashText(win, kWordNs, kBigramNs, true, text_ngrams ? out : &discard, &words, head_tail);

  const Counts k = Count(win);
  const double wlen = std::max<double>(1.0, win.size());
  int nchoices = 0, max_choice = 0;
  Choices(win, &nchoices, &max_choice);
  static const CueMatcher kPromptCues(
      {{"then", "after", "each", "total", "remaining", "left", "more than", "times", "half",
        "twice", "per ", "every", "percent", "how many", "how much"},
       {"not", "except", "false", "least", "incorrect", "never"},
       {"prove", "derive", "explain", "why", "compare", "analy", "evaluate", "optimi", "design",
        "implement"}});
  int cues[3] = {0, 0, 0};
  kPromptCues.Count(win, cues);
  const int multistep = cues[0], negation = cues[1], reasoning = cues[2];
  const uint32_t d = kHashDim;
  auto put = [&](uint32_t slot, float v) { PutDense(d + slot, v, out); };
  put(0, Log1p(text_chars, 10.0));
  put(1, Log1p(PromptChars(in, set), 10.0));
  put(2, Log1p(words.size(), 7.0));
  put(3, static_cast<float>(k.digits / wlen * 5.0));
  put(4, Log1p(k.numbers, 4.0));
  put(5, Log1p(k.ops, 4.0));
  put(6, Log1p(multistep, 3.0));
  put(7, Log1p(k.questions, 2.0));
  put(8, nchoices >= 2 ? 1.0f : 0.0f);
  put(9, Log1p(max_choice, 6.0));
  put(10, Log1p(k.code, 4.0));
  const int turns =
      set == FeatureSet::kHead ? in.message_count : in.message_count - in.system_messages;
  put(11, turns > 1 ? 1.0f : 0.0f);
  put(12, Log1p(std::max(turns, 0), 3.0));
  put(13, in.has_tools ? 1.0f : 0.0f);
  put(14, in.has_image ? 1.0f : 0.0f);
  put(15, static_cast<float>(k.upper / wlen * 5.0));
  put(16, static_cast<float>(k.nonascii / wlen * 5.0));
  put(17, Log1p(k.latex, 3.0));
  put(18, Log1p(k.lines, 4.0));
  put(19, Log1p(negation, 2.0));
  put(20, Log1p(reasoning, 2.0));
  put(21, Log1p(k.dollars, 2.0));
  int qtype = 0;
  static constexpr std::array<std::string_view, 10> kStarts = {
      "what", "how", "why", "which", "who", "calculate", "find", "solve", "write", "explain"};
  for (size_t i = 0; i < kStarts.size(); ++i) {
    if (StartsWithWord(win, kStarts[i])) qtype = static_cast<int>(i) + 1;
  }
  if (qtype > 0) out->emplace_back(Slot(0xabcdu + qtype), 1.0f);
  put(22,
      words.empty() ? 0.0f : static_cast<float>(k.alpha / static_cast<double>(words.size()) / 8.0));
}

void ExtractAnswerFeatures(const RouteInput& in, std::string_view answer, SparseVec* out,
                           bool text_ngrams) {
  std::string_view win = answer.substr(0, std::min(answer.size(), 4 * kWindowChars));
  thread_local std::vector<uint32_t> words;
  if (text_ngrams) {
    HashText(win.substr(0, std::min(win.size(), kWindowChars)), kAnsNs, kAnsBigramNs, false, out,
             &words);
  }
  const uint32_t d = kHashDim + 24;
  auto put = [&](uint32_t slot, float v) { PutDense(d + slot, v, out); };
  const ArithStats ar = CheckArithmetic(win);
  const Counts k = Count(win);
  const bool final_marker = win.find("####") != std::string_view::npos;
  static const CueMatcher kAnswerCues(
      {{"however",  "assum",   "not sure",   "unclear",     "approximately",
        "cannot",   "can't",   "impossible", "sorry",       "not enough",
        "does not", "doesn't", "ambiguous",  "i think",     "likely",
        "actually", "wait",    "mistake",    "re-evaluate", "recalculate"},
       {"####"},
       {"let's", "let me", "first", "step"},
       {"total", "altogether", "in all", "remaining", "left"}});
  int cues[4] = {0, 0, 0, 0};
  kAnswerCues.Count(win, cues);
  const int hedges = cues[0];
  put(0, Log1p(answer.size(), 8.0));
  put(1, final_marker ? 1.0f : 0.0f);
  put(2, Log1p(ar.checked, 3.0));
  put(3, Log1p(ar.wrong, 1.0));
  put(4, ar.wrong > 0 ? 1.0f : 0.0f);
  put(5, Log1p(hedges, 2.0));
  put(6, Log1p(k.lines, 4.0));
  put(7, Log1p(k.numbers, 5.0));
  put(8, answer.empty() ? 1.0f : 0.0f);
  put(9, ar.checked == 0 ? 1.0f : 0.0f);
  // A long answer relative to the question often means the model went in circles.
  const double ratio = (answer.size() + 1.0) / (in.last_user_text.size() + 1.0);
  put(10, Log1p(ratio, 3.0));
  put(11, Log1p(k.questions, 2.0));
  put(12, Log1p(cues[1], 1.0) * (final_marker ? 1.0f : 0.0f));
  // The final answer: word problems almost always have whole, non-negative answers.
  const double fin = FinalNumber(win);
  if (!std::isnan(fin)) {
    put(13, std::fabs(fin - std::round(fin)) > 1e-9 ? 1.0f : 0.0f);
    put(14, fin < 0 ? 1.0f : 0.0f);
    put(15, Log1p(std::fabs(fin), 10.0));
    // Does the final answer appear among the numbers the answer computed?
    std::string needle = std::to_string(static_cast<long long>(std::llround(fin)));
    put(16, win.find("=" + needle) != std::string_view::npos ||
                    win.find("= " + needle) != std::string_view::npos
                ? 1.0f
                : 0.0f);
    // Restating a number from the question as the answer is a classic shortcut error.
    std::string_view q =
        in.last_user_text.substr(0, std::min(in.last_user_text.size(), kWindowChars));
    put(18, ContainsNumber(q, needle) ? 1.0f : 0.0f);
  } else {
    put(17, 1.0f);
  }
  put(19, Log1p(cues[2], 2.0));
  put(20, Log1p(cues[3], 2.0));
  // Quantities of the question that the answer never uses: a skipped quantity usually means a
  // skipped step.
  std::string_view q =
      in.last_user_text.substr(0, std::min(in.last_user_text.size(), kWindowChars));
  int given = 0, unused = 0;
  ForEachNumber(q, [&](std::string_view num) {
    ++given;
    if (!ContainsNumber(win, std::string(num))) ++unused;
  });
  put(21, given == 0 ? 0.0f : static_cast<float>(unused) / given);
  put(22, Log1p(unused, 1.0));
}

void ExtractCascadeFeatures(const RouteInput& in, std::string_view answer, SparseVec* out,
                            FeatureSet set) {
  ExtractPromptFeatures(in, out, true, set);
  ExtractAnswerFeatures(in, answer, out, true);
}

}  // namespace triage::routing
