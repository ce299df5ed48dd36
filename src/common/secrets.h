#pragma once
// The process's known secrets (the upstream API keys read from the environment), so that text
// headed for a client, a log line, a metric or the ledger can be scrubbed of them by value, not
// only by shape. Thread-safe: keys are registered when providers are built (start, SIGHUP) and
// read on error paths.
#include <string>
#include <string_view>

namespace triage {

// Remembers `secret` for MaskSecrets. Secrets shorter than kMinSecretChars are ignored (they
// would mask ordinary words); registering the same one twice is harmless. Never forgotten:
// a key replaced by a reload stays masked.
inline constexpr size_t kMinSecretChars = 4;
void RegisterSecret(std::string_view secret);

// `text` with every occurrence of a registered secret replaced by "[redacted]", also where it is
// spelled with JSON escapes ("\/", "\u002b") or percent-encoded ("%2F", "%2b"), as an upstream
// may echo it in an error body or a URL. Costs one scan for a backslash or '%', then plain
// searches, when `text` has neither.
std::string MaskSecrets(std::string_view text);

// True for a name shaped like a provider API key: "sk-" (OpenAI's "sk-", "sk-proj-",
// Anthropic's "sk-ant-") followed by at least 20 chars, all of them letters, digits, '-' or
// '_'. Model names do not look like that.
bool LooksLikeApiKey(std::string_view s);

// True for a word shaped like a credential rather than a name: it starts with a provider key
// prefix followed by 8 or more characters ("sk-", "sk_", "pk-", "rk-", "xai-", "gsk_", "AIza",
// "hf_", "ghp_", "github_pat_", "fw_", a JWT's "eyJ"), or it holds 20 or more letters and digits
// in a row, both kinds among them (a 32-character Mistral key, a 64-character hex token). Names
// have shorter runs: "Qwen3-Coder-480B-A35B-Instruct", "gemma-4-26b-a4b".
bool LooksLikeCredentialWord(std::string_view word);

// The first rule of LooksLikeCredentialWord alone: a provider's key prefix ("sk-", "AIza", ...)
// and 8 or more characters after it. Unlike a long run of letters and digits, which a model's
// name can be ("qwen25coder32binstruct"), nothing else is written that way.
bool HasCredentialPrefix(std::string_view word);

// MaskSecrets(`text`), then every word (a run of letters, digits, '-' and '_') that
// LooksLikeCredentialWord replaced by "[redacted]". For messages that quote what a user wrote
// (config errors), where a key pasted into the wrong field would otherwise be echoed to stderr and
// logs.
std::string MaskCredentialWords(std::string_view text);

// MaskSecrets, then every word (a run of letters, digits, '-' and '_') for which `looks_secret`
// is true replaced by "[redacted]". The mechanism under MaskCredentialWords and the pipeline's
// Redact, which differ only in what they take for a key.
std::string MaskWords(std::string_view text, bool (*looks_secret)(std::string_view word));

// True for a member name that may hold a credential: it contains (any case) "key", "token",
// "secret", "password" or "authorization" ("api_key", "X-Api-Key", "access_token",
// "client_secret"). A name ending in "tokens" counts tokens ("min_tokens",
// "skip_special_tokens") and is not one. Used for a deployment's extra_body.
bool LooksLikeSecretName(std::string_view name);

// A name the client sent (its `model`), as errors, logs and the ledger may show it:
// "[redacted]" when it looks like an API key (a key pasted into the wrong field), else
// MaskSecrets of it.
std::string ClientNameForDisplay(std::string_view name);

// `url` as an error or `triage check` may show it: the userinfo of its authority
// ("user:password@", as in a database URL) replaced by "[redacted]", the rest as written, so the
// operator still recognises the URL. An '@' after the authority (in the path) is kept.
std::string UrlForDisplay(std::string_view url);

}  // namespace triage
