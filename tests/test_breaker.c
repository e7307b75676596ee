/*  test_breaker — gl_breaker on an injected clock: opening on failure
    rate and slow-call rate only after the minimum number of calls, the
    open wait, half-open trial calls that close or re-open it, probe
    timeouts, the half-open maximum, stale permits, rate-limit outcomes
    that are not failures, and the change callback.
*/
#include "gl_breaker.h"
#include "gl_test.h"

//  The state changes seen, as "closed>open:reason" lines.
static char s_changes [2048];

static void
s_on_change (gl_breaker_t *breaker, gl_breaker_state_t from, gl_breaker_state_t to,
             const char *reason, void *argument)
{
    size_t used = strlen (s_changes);
    snprintf (s_changes + used, sizeof (s_changes) - used, "%s>%s:%s;",
              gl_breaker_state_name (from), gl_breaker_state_name (to), reason);
}

static gl_breaker_t *
s_breaker_new (void)
{
    gl_breaker_options_t options = {
        .window_size = 10, .minimum_calls = 5, .failure_rate = 50, .slow_rate = 80,
        .slow_call_ms = 1000, .open_ms = 5000, .half_open_calls = 2,
        .probe_timeout_ms = 2000, .half_open_max_ms = 10000
    };
    gl_breaker_t *breaker = gl_breaker_new (&options);
    gl_breaker_on_change (breaker, s_on_change, NULL);
    s_changes [0] = 0;
    return breaker;
}

//  Makes one call at now with the given outcome and duration.
static uint64_t
s_call (gl_breaker_t *breaker, int64_t now, gl_breaker_outcome_t outcome, int64_t duration)
{
    int64_t retry_at = 0;
    uint64_t permit = gl_breaker_acquire (breaker, now, &retry_at);
    if (permit)
        gl_breaker_record (breaker, permit, outcome, duration, now + duration);
    return permit;
}

static void
s_test_options (void)
{
    gl_breaker_options_t bad_rate = { .failure_rate = 101 };
    GL_CHECK (gl_breaker_new (&bad_rate) == NULL);
    gl_breaker_options_t bad_minimum = { .window_size = 5, .minimum_calls = 6 };
    GL_CHECK (gl_breaker_new (&bad_minimum) == NULL);
    gl_breaker_t *breaker = gl_breaker_new (NULL);
    GL_CHECK (breaker != NULL);
    GL_CHECK_INT (gl_breaker_state (breaker, 0), GL_BREAKER_CLOSED);
    gl_breaker_destroy (&breaker);
    gl_breaker_destroy (&breaker);
    GL_CHECK (breaker == NULL);
}

//  Four failures out of four do not open it (minimum 5); the fifth does;
//  then calls are refused until the wait ends.
static void
s_test_failure_rate (void)
{
    gl_breaker_t *breaker = s_breaker_new ();
    for (int index = 0; index < 4; index++)
        GL_CHECK (s_call (breaker, 100 * index, GL_BREAKER_FAILURE, 10) > 0);
    GL_CHECK_INT (gl_breaker_state (breaker, 400), GL_BREAKER_CLOSED);
    GL_CHECK_INT (gl_breaker_failure_rate (breaker), -1);
    GL_CHECK (s_call (breaker, 500, GL_BREAKER_FAILURE, 10) > 0);
    GL_CHECK_INT (gl_breaker_state (breaker, 510), GL_BREAKER_OPEN);
    GL_CHECK_STR (s_changes, "closed>open:failure_rate 100%;");
    int64_t retry_at = 0;
    GL_CHECK_INT (gl_breaker_acquire (breaker, 600, &retry_at), 0);
    GL_CHECK_INT (retry_at, 510 + 5000);
    GL_CHECK_INT (gl_breaker_state (breaker, 5509), GL_BREAKER_OPEN);
    GL_CHECK_INT (gl_breaker_state (breaker, 5510), GL_BREAKER_HALF_OPEN);
    gl_breaker_destroy (&breaker);

    //  Below the threshold it stays closed, as the window slides.
    breaker = s_breaker_new ();
    for (int index = 0; index < 40; index++)
        s_call (breaker, index, index % 3 == 0? GL_BREAKER_FAILURE: GL_BREAKER_SUCCESS, 1);
    GL_CHECK_INT (gl_breaker_state (breaker, 100), GL_BREAKER_CLOSED);
    GL_CHECK (gl_breaker_failure_rate (breaker) < 50);
    //  A storm of 5 failures in the window of 10 reaches 50% and opens.
    for (int index = 0; index < 5; index++)
        s_call (breaker, 200 + index, GL_BREAKER_FAILURE, 1);
    GL_CHECK_INT (gl_breaker_state (breaker, 300), GL_BREAKER_OPEN);
    gl_breaker_destroy (&breaker);
}

