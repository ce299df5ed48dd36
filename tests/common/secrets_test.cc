// MaskSecrets: registered keys are masked by value wherever they appear.
#include "common/secrets.h"

#include <gtest/gtest.h>

namespace triage {
namespace {

TEST(MaskSecrets, MasksEveryOccurrenceOfARegisteredKey) {
  EXPECT_EQ(MaskSecrets("token vllm-token-hunter2 here"), "token vllm-token-hunter2 here");
  RegisterSecret("vllm-token-hunter2");
  EXPECT_EQ(MaskSecrets("token vllm-token-hunter2 here, again:vllm-token-hunter2"),
            "token [redacted] here, again:[redacted]");
  EXPECT_EQ(MaskSecrets("no key in this text"), "no key in this text");
}

TEST(MaskSecrets, LongerKeysFirstAndShortOnesIgnored) {
  RegisterSecret("abcd1234");
  RegisterSecret("abcd1234-and-more");  // contains the first: masked whole, not in part
  EXPECT_EQ(MaskSecrets("k=abcd1234-and-more;j=abcd1234"), "k=[redacted];j=[redacted]");
  RegisterSecret("abc");  // below kMinSecretChars: would mask ordinary words
  EXPECT_EQ(MaskSecrets("abc"), "abc");
  RegisterSecret("");
  EXPECT_EQ(MaskSecrets(""), "");
}

TEST(MaskSecrets, AKeyThatIsPartOfTheMaskDoesNotLoop) {
  RegisterSecret("redacted");
  EXPECT_EQ(MaskSecrets("x redacted y [redacted]"), "x [redacted] y [[redacted]]");
}

// Regression: a key echoed JSON-escaped or percent-encoded (an upstream's error body, a URL it
// logged) was not recognised and passed unmasked.
TEST(MaskSecrets, MasksJsonEscapedAndPercentEncodedEchoes) {
  RegisterSecret("b64/Key+Part=");
  EXPECT_EQ(MaskSecrets(R"({"detail":"bad b64\/Key\u002bPart\u003D!"})"),
            R"({"detail":"bad [redacted]!"})");
  EXPECT_EQ(MaskSecrets("GET /v1?key=b64%2FKey%2bPart%3D&x=1"), "GET /v1?key=[redacted]&x=1");
  // Forms mixed within one echo, and any byte escaped (\u0062 is 'b').
  EXPECT_EQ(MaskSecrets(R"(\u0062\u0036\u0034%2FKey\u002BPart=)"), "[redacted]");
  EXPECT_EQ(MaskSecrets("plain b64/Key+Part= and 100%"), "plain [redacted] and 100%");
  // Escapes that spell something else are left as they are.
  EXPECT_EQ(MaskSecrets(R"(b64\/Key\u002cPart= 50% b64%2GKey)"),
            R"(b64\/Key\u002cPart= 50% b64%2GKey)");
  EXPECT_EQ(MaskSecrets("b64%2FKey+Par"), "b64%2FKey+Par");  // cut short: not the key
  EXPECT_EQ(MaskSecrets("\\"), "\\");
  EXPECT_EQ(MaskSecrets("%"), "%");
}

// extra_body members that may carry a credential; counts of tokens and ordinary options are not.
TEST(LooksLikeSecretName, KeyTokenSecretPasswordAuthorizationAnyCase) {
  for (const char* name : {"api_key", "X-Api-Key", "key", "access_token", "TOKEN", "client_secret",
                           "Password", "db_password", "authorization", "Authorization"})
    EXPECT_TRUE(LooksLikeSecretName(name)) << name;
  for (const char* name : {"top_k", "min_tokens", "skip_special_tokens", "max_new_tokens",
                           "keep_alive", "chat_template_kwargs", "temperature", ""})
    EXPECT_FALSE(LooksLikeSecretName(name)) << name;
}

// A key pasted into `model` is not echoed, logged or stored; model names are left alone.
TEST(ClientNameForDisplay, RedactsNamesShapedLikeApiKeys) {
  EXPECT_TRUE(LooksLikeApiKey("sk-proj-abcdefghijklmnopqrstuvwxyz012345"));
  EXPECT_TRUE(LooksLikeApiKey("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv_wx-yz"));
  EXPECT_FALSE(LooksLikeApiKey("sk-short"));
  EXPECT_FALSE(LooksLikeApiKey("gpt-4o-mini-2024-07-18-abcdefgh"));
  EXPECT_FALSE(LooksLikeApiKey("sk-this is a sentence, not a key"));
  EXPECT_EQ(ClientNameForDisplay("sk-proj-abcdefghijklmnopqrstuvwxyz012345"), "[redacted]");
  EXPECT_EQ(ClientNameForDisplay("claude-opus-4.7"), "claude-opus-4.7");
  RegisterSecret("my-vllm-token-42");  // (another test registers "redacted": not compared whole)
  const std::string shown = ClientNameForDisplay("my-vllm-token-42");
  EXPECT_EQ(shown.find("vllm-token"), std::string::npos) << shown;
  EXPECT_NE(shown.find("redacted]"), std::string::npos) << shown;
}

// A URL in an error or `triage check` output: the userinfo (a password, as in a database URL)
// is masked, the rest left as written so the operator recognises it.
TEST(UrlForDisplay, MasksTheUserinfo) {
  EXPECT_EQ(UrlForDisplay("postgres://triage:hunter2pw@db.internal:5432/triage"),
            "postgres://[redacted]@db.internal:5432/triage");
  EXPECT_EQ(UrlForDisplay("https://hunter2token@host/v1?x=1"), "https://[redacted]@host/v1?x=1");
  EXPECT_EQ(UrlForDisplay("sqlite://ledger.db?synchronous=full"),
            "sqlite://ledger.db?synchronous=full");
  EXPECT_EQ(UrlForDisplay("sqlite://dir/@file.db"), "sqlite://dir/@file.db");  // '@' in the path
  EXPECT_EQ(UrlForDisplay("user:pw@host"), "[redacted]@host");                 // no scheme
  EXPECT_EQ(UrlForDisplay("sqlite::memory:"), "sqlite::memory:");
  EXPECT_EQ(UrlForDisplay(""), "");
}

// Config errors quote what the file says; a key pasted into the wrong field must not be echoed,
// while names and ordinary values stay readable.
TEST(MaskCredentialWords, MasksKeyShapedWordsOnly) {
  EXPECT_EQ(MaskCredentialWords("got 'sk-proj-AbCdEfGhIjKlMnOpQrStUv' here"),
            "got '[redacted]' here");
  EXPECT_EQ(MaskCredentialWords("a.b.AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW: unknown key"),
            "a.b.[redacted]: unknown key");
  EXPECT_EQ(MaskCredentialWords("x 4f6c2a9e8b7d1c3e5a0f9b8c7d6e5f4a3b2c1d0e y"), "x [redacted] y");
  EXPECT_EQ(MaskCredentialWords("https://gsk_abcdefgh12345678.example/"),
            "https://[redacted].example/");
  for (std::string_view kept :
       {"unknown catalog id 'Qwen3-Coder-480B-A35B-Instruct'", "must be in [1, 1099511627776]",
        "gemma-4-26b-a4b, claude-sonnet-4.6", "tiers[10].deployments[3].health_check_path",
        "sk-short", "abcdefghijklmnopqrstuvwxyzABCDEF"}) {
    EXPECT_EQ(MaskCredentialWords(kept), kept);
  }
}

}  // namespace
}  // namespace triage
