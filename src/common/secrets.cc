#include "common/secrets.h"

#include <algorithm>
#include <mutex>
#include <vector>

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

std::string MaskSecrets(std::string_view text) {
  std::string out(text);
  Registry& r = Secrets();
  std::lock_guard lock(r.mu);
  for (const std::string& s : r.secrets) {
    for (size_t at = out.find(s); at != std::string::npos; at = out.find(s, at + 10))
      out.replace(at, s.size(), "[redacted]");
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
