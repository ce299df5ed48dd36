#include "routing/arith_check.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

namespace triage::routing {
namespace {

// Recursive descent over "+-*/x()" and numbers; nullopt when not an expression.
class Expr {
 public:
  explicit Expr(std::string s) : s_(std::move(s)) {}
  std::optional<double> Parse(int* ops) {
    ops_ = 0;
    auto v = Sum();
    Skip();
    if (!v || pos_ != s_.size()) return std::nullopt;
    *ops = ops_;
    return v;
  }

 private:
  void Skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '$')) ++pos_;
  }
  std::optional<double> Sum() {
    auto v = Prod();
    while (v) {
      Skip();
      if (pos_ >= s_.size() || (s_[pos_] != '+' && s_[pos_] != '-')) break;
      char op = s_[pos_++];
      ++ops_;
      auto r = Prod();
      if (!r) return std::nullopt;
      v = op == '+' ? *v + *r : *v - *r;
    }
    return v;
  }
  std::optional<double> Prod() {
    auto v = Atom();
    while (v) {
      Skip();
      if (pos_ >= s_.size()) break;
      char c = s_[pos_];
      if (c != '*' && c != '/' && c != 'x' && c != 'X') break;
      ++pos_;
      ++ops_;
      auto r = Atom();
      if (!r) return std::nullopt;
      if (c == '/') {
        if (*r == 0) return std::nullopt;
        v = *v / *r;
      } else {
        v = *v * *r;
      }
    }
    return v;
  }
  std::optional<double> Atom() {
    Skip();
    if (pos_ >= s_.size()) return std::nullopt;
    if (s_[pos_] == '(') {
      ++pos_;
      auto v = Sum();
      Skip();
      if (!v || pos_ >= s_.size() || s_[pos_] != ')') return std::nullopt;
      ++pos_;
      return v;
    }
    return Number();
  }
  std::optional<double> Number() {
    std::string digits;
    while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '.' || s_[pos_] == ',')) {
      if (s_[pos_] != ',') digits.push_back(s_[pos_]);
      ++pos_;
    }
    if (digits.empty() || digits == ".") return std::nullopt;
    if (digits.back() == '.') digits.pop_back();
    char* end = nullptr;
    double v = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size()) return std::nullopt;
    if (pos_ < s_.size() && s_[pos_] == '%') {
      ++pos_;
      v /= 100.0;
    }
    return v;
  }
  std::string s_;
  size_t pos_ = 0;
  int ops_ = 0;
};

bool IsExprChar(std::string_view t, size_t i) {
  unsigned char c = t[i];
  if (std::isdigit(c) || std::strchr(" .,+-*/()$%", c)) return c != 0;
  if (c == 'x' || c == 'X') {  // multiplication only when not part of a word
    bool left = i > 0 && std::isalpha(static_cast<unsigned char>(t[i - 1]));
    bool right = i + 1 < t.size() && std::isalpha(static_cast<unsigned char>(t[i + 1]));
    return !left && !right;
  }
  return false;
}

}  // namespace

ArithStats CheckArithmetic(std::string_view text, size_t max_chars) {
  ArithStats st;
  if (text.size() > max_chars) text = text.substr(0, max_chars);
  for (size_t eq = text.find('='); eq != std::string_view::npos; eq = text.find('=', eq + 1)) {
    size_t b = eq;
    while (b > 0 && IsExprChar(text, b - 1)) --b;
    std::string lhs(text.substr(b, eq - b));
    size_t r = eq + 1;
    while (r < text.size() && (text[r] == ' ' || text[r] == '$')) ++r;
    size_t re = r;
    while (re < text.size() && (std::isdigit(static_cast<unsigned char>(text[re])) ||
                                text[re] == '.' || text[re] == ',')) {
      ++re;
    }
    // A trailing '.' or ',' belongs to the sentence, not the number.
    while (re > r && (text[re - 1] == '.' || text[re - 1] == ',')) --re;
    if (re == r) continue;
    // Strip leading separators the scan swallowed ("so, 3*4").
    while (!lhs.empty() && (lhs.front() == ',' || lhs.front() == '.' || lhs.front() == ' ')) {
      lhs.erase(lhs.begin());
    }
    int ops = 0;
    auto left = Expr(lhs).Parse(&ops);
    auto right = Expr(std::string(text.substr(r, re - r))).Parse(&ops);
    if (!left) continue;
    Expr(lhs).Parse(&ops);
    if (ops == 0 || !right) continue;
    ++st.checked;
    double denom = std::max(1.0, std::fabs(*right));
    // Answers round money and fractions; allow rounding to 2 decimals.
    if (std::fabs(*left - *right) / denom > 1e-4 && std::fabs(*left - *right) > 0.005) ++st.wrong;
  }
  return st;
}

}  // namespace triage::routing
