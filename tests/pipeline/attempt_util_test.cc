#include "pipeline/attempt_util.h"

#include <gtest/gtest.h>

namespace triage::pipeline {
namespace {

config::Deployment Dep() {
  config::Deployment d;
  d.name = "gemma-local";
  return d;
}

TEST(RetryableStatus, ServerErrorsAndRateLimitsOnly) {
  // 409 (conflict, e.g. a concurrent request on the same resource) and 425 (too early) say "try
  // again", not "your request is wrong".
  for (int s : {408, 409, 425, 429, 500, 502, 503, 504, 529}) EXPECT_TRUE(RetryableStatus(s)) << s;
  for (int s : {400, 401, 403, 404, 413, 422}) EXPECT_FALSE(RetryableStatus(s)) << s;
  // 401 / 403 / 404 fault the deployment (its key, its model): the plan goes on without it.
  for (int s : {401, 403, 404}) EXPECT_TRUE(DeploymentFault(s)) << s;
  for (int s : {400, 408, 413, 422, 429, 500}) EXPECT_FALSE(DeploymentFault(s)) << s;
}

TEST(UpstreamStatusError, UsesOpenAIErrorMessage) {
  Error e = UpstreamStatusError(
      Dep(), 500, R"({"error":{"message":"boom","type":"server_error","code":null}})");
  EXPECT_EQ(e.kind, ErrorKind::kUpstream);
  EXPECT_EQ(HttpStatus(e.kind), 502);
  EXPECT_EQ(e.upstream_status, 500);
  EXPECT_EQ(e.message, "deployment gemma-local: upstream returned 500: boom");
}

TEST(UpstreamStatusError, UsesAnthropicErrorMessage) {
  Error e = UpstreamStatusError(
      Dep(), 529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_NE(e.message.find("529: Overloaded"), std::string::npos);
}

TEST(UpstreamStatusError, MapsStatusClasses) {
  EXPECT_EQ(UpstreamStatusError(Dep(), 429, "").kind, ErrorKind::kRateLimit);
  EXPECT_EQ(UpstreamStatusError(Dep(), 400, "bad").kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(UpstreamStatusError(Dep(), 504, "").kind, ErrorKind::kUpstreamTimeout);
  // Our credentials failing upstream is the gateway's problem, not the client's.
  EXPECT_EQ(HttpStatus(UpstreamStatusError(Dep(), 401, "").kind), 502);
}

TEST(ContextOverflow, RecognisesEachServersWording) {
  const char* bodies[] = {
      // OpenAI
      R"({"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})",
      // vLLM (prompt plus max_tokens; and its decoder-prompt check)
      R"({"object":"error","message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.","type":"BadRequestError","param":null,"code":400})",
      R"({"object":"error","message":"The decoder prompt (length 9000) is longer than the maximum model length of 8192.","type":"BadRequestError","code":400})",
      // Anthropic
      R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}})",
      R"({"type":"error","error":{"type":"invalid_request_error","message":"input length and `max_tokens` exceed context limit: 197202 + 21333 > 200000, decrease input length or `max_tokens` and try again"}})",
      // llama.cpp server
      R"({"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":8192}})",
      // a code alone
      R"({"error":{"message":"too long","code":"context_window_exceeded"}})",
  };
  for (const char* b : bodies) {
    EXPECT_TRUE(ContextOverflow(400, b)) << b;
    Error e = UpstreamStatusError(Dep(), 400, b);
    EXPECT_EQ(e.code, "context_length_exceeded") << b;
    EXPECT_EQ(HttpStatus(e.kind), 400) << b;
  }
  EXPECT_TRUE(ContextOverflow(413, bodies[0]));
}

TEST(ContextOverflow, OtherRefusalsAreNot) {
  EXPECT_FALSE(ContextOverflow(400, R"({"error":{"message":"Invalid 'tools' format"}})"));
  EXPECT_FALSE(ContextOverflow(400, ""));
  // Only a refusal of the request says so: a 500 naming the window is the server's trouble.
  EXPECT_FALSE(ContextOverflow(500, R"({"error":{"message":"maximum context length"}})"));
  EXPECT_FALSE(ContextOverflow(429, R"({"error":{"code":"context_length_exceeded"}})"));
  EXPECT_EQ(UpstreamStatusError(Dep(), 400, R"({"error":{"message":"bad"}})").code,
            "upstream_rejected_request");
}

