/*  gl_breaker — a provider's circuit breaker, with resilience4j's
    semantics.

    CLOSED: calls pass; the outcomes of the last window_size calls are
    kept (a count-based sliding window). Once at least minimum_calls are
    in it, the breaker opens when the failure rate or the slow-call rate
    (calls slower than slow_call_ms) reaches its threshold (percent).
    OPEN: no call passes for open_ms; then HALF_OPEN.
    HALF_OPEN: half_open_calls trial calls pass, each with probe_timeout_ms
    to report (a probe that does not report in time counts as a failure).
    When all have reported, the breaker closes if both rates are below
    their thresholds, else opens again. Half-open lasts at most
    half_open_max_ms, then opens again, so a hanging probe cannot leave it
    stuck.

    Every call that passes gets a permit; its outcome is reported with
    that permit. A permit from an earlier state (a call that started
    before the breaker opened) is ignored when it reports. An ignored
    outcome (a rate-limit refusal: not the provider's failure) releases
    the permit without counting.

    Time is passed in by the caller (ms on a monotonic clock); call
    gl_breaker_tick on a timer so timed transitions happen (and are
    announced) without a call.
*/
#ifndef GL_BREAKER_H_INCLUDED
#define GL_BREAKER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct _gl_breaker_t gl_breaker_t;

typedef enum {
    GL_BREAKER_CLOSED = 0,
    GL_BREAKER_OPEN,
    GL_BREAKER_HALF_OPEN,
} gl_breaker_state_t;

typedef enum {
    GL_BREAKER_SUCCESS = 0,
    GL_BREAKER_FAILURE,
    GL_BREAKER_IGNORED,         //  rate-limited: neither success nor failure
} gl_breaker_outcome_t;

typedef struct {
    uint32_t window_size;       //  calls in the sliding window (default 20)
    uint32_t minimum_calls;     //  before rates count (default 10)
    uint32_t failure_rate;      //  percent, opens at or above (default 50)
    uint32_t slow_rate;         //  percent, opens at or above (default 100)
    int64_t slow_call_ms;       //  a call at least this long is slow (default 10000)
    int64_t open_ms;            //  wait in OPEN (default 30000)
    uint32_t half_open_calls;   //  trial calls in HALF_OPEN (default 3)
    int64_t probe_timeout_ms;   //  a trial call's time to report (default 30000)
    int64_t half_open_max_ms;   //  longest HALF_OPEN (default 60000)
} gl_breaker_options_t;

//  Called on every state change, with why ("failure_rate 60%",
//  "wait_elapsed", "probes_succeeded", "probe_timeout", "half_open_expired").
typedef void (gl_breaker_change_fn) (gl_breaker_t *breaker, gl_breaker_state_t from,
                                     gl_breaker_state_t to, const char *reason,
                                     void *argument);

//  Creates a closed breaker; zero options take their defaults. Returns
//  NULL when an option is out of range (rates over 100, minimum_calls
//  over window_size). Caller owns return value.
gl_breaker_t *gl_breaker_new (const gl_breaker_options_t *options);

//  Puts new options in force (a reload), keeping the state: the newest
//  outcomes that fit a resized window stay, the new thresholds judge from
//  the next outcome, an open wait or half-open round already begun keeps
//  its deadline and its probe count. Returns -1, changing nothing, when an
//  option is out of range (as gl_breaker_new) or memory is short.
int gl_breaker_configure (gl_breaker_t *self, const gl_breaker_options_t *options);

//  Destroys the breaker and nulls the caller's pointer. Safe twice.
void gl_breaker_destroy (gl_breaker_t **self_p);

//  Sets the state-change callback.
void gl_breaker_on_change (gl_breaker_t *self, gl_breaker_change_fn *handler, void *argument);

//  Asks to make a call at now_ms. Returns a permit (> 0) if it may, or 0
//  with the time worth asking again in *retry_at_ms (the end of the open
//  wait; for a full half-open, the earliest probe deadline).
uint64_t gl_breaker_acquire (gl_breaker_t *self, int64_t now_ms, int64_t *retry_at_ms);

//  Reports a permitted call's outcome and duration.
void gl_breaker_record (gl_breaker_t *self, uint64_t permit, gl_breaker_outcome_t outcome,
                        int64_t duration_ms, int64_t now_ms);

//  Applies timed transitions (open wait elapsed, probe timeouts,
//  half-open expiry) at now_ms.
void gl_breaker_tick (gl_breaker_t *self, int64_t now_ms);

//  The state at now_ms (timed transitions applied first).
gl_breaker_state_t gl_breaker_state (gl_breaker_t *self, int64_t now_ms);

//  "closed", "open", "half_open".
const char *gl_breaker_state_name (gl_breaker_state_t state);

//  The failure rate over the current window, percent; -1 below
//  minimum_calls.
int gl_breaker_failure_rate (gl_breaker_t *self);

#endif
