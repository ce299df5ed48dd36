#include "common/secrets.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <vector>

#include "common/hex.h"

namespace triage {

namespace {

struct Registry {
  std::mutex mu;
  std::vector<std::string> secrets;  // longest first, so a key containing another is masked whole
};

Registry& Secrets() {
  static Registry r;
  return r;
}

}  // namespace

void RegisterSecret(std::string_view secret) {
  if (secret.size() < kMinSecretChars) return;
  Registry& r = Secrets();
  std::lock_guard lock(r.mu);
  if (std::find(r.secrets.begin(), r.secrets.end(), secret) != r.secrets.end()) return;
  r.secrets.emplace_back(secret);
  std::stable_sort(r.secrets.begin(), r.secrets.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

namespace {

// The value of the `n` hex digits at text[at..], or -1.
int HexAt(std::string_view text, size_t at, size_t n) {
  if (at + n > text.size()) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const int h = HexDigitValue(text[at + i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// How many bytes of `text` from `at` spell the byte `c`: itself, a JSON escape ("\/", "\\",
// "\"", "\u002b" in either case) or a percent-encoding ("%2F", "%2f"); 0 when none does.
size_t SpelledAt(std::string_view text, size_t at, char c) {
  if (at >= text.size()) return 0;
  if (text[at] == c) return 1;
  if (text[at] == '\\' && at + 1 < text.size()) {
    const char e = text[at + 1];
    if (e == c && (c == '/' || c == '\\' || c == '"')) return 2;
    if (e == 'u' && HexAt(text, at + 2, 4) == static_cast<unsigned char>(c)) return 6;
  } else if (text[at] == '%' && HexAt(text, at + 1, 2) == static_cast<unsigned char>(c)) {
    return 3;
  }
  return 0;
}

// The length of the spelling of `secret` that starts at text[at], each byte as SpelledAt
// allows (the forms may mix); 0 when none starts there.
size_t SecretAt(std::string_view text, size_t at, std::string_view secret) {
  size_t i = at;
  for (char c : secret) {
    const size_t n = SpelledAt(text, i, c);
    if (n == 0) return 0;
    i += n;
  }
  return i - at;
}

}  // namespace

std::string MaskSecrets(std::string_view text) {
  Registry& r = Secrets();
  std::lock_guard lock(r.mu);
  // Without a backslash or a '%' every secret can only appear as itself: plain searches (the path
  // of every request's requested_model, which must stay cheap).
  if (text.find_first_of("\\%") == std::string_view::npos) {
    std::string out(text);
    for (const std::string& s : r.secrets) {
      for (size_t at = out.find(s); at != std::string::npos; at = out.find(s, at + 10))
        out.replace(at, s.size(), "[redacted]");
    }
    return out;
  }
  // Else each secret may also be echoed JSON-escaped or percent-encoded (an upstream's error
  // body, a URL it logged): one pass, longest secret first at each position.
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    size_t n = 0;
    for (const std::string& s : r.secrets)
      if ((n = SecretAt(text, at, s)) != 0) break;
    if (n != 0) {
      out += "[redacted]";
      at += n;
    } else {
      out += text[at++];
    }
  }
  return out;
}

bool LooksLikeApiKey(std::string_view s) {
  if (s.size() < 23 || s.substr(0, 3) != "sk-") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

namespace {

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

}  // namespace

bool HasCredentialPrefix(std::string_view word) {
  for (std::string_view prefix : {"sk-", "sk_", "pk-", "rk-", "xai-", "gsk_", "AIza", "hf_", "ghp_",
                                  "github_pat_", "fw_", "eyJ"}) {
    if (word.starts_with(prefix) && word.size() >= prefix.size() + 8) return true;
  }
  return false;
}

bool LooksLikeCredentialWord(std::string_view word) {
  if (HasCredentialPrefix(word)) return true;
  size_t run = 0;
  bool alpha = false, digit = false;
  for (size_t i = 0; i <= word.size(); ++i) {
    const unsigned char c = i < word.size() ? static_cast<unsigned char>(word[i]) : 0;
    if (c != 0 && std::isalnum(c)) {
      ++run;
      alpha |= std::isalpha(c) != 0;
      digit |= std::isdigit(c) != 0;
      continue;
    }
    if (run >= 20 && alpha && digit) return true;
    run = 0;
    alpha = digit = false;
  }
  return false;
}

std::string MaskWords(std::string_view raw, bool (*looks_secret)(std::string_view word)) {
  // Registered keys first: the "[redacted]" this pass writes must not be masked again.
  const std::string masked = MaskSecrets(raw);
  const std::string_view text = masked;
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!IsWordChar(text[i])) {
      out += text[i++];
      continue;
    }
    size_t j = i;
    while (j < text.size() && IsWordChar(text[j])) ++j;
    const std::string_view word = text.substr(i, j - i);
    out += looks_secret(word) ? std::string_view("[redacted]") : word;
    i = j;
  }
  return out;
}

std::string MaskCredentialWords(std::string_view raw) {
  return MaskWords(raw, LooksLikeCredentialWord);
}

bool LooksLikeSecretName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.ends_with("tokens")) return false;
  for (std::string_view word : {"key", "token", "secret", "password", "authorization"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

std::string ClientNameForDisplay(std::string_view name) {
  if (LooksLikeApiKey(name)) return "[redacted]";
  return MaskSecrets(name);
}

std::string UrlForDisplay(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::string_view authority = url.substr(start, url.find_first_of("/?#", start) - start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start)) + "[redacted]" + std::string(url.substr(start + at));
}

}  // namespace triage