//  Rate-limited answers are neither successes nor failures.
static void
s_test_ignored (void)
{
    gl_breaker_t *breaker = s_breaker_new ();
    for (int index = 0; index < 50; index++)
        s_call (breaker, index, GL_BREAKER_IGNORED, 1);
    GL_CHECK_INT (gl_breaker_state (breaker, 100), GL_BREAKER_CLOSED);
    GL_CHECK_INT (gl_breaker_failure_rate (breaker), -1);
    gl_breaker_destroy (&breaker);
}

//  Slow successes open it at the slow-call rate.
static void
s_test_slow (void)
{
    gl_breaker_t *breaker = s_breaker_new ();
    for (int index = 0; index < 3; index++)
        s_call (breaker, 0, GL_BREAKER_SUCCESS, 1500);
    s_call (breaker, 0, GL_BREAKER_SUCCESS, 999);
    s_call (breaker, 0, GL_BREAKER_SUCCESS, 1000);
    //  4 of 5 slow = 80%.
    GL_CHECK_INT (gl_breaker_state (breaker, 2000), GL_BREAKER_OPEN);
    GL_CHECK_STR (s_changes, "closed>open:slow_rate 80%;");
    gl_breaker_destroy (&breaker);
}

//  Opens the breaker at time 0 (open until 5000).
static gl_breaker_t *
s_open_breaker (void)
{
    gl_breaker_t *breaker = s_breaker_new ();
    for (int index = 0; index < 5; index++)
        s_call (breaker, 0, GL_BREAKER_FAILURE, 0);
    return breaker;
}

//  Half-open: two probes pass, a third waits; both succeed: closed.
//  One fails: open again. A permit from before the opening is ignored.
static void
s_test_half_open (void)
{
    gl_breaker_t *breaker = s_breaker_new ();
    int64_t retry_at = 0;
    uint64_t stale = gl_breaker_acquire (breaker, 0, &retry_at);
    for (int index = 0; index < 5; index++)
        s_call (breaker, 0, GL_BREAKER_FAILURE, 0);
    gl_breaker_tick (breaker, 5000);
    GL_CHECK_INT (gl_breaker_state (breaker, 5000), GL_BREAKER_HALF_OPEN);
    uint64_t first = gl_breaker_acquire (breaker, 5000, &retry_at);
    uint64_t second = gl_breaker_acquire (breaker, 5001, &retry_at);
    GL_CHECK (first > 0 && second > 0);
    GL_CHECK_INT (gl_breaker_acquire (breaker, 5002, &retry_at), 0);
    GL_CHECK_INT (retry_at, 7000);
    //  The stale call's failure changes nothing.
    gl_breaker_record (breaker, stale, GL_BREAKER_FAILURE, 1, 5003);
    GL_CHECK_INT (gl_breaker_state (breaker, 5003), GL_BREAKER_HALF_OPEN);
    //  A rate-limited probe frees its slot for another.
    gl_breaker_record (breaker, first, GL_BREAKER_IGNORED, 1, 5004);
    uint64_t third = gl_breaker_acquire (breaker, 5005, &retry_at);
    GL_CHECK (third > 0);
    gl_breaker_record (breaker, second, GL_BREAKER_SUCCESS, 5, 5006);
    GL_CHECK_INT (gl_breaker_state (breaker, 5006), GL_BREAKER_HALF_OPEN);
    gl_breaker_record (breaker, third, GL_BREAKER_SUCCESS, 5, 5007);
    GL_CHECK_INT (gl_breaker_state (breaker, 5007), GL_BREAKER_CLOSED);
    GL_CHECK_STR (s_changes, "closed>open:failure_rate 100%;open>half_open:wait_elapsed;"
                             "half_open>closed:probes_succeeded;");
    //  Closed again with a fresh window.
    GL_CHECK_INT (gl_breaker_failure_rate (breaker), -1);
    gl_breaker_destroy (&breaker);

    breaker = s_open_breaker ();
    first = gl_breaker_acquire (breaker, 5000, &retry_at);
    second = gl_breaker_acquire (breaker, 5000, &retry_at);
    gl_breaker_record (breaker, first, GL_BREAKER_SUCCESS, 1, 5001);
    gl_breaker_record (breaker, second, GL_BREAKER_FAILURE, 1, 5002);
    GL_CHECK_INT (gl_breaker_state (breaker, 5002), GL_BREAKER_OPEN);
    GL_CHECK_INT (gl_breaker_acquire (breaker, 5003, &retry_at), 0);
    GL_CHECK_INT (retry_at, 10002);
    gl_breaker_destroy (&breaker);
}

