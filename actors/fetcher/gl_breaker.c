/*  gl_breaker — closed / open / half-open, count-based sliding window. */
#include "gl_breaker.h"
#include "gl_log.h"
#include <stdio.h>
#include <stdlib.h>

#define OUTCOME_FAILED  1
#define OUTCOME_SLOW    2
#define HALF_OPEN_MAX   64          //  most trial calls half-open allows

//  A trial call in HALF_OPEN.
typedef struct {
    uint64_t permit;            //  0: slot free
    int64_t started;
} s_probe_t;

struct _gl_breaker_t {
    gl_breaker_options_t options;
    gl_breaker_state_t state;
    gl_breaker_change_fn *on_change;
    void *argument;
    uint64_t last_permit;       //  permits are issued in increasing order
    uint64_t state_base;        //  permits at or below this are from an earlier state
    uint8_t *window;            //  ring of outcome flags, capacity window_size
    uint32_t head, count;
    int64_t open_until;         //  OPEN: when the wait ends
    int64_t half_open_until;    //  HALF_OPEN: when it expires
    s_probe_t probes [HALF_OPEN_MAX];
    uint32_t probe_calls;       //  probes of this half-open round (a reload waits for the next)
    uint32_t probes_reported, probe_failures, probe_slow;
};

//  Fills zero options with their defaults and checks them; 0 or -1.
static int
s_options_settle (const gl_breaker_options_t *options, gl_breaker_options_t *settings)
{
    *settings = options? *options: (gl_breaker_options_t) { 0 };
    settings->window_size = settings->window_size? settings->window_size: 20;
    settings->minimum_calls = settings->minimum_calls? settings->minimum_calls: 10;
    settings->failure_rate = settings->failure_rate? settings->failure_rate: 50;
    settings->slow_rate = settings->slow_rate? settings->slow_rate: 100;
    settings->slow_call_ms = settings->slow_call_ms > 0? settings->slow_call_ms: 10000;
    settings->open_ms = settings->open_ms > 0? settings->open_ms: 30000;
    settings->half_open_calls = settings->half_open_calls? settings->half_open_calls: 3;
    settings->probe_timeout_ms = settings->probe_timeout_ms > 0? settings->probe_timeout_ms: 30000;
    settings->half_open_max_ms = settings->half_open_max_ms > 0? settings->half_open_max_ms: 60000;
    if (settings->failure_rate > 100 || settings->slow_rate > 100
    ||  settings->minimum_calls > settings->window_size || settings->window_size > 100000
    ||  settings->half_open_calls > HALF_OPEN_MAX) {
        gl_log_error ("bad_breaker_options", "expected=\"rates <= 100, minimum_calls <= "
                      "window_size <= 100000, half_open_calls <= %d\"", HALF_OPEN_MAX);
        return -1;
    }
    return 0;
}

gl_breaker_t *
gl_breaker_new (const gl_breaker_options_t *options)
{
    gl_breaker_options_t settings;
    if (s_options_settle (options, &settings) == -1)
        return NULL;
    gl_breaker_t *self = (gl_breaker_t *) calloc (1, sizeof (gl_breaker_t));
    if (self)
        self->window = (uint8_t *) calloc (settings.window_size, 1);
    if (!self || !self->window) {
        free (self);
        return NULL;
    }
    self->options = settings;
    self->probe_calls = settings.half_open_calls;
    return self;
}

int
gl_breaker_configure (gl_breaker_t *self, const gl_breaker_options_t *options)
{
    gl_breaker_options_t settings;
    if (s_options_settle (options, &settings) == -1)
        return -1;
    if (settings.window_size != self->options.window_size) {
        uint8_t *window = (uint8_t *) calloc (settings.window_size, 1);
        if (!window)
            return -1;
        //  The newest outcomes that fit, oldest first.
        uint32_t kept = self->count < settings.window_size? self->count: settings.window_size;
        for (uint32_t index = 0; index < kept; index++)
            window [index] = self->window [(self->head + self->count - kept + index)
                                           % self->options.window_size];
        free (self->window);
        self->window = window;
        self->head = 0;
        self->count = kept;
    }
    self->options = settings;
    return 0;
}

