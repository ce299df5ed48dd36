#include "eval/dataset.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "dialect/types.h"

namespace triage::eval {
namespace {

Error LineError(const std::string& path, int line, const std::string& why) {
  return Error::Make(ErrorKind::kInvalidRequest, "bad_outcomes",
                     path + ":" + std::to_string(line) + ": " + why);
}

// Text of an OpenAI-style content: a string or a list of parts (null: none). Parts that are
// not objects, or of types without a string `text`, add nothing.
std::string ContentText(const nlohmann::json& c, bool* image) {
  if (c.is_string()) return c.get<std::string>();
  std::string out;
  if (!c.is_array()) return out;
  for (const auto& p : c) {
    if (!p.is_object()) continue;
    auto t = p.find("type");
    if (t != p.end() && t->is_string() && (*t == "image_url" || *t == "image")) *image = true;
    auto x = p.find("text");
    if (x != p.end() && x->is_string()) {
      if (!out.empty()) out += "\n";
      out += x->get<std::string>();
    }
  }
  return out;
}

// Adds a message's text to the prompt text as the gateway's parsers do (dialect/openai.cc,
// anthropic.cc): a string content once, each text part of a list on its own, and nothing for a
// message without text (null content beside tool calls, a list of images alone), so that `eval`
// and `calibrate` score a conversation as the live router does. Until 2026-12-07 such a message
// added an empty text, one "\n" the gateway did not read.
void AppendMessageText(const nlohmann::json* c, bool system, Query* q) {
  if (!c) return;
  if (c->is_string()) {
    dialect::AppendPromptText(&q->prompt_text, &q->system_bytes, c->get_ref<const std::string&>(),
                              system);
    return;
  }
  if (!c->is_array()) return;
  for (const auto& p : *c) {
    if (!p.is_object()) continue;
    auto x = p.find("text");
    if (x != p.end() && x->is_string())
      dialect::AppendPromptText(&q->prompt_text, &q->system_bytes, x->get_ref<const std::string&>(),
                                system);
  }
}

// A JSON value for an error message: its dump, cut to 40 bytes.
std::string Shown(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// Why nlohmann refused a line: "column 45: syntax error ... ; last read: '...'" without the
// exception's "[json.exception.parse_error.101] parse error at line 1, " prefix, cut to 160
// bytes (the last token read may be a long string), other than printable ASCII shown as '?' (the
// offending byte may be invalid UTF-8 or a control character).
std::string ParseWhy(const std::string& what) {
  std::string s = what;
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  if (auto at = s.find("parse error at line 1, "); at != std::string::npos)
    s = s.substr(at + 23);
  else if (auto br = s.find("] "); br != std::string::npos)
    s = s.substr(br + 2);
  return s.size() > 160 ? s.substr(0, 157) + "..." : s;
}

}  // namespace

routing::RouteInput Query::Input() const {
  routing::RouteInput in;
  in.prompt_text = prompt_text;
  in.last_user_text = last_user_text;
  in.prev_user_text = prev_user_text;
  in.message_count = message_count;
  in.system_messages = system_messages;
  in.system_bytes = system_bytes;
  in.has_tools = has_tools;
  in.has_image = has_image;
  return in;
}

Status ReadOutcomes(const std::string& path, const std::string& cheap, const std::string& strong,
                    Dataset* out) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return Error::Make(ErrorKind::kInvalidRequest, "bad_outcomes",
                       path + ": is a directory, not an outcomes file (one JSON object per line)");
  std::ifstream f(path);
  if (!f)  // errno says why: missing, a path through a file, permission
    return Error::Make(ErrorKind::kNotFound, "no_such_file",
                       "cannot open outcomes file " + path + ": " + std::strerror(errno));
  // Lines without a `benchmark` field are grouped under the file's name (mt-bench.jsonl ->
  // "mt-bench"), so each file of a multi-file run keeps its own report.
  const std::string stem = std::filesystem::path(path).stem().string();
  std::string line;
  int n = 0, blank = 0;
  const size_t kept_before = out->queries.size();
  const int skipped_before = out->skipped;
  // First line of each id in this file, for the duplicate-id note.
  std::unordered_map<std::string, int> first_line;
  while (std::getline(f, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      ++blank;
      continue;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      return LineError(path, n, "malformed JSON (" + ParseWhy(e.what()) + ")");
    }
    if (!j.is_object()) return LineError(path, n, "expected a JSON object");
    auto msgs = j.find("messages");
    if (msgs == j.end() || !msgs->is_array() || msgs->empty())
      return LineError(path, n, "missing or empty 'messages' list");
    auto outs = j.find("outcomes");
    if (outs == j.end() || !outs->is_object())
      return LineError(path, n, "missing 'outcomes' object");
    Query q;
    // Read only as strings after a type check: nlohmann's value()/get() throw on another type.
    if (auto id = j.find("id"); id == j.end()) {
      q.id = path + ":" + std::to_string(n);
    } else if (id->is_string()) {
      q.id = id->get<std::string>();
    } else {
      return LineError(path, n, "'id' must be a string, got " + std::string(id->type_name()));
    }
    // A null benchmark is an absent one (a generated file may write every key).
    if (auto b = j.find("benchmark"); b == j.end() || b->is_null()) {
      q.benchmark = stem;
    } else if (b->is_string()) {
      q.benchmark = b->get<std::string>();
    } else {
      return LineError(path, n, "'benchmark' must be a string, got " + std::string(b->type_name()));
    }
    // The same for a category: null or absent is "(none)" in --by-category.
    if (auto c = j.find("category"); c != j.end() && c->is_string()) {
      q.category = c->get<std::string>();
    } else if (c != j.end() && !c->is_null()) {
      return LineError(path, n, "'category' must be a string, got " + std::string(c->type_name()));
    }
    for (const auto& m : *msgs) {
      if (!m.is_object()) return LineError(path, n, "each message must be an object");
      const bool calls = m.contains("tool_calls") || m.contains("function_call");
      if (!m.contains("content") && !calls)
        return LineError(path, n, "each message needs a 'content' (or 'tool_calls')");
      std::string role;
      if (auto r = m.find("role"); r != m.end()) {
        if (!r->is_string())
          return LineError(
              path, n, "a message's 'role' must be a string, got " + std::string(r->type_name()));
        role = r->get<std::string>();
      }
      std::string text;
      const nlohmann::json* content = nullptr;
      if (auto c = m.find("content"); c != m.end()) {
        content = &*c;
        if (!c->is_string() && !c->is_null() && !c->is_array())
          return LineError(path, n,
                           "a message's 'content' must be a string, null or a list of parts, got " +
                               std::string(c->type_name()));
        text = ContentText(*c, &q.has_image);
      }
      const bool system = role == "system" || role == "developer";
      AppendMessageText(content, system, &q);
      q.system_messages += system;
      if (role == "user" && !text.empty()) {
        q.prev_user_text = std::move(q.last_user_text);
        q.last_user_text = text;
      }
      // As the gateway reads it (dialect/openai.cc): a non-null tool_calls or function_call, or
      // a tool or function turn.
      const auto set = [&](const char* k) {
        auto x = m.find(k);
        return x != m.end() && !x->is_null();
      };
      if (set("tool_calls") || set("function_call") || role == "tool" || role == "function")
        q.has_tools = true;
      ++q.message_count;
    }
    // Declared tools: a non-empty list, as the gateway reads `tools` and `functions`.
    for (const char* k : {"tools", "functions"})
      if (auto x = j.find(k); x != j.end() && x->is_array() && !x->empty()) q.has_tools = true;
    for (const auto& [model, o] : outs->items())
      if (o.is_object() && o.contains("score") && o["score"].is_number()) ++out->models[model];
    bool missing = false;
    for (const auto* model : {&cheap, &strong}) {
      auto o = outs->find(*model);
      if (o == outs->end() || o->is_null() ||
          (o->is_object() && o->contains("score") && (*o)["score"].is_null())) {
        missing = true;
        continue;
      }
      if (!o->is_object())
        return LineError(
            path, n,
            "outcome for " + *model + " must be an object like {\"score\": 0.7}, got " + Shown(*o));
      if (!o->contains("score") || !(*o)["score"].is_number())
        return LineError(path, n,
                         "outcome for " + *model + " needs a numeric 'score' in [0,1], got " +
                             (o->contains("score") ? Shown((*o)["score"]) : "none"));
      double s = (*o)["score"].get<double>();
      if (!(s >= 0 && s <= 1))
        return LineError(
            path, n,
            "score " + Shown((*o)["score"]) + " for " + *model + " is outside [0,1]" +
                (s > 1 && s <= 10 ? " (a judge's 1-10 score must be divided by 10)" : ""));
      (model == &cheap ? q.cheap : q.strong) = s;
      if (auto c = o->find("cost_usd"); c != o->end() && !c->is_null()) {
        if (!c->is_number() || !(c->get<double>() >= 0))
          return LineError(path, n, "cost_usd for " + *model + " must be a number >= 0");
        (model == &cheap ? q.cheap_cost : q.strong_cost) = c->get<double>();
      }
      if (auto r = o->find("response"); r != o->end() && r->is_string()) {
        if (model == &cheap)
          q.cheap_response = r->get<std::string>();
        else
          q.strong_response_chars = r->get_ref<const std::string&>().size();
      }
    }
    if (j.contains("id")) {
      auto [it, fresh] = first_line.emplace(q.id, n);
      if (!fresh && ++out->duplicate_ids == 1)
        out->first_duplicate = path + ": id " + Shown(q.id) + " on lines " +
                               std::to_string(it->second) + " and " + std::to_string(n);
    }
    if (missing) {
      ++out->skipped;
      continue;
    }
    out->queries.push_back(std::move(q));
  }
  out->files.push_back({path, out->queries.size() - kept_before, out->skipped - skipped_before});
  if (f.bad())
    return Error::Make(ErrorKind::kInvalidRequest, "bad_outcomes", "cannot read " + path);
  // Nothing to read is a mistake (a wrong path, /dev/null), not a dataset with no queries.
  if (n == blank)
    return Error::Make(ErrorKind::kInvalidRequest, "bad_outcomes",
                       path +
                           (n == 0 ? ": the file is empty"
                                   : ": has only blank lines (" + std::to_string(n) + ")") +
                           "; expected one JSON object per line");
  return Ok{};
}

void RenameOverallBenchmark(Dataset* ds) {
  std::set<std::string> names;
  for (const auto& q : ds->queries) names.insert(q.benchmark);
  if (!names.contains(kOverall)) return;
  std::string to = std::string(kOverall) + "-benchmark";
  for (int k = 2; names.contains(to); ++k)
    to = std::string(kOverall) + "-benchmark-" + std::to_string(k);
  for (auto& q : ds->queries) {
    if (q.benchmark != kOverall) continue;
    q.benchmark = to;
    ++ds->overall_renamed;
  }
  ds->overall_renamed_to = to;
}

std::string DescribeModels(const Dataset& ds) {
  if (ds.models.empty()) return "no model has a numeric score";
  std::vector<std::pair<std::string, int>> v(ds.models.begin(), ds.models.end());
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [model, n] : v) {
    if (!out.empty()) out += ", ";
    out += model + " (" + std::to_string(n) + (n == 1 ? " query)" : " queries)");
  }
  return out;
}

}  // namespace triage::eval
