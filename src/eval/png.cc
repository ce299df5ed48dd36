#include "eval/png.h"

#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>

#include "common/file_write.h"

namespace triage::eval {
namespace {

// The few librsvg / cairo / GObject entry points used, declared by hand so that building
// triage needs no librsvg headers. Layouts as documented for librsvg >= 2.52 and cairo 1.x.
struct GError {
  uint32_t domain;
  int code;
  char* message;
};
struct RsvgRectangle {
  double x, y, width, height;
};
using RsvgNewFromData = void* (*)(const uint8_t*, size_t, GError**);
using RsvgIntrinsicSize = int (*)(void*, double*, double*);
using RsvgRenderDocument = int (*)(void*, void*, const RsvgRectangle*, GError**);
using CairoImageSurfaceCreate = void* (*)(int, int, int);
using CairoCreate = void* (*)(void*);
using CairoScale = void (*)(void*, double, double);
using CairoSetSourceRgb = void (*)(void*, double, double, double);
using CairoPaint = void (*)(void*);
// cairo_write_func_t: 0 (CAIRO_STATUS_SUCCESS) or an error status.
using CairoWriteFunc = int (*)(void* closure, const unsigned char* data, unsigned int length);
using CairoWriteToPngStream = int (*)(void*, CairoWriteFunc, void*);
using CairoStatusToString = const char* (*)(int);
using CairoDestroy = void (*)(void*);
using GObjectUnref = void (*)(void*);
using GErrorFree = void (*)(GError*);
constexpr int kCairoFormatArgb32 = 0;

struct Api {
  RsvgNewFromData new_from_data = nullptr;
  RsvgIntrinsicSize intrinsic_size = nullptr;
  RsvgRenderDocument render_document = nullptr;
  CairoImageSurfaceCreate surface_create = nullptr;
  CairoCreate create = nullptr;
  CairoScale scale = nullptr;
  CairoSetSourceRgb set_source_rgb = nullptr;
  CairoPaint paint = nullptr;
  CairoWriteToPngStream write_to_png_stream = nullptr;
  CairoStatusToString status_to_string = nullptr;
  CairoDestroy destroy = nullptr;
  CairoDestroy surface_destroy = nullptr;
  GObjectUnref unref = nullptr;
  GErrorFree error_free = nullptr;
};

Error PngError(const std::string& code, const std::string& message) {
  return Error::Make(ErrorKind::kInternal, code, message);
}

// Loads the library once per process; later calls return the same result.
const Result<Api>& LoadApi() {
  static std::once_flag once;
  static Result<Api> api = PngError("png_unavailable", "not loaded");
  std::call_once(once, [] {
    const char* env = std::getenv("TRIAGE_LIBRSVG");
    const std::string lib = env != nullptr && *env != '\0' ? env : kDefaultLibrsvg;
    void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* why = dlerror();
      api = PngError("png_unavailable",
                     "PNG output needs librsvg (Debian package librsvg2-2): " +
                         (why != nullptr ? std::string(why) : "cannot load " + lib) +
                         "; write the plot as .svg instead, or point TRIAGE_LIBRSVG at the "
                         "library");
      return;
    }
    Api a;
    std::string missing;
    // dlsym on the library's handle also finds its dependencies' symbols (cairo, GObject).
    auto get = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
      if (fn == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(name);
    };
    get(a.new_from_data, "rsvg_handle_new_from_data");
    get(a.intrinsic_size, "rsvg_handle_get_intrinsic_size_in_pixels");
    get(a.render_document, "rsvg_handle_render_document");
    get(a.surface_create, "cairo_image_surface_create");
    get(a.create, "cairo_create");
    get(a.scale, "cairo_scale");
    get(a.set_source_rgb, "cairo_set_source_rgb");
    get(a.paint, "cairo_paint");
    get(a.write_to_png_stream, "cairo_surface_write_to_png_stream");
    get(a.status_to_string, "cairo_status_to_string");
    get(a.destroy, "cairo_destroy");
    get(a.surface_destroy, "cairo_surface_destroy");
    get(a.unref, "g_object_unref");
    get(a.error_free, "g_error_free");
    if (!missing.empty()) {
      api = PngError("png_unavailable", lib + " lacks " + missing +
                                            " (PNG output needs librsvg 2.52 or newer); write "
                                            "the plot as .svg instead");
      return;
    }
    api = a;  // the handle stays open for the life of the process
  });
  return api;
}

std::string TakeMessage(const Api& a, GError* e) {
  if (e == nullptr) return "unknown error";
  std::string m = e->message != nullptr ? e->message : "unknown error";
  a.error_free(e);
  return m;
}

}  // namespace

Status PngSupport() {
  const Result<Api>& loaded = LoadApi();
  if (!loaded.ok()) return loaded.error();
  return Ok{};
}

bool HasExtension(std::string_view path, std::string_view ext) {
  if (path.size() <= ext.size()) return false;
  std::string_view tail = path.substr(path.size() - ext.size());
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  for (size_t i = 0; i < ext.size(); ++i)
    if (lower(tail[i]) != lower(ext[i])) return false;
  return true;
}

Status WritePng(std::string_view svg, const std::string& path, double scale) {
  const Result<Api>& loaded = LoadApi();
  if (!loaded.ok()) return loaded.error();
  const Api& a = *loaded;
  GError* err = nullptr;
  void* handle = a.new_from_data(reinterpret_cast<const uint8_t*>(svg.data()), svg.size(), &err);
  if (handle == nullptr)
    return PngError("png_failed", "cannot read the SVG: " + TakeMessage(a, err));
  double w = 0, h = 0;
  if (!a.intrinsic_size(handle, &w, &h) || !(w >= 1 && h >= 1 && w * h <= 1e8)) {
    a.unref(handle);
    return PngError("png_failed", "the SVG has no usable width and height");
  }
  const int pw = static_cast<int>(std::ceil(w * scale)),
            ph = static_cast<int>(std::ceil(h * scale));
  void* surface = a.surface_create(kCairoFormatArgb32, pw, ph);
  void* cr = a.create(surface);
  a.set_source_rgb(cr, 1, 1, 1);
  a.paint(cr);
  a.scale(cr, scale, scale);
  const RsvgRectangle viewport{0, 0, w, h};
  Status result = Ok{};
  if (!a.render_document(handle, cr, &viewport, &err)) {
    result = PngError("png_failed", "cannot render the SVG: " + TakeMessage(a, err));
  } else {
    // Encoded in memory, then written whole or not at all like every other output: cairo's own
    // file writer truncated the old picture first and left a cut PNG when a write failed.
    std::string png;
    const CairoWriteFunc append = [](void* closure, const unsigned char* data,
                                     unsigned int length) {
      static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
      return 0;
    };
    if (int st = a.write_to_png_stream(surface, append, &png); st != 0)
      result =
          PngError("png_failed", "cannot encode the PNG: " + std::string(a.status_to_string(st)));
    else if (Status w = WriteFileAtomically(path, png); !w.ok())
      result = w;
  }
  a.destroy(cr);
  a.surface_destroy(surface);
  a.unref(handle);
  return result;
}

}  // namespace triage::eval
