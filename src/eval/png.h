#pragma once
// PNG pictures of the SVG plots, rendered by librsvg. The library is loaded when a PNG is first
// asked for (dlopen), so the triage binary does not depend on it (nor on cairo, pango, X11...)
// and the gateway stays small; only `--plot FILE.png` needs librsvg installed (Debian package
// librsvg2-2). Thread-safe.
#include <string>
#include <string_view>

#include "common/result.h"

namespace triage::eval {

// The shared library tried when TRIAGE_LIBRSVG is not set in the environment.
inline constexpr const char* kDefaultLibrsvg = "librsvg-2.so.2";

// Renders `svg` at `scale` times its intrinsic size on a white background and writes it to
// `path` as PNG. Errors (library not found or too old, SVG rejected, file not writable) name
// the cause; the library's location may be overridden with the TRIAGE_LIBRSVG variable.
// REQUIRES: scale > 0.
Status WritePng(std::string_view svg, const std::string& path, double scale = 2.0);

// Ok when WritePng can work here (the library loads and has what it needs), else its error.
Status PngSupport();

// True when `path` ends in `ext` (e.g. ".png"), ignoring ASCII case.
bool HasExtension(std::string_view path, std::string_view ext);
inline bool IsPngPath(std::string_view path) { return HasExtension(path, ".png"); }

}  // namespace triage::eval