// Regression: any 400 that merely mentioned "context window" or "context length" anywhere in its
// body counted as a context overflow: a validation error quoting the client's prompt (vLLM puts
// pydantic's input_value in its message) fell back to another model and reached an OpenAI client
// as `context_length_exceeded`.
TEST(ContextOverflow, MentionsOfTheWindowAreNotAnOverflow) {
  const char* bodies[] = {
      // vLLM: a pydantic validation error quoting the message it refused.
      R"({"object":"error","message":"1 validation error for ChatCompletionRequest\nmessages.1.tool_call_id\n  Field required [type=missing, input_value={'role': 'tool', 'content': 'The context window of Llama 3 is 8k; its context length is 8192.'}, input_type=dict]","type":"BadRequestError","param":null,"code":400})",
      // A FastAPI 422 (llama-cpp-python and others): the quoted input is not the server's word.
      R"({"detail":[{"type":"missing","loc":["body","messages",1,"tool_call_id"],"msg":"Field required","input":{"role":"tool","content":"This model's maximum context length is 8192 tokens."}}]})",
      // A setting named after the window.
      R"({"error":"option \"num_ctx\" (the context window size) must be a positive integer"})",
      R"({"error":{"message":"context_length: Extra inputs are not permitted","type":"invalid_request_error"}})",
  };
  for (const char* b : bodies) {
    EXPECT_FALSE(ContextOverflow(400, b)) << b;
    EXPECT_FALSE(ContextOverflow(422, b)) << b;
    EXPECT_EQ(UpstreamStatusError(Dep(), 400, b).code, "upstream_rejected_request") << b;
  }
  // The wordings of other servers still count.
  const char* overflows[] = {
      // OpenAI Responses API
      R"({"error":{"message":"Your input exceeds the context window of this model. Please adjust your input and try again.","type":"invalid_request_error","param":"input","code":null}})",
      // llama-cpp-python
      R"({"error":{"message":"Requested tokens (9000) exceed context window of 8192","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})",
      // Mistral (its code is a number in a string)
      R"({"object":"error","message":"Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length","type":"invalid_request_message_error","param":null,"code":"3051"})",
      // Ollama
      R"({"error":"the input length exceeds the context length"})",
      // LM Studio
      R"({"error":"Trying to keep the first 9000 tokens when context the overflows. However, the model is loaded with context length of only 4096 tokens, which is not enough."})",
      // FastAPI's HTTPException
      R"({"detail":"This model's maximum context length is 4096 tokens."})",
      // Not JSON
      "This model's maximum context length is 4096 tokens.",
  };
  for (const char* b : overflows) {
    EXPECT_TRUE(ContextOverflow(400, b)) << b;
    EXPECT_EQ(UpstreamStatusError(Dep(), 400, b).code, "context_length_exceeded") << b;
  }
}

// Regression: a 413 saying the prompt overflows the window reached the client as 413, though
// docs/resilience.md and the README promise 400 `context_length_exceeded` for an overflow.
TEST(UpstreamStatusError, ContextOverflowIsA400WhateverTheUpstreamStatus) {
  const char* body = R"({"error":{"message":"This model's maximum context length is 8192 tokens.",)"
                     R"("type":"invalid_request_error","code":"context_length_exceeded"}})";
  for (int status : {400, 413, 422}) {
    Error e = UpstreamStatusError(Dep(), status, body);
    EXPECT_EQ(e.code, "context_length_exceeded") << status;
    EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest) << status;
    EXPECT_EQ(HttpStatus(e.kind), 400) << status;
    EXPECT_EQ(e.upstream_status, status);
  }
  // Another 413 keeps its status.
  EXPECT_EQ(HttpStatus(UpstreamStatusError(Dep(), 413, R"({"error":{"message":"too big"}})").kind),
            413);
}

