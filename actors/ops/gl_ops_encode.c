/*  gl_ops_encode — the bodies of the ops publication.  */
#include "gl_ops_encode.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

bool
gl_ops_progress_done (const char *status)
{
    return strcmp (status, "succeeded") == 0 || strcmp (status, "failed") == 0
        || strcmp (status, "cancelled") == 0;
}

//  The window the recent counts cover, in seconds: the last minute, or
//  the backfill's life when shorter (at least one second).
static double
s_window_s (const gl_ops_progress_t *progress)
{
    return progress->age_s < 1? 1: progress->age_s > 60? 60: progress->age_s;
}

double
gl_ops_progress_rate (const gl_ops_progress_t *progress)
{
    return (double) progress->recent_bars / s_window_s (progress);
}

int64_t
gl_ops_progress_eta (const gl_ops_progress_t *progress)
{
    int64_t left = progress->total - progress->succeeded - progress->dead - progress->cancelled;
    if (left <= 0)
        return 0;
    if (progress->recent_succeeded == 0)
        return -1;
    return (int64_t) ceil ((double) left * s_window_s (progress)
                           / (double) progress->recent_succeeded);
}

gl_ops_map_t *
gl_ops_encode_progress (const gl_ops_progress_t *progress, const char *trigger, int64_t now_ms)
{
    gl_ops_map_t *map = gl_ops_map_new ();
    gl_ops_map_t *providers = gl_ops_map_new ();
    if (!map || !providers) {
        gl_ops_map_destroy (&map);
        gl_ops_map_destroy (&providers);
        return NULL;
    }
    for (int provider = 0; provider <= GL_PROVIDER_COUNT; provider++)
        if (progress->bars_by_provider [provider] > 0)
            gl_ops_map_int (providers, provider? gl_capability_name ((gl_provider_t) provider)
                                               : "none", progress->bars_by_provider [provider]);
    gl_ops_map_str (map, "type", "progress");
    gl_ops_map_int (map, "time_ms", now_ms);
    gl_ops_map_str (map, "trigger", trigger);
    gl_ops_map_int (map, "backfill_id", progress->id);
    gl_ops_map_str (map, "status", progress->status);
    gl_ops_map_bool (map, "done", gl_ops_progress_done (progress->status));
    gl_ops_map_str (map, "timeframe", progress->timeframe);
    gl_ops_map_int (map, "from", progress->range_from);
    gl_ops_map_int (map, "to", progress->range_to);
    gl_ops_map_int (map, "priority", progress->priority);
    gl_ops_map_str (map, "provider", progress->provider);
    gl_ops_map_int (map, "created_at", progress->created_at);
    gl_ops_map_float (map, "elapsed_s", progress->age_s);
    gl_ops_map_int (map, "slices_total", progress->total);
    gl_ops_map_int (map, "slices_queued", progress->queued);
    gl_ops_map_int (map, "slices_running", progress->running);
    gl_ops_map_int (map, "slices_succeeded", progress->succeeded);
    gl_ops_map_int (map, "slices_retrying", progress->retrying);
    gl_ops_map_int (map, "slices_dead", progress->dead);
    gl_ops_map_int (map, "slices_cancelled", progress->cancelled);
    gl_ops_map_int (map, "slices_paused", progress->paused);
    gl_ops_map_int (map, "bars_written", progress->bars_written);
    gl_ops_map_map (map, "bars_by_provider", providers);
    gl_ops_map_float (map, "bars_per_s", gl_ops_progress_rate (progress));
    gl_ops_map_int (map, "eta_s", gl_ops_progress_eta (progress));
    gl_ops_map_int (map, "oldest_queued_s", progress->oldest_queued_s);
    gl_ops_map_int (map, "retries", progress->retries);
    gl_ops_map_int (map, "dead_letters", progress->dead);
    gl_ops_map_int (map, "last_finished_ms", progress->last_finished_ms);
    gl_ops_map_destroy (&providers);
    return map;
}

gl_ops_map_t *
gl_ops_encode_slice (const gl_ops_slice_t *slice, int64_t now_ms)
{
    gl_ops_map_t *map = gl_ops_map_new ();
    if (!map)
        return NULL;
    gl_ops_map_str (map, "type", "slice");
    gl_ops_map_int (map, "time_ms", now_ms);
    gl_ops_map_int (map, "backfill_id", slice->backfill_id);
    gl_ops_map_int (map, "run_id", slice->run_id);
    gl_ops_map_str (map, "symbol", slice->symbol);
    gl_ops_map_str (map, "timeframe", slice->timeframe);
    gl_ops_map_int (map, "from", slice->from);
    gl_ops_map_int (map, "to", slice->to);
    gl_ops_map_str (map, "status", slice->status);
    gl_ops_map_int (map, "attempt", slice->attempt);
    gl_ops_map_str (map, "provider", slice->provider);
    gl_ops_map_int (map, "rows", slice->rows);
    gl_ops_map_str (map, "error_class", slice->error_class);
    gl_ops_map_str (map, "error_message", slice->error_message);
    return map;
}