void
gl_breaker_destroy (gl_breaker_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->window);
        free (*self_p);
        *self_p = NULL;
    }
}

void
gl_breaker_on_change (gl_breaker_t *self, gl_breaker_change_fn *handler, void *argument)
{
    self->on_change = handler;
    self->argument = argument;
}

const char *
gl_breaker_state_name (gl_breaker_state_t state)
{
    return state == GL_BREAKER_OPEN? "open":
           state == GL_BREAKER_HALF_OPEN? "half_open": "closed";
}

//  Moves to a new state: earlier permits stop counting, counters reset.
static void
s_transition (gl_breaker_t *self, gl_breaker_state_t to, const char *reason, int64_t now_ms)
{
    gl_breaker_state_t from = self->state;
    self->state = to;
    self->state_base = self->last_permit;
    self->head = self->count = 0;
    self->probes_reported = self->probe_failures = self->probe_slow = 0;
    for (uint32_t index = 0; index < HALF_OPEN_MAX; index++)
        self->probes [index].permit = 0;
    if (to == GL_BREAKER_OPEN)
        self->open_until = now_ms + self->options.open_ms;
    if (to == GL_BREAKER_HALF_OPEN) {
        self->half_open_until = now_ms + self->options.half_open_max_ms;
        self->probe_calls = self->options.half_open_calls;
    }
    if (self->on_change)
        self->on_change (self, from, to, reason, self->argument);
}

//  Percent of count that failed / were slow, compared to the thresholds;
//  returns the reason to open, or NULL.
static const char *
s_verdict (gl_breaker_t *self, uint32_t count, uint32_t failures, uint32_t slow,
           char *reason, size_t size)
{
    uint32_t failure_rate = failures * 100 / count, slow_rate = slow * 100 / count;
    if (failure_rate >= self->options.failure_rate) {
        snprintf (reason, size, "failure_rate %u%%", failure_rate);
        return reason;
    }
    if (slow_rate >= self->options.slow_rate) {
        snprintf (reason, size, "slow_rate %u%%", slow_rate);
        return reason;
    }
    return NULL;
}

//  When every probe has reported: close, or open again.
static void
s_probes_decide (gl_breaker_t *self, int64_t now_ms)
{
    if (self->probes_reported < self->probe_calls)
        return;
    char reason [64];
    if (s_verdict (self, self->probes_reported, self->probe_failures, self->probe_slow,
                   reason, sizeof (reason)))
        s_transition (self, GL_BREAKER_OPEN, reason, now_ms);
    else
        s_transition (self, GL_BREAKER_CLOSED, "probes_succeeded", now_ms);
}

void
gl_breaker_tick (gl_breaker_t *self, int64_t now_ms)
{
    if (self->state == GL_BREAKER_OPEN && now_ms >= self->open_until)
        s_transition (self, GL_BREAKER_HALF_OPEN, "wait_elapsed", now_ms);
    if (self->state != GL_BREAKER_HALF_OPEN)
        return;
    if (now_ms >= self->half_open_until) {
        s_transition (self, GL_BREAKER_OPEN, "half_open_expired", now_ms);
        return;
    }
    for (uint32_t index = 0; index < self->probe_calls; index++) {
        s_probe_t *probe = &self->probes [index];
        if (probe->permit && now_ms - probe->started >= self->options.probe_timeout_ms) {
            probe->permit = 0;
            self->probes_reported++;
            self->probe_failures++;
        }
    }
    s_probes_decide (self, now_ms);
}

gl_breaker_state_t
gl_breaker_state (gl_breaker_t *self, int64_t now_ms)
{
    gl_breaker_tick (self, now_ms);
    return self->state;
}

