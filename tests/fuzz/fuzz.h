/* The one function every fuzz harness in tests/fuzz defines (libFuzzer's
 * entry point). libFuzzer calls it with generated inputs (-Dfuzz=true
 * builds, tests/fuzz/run.sh); replay.c calls it with each seed file, so the
 * ordinary build and test suite compile and run every harness too. A crash,
 * an abort or a sanitizer report is a finding; an input error is not. */
#ifndef OCTO_TESTS_FUZZ_FUZZ_H
#define OCTO_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
