// A minimal test harness for the C++ tests (we vendor no test framework).
//
//   TEST(name) {
//     CHECK(a == b);
//     CHECK_NEAR(x, y, 1e-6);
//     CHECK_THROWS_CODE(expr, wn::ErrorCode::kModelFormat);
//   }
//   int main() { return wn_test::run_all(); }
//
// Each test prints "ok"/"FAIL" with the failing expression; run_all returns
// non-zero when anything failed, which ctest reports.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace wn_test {

struct TestCase {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}
inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> fn) {
    registry().push_back({name, std::move(fn)});
  }
};

// The shared/ test data folder: $WHISPER_SHARED, else the path CMake baked in.
inline std::string shared_dir() {
  if (const char* env = std::getenv("WHISPER_SHARED")) return env;
#ifdef WN_SHARED_DIR
  return WN_SHARED_DIR;
#else
  return "../shared";
#endif
}

inline int run_all() {
  int failed_tests = 0;
  for (auto& t : registry()) {
    const int before = failures();
    try {
      t.fn();
    } catch (const std::exception& e) {
      std::printf("  unexpected exception: %s\n", e.what());
      failures()++;
    }
    const bool ok = failures() == before;
    if (!ok) failed_tests++;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", t.name);
  }
  std::printf("%d passed, %d failed\n", (int)registry().size() - failed_tests, failed_tests);
  return failed_tests == 0 ? 0 : 1;
}

}  // namespace wn_test

#define WN_CAT2(a, b) a##b
#define WN_CAT(a, b) WN_CAT2(a, b)
#define TEST(name)                                                  \
  static void name();                                               \
  static wn_test::Register WN_CAT(wn_register_, name)(#name, name); \
  static void name()

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      wn_test::failures()++;                                                 \
    }                                                                        \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                   \
  do {                                                                                          \
    const double wn_a = (a), wn_b = (b);                                                        \
    if (!(std::fabs(wn_a - wn_b) <= (tol))) {                                                   \
      std::printf("  %s:%d: %s = %.9g, %s = %.9g, |diff| > %g\n", __FILE__, __LINE__, #a, wn_a, \
                  #b, wn_b, (double)(tol));                                                     \
      wn_test::failures()++;                                                                    \
    }                                                                                           \
  } while (0)

// Expects expr to throw wn::Error with the given code.
#define CHECK_THROWS_CODE(expr, expected_code)                                             \
  do {                                                                                     \
    bool wn_threw = false;                                                                 \
    try {                                                                                  \
      (void)(expr);                                                                        \
    } catch (const wn::Error& wn_e) {                                                      \
      wn_threw = true;                                                                     \
      if (wn_e.code() != (expected_code)) {                                                \
        std::printf("  %s:%d: %s threw %s (%s), expected %s\n", __FILE__, __LINE__, #expr, \
                    wn::error_code_name(wn_e.code()), wn_e.what(),                         \
                    wn::error_code_name(expected_code));                                   \
        wn_test::failures()++;                                                             \
      }                                                                                    \
    }                                                                                      \
    if (!wn_threw) {                                                                       \
      std::printf("  %s:%d: %s did not throw\n", __FILE__, __LINE__, #expr);               \
      wn_test::failures()++;                                                               \
    }                                                                                      \
  } while (0)

namespace wn_test {

// The golden log-mel window of a clip (shared/golden/NAME.mel.f32: 80 x 3000
// floats); a failed check, and zeros, when it cannot be read.
inline std::vector<float> golden_mel(const std::string& name = "jfk") {
  std::vector<float> mel(80 * 3000);
  std::ifstream in(shared_dir() + "/golden/" + name + ".mel.f32", std::ios::binary);
  in.read(reinterpret_cast<char*>(mel.data()), mel.size() * sizeof(float));
  CHECK(static_cast<bool>(in));
  return mel;
}

}  // namespace wn_test