TEST(UpstreamStatusError, NonJsonBodyIsQuotedAndTruncated) {
  std::string body(5000, 'x');
  Error e = UpstreamStatusError(Dep(), 502, body);
  EXPECT_LT(e.message.size(), 400u);
  EXPECT_NE(e.message.find("502: xxx"), std::string::npos);
}

// OpenAI clients branch on error.code (the openai SDK's APIError.code): a request the upstream
// refused keeps the upstream's own reason there; triage's code stays in `code` for logs.
TEST(UpstreamStatusError, KeepsTheUpstreamsOpenAICodeForRequestFaults) {
  Error e = UpstreamStatusError(
      Dep(), 400,
      R"({"error":{"message":"This model's maximum context length is 128000 tokens.",)"
      R"("type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(e.code, "context_length_exceeded");
  EXPECT_EQ(e.upstream_status, 400);
  Error v = UpstreamStatusError(
      Dep(), 422,
      R"({"error":{"message":"bad value","type":"invalid_request_error","code":"invalid_value"}})");
  EXPECT_EQ(v.code, "invalid_value");
  Error big = UpstreamStatusError(
      Dep(), 413,
      R"({"error":{"message":"too big","type":"invalid_request_error","code":"request_too_large"}})");
  EXPECT_EQ(big.kind, ErrorKind::kRequestTooLarge);
  EXPECT_EQ(big.code, "request_too_large");
}

TEST(UpstreamStatusError, ContextOverflowInOtherWordsIsContextLengthExceeded) {
  // Anthropic.
  EXPECT_EQ(
      UpstreamStatusError(Dep(), 400,
                          R"({"type":"error","error":{"type":"invalid_request_error",)"
                          R"("message":"prompt is too long: 210183 tokens > 200000 maximum"}})")
          .code,
      "context_length_exceeded");
  // vLLM (current shape: the status as an integer code), and the older top-level shape.
  EXPECT_EQ(UpstreamStatusError(Dep(), 400,
                                R"({"error":{"message":"This model's maximum context length is )"
                                R"(4096 tokens. However, you requested 5000 tokens.",)"
                                R"("type":"BadRequestError","param":null,"code":400}})")
                .code,
            "context_length_exceeded");
  Error old = UpstreamStatusError(
      Dep(), 400,
      R"({"object":"error","message":"This model's maximum context length is 2048 tokens.",)"
      R"("type":"BadRequestError","param":null,"code":400})");
  EXPECT_EQ(old.code, "context_length_exceeded");
  EXPECT_NE(old.message.find("400: This model's maximum context length"), std::string::npos);
  // llama.cpp.
  EXPECT_EQ(UpstreamStatusError(Dep(), 400,
                                R"({"error":{"code":400,"message":"request (4476 tokens) exceeds )"
                                R"x(the available context size (4096 tokens)",)x"
                                R"("type":"exceed_context_size_error"}})")
                .code,
            "context_length_exceeded");
  // Any other refusal without a string code: triage's code.
  EXPECT_EQ(UpstreamStatusError(Dep(), 400, R"({"error":{"message":"bad","code":400}})").code,
            "upstream_rejected_request");
  EXPECT_EQ(UpstreamStatusError(Dep(), 400, "not json").code, "upstream_rejected_request");
  EXPECT_EQ(UpstreamStatusError(Dep(), 413, "").code, "upstream_request_too_large");
}

TEST(UpstreamStatusError, NoUpstreamCodeForDeploymentFaultsOrServerErrors) {
  // 401/403: the gateway's key; 404: the deployment's model. The client must not read
  // invalid_api_key or model_not_found as about its own key or model.
  const std::string body =
      R"({"error":{"message":"Incorrect API key","type":"x","code":"invalid_api_key"}})";
  EXPECT_EQ(UpstreamStatusError(Dep(), 401, body).code, "upstream_auth_failed");
  EXPECT_EQ(UpstreamStatusError(Dep(), 403, body).code, "upstream_auth_failed");
  EXPECT_EQ(UpstreamStatusError(Dep(), 404, body).code, "upstream_error");
  EXPECT_EQ(UpstreamStatusError(Dep(), 429, body).code, "upstream_rate_limited");
  EXPECT_EQ(UpstreamStatusError(Dep(), 500, body).code, "upstream_error");
}

