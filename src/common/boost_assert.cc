// Boost's assertion handler, reached in builds without NDEBUG (a Debug build, the fuzz targets
// of fuzz/run.sh), which define BOOST_ENABLE_ASSERT_DEBUG_HANDLER (CMakeLists.txt, fuzz/run.sh):
// every failed BOOST_ASSERT aborts, as the default handler does, except one that Boost.Beast 1.81
// (Debian 12) gets wrong. basic_parser::parse_chunk_header asserts `n >= 5` when it resumes after
// the last chunk ("0\r\n") with the trailer section incomplete, but a resumed call may see as few
// as 4 bytes ("0\r\n" and one more) when a client sends its body a byte at a time; the code after
// the assert handles that and asks for more. Beast fixed the assert in boostorg/beast#2861 (2024).
// Release and RelWithDebInfo builds define NDEBUG, which removes BOOST_ASSERT, so this object is
// not even linked there; fuzz_request_parser found the assert in CI on 2026-12-07.
// tests/asserts/boost_assert_test.cc checks both sides.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "beast/http/impl/basic_parser.ipp") &&
      std::strstr(function, "parse_chunk_header")) {
    return;
  }
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
