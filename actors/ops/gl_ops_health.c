/*  gl_ops_health — providers' health, limits and fetcher totals.  */
#include "gl_ops_health.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INSTANCES_MAX 64

const int64_t gl_ops_latency_bounds [GL_OPS_LATENCY_BUCKETS] = { 50, 100, 250, 500, 1000, 5000 };
const char *gl_ops_error_classes [GL_OPS_ERROR_CLASSES] = { "rate_limited", "auth", "not_found",
    "no_data", "server_error", "timeout", "parse_error", "breaker_open" };

//  The running totals of one fetcher instance, as its last sample said.
typedef struct {
    uint64_t requests, failures, over_limit, fetches, bars, latency_sum_ms;
    uint64_t latency [GL_OPS_LATENCY_BUCKETS + 1];
    uint64_t errors [GL_OPS_ERROR_CLASSES];
    uint64_t endpoint_errors [2][GL_OPS_ERROR_CLASSES];
} s_totals_t;

typedef struct {
    char name [GL_MSG_NAME_MAX + 1];
    s_totals_t totals;
    int64_t in_flight;
    double per_second;          //  requests per second between its last two samples
    int64_t sampled_ms;         //  monotonic time of its last sample, 0: none
    bool live;
} s_instance_t;

typedef struct {
    double latency, errors, incompleteness;     //  each in [0, 1]
} s_sample_t;

typedef struct {
    s_instance_t instances [S_INSTANCES_MAX];
    size_t instance_count;
    s_totals_t retired;         //  totals of instances that left
    char breaker [16];
    s_sample_t samples [GL_OPS_HEALTH_SAMPLES];
    size_t sample_count, sample_next;
    double limit_per_s;
    uint64_t bans, slow;
    int64_t banned_until_ms;
} s_provider_t;

struct _gl_ops_health_t {
    s_provider_t providers [GL_PROVIDER_COUNT + 1];    //  by gl_provider_t
};

gl_ops_health_t *
gl_ops_health_new (void)
{
    gl_ops_health_t *self = (gl_ops_health_t *) calloc (1, sizeof (gl_ops_health_t));
    for (size_t index = 0; self && index <= GL_PROVIDER_COUNT; index++)
        snprintf (self->providers [index].breaker, sizeof self->providers [index].breaker,
                  "closed");
    return self;
}