//  A probe that never reports fails at its timeout; a half-open state
//  whose probes keep being rate-limited expires into open.
static void
s_test_half_open_timeouts (void)
{
    gl_breaker_t *breaker = s_open_breaker ();
    int64_t retry_at = 0;
    uint64_t hanging = gl_breaker_acquire (breaker, 5000, &retry_at);
    uint64_t quick = gl_breaker_acquire (breaker, 5000, &retry_at);
    GL_CHECK (hanging && quick);
    gl_breaker_record (breaker, quick, GL_BREAKER_SUCCESS, 1, 5001);
    GL_CHECK_INT (gl_breaker_state (breaker, 6999), GL_BREAKER_HALF_OPEN);
    gl_breaker_tick (breaker, 7000);
    GL_CHECK_INT (gl_breaker_state (breaker, 7000), GL_BREAKER_OPEN);
    GL_CHECK (strstr (s_changes, "half_open>open:failure_rate 50%") != NULL);
    gl_breaker_destroy (&breaker);

    breaker = s_open_breaker ();
    for (int64_t now = 5000; now < 15000; now += 100) {
        uint64_t permit = gl_breaker_acquire (breaker, now, &retry_at);
        if (permit)
            gl_breaker_record (breaker, permit, GL_BREAKER_IGNORED, 1, now + 1);
    }
    GL_CHECK_INT (gl_breaker_state (breaker, 15000), GL_BREAKER_OPEN);
    GL_CHECK (strstr (s_changes, "half_open>open:half_open_expired") != NULL);
    gl_breaker_destroy (&breaker);
}

//  A reload (gl_breaker_configure): a smaller window keeps the newest
//  outcomes, a new threshold judges from the next outcome, bad options
//  change nothing, and a half-open round keeps the probe count it began
//  with.
static void
s_test_configure (void)
{
    gl_breaker_t *breaker = s_breaker_new ();
    //  Two failures then four successes: 2 of 6, below 50 %.
    for (int index = 0; index < 2; index++)
        s_call (breaker, 0, GL_BREAKER_FAILURE, 0);
    for (int index = 0; index < 4; index++)
        s_call (breaker, 0, GL_BREAKER_SUCCESS, 0);
    GL_CHECK_INT (gl_breaker_failure_rate (breaker), 33);
    gl_breaker_options_t options = {
        .window_size = 5, .minimum_calls = 5, .failure_rate = 30, .slow_rate = 80,
        .slow_call_ms = 1000, .open_ms = 5000, .half_open_calls = 3,
        .probe_timeout_ms = 2000, .half_open_max_ms = 10000
    };
    gl_breaker_options_t bad = options;
    bad.minimum_calls = 6;
    GL_CHECK_INT (gl_breaker_configure (breaker, &bad), -1);
    GL_CHECK_INT (gl_breaker_failure_rate (breaker), 33);
    GL_CHECK_INT (gl_breaker_configure (breaker, &options), 0);
    //  The newest five: one failure, four successes.
    GL_CHECK_INT (gl_breaker_failure_rate (breaker), 20);
    GL_CHECK_INT (gl_breaker_state (breaker, 0), GL_BREAKER_CLOSED);
    //  One more failure: 1 of 5, under the new 30 %; then 2 of 5, over.
    s_call (breaker, 0, GL_BREAKER_FAILURE, 0);
    GL_CHECK_INT (gl_breaker_state (breaker, 0), GL_BREAKER_CLOSED);
    s_call (breaker, 0, GL_BREAKER_FAILURE, 0);
    GL_CHECK_INT (gl_breaker_state (breaker, 0), GL_BREAKER_OPEN);
    GL_CHECK_STR (s_changes, "closed>open:failure_rate 40%;");
    gl_breaker_tick (breaker, 5000);
    GL_CHECK_INT (gl_breaker_state (breaker, 5000), GL_BREAKER_HALF_OPEN);
    //  Three probes were asked for when half open began; a reload to one
    //  waits for the next round.
    options.half_open_calls = 1;
    GL_CHECK_INT (gl_breaker_configure (breaker, &options), 0);
    int64_t retry_at = 0;
    uint64_t probes [3];
    for (int index = 0; index < 3; index++)
        probes [index] = gl_breaker_acquire (breaker, 5000, &retry_at);
    GL_CHECK (probes [0] && probes [1] && probes [2]);
    GL_CHECK_INT (gl_breaker_acquire (breaker, 5000, &retry_at), 0);
    for (int index = 0; index < 3; index++)
        gl_breaker_record (breaker, probes [index], GL_BREAKER_SUCCESS, 1, 5001);
    GL_CHECK_INT (gl_breaker_state (breaker, 5001), GL_BREAKER_CLOSED);
    gl_breaker_destroy (&breaker);
}

int
main (void)
{
    s_test_options ();
    s_test_failure_rate ();
    s_test_ignored ();
    s_test_slow ();
    s_test_half_open ();
    s_test_half_open_timeouts ();
    s_test_configure ();
    return gl_test_done ("test_breaker");
}