gl_ops_map_t *
gl_ops_encode_provider (const gl_ops_provider_view_t *view, int64_t in_flight_slices,
                        int64_t now_ms)
{
    gl_ops_map_t *map = gl_ops_map_new (), *terms = gl_ops_map_new ();
    gl_ops_map_t *limit = gl_ops_map_new (), *errors = gl_ops_map_new ();
    if (map && terms && limit && errors) {
        gl_ops_map_float (terms, "breaker", view->breaker_term);
        gl_ops_map_float (terms, "latency", view->latency_term);
        gl_ops_map_float (terms, "errors", view->error_term);
        gl_ops_map_float (terms, "completeness", view->completeness_term);
        gl_ops_map_float (limit, "used_per_s", view->used_per_s);
        gl_ops_map_float (limit, "limit_per_s", view->limit_per_s);
        gl_ops_map_float (limit, "use", view->limit_per_s > 0? view->used_per_s / view->limit_per_s
                                                              : 0);
        gl_ops_map_int (limit, "over_limit_total", (int64_t) view->over_limit);
        for (size_t index = 0; index < GL_OPS_ERROR_CLASSES; index++)
            gl_ops_map_int (errors, gl_ops_error_classes [index], (int64_t) view->errors [index]);
        gl_ops_map_str (map, "type", "provider");
        gl_ops_map_int (map, "time_ms", now_ms);
        gl_ops_map_str (map, "provider", view->provider);
        gl_ops_map_float (map, "health", view->score);
        gl_ops_map_map (map, "terms", terms);
        gl_ops_map_int (map, "samples", (int64_t) view->samples);
        gl_ops_map_str (map, "breaker", view->breaker);
        gl_ops_map_map (map, "rate_limit", limit);
        gl_ops_map_int (map, "instances", (int64_t) view->instances);
        gl_ops_map_int (map, "in_flight", view->in_flight);
        gl_ops_map_int (map, "in_flight_slices", in_flight_slices);
        gl_ops_map_int (map, "requests_total", (int64_t) view->requests);
        gl_ops_map_int (map, "failures_total", (int64_t) view->failures);
        gl_ops_map_int (map, "selections_total", (int64_t) view->fetches);
        gl_ops_map_int (map, "bars_total", (int64_t) view->bars);
        gl_ops_map_map (map, "errors_total", errors);
        gl_ops_map_int (map, "bans_total", (int64_t) view->bans);
        gl_ops_map_int (map, "banned_until_ms", view->banned_until_ms);
        gl_ops_map_int (map, "slow_total", (int64_t) view->slow);
    }
    gl_ops_map_destroy (&terms);
    gl_ops_map_destroy (&limit);
    gl_ops_map_destroy (&errors);
    if (map && gl_ops_map_size (map) == 0)
        gl_ops_map_destroy (&map);
    return map;
}

//  Adds count to the entry key of a small table of names (at most 64).
static void
s_tally (char names [][40], int64_t *counts, size_t *size, const char *key, int64_t count)
{
    for (size_t index = 0; index < *size; index++)
        if (strcmp (names [index], key) == 0) {
            counts [index] += count;
            return;
        }
    if (*size == 64)
        return;
    snprintf (names [*size], 40, "%s", key);
    counts [(*size)++] = count;
}

//  A map of a tally.
static void
s_tally_map (gl_ops_map_t *map, const char *key, char names [][40], const int64_t *counts,
             size_t size)
{
    gl_ops_map_t *child = gl_ops_map_new ();
    if (!child)
        return;
    for (size_t index = 0; index < size; index++)
        gl_ops_map_int (child, names [index], counts [index]);
    gl_ops_map_map (map, key, child);
    gl_ops_map_destroy (&child);
}

bool
gl_ops_slice_waiting (const char *status)
{
    return strcmp (status, "queued") == 0 || strcmp (status, "failed_will_retry") == 0;
}