void
gl_ops_health_destroy (gl_ops_health_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

//  The provider's state, or NULL for an invalid one.
static s_provider_t *
s_provider (gl_ops_health_t *self, gl_provider_t provider)
{
    return provider > GL_PROVIDER_INVALID && provider <= GL_PROVIDER_COUNT
        ? &self->providers [provider]: NULL;
}

//  Clamps to [0, 1].
static double
s_unit (double value)
{
    return value < 0 || value != value? 0: value > 1? 1: value;
}

//  Parses a whole unsigned decimal; false for anything else.
static bool
s_parse_count (const char *text, uint64_t *value)
{
    char *end = NULL;
    if (!text || !*text || *text == '-')
        return false;
    unsigned long long parsed = strtoull (text, &end, 10);
    if (*end && *end != ',')
        return false;
    *value = parsed;
    return true;
}

//  Parses "c0,c1,...": exactly size counts. Returns 0 or -1.
static int
s_parse_counts (const char *text, uint64_t *counts, size_t size)
{
    const char *cursor = text;
    for (size_t index = 0; index < size; index++) {
        if (!cursor || !s_parse_count (cursor, &counts [index]))
            return -1;
        cursor = strchr (cursor, ',');
        cursor = cursor? cursor + 1: NULL;
        if ((index + 1 < size) != (cursor != NULL))
            return -1;
    }
    return 0;
}

//  Parses "class:count,..." into counts by class; unknown classes are
//  skipped. Returns 0 or -1.
static int
s_parse_errors (const char *text, uint64_t *errors)
{
    const char *cursor = text;
    while (cursor && *cursor) {
        const char *colon = strchr (cursor, ':');
        uint64_t count = 0;
        if (!colon || !s_parse_count (colon + 1, &count))
            return -1;
        for (size_t index = 0; index < GL_OPS_ERROR_CLASSES; index++)
            if (strlen (gl_ops_error_classes [index]) == (size_t) (colon - cursor)
            &&  strncmp (gl_ops_error_classes [index], cursor, (size_t) (colon - cursor)) == 0)
                errors [index] = count;
        cursor = strchr (colon, ',');
        cursor = cursor? cursor + 1: NULL;
    }
    return 0;
}

//  The instance of that name, added if new; NULL when the table is full.
static s_instance_t *
s_instance (s_provider_t *state, const char *name)
{
    for (size_t index = 0; index < state->instance_count; index++)
        if (strcmp (state->instances [index].name, name) == 0)
            return &state->instances [index];
    if (state->instance_count == S_INSTANCES_MAX)
        return NULL;
    s_instance_t *instance = &state->instances [state->instance_count++];
    *instance = (s_instance_t) { .live = true };
    snprintf (instance->name, sizeof instance->name, "%s", name);
    return instance;
}

//  The median of a latency histogram in ms: the upper bound of the bucket
//  holding the middle request, +Inf taken as twice the last bound.
static double
s_median_ms (const uint64_t *counts)
{
    uint64_t total = 0, seen = 0;
    for (size_t bucket = 0; bucket <= GL_OPS_LATENCY_BUCKETS; bucket++)
        total += counts [bucket];
    for (size_t bucket = 0; total && bucket <= GL_OPS_LATENCY_BUCKETS; bucket++)
        if ((seen += counts [bucket]) * 2 >= total)
            return (double) (bucket < GL_OPS_LATENCY_BUCKETS? gl_ops_latency_bounds [bucket]
                             : 2 * gl_ops_latency_bounds [GL_OPS_LATENCY_BUCKETS - 1]);
    return 0;
}

//  Names the first field that did not parse.
static void
s_refuse (char *refused, const char *key)
{
    if (!*refused)
        snprintf (refused, GL_MSG_NAME_MAX + 1, "%s", key);
}

//  A uint field, kept if it parses; named in refused otherwise.
static void
s_take (const gl_msg_field_t *fields, size_t count, const char *key, uint64_t *value,
        char *refused)
{
    const char *text = gl_msg_field (fields, count, key);
    uint64_t parsed = 0;
    if (!text)
        return;
    if (s_parse_count (text, &parsed) && !strchr (text, ','))
        *value = parsed;
    else
        s_refuse (refused, key);
}

int
gl_ops_health_sample (gl_ops_health_t *self, gl_provider_t provider, const char *instance_name,
                      const gl_msg_field_t *fields, size_t count, int64_t now_ms, char *refused)
{
    *refused = '\0';
    s_provider_t *state = s_provider (self, provider);
    s_instance_t *instance = state? s_instance (state, instance_name): NULL;
    if (!instance) {
        s_refuse (refused, state? "source (too many instances)": "provider");
        return -1;
    }
    s_totals_t totals = instance->totals;
    uint64_t in_flight = 0, failure_rate = 0;
    s_take (fields, count, "requests", &totals.requests, refused);
    s_take (fields, count, "failures", &totals.failures, refused);
    s_take (fields, count, "rate_limited", &totals.over_limit, refused);
    s_take (fields, count, "fetches", &totals.fetches, refused);
    s_take (fields, count, "bars", &totals.bars, refused);
    s_take (fields, count, "latency_sum_ms", &totals.latency_sum_ms, refused);
    s_take (fields, count, "in_flight", &in_flight, refused);
    const char *rate = gl_msg_field (fields, count, "failure_rate");
    if (rate && strcmp (rate, "-1") != 0)
        s_take (fields, count, "failure_rate", &failure_rate, refused);
    const char *latencies = gl_msg_field (fields, count, "latency_counts");
    const char *bounds = gl_msg_field (fields, count, "latency_le_ms");
    if (latencies && bounds && strcmp (bounds, "50,100,250,500,1000,5000,inf") == 0
    &&  s_parse_counts (latencies, totals.latency, GL_OPS_LATENCY_BUCKETS + 1) != 0)
        s_refuse (refused, "latency_counts");
    //  errors: the intraday endpoint's (all of them from a fetcher that
    //  predates errors_daily), errors_daily: the daily endpoint's
    static const char *const keys [2] = { "errors", "errors_daily" };
    for (int endpoint = 0; endpoint < 2; endpoint++) {
        const char *errors = gl_msg_field (fields, count, keys [endpoint]);
        if (errors && s_parse_errors (errors, totals.endpoint_errors [endpoint]) != 0)
            s_refuse (refused, keys [endpoint]);
    }
    for (size_t index = 0; index < GL_OPS_ERROR_CLASSES; index++)
        totals.errors [index] = totals.endpoint_errors [0][index] + totals.endpoint_errors [1][index];
    const char *complete = gl_msg_field (fields, count, "completeness");
    double completeness = complete && strcmp (complete, "none") != 0? atof (complete): 1;
    const char *breaker = gl_msg_field (fields, count, "breaker");
    if (breaker)
        gl_ops_health_breaker (self, provider, breaker);
    //  Requests per second since its last sample; a restarted instance
    //  (totals went down) starts over.
    if (instance->sampled_ms && now_ms > instance->sampled_ms
    &&  totals.requests >= instance->totals.requests)
        instance->per_second = (double) (totals.requests - instance->totals.requests) * 1000.0
                             / (double) (now_ms - instance->sampled_ms);
    instance->totals = totals;
    instance->in_flight = (int64_t) in_flight;
    instance->sampled_ms = now_ms;
    instance->live = true;
    state->samples [state->sample_next] = (s_sample_t) {
        .latency = s_unit (s_median_ms (totals.latency) / GL_OPS_HEALTH_SLOW_MS),
        .errors = s_unit ((double) failure_rate / 100), .incompleteness = s_unit (1 - completeness),
    };
    state->sample_next = (state->sample_next + 1) % GL_OPS_HEALTH_SAMPLES;
    if (state->sample_count < GL_OPS_HEALTH_SAMPLES)
        state->sample_count++;
    return *refused? -1: 0;
}

void
gl_ops_health_breaker (gl_ops_health_t *self, gl_provider_t provider, const char *state_name)
{
    s_provider_t *state = s_provider (self, provider);
    if (state && (strcmp (state_name, "closed") == 0 || strcmp (state_name, "half_open") == 0
              ||  strcmp (state_name, "open") == 0))
        snprintf (state->breaker, sizeof state->breaker, "%s", state_name);
}

void
gl_ops_health_ban (gl_ops_health_t *self, gl_provider_t provider, int64_t until_ms)
{
    s_provider_t *state = s_provider (self, provider);
    if (!state)
        return;
    state->bans++;
    if (until_ms > state->banned_until_ms)
        state->banned_until_ms = until_ms;
}

void
gl_ops_health_slow (gl_ops_health_t *self, gl_provider_t provider)
{
    s_provider_t *state = s_provider (self, provider);
    if (state)
        state->slow++;
}

//  Adds one set of totals to another.
static void
s_totals_add (s_totals_t *sum, const s_totals_t *totals)
{
    sum->requests += totals->requests;
    sum->failures += totals->failures;
    sum->over_limit += totals->over_limit;
    sum->fetches += totals->fetches;
    sum->bars += totals->bars;
    sum->latency_sum_ms += totals->latency_sum_ms;
    for (size_t bucket = 0; bucket <= GL_OPS_LATENCY_BUCKETS; bucket++)
        sum->latency [bucket] += totals->latency [bucket];
    for (size_t index = 0; index < GL_OPS_ERROR_CLASSES; index++) {
        sum->errors [index] += totals->errors [index];
        sum->endpoint_errors [0][index] += totals->endpoint_errors [0][index];
        sum->endpoint_errors [1][index] += totals->endpoint_errors [1][index];
    }
}

void
gl_ops_health_members (gl_ops_health_t *self, gl_provider_t provider, char *const *instances,
                       size_t count)
{
    s_provider_t *state = s_provider (self, provider);
    if (!state)
        return;
    size_t kept = 0;
    for (size_t index = 0; index < state->instance_count; index++) {
        s_instance_t *instance = &state->instances [index];
        bool live = false;
        for (size_t member = 0; member < count && !live; member++)
            live = strcmp (instances [member], instance->name) == 0;
        if (live)
            state->instances [kept++] = *instance;
        else
            s_totals_add (&state->retired, &instance->totals);
    }
    state->instance_count = kept;
    for (size_t member = 0; member < count; member++)
        s_instance (state, instances [member]);
}

void
gl_ops_health_set_limit (gl_ops_health_t *self, gl_provider_t provider, double per_second)
{
    s_provider_t *state = s_provider (self, provider);
    if (state)
        state->limit_per_s = per_second;
}

gl_ops_provider_view_t
gl_ops_health_view (gl_ops_health_t *self, gl_provider_t provider)
{
    gl_ops_provider_view_t view = { .provider = gl_capability_name (provider),
                                    .breaker = "closed" };
    s_provider_t *state = s_provider (self, provider);
    if (!state)
        return view;
    s_totals_t totals = state->retired;
    for (size_t index = 0; index < state->instance_count; index++) {
        s_totals_add (&totals, &state->instances [index].totals);
        view.in_flight += state->instances [index].in_flight;
        view.used_per_s += state->instances [index].per_second;
    }
    double latency = 0, errors = 0, incompleteness = 0;
    for (size_t index = 0; index < state->sample_count; index++) {
        latency += state->samples [index].latency;
        errors += state->samples [index].errors;
        incompleteness += state->samples [index].incompleteness;
    }
    if (state->sample_count) {
        latency /= (double) state->sample_count;
        errors /= (double) state->sample_count;
        incompleteness /= (double) state->sample_count;
    }
    view.breaker = state->breaker;
    view.breaker_term = strcmp (state->breaker, "closed") == 0? 1
                      : strcmp (state->breaker, "half_open") == 0? 0.5: 0;
    view.latency_term = 1 - latency;
    view.error_term = 1 - errors;
    view.completeness_term = 1 - incompleteness;
    view.score = gl_capability_health_score (view.breaker_term, view.latency_term,
                                             view.error_term, view.completeness_term);
    view.samples = state->sample_count;
    view.instances = state->instance_count;
    view.limit_per_s = state->limit_per_s;
    view.requests = totals.requests;
    view.failures = totals.failures;
    view.over_limit = totals.over_limit;
    view.fetches = totals.fetches;
    view.bars = totals.bars;
    view.latency_sum_ms = totals.latency_sum_ms;
    memcpy (view.latency, totals.latency, sizeof view.latency);
    memcpy (view.errors, totals.errors, sizeof view.errors);
    memcpy (view.endpoint_errors, totals.endpoint_errors, sizeof view.endpoint_errors);
    view.bans = state->bans;
    view.slow = state->slow;
    view.banned_until_ms = state->banned_until_ms;
    return view;
}
