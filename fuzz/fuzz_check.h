/*
 * fuzz_check.h - the one assertion every harness uses: CHECK(cond) traps when a property the
 * harness states does not hold, which libFuzzer reports as a crash with the input that did it
 * (assert() would vanish under NDEBUG).
 */
#ifndef MCPZIP_FUZZ_CHECK_H
#define MCPZIP_FUZZ_CHECK_H

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

#endif
