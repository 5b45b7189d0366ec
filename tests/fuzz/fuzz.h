/*
 * fuzz.h - what every fuzz target under tests/fuzz/ shares.
 *
 * Each fuzz-*.c defines LLVMFuzzerTestOneInput over one pure parser. Built
 * with clang -fsanitize=fuzzer by `make fuzz`; built with the normal compiler
 * and replay.c by `make fuzz-replay` (part of `make test`), which feeds it
 * every file of its seed corpus and of tests/fuzz/regressions/<target>/, so
 * every crasher found stays a regression test. FUZZ_CHECK is a real check
 * in both builds (not assert: NDEBUG must not remove it).
 */
#ifndef NIGHTSHIFT_FUZZ_H
#define NIGHTSHIFT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
