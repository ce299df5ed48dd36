// libFuzzer target: the normal form of a request path that routes are matched on
// (server::NormalPath). Whatever comes in: a path comes out as a path ("/" first, no empty, "."
// or ".." segment but a trailing slash), no escape of an unreserved character or with lowercase
// hex is left, and normalising again changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/request_head.h"

namespace {

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string storage;
  bool malformed = false;
  const std::string out(triage::server::NormalPath(in, &storage, &malformed));
  if (in.empty() || in.front() != '/') {
    if (out != in || malformed) std::abort();
    return 0;
  }
  if (out.empty() || out.front() != '/') std::abort();
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i] == '/' && out[i + 1] == '/') std::abort();
  for (std::string_view seg : {"/./", "/../"})
    if (out.find(seg) != std::string::npos) std::abort();
  if (out.ends_with("/.") || out.ends_with("/..")) std::abort();
  if (!malformed) {
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] != '%') continue;
      if (i + 2 >= out.size() || !IsHex(out[i + 1]) || !IsHex(out[i + 2])) std::abort();
      const int v = std::stoi(std::string(out.substr(i + 1, 2)), nullptr, 16);
      const char c = static_cast<char>(v);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_' || c == '~')
        std::abort();
    }
    std::string again_storage;
    bool again_malformed = false;
    if (triage::server::NormalPath(out, &again_storage, &again_malformed) != out || again_malformed)
      std::abort();
  }
  return 0;
}