gl_ops_map_t *
gl_ops_encode_stats (const gl_ops_stats_t *stats, const gl_ops_provider_view_t *views,
                     size_t view_count, const gl_ops_services_t *services,
                     int64_t backfills_active, int64_t subscribers, int64_t now_ms)
{
    gl_ops_map_t *map = gl_ops_map_new ();
    if (!map)
        return NULL;
    char names [5][64][40];
    int64_t counts [5][64] = { { 0 } }, depth = 0, oldest = -1;
    size_t sizes [5] = { 0 };
    enum { PRIORITY, TIER, OLDEST, IN_FLIGHT, REQUESTS };
    for (size_t row = 0; stats && row < stats->queue_count; row++) {
        if (!gl_ops_slice_waiting (stats->queue [row].status))
            continue;
        char priority [24];
        snprintf (priority, sizeof priority, "%" PRId64, stats->queue [row].priority);
        s_tally (names [PRIORITY], counts [PRIORITY], &sizes [PRIORITY], priority,
                 stats->queue [row].count);
        s_tally (names [TIER], counts [TIER], &sizes [TIER], stats->queue [row].tier,
                 stats->queue [row].count);
        s_tally (names [OLDEST], counts [OLDEST], &sizes [OLDEST], stats->queue [row].tier, 0);
        for (size_t index = 0; index < sizes [OLDEST]; index++)
            if (strcmp (names [OLDEST][index], stats->queue [row].tier) == 0
            &&  stats->queue [row].oldest_s > counts [OLDEST][index])
                counts [OLDEST][index] = stats->queue [row].oldest_s;
        depth += stats->queue [row].count;
        if (stats->queue [row].oldest_s > oldest)
            oldest = stats->queue [row].oldest_s;
    }
    for (size_t row = 0; stats && row < stats->job_count; row++)
        if (strcmp (stats->jobs [row].status, "running") == 0)
            s_tally (names [IN_FLIGHT], counts [IN_FLIGHT], &sizes [IN_FLIGHT],
                     *stats->jobs [row].provider? stats->jobs [row].provider: "none",
                     stats->jobs [row].count);
    for (size_t index = 0; index < view_count; index++)
        s_tally (names [REQUESTS], counts [REQUESTS], &sizes [REQUESTS], views [index].provider,
                 views [index].in_flight);
    gl_ops_map_str (map, "type", "stats");
    gl_ops_map_int (map, "time_ms", now_ms);
    gl_ops_map_bool (map, "queue_known", stats != NULL);
    gl_ops_map_int (map, "queue_depth", depth);
    s_tally_map (map, "queue_depth_by_priority", names [PRIORITY], counts [PRIORITY],
                 sizes [PRIORITY]);
    s_tally_map (map, "queue_depth_by_tier", names [TIER], counts [TIER], sizes [TIER]);
    gl_ops_map_int (map, "oldest_queued_s", oldest);
    s_tally_map (map, "oldest_queued_s_by_tier", names [OLDEST], counts [OLDEST], sizes [OLDEST]);
    s_tally_map (map, "in_flight_slices", names [IN_FLIGHT], counts [IN_FLIGHT], sizes [IN_FLIGHT]);
    s_tally_map (map, "in_flight_requests", names [REQUESTS], counts [REQUESTS], sizes [REQUESTS]);
    gl_ops_map_t *instances = gl_ops_map_new ();
    if (instances) {
        for (size_t index = 0; index < services->count; index++)
            gl_ops_map_int (instances, services->services [index].name,
                            services->services [index].count);
        gl_ops_map_map (map, "instances", instances);
        gl_ops_map_destroy (&instances);
    }
    gl_ops_map_int (map, "backfills_active", backfills_active);
    gl_ops_map_int (map, "subscribers", subscribers);
    return map;
}

gl_ops_map_t *
gl_ops_encode_membership (const gl_msg_t *membership, int64_t now_ms)
{
    gl_ops_map_t *map = gl_ops_map_new ();
    if (!map)
        return NULL;
    gl_ops_map_str (map, "type", "service");
    gl_ops_map_int (map, "time_ms", now_ms);
    gl_ops_map_str (map, "service", membership->membership.service);
    gl_ops_map_str (map, "event", membership->membership.event);
    gl_ops_map_str (map, "instance", membership->membership.instance);
    gl_ops_map_int (map, "count", (int64_t) membership->membership.count);
    return map;
}

gl_ops_map_t *
gl_ops_encode_event (const gl_msg_t *event, const char *type, const char *const *keys)
{
    gl_ops_map_t *map = gl_ops_map_new (), *fields = gl_ops_map_new ();
    if (map && fields) {
        gl_ops_map_str (map, "type", type);
        gl_ops_map_int (map, "time_ms", event->event.time_ms);
        gl_ops_map_str (map, "source", event->event.source);
        gl_ops_map_str (map, "name", event->event.name);
        for (size_t index = 0; keys [index]; index++) {
            const char *value = gl_msg_field (event->event.fields, event->event.field_count,
                                              keys [index]);
            if (value)
                gl_ops_map_text (fields, keys [index], value);
        }
        gl_ops_map_map (map, "fields", fields);
    }
    gl_ops_map_destroy (&fields);
    return map;
}