TEST(UpstreamStatusError, UpstreamCodeThatLooksLikeASecretOrIsNotAnIdentifierIsNotKept) {
  for (const std::string& code : {std::string("sk-proj-SECRET123"), std::string("has space"),
                                  std::string(80, 'a'), std::string("")}) {
    Error e =
        UpstreamStatusError(Dep(), 400, R"({"error":{"message":"m","code":")" + code + R"("}})");
    EXPECT_EQ(e.code, "upstream_rejected_request") << code;
  }
}

TEST(Redact, MasksKeyLikeWords) {
  EXPECT_EQ(Redact("Incorrect API key provided: sk-abc123XYZ. Check it."),
            "Incorrect API key provided: [redacted]. Check it.");
  EXPECT_EQ(Redact("token a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7 leaked"), "token [redacted] leaked");
  EXPECT_EQ(Redact("model gemma-4-31b is overloaded"), "model gemma-4-31b is overloaded");
}

TEST(Redact, SecretNeverSurvivesInUpstreamError) {
  Error e = UpstreamStatusError(
      Dep(), 401, R"({"error":{"message":"Incorrect API key provided: sk-proj-SECRET123"}})");
  EXPECT_EQ(e.message.find("SECRET123"), std::string::npos);
}

TEST(EstimateTokens, RoundsUp) {
  EXPECT_EQ(EstimateTokens(0), 0);
  EXPECT_EQ(EstimateTokens(1), 1);
  EXPECT_EQ(EstimateTokens(8), 2);
  EXPECT_EQ(EstimateTokens(9), 3);
}

TEST(AnswerStarted, A2xxHeadThatIsNoHtmlPage) {
  upstream::Head h;
  EXPECT_FALSE(AnswerStarted(h)) << "no head: connect failure, timeout before the head";
  for (int s : {400, 404, 429, 500, 503, 529}) {
    h.status = s;
    EXPECT_FALSE(AnswerStarted(h)) << s;
  }
  h.status = 200;
  for (const char* type : {"application/json", "text/event-stream; charset=utf-8", ""}) {
    h.content_type = type;
    EXPECT_TRUE(AnswerStarted(h)) << type;
  }
  h.content_type = "Text/HTML; charset=utf-8";  // a proxy's page, not the API
  EXPECT_FALSE(AnswerStarted(h));
}

TEST(CompleteUsage, EstimatesOnlyWhatWasNotReported) {
  // Nothing reported: the prompt (ceil(10 / 4) = 3) and the text received (ceil(9 / 4) = 3).
  BilledUsage b = CompleteUsage({}, false, 10, 9);
  EXPECT_EQ(b.usage, (dialect::TokenUsage{3, 3, 0, 0}));
  EXPECT_TRUE(b.estimated);
  // Nothing generated yet: the prompt alone.
  b = CompleteUsage({}, false, 10, 0);
  EXPECT_EQ(b.usage, (dialect::TokenUsage{3, 0, 0, 0}));
  EXPECT_TRUE(b.estimated);
  // Anthropic's message_start (input 1234, a running output of 1) then 400 characters, cut:
  // the reported input is kept, the output raised to the text's estimate.
  b = CompleteUsage({1234, 1, 0, 0}, false, 10, 400);
  EXPECT_EQ(b.usage, (dialect::TokenUsage{1234, 100, 0, 0}));
  EXPECT_TRUE(b.estimated);
  // A complete report is kept whole.
  b = CompleteUsage({1234, 7, 34, 0}, true, 10, 400);
  EXPECT_EQ(b.usage, (dialect::TokenUsage{1234, 7, 34, 0}));
  EXPECT_FALSE(b.estimated);
  // A running count above the estimate is kept.
  b = CompleteUsage({50, 500, 0, 0}, false, 10, 400);
  EXPECT_EQ(b.usage, (dialect::TokenUsage{50, 500, 0, 0}));
  EXPECT_FALSE(b.estimated);
}

}  // namespace
}  // namespace triage::pipeline
