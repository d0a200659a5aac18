/* test.h — a minimal test runner with typed asserts that report file:line and the values involved.
 *
 * Usage: TEST(name) { ... ASSERT_TRUE(x); ASSERT_NEAR(a, b, tol); ... }  and in main():
 *   RUN(name); ... return test_summary();
 * A failed assert ends the current test; the summary prints "N passed, N failed" and the exit code is the
 * number of failed tests (capped), so ctest reports it.
 */
#ifndef DS2_TEST_H
#define DS2_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int test_passed_, test_failed_, test_cur_failed_;

#define TEST(name) static void name(void)
#define RUN(name)                                                                  \
    do {                                                                           \
        test_cur_failed_ = 0;                                                      \
        name();                                                                    \
        if (test_cur_failed_) {                                                    \
            test_failed_++;                                                        \
            printf("FAIL %s\n", #name);                                            \
        } else {                                                                   \
            test_passed_++;                                                        \
            printf("ok   %s\n", #name);                                            \
        }                                                                          \
        fflush(stdout);                                                            \
    } while (0)

#define FAIL_(...)                                                                 \
    do {                                                                           \
        printf("  %s:%d: ", __FILE__, __LINE__);                                   \
        printf(__VA_ARGS__);                                                       \
        printf("\n");                                                              \
        test_cur_failed_ = 1;                                                      \
        return;                                                                    \
    } while (0)

#define ASSERT_TRUE(c)                                                             \
    do {                                                                           \
        if (!(c)) FAIL_("expected true: %s", #c);                                  \
    } while (0)
#define ASSERT_EQ_I64(a, b)                                                        \
    do {                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                        \
        if (a_ != b_) FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);             \
    } while (0)
#define ASSERT_NEAR(a, b, tol)                                                     \
    do {                                                                           \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);             \
        if (!(fabs(a_ - b_) <= t_))                                                \
            FAIL_("%s ~ %s: %.9g vs %.9g (|d|=%.3g > %.3g)", #a, #b, a_, b_,       \
                  fabs(a_ - b_), t_);                                              \
    } while (0)
#define ASSERT_STR_EQ(a, b)                                                        \
    do {                                                                           \
        const char *a_ = (a), *b_ = (b);                                           \
        if (strcmp(a_, b_) != 0) FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_, b_); \
    } while (0)
/* st: a ds2_status; err: a ds2_error (its message is printed on mismatch) */
#define ASSERT_STATUS(st, expected, err)                                           \
    do {                                                                           \
        ds2_status s_ = (st);                                                      \
        if (s_ != (expected))                                                      \
            FAIL_("%s: got %s, want %s (%s)", #st, ds2_status_name(s_),            \
                  ds2_status_name(expected), (err).message);                       \
    } while (0)

static int test_summary(void) {
    printf("%d passed, %d failed\n", test_passed_, test_failed_);
    return test_failed_ > 100 ? 100 : test_failed_;
}

#endif
