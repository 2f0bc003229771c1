#pragma once

#include <cstdio>
#include <cstdlib>

// An invariant a fuzz target asserts about the code under test: when it does not hold the
// target aborts, which libFuzzer reports as a crash (and the corpus replay as a failed ctest).
// Not `assert`: that vanishes under NDEBUG, which the fuzz build keeps.
#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