//  In HALF_OPEN: a free probe slot not yet used, or NULL.
static s_probe_t *
s_probe_free (gl_breaker_t *self)
{
    uint32_t busy = 0;
    for (uint32_t index = 0; index < self->probe_calls; index++)
        busy += self->probes [index].permit != 0;
    if (busy + self->probes_reported >= self->probe_calls)
        return NULL;
    for (uint32_t index = 0; index < self->probe_calls; index++)
        if (!self->probes [index].permit)
            return &self->probes [index];
    return NULL;
}

//  The earliest deadline of an outstanding probe (or the half-open expiry).
static int64_t
s_probe_deadline (gl_breaker_t *self)
{
    int64_t deadline = self->half_open_until;
    for (uint32_t index = 0; index < self->probe_calls; index++) {
        s_probe_t *probe = &self->probes [index];
        if (probe->permit && probe->started + self->options.probe_timeout_ms < deadline)
            deadline = probe->started + self->options.probe_timeout_ms;
    }
    return deadline;
}

uint64_t
gl_breaker_acquire (gl_breaker_t *self, int64_t now_ms, int64_t *retry_at_ms)
{
    gl_breaker_tick (self, now_ms);
    if (self->state == GL_BREAKER_OPEN) {
        *retry_at_ms = self->open_until;
        return 0;
    }
    if (self->state == GL_BREAKER_HALF_OPEN) {
        s_probe_t *probe = s_probe_free (self);
        if (!probe) {
            *retry_at_ms = s_probe_deadline (self);
            return 0;
        }
        probe->permit = ++self->last_permit;
        probe->started = now_ms;
        return probe->permit;
    }
    return ++self->last_permit;
}

//  Adds an outcome to the closed window and opens on a bad verdict.
static void
s_window_add (gl_breaker_t *self, uint8_t flags, int64_t now_ms)
{
    uint32_t size = self->options.window_size;
    if (self->count == size) {
        self->head = (self->head + 1) % size;
        self->count--;
    }
    self->window [(self->head + self->count) % size] = flags;
    self->count++;
    if (self->count < self->options.minimum_calls)
        return;
    uint32_t failures = 0, slow = 0;
    for (uint32_t index = 0; index < self->count; index++) {
        uint8_t outcome = self->window [(self->head + index) % size];
        failures += (outcome & OUTCOME_FAILED) != 0;
        slow += (outcome & OUTCOME_SLOW) != 0;
    }
    char reason [64];
    if (s_verdict (self, self->count, failures, slow, reason, sizeof (reason)))
        s_transition (self, GL_BREAKER_OPEN, reason, now_ms);
}

void
gl_breaker_record (gl_breaker_t *self, uint64_t permit, gl_breaker_outcome_t outcome,
                   int64_t duration_ms, int64_t now_ms)
{
    gl_breaker_tick (self, now_ms);
    if (permit <= self->state_base || self->state == GL_BREAKER_OPEN)
        return;
    uint8_t flags = (outcome == GL_BREAKER_FAILURE? OUTCOME_FAILED: 0)
                  | (duration_ms >= self->options.slow_call_ms? OUTCOME_SLOW: 0);
    if (self->state == GL_BREAKER_CLOSED) {
        if (outcome != GL_BREAKER_IGNORED)
            s_window_add (self, flags, now_ms);
        return;
    }
    for (uint32_t index = 0; index < self->probe_calls; index++) {
        s_probe_t *probe = &self->probes [index];
        if (probe->permit != permit)
            continue;
        probe->permit = 0;
        if (outcome != GL_BREAKER_IGNORED) {
            self->probes_reported++;
            self->probe_failures += (flags & OUTCOME_FAILED) != 0;
            self->probe_slow += (flags & OUTCOME_SLOW) != 0;
            s_probes_decide (self, now_ms);
        }
        return;
    }
}

int
gl_breaker_failure_rate (gl_breaker_t *self)
{
    if (self->count < self->options.minimum_calls || self->count == 0)
        return -1;
    uint32_t failures = 0;
    for (uint32_t index = 0; index < self->count; index++)
        failures += (self->window [(self->head + index) % self->options.window_size]
                     & OUTCOME_FAILED) != 0;
    return (int) (failures * 100 / self->count);
}
