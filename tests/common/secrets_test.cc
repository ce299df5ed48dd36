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

}  // namespace
}  // namespace triage
