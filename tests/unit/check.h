/* Minimal test helpers: CHECK records a failure and goes on; main returns check_result(). */
#ifndef PARLEY_TEST_CHECK_H
#define PARLEY_TEST_CHECK_H
#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        check_count++;                                                                  \
        if (!(cond)) {                                                                  \
            check_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                               \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                              \
    do {                                                                                \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                 \
        check_count++;                                                                  \
        if (check_a_ != check_b_) {                                                     \
            check_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, \
                    __LINE__, #a, #b, check_a_, check_b_);                              \
        }                                                                               \
    } while (0)

static inline int check_result(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
