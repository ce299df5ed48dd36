#pragma once
// Fuzz check shared by the request targets: the upstream bodies written straight from the
// client's tree (OpenAIRequestBody / AnthropicRequestBody) must be the bytes the tree path
// wrote before (To...Request, then dump()), with the same dropped names; abort otherwise.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dialect/translate.h"

inline void CheckRequestBodies(const triage::dialect::ChatRequest& req) {
  namespace d = triage::dialect;
  using nlohmann::json;
  for (const char* model : {"m", "up\"stream/\xc3\xa9"}) {
    std::vector<std::string> old_dropped, new_dropped;
    json tree = d::ToOpenAIRequest(req, model, &old_dropped);
    if (req.stream) tree["stream_options"]["include_usage"] = true;
    const std::string old_openai = tree.dump(-1, ' ', false, json::error_handler_t::replace);
    const std::string new_openai = d::OpenAIRequestBody(req, model, &new_dropped);
    if (old_openai != new_openai || old_dropped != new_dropped) {
      std::fprintf(stderr, "OpenAI body differs:\nold %s\nnew %s\n", old_openai.c_str(),
                   new_openai.c_str());
      std::abort();
    }
    old_dropped.clear();
    new_dropped.clear();
    const std::string old_anthropic = d::ToAnthropicRequest(req, model, &old_dropped)
                                          .dump(-1, ' ', false, json::error_handler_t::replace);
    const std::string new_anthropic = d::AnthropicRequestBody(req, model, &new_dropped);
    if (old_anthropic != new_anthropic || old_dropped != new_dropped) {
      std::fprintf(stderr, "Anthropic body differs:\nold %s\nnew %s\n", old_anthropic.c_str(),
                   new_anthropic.c_str());
      std::abort();
    }
  }
}
