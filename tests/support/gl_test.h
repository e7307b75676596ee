/*  gl_test — the few checking macros every test uses.

    A failed check prints file, line and the expression, and the test goes
    on; gl_test_done returns the process exit code. Tests wait for
    conditions with gl_test_wait_until (a deadline), never with sleeps.
*/
#ifndef GL_TEST_H_INCLUDED
#define GL_TEST_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int gl_test_checks;
static int gl_test_failures;

#define GL_CHECK(expression) do { \
    gl_test_checks++; \
    if (!(expression)) { \
        gl_test_failures++; \
        fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expression); \
    } \
} while (0)

#define GL_CHECK_STR(actual, expected) do { \
    const char *gl_actual_ = (actual), *gl_expected_ = (expected); \
    gl_test_checks++; \
    if (!gl_actual_ || !gl_expected_ || strcmp (gl_actual_, gl_expected_) != 0) { \
        gl_test_failures++; \
        fprintf (stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, \
                 gl_expected_? gl_expected_: "(null)", gl_actual_? gl_actual_: "(null)"); \
    } \
} while (0)

#define GL_CHECK_INT(actual, expected) do { \
    long long gl_actual_ = (long long) (actual), gl_expected_ = (long long) (expected); \
    gl_test_checks++; \
    if (gl_actual_ != gl_expected_) { \
        gl_test_failures++; \
        fprintf (stderr, "%s:%d: %s: expected %lld, got %lld\n", __FILE__, __LINE__, \
                 #actual, gl_expected_, gl_actual_); \
    } \
} while (0)

//  Milliseconds on the monotonic clock.
static inline int64_t
gl_test_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  Polls condition every millisecond until it holds or timeout_ms passes;
//  yields whether it held.
#define gl_test_wait_until(condition, timeout_ms) ({ \
    int64_t gl_deadline_ = gl_test_now_ms () + (timeout_ms); \
    bool gl_held_ = false; \
    while (!(gl_held_ = (condition)) && gl_test_now_ms () < gl_deadline_) { \
        struct timespec gl_pause_ = { 0, 1000000 }; \
        nanosleep (&gl_pause_, NULL); \
    } \
    gl_held_; \
})

//  Prints the summary line and returns the exit code.
static inline int
gl_test_done (const char *name)
{
    printf ("%s: %d checks, %d failed\n", name, gl_test_checks, gl_test_failures);
    if (gl_test_checks == 0) {
        printf ("%s: no check ran\n", name);
        return 1;
    }
    return gl_test_failures? 1: 0;
}

#endif
