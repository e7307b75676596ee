/*  gapless-ops — the ops actor, service `ops`: gathers what every actor
    says (EVENTs, WRITTEN, MEMBERSHIP) and what PostgreSQL holds (backfill
    progress, queue statistics), and tells people and programs:

      - a ZeroMQ XPUB socket (ops/publish) publishes snapshots, never
        deltas, under the topics of protocol/SPEC.md "Ops publication":
        progress.<backfill>, slice.<backfill>.<run>, provider.<name>,
        stats, service.<name>, slow.<provider>, coverage.<symbol>.<tf>,
        gaps.<tf>.<symbol>, slo.<tier>.<tf>;
      - HTTP (ops/http, libmicrohttpd) serves /metrics in the Prometheus
        text format and /health.

    Snapshots go out every snapshot_ms for each backfill that is not
    finished (and, for retain_s, for those that finished), for every
    provider and for the queue; a slice's WRITTEN (sent by the writer
    after COMMIT) publishes its backfills' progress at once, a breaker
    change or a ban its provider's, and a new subscription everything
    ops holds, so a late joiner is right at once. Nothing it publishes is
    a credential: fetchers send none, and ops relays only named fields.
*/
#include "gl_actor.h"
#include "gl_calendar.h"
#include "gl_config.h"
#include "gl_settings.h"
#include "gl_log.h"
#include "gl_ops_catalog.h"
#include "gl_ops_encode.h"
#include "gl_ops_http.h"
#include "gl_ops_metrics.h"
#include "gl_ops_pub.h"
#include "gl_ratelimit.h"
#include "gl_timeframe.h"
#include <math.h>

#define S_PENDING_MAX 20000         //  WRITTENs waiting for the next flush
#define S_IDS_MAX 100000            //  backfills looked at per tick
#define S_SLICES_PER_TICK 5000
#define S_RESCAN_TICKS 10           //  a full scan for unfinished backfills
#define S_SEEN_MAX 200000           //  slice states remembered, to publish changes only
#define S_FOLLOW_MAX 16

//  One backfill ops publishes.
typedef struct {
    gl_ops_progress_t progress;
    int64_t done_at_ms;             //  monotonic: when it was first seen finished; 0: not
} s_backfill_t;

//  A WRITTEN whose backfills' progress goes out at the next flush.
typedef struct {
    int64_t run_id, from, to, rows, received_ms;
    char symbol [GL_MSG_SYMBOL_MAX + 1], timeframe [4];
} s_pending_t;

typedef struct {
    gl_actor_t *actor;
    gl_ops_store_t *store;
    gl_ops_pub_t *pub;
    gl_ops_http_t *http;
    gl_ops_health_t *health;
    gl_ops_metrics_t *metrics;
    gl_calendar_t *calendar;
    zhashx_t *backfills;            //  "id" -> s_backfill_t
    int64_t max_seen_id;            //  the newest backfill known
    bool history_skipped;           //  backfills finished before the start are not read
    uint64_t ticks;
    s_pending_t *pending;
    size_t pending_count;
    bool flush_armed, republish_armed;
    zhashx_t *slices_seen;          //  "backfill.run" -> "status attempt" last published
    int64_t *found;                 //  S_IDS_MAX backfill ids, for each scan
    gl_ops_stats_t *stats;
    bool stats_known;
    int64_t stats_at_ms;
    gl_ops_services_t services;
    int64_t newest_written [GL_TF_1W + 1];  //  epoch s: the latest slice end written
    int64_t snapshot_ms, stats_ms, slow_ms, retain_ms, coalesce_ms;
    bool broker_up;
} self_t;

//  What a progress callback publishes with.
typedef struct {
    self_t *self;
    const char *trigger;
    int64_t since_ms;               //  monotonic: what started it, for the latency
    int64_t *ids;                   //  collects backfill ids (run lookups)
    size_t id_count, id_size;
} s_context_t;

//  --------------------------------------------------------------------------
//  Publishing

//  Publishes and destroys the map, counting it by topic prefix and its
//  latency from since_ms.
static void
s_publish (self_t *self, const char *topic, gl_ops_map_t **map_p, int64_t since_ms)
{
    if (!*map_p)
        return;
    char prefix [16];
    snprintf (prefix, sizeof prefix, "%.*s", (int) strcspn (topic, "."), topic);
    if (gl_ops_pub_send (self->pub, topic, *map_p) == 0) {
        const char *labels [] = { "topic", prefix, NULL };
        gl_ops_metrics_add (self->metrics, "gapless_ops_published_messages_total", labels, 1);
        gl_ops_metrics_observe (self->metrics, "gapless_ops_publish_latency_seconds", NULL,
                                (double) (zclock_mono () - since_ms) / 1000);
    }
    gl_ops_map_destroy (map_p);
}

//  Publishes one backfill's progress.
static void
s_publish_progress (self_t *self, const gl_ops_progress_t *progress, const char *trigger,
                    int64_t since_ms)
{
    char topic [48];
    snprintf (topic, sizeof topic, "progress.%" PRId64, progress->id);
    gl_ops_map_t *map = gl_ops_encode_progress (progress, trigger, zclock_time ());
    s_publish (self, topic, &map, since_ms);
}

//  The slices running at a provider, from the last stats (-1: unknown).
static int64_t
s_in_flight_slices (self_t *self, const char *provider)
{
    if (!self->stats_known)
        return -1;
    int64_t count = 0;
    for (size_t row = 0; row < self->stats->job_count; row++)
        if (strcmp (self->stats->jobs [row].status, "running") == 0
        &&  strcmp (self->stats->jobs [row].provider, provider) == 0)
            count += self->stats->jobs [row].count;
    return count;
}

//  Publishes one provider's snapshot.
static void
s_publish_provider (self_t *self, gl_provider_t provider, int64_t since_ms)
{
    gl_ops_provider_view_t view = gl_ops_health_view (self->health, provider);
    char topic [48];
    snprintf (topic, sizeof topic, "provider.%s", view.provider);
    gl_ops_map_t *map = gl_ops_encode_provider (&view, s_in_flight_slices (self, view.provider),
                                                zclock_time ());
    s_publish (self, topic, &map, since_ms);
}

//  The live backfills' count.
static int64_t
s_active_count (self_t *self)
{
    int64_t active = 0;
    for (s_backfill_t *backfill = (s_backfill_t *) zhashx_first (self->backfills); backfill;
         backfill = (s_backfill_t *) zhashx_next (self->backfills))
        active += backfill->done_at_ms == 0;
    return active;
}

//  Publishes the stats snapshot (providers first: a reader that waits for
//  stats has every provider by then).
static void
s_publish_stats (self_t *self, int64_t since_ms)
{
    gl_ops_provider_view_t views [GL_PROVIDER_COUNT];
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        views [provider - 1] = gl_ops_health_view (self->health, (gl_provider_t) provider);
        s_publish_provider (self, (gl_provider_t) provider, since_ms);
    }
    gl_ops_map_t *map = gl_ops_encode_stats (self->stats_known? self->stats: NULL, views,
                                             GL_PROVIDER_COUNT, &self->services,
                                             s_active_count (self),
                                             gl_ops_pub_subscribers (self->pub), zclock_time ());
    s_publish (self, "stats", &map, since_ms);
}

//  --------------------------------------------------------------------------
//  Backfills

//  The backfill with that id, added if new; NULL on out of memory.
static s_backfill_t *
s_backfill (self_t *self, int64_t id)
{
    char key [24];
    snprintf (key, sizeof key, "%" PRId64, id);
    s_backfill_t *backfill = (s_backfill_t *) zhashx_lookup (self->backfills, key);
    if (backfill)
        return backfill;
    backfill = (s_backfill_t *) calloc (1, sizeof (s_backfill_t));
    if (backfill)
        backfill->progress.id = id;     //  the rest comes with its first progress
    if (backfill && zhashx_insert (self->backfills, key, backfill) != 0) {
        free (backfill);
        backfill = NULL;
    }
    if (id > self->max_seen_id)
        self->max_seen_id = id;
    return backfill;
}

//  Store callback: a backfill's progress, kept and published.
static void
s_on_progress (const gl_ops_progress_t *progress, void *argument)
{
    s_context_t *context = (s_context_t *) argument;
    self_t *self = context->self;
    s_backfill_t *backfill = s_backfill (self, progress->id);
    if (!backfill)
        return;
    bool was_done = backfill->done_at_ms != 0;
    backfill->progress = *progress;
    bool done = gl_ops_progress_done (progress->status);
    if (done && !was_done) {
        backfill->done_at_ms = zclock_mono ();
        gl_log_info ("backfill_finished", "id=%" PRId64 " status=%s slices=%" PRId64
                     " bars=%" PRId64 " dead=%" PRId64, progress->id, progress->status,
                     progress->total, progress->bars_written, progress->dead);
    }
    if (!done)
        backfill->done_at_ms = 0;   //  requeued dead slices make it run again
    s_publish_progress (self, progress, context->trigger, context->since_ms);
}

//  The ids of the backfills not finished, into a new array (caller frees).
static int64_t *
s_active_ids (self_t *self, size_t *count)
{
    *count = 0;
    int64_t *ids = (int64_t *) malloc ((zhashx_size (self->backfills) + 1) * sizeof (int64_t));
    if (!ids)
        return NULL;
    for (s_backfill_t *backfill = (s_backfill_t *) zhashx_first (self->backfills); backfill;
         backfill = (s_backfill_t *) zhashx_next (self->backfills))
        if (backfill->done_at_ms == 0 && *count < S_IDS_MAX)
            ids [(*count)++] = backfill->progress.id;
    return ids;
}

//  Store callback: a slice of a live backfill, published if it changed.
static void
s_on_slice (const gl_ops_slice_t *slice, void *argument)
{
    self_t *self = (self_t *) argument;
    char key [48], state [48], topic [64];
    snprintf (key, sizeof key, "%" PRId64 ".%" PRId64, slice->backfill_id, slice->run_id);
    //  A succeeded slice is final: the WRITTEN's copy (no attempt) and the
    //  scan's are one state.
    if (strcmp (slice->status, "succeeded") == 0)
        snprintf (state, sizeof state, "succeeded");
    else
        snprintf (state, sizeof state, "%s %" PRId64, slice->status, slice->attempt);
    const char *seen = (const char *) zhashx_lookup (self->slices_seen, key);
    if (seen && strcmp (seen, state) == 0)
        return;
    if (zhashx_size (self->slices_seen) >= S_SEEN_MAX)
        zhashx_purge (self->slices_seen);       //  only repeats follow: harmless
    zhashx_update (self->slices_seen, key, strdup (state));
    snprintf (topic, sizeof topic, "slice.%s", key);
    gl_ops_map_t *map = gl_ops_encode_slice (slice, zclock_time ());
    s_publish (self, topic, &map, zclock_mono ());
}

//  Republishes what finished lately; forgets what finished before that.
static void
s_republish_finished (self_t *self, int64_t since_ms)
{
    zlistx_t *expired = zlistx_new ();
    zlistx_set_destructor (expired, (zlistx_destructor_fn *) zstr_free);
    for (s_backfill_t *backfill = (s_backfill_t *) zhashx_first (self->backfills); backfill;
         backfill = (s_backfill_t *) zhashx_next (self->backfills)) {
        if (backfill->done_at_ms == 0)
            continue;
        if (zclock_mono () - backfill->done_at_ms > self->retain_ms)
            zlistx_add_end (expired, strdup ((const char *) zhashx_cursor (self->backfills)));
        else
            s_publish_progress (self, &backfill->progress, "tick", since_ms);
    }
    for (char *key = (char *) zlistx_first (expired); key; key = (char *) zlistx_next (expired))
        zhashx_delete (self->backfills, key);
    zlistx_destroy (&expired);
}

//  Reads and publishes every unfinished backfill (and new ones), their
//  changed slices, and the finished ones still retained.
static void
s_refresh_backfills (self_t *self, int64_t since_ms)
{
    bool rescan = self->ticks % S_RESCAN_TICKS == 0;
    if (!self->history_skipped) {
        rescan = true;
        int64_t newest = gl_ops_store_newest_backfill (self->store);
        if (newest < 0)
            return;
        self->max_seen_id = newest;
        self->history_skipped = true;
    }
    int count = gl_ops_store_backfills (self->store, self->max_seen_id, rescan, self->found,
                                        S_IDS_MAX);
    for (int index = 0; index < count; index++)
        s_backfill (self, self->found [index]);
    size_t active = 0;
    int64_t *ids = s_active_ids (self, &active);
    s_context_t context = { self, "tick", since_ms, NULL, 0, 0 };
    if (ids && active) {
        gl_ops_store_progress (self->store, ids, active, s_on_progress, &context);
        gl_ops_store_slices (self->store, ids, active, S_SLICES_PER_TICK, s_on_slice, self);
    }
    free (ids);
    s_republish_finished (self, since_ms);
}

//  --------------------------------------------------------------------------
//  Commits: WRITTEN

//  Store callback: a run of a flushed WRITTEN belongs to this backfill.
//  Its slice goes out as succeeded; the backfill id is collected.
static void
s_on_pair (int64_t backfill_id, int64_t run_id, void *argument)
{
    s_context_t *context = (s_context_t *) argument;
    self_t *self = context->self;
    for (size_t index = 0; index < self->pending_count; index++) {
        const s_pending_t *pending = &self->pending [index];
        if (pending->run_id != run_id)
            continue;
        gl_ops_slice_t slice = { .backfill_id = backfill_id, .run_id = run_id,
                                 .from = pending->from, .to = pending->to,
                                 .rows = pending->rows, .attempt = -1 };
        snprintf (slice.symbol, sizeof slice.symbol, "%s", pending->symbol);
        snprintf (slice.timeframe, sizeof slice.timeframe, "%s", pending->timeframe);
        snprintf (slice.status, sizeof slice.status, "succeeded");
        s_on_slice (&slice, self);
        break;
    }
    for (size_t index = 0; index < context->id_count; index++)
        if (context->ids [index] == backfill_id)
            return;
    if (context->id_count < context->id_size)
        context->ids [context->id_count++] = backfill_id;    //  else: the next tick
}

//  zloop: publishes the progress of every backfill a pending WRITTEN
//  touched, in one lookup and one progress query.
static int
s_on_flush (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    self->flush_armed = false;
    if (self->pending_count == 0)
        return 0;
    int64_t *runs = (int64_t *) malloc (self->pending_count * sizeof (int64_t));
    int64_t *ids = (int64_t *) malloc (self->pending_count * 4 * sizeof (int64_t));
    int64_t since_ms = self->pending [0].received_ms;
    if (runs && ids) {
        for (size_t index = 0; index < self->pending_count; index++)
            runs [index] = self->pending [index].run_id;
        //  A run belongs to few backfills; beyond 4 each on average they
        //  wait for the next tick.
        s_context_t context = { self, "commit", since_ms, ids, 0, self->pending_count * 4 };
        if (gl_ops_store_run_backfills (self->store, runs, self->pending_count, s_on_pair,
                                        &context) == 0)
            gl_ops_store_progress (self->store, context.ids, context.id_count, s_on_progress,
                                   &context);
    }
    free (runs);
    free (ids);
    self->pending_count = 0;
    return 0;
}

//  WRITTEN: a slice committed. Its backfills' progress goes out at the
//  next flush, a few ms away, so a burst of commits costs one query.
static int
s_handle_written (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *written = *message_p;
    gl_timeframe_t timeframe = gl_timeframe_parse (written->written.timeframe);
    if (written->written.to > self->newest_written [timeframe])
        self->newest_written [timeframe] = written->written.to;
    if (self->pending_count == S_PENDING_MAX)
        return 0;           //  the next tick publishes it anyway
    s_pending_t *pending = &self->pending [self->pending_count++];
    *pending = (s_pending_t) { .run_id = (int64_t) written->written.run_id,
                               .from = written->written.from, .to = written->written.to,
                               .rows = (int64_t) written->written.rows,
                               .received_ms = zclock_mono () };
    snprintf (pending->symbol, sizeof pending->symbol, "%s", written->written.symbol);
    snprintf (pending->timeframe, sizeof pending->timeframe, "%s", written->written.timeframe);
    if (!self->flush_armed) {
        self->flush_armed = true;
        zloop_timer (gl_actor_loop (actor), (size_t) self->coalesce_ms, 1, s_on_flush, self);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  EVENTs

//  The names ops knows; anything else counts as "other" (a label's
//  values stay few whatever peers send).
static const char *s_event_names [] = { "fetcher_health", "breaker_changed", "provider_banned",
    "slow_request", "contract_error", "credential_refused", "batch_written", "gaps_found",
    "coverage_snapshot", "slo", NULL };

//  True for a ticker as the database takes it (migrations/0001).
static bool
s_symbol_valid (const char *symbol)
{
    size_t length = strlen (symbol);
    return length >= 1 && length <= 32
        && strspn (symbol, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                           ".^=:/_-") == length;
}

//  A field of an event, or "".
static const char *
s_field (const gl_msg_t *event, const char *key)
{
    const char *value = gl_msg_field (event->event.fields, event->event.field_count, key);
    return value? value: "";
}

//  The fields each relayed event carries (protocol/SPEC.md 11.3).
static const char *s_slow_keys [] = { "provider", "endpoint", "symbol", "timeframe", "from",
    "to", "attempt", "duration_ms", "status", NULL };
static const char *s_coverage_keys [] = { "symbol", "timeframe", "ranges", "gaps", "stored",
    "no_trades", "not_fetched", "provider_error", "first_covered", "last_covered", NULL };
static const char *s_gaps_keys [] = { "timeframe", "symbol", "count", "bars", NULL };
static const char *s_slo_keys [] = { "tier", "timeframe", "sampled", "violations", "rate", NULL };

//  Relays an event's named fields under topic as a map of the given type.
static void
s_relay (self_t *self, const char *topic, const gl_msg_t *event, const char *type,
         const char *const *keys)
{
    gl_ops_map_t *map = gl_ops_encode_event (event, type, keys);
    s_publish (self, topic, &map, zclock_mono ());
}

//  slow_request: published and logged with its context, if over slow_ms.
static int
s_event_slow (self_t *self, const gl_msg_t *event, gl_provider_t provider)
{
    int64_t duration = strtoll (s_field (event, "duration_ms"), NULL, 10);
    if (duration < self->slow_ms)
        return 0;
    gl_ops_health_slow (self->health, provider);
    gl_log_warn ("slow_request", "provider=%s endpoint=%s symbol=%s timeframe=%s from=%s to=%s"
                 " attempt=%s duration_ms=%" PRId64 " status=%s source=%s",
                 gl_capability_name (provider), GL_LOG_VALUE (s_field (event, "endpoint")),
                 GL_LOG_VALUE (s_field (event, "symbol")), GL_LOG_VALUE (s_field (event, "timeframe")),
                 GL_LOG_VALUE (s_field (event, "from")), GL_LOG_VALUE (s_field (event, "to")),
                 GL_LOG_VALUE (s_field (event, "attempt")), duration,
                 GL_LOG_VALUE (s_field (event, "status")), event->event.source);
    char topic [48];
    snprintf (topic, sizeof topic, "slow.%s", gl_capability_name (provider));
    s_relay (self, topic, event, "slow", s_slow_keys);
    return 0;
}

//  A fetcher's event: health, breaker, ban, slow call, refusals.
static int
s_event_fetcher (self_t *self, const gl_msg_t *event)
{
    gl_provider_t provider = gl_capability_parse_name (s_field (event, "provider"));
    if (provider == GL_PROVIDER_INVALID)
        return -1;
    const char *name = event->event.name;
    const char *instance = strchr (event->event.source, '/');
    if (strcmp (name, "fetcher_health") == 0) {
        char refused [GL_MSG_NAME_MAX + 1] = "";
        if (gl_ops_health_sample (self->health, provider, instance? instance + 1: event->event.source,
                                  event->event.fields, event->event.field_count, zclock_mono (),
                                  refused) != 0)
            gl_log_warn ("event_field_refused", "name=%s source=%s field=%s", name,
                         event->event.source, GL_LOG_VALUE (refused));
        return 0;
    }
    if (strcmp (name, "slow_request") == 0)
        return s_event_slow (self, event, provider);
    if (strcmp (name, "breaker_changed") == 0)
        gl_ops_health_breaker (self->health, provider, s_field (event, "to"));
    else
    if (strcmp (name, "provider_banned") == 0) {
        gl_ops_health_ban (self->health, provider, strtoll (s_field (event, "until_ms"), NULL, 10));
        const char *labels [] = { "provider", gl_capability_name (provider), NULL };
        gl_ops_metrics_add (self->metrics, "gapless_provider_bans_total", labels, 1);
    }
    s_publish_provider (self, provider, zclock_mono ());
    return 0;
}

//  A coverage event: gaps found, a range's snapshot, an SLO sample.
static int
s_event_coverage (self_t *self, const gl_msg_t *event)
{
    const char *name = event->event.name, *timeframe = s_field (event, "timeframe");
    if (gl_timeframe_parse (timeframe) == GL_TF_INVALID)
        return -1;
    char topic [128];
    if (strcmp (name, "slo") == 0) {
        const char *tier = s_field (event, "tier");
        if (strcmp (tier, "T0") && strcmp (tier, "T1") && strcmp (tier, "T2"))
            return -1;
        char *end = NULL;
        double rate = strtod (s_field (event, "rate"), &end);
        if (end == s_field (event, "rate") || *end || !(rate >= 0 && rate <= 1))
            return -1;
        const char *labels [] = { "tier", tier, "timeframe", timeframe, NULL };
        gl_ops_metrics_set (self->metrics, "gapless_slo_gap_violation_rate", labels, rate);
        snprintf (topic, sizeof topic, "slo.%s.%s", tier, timeframe);
        s_relay (self, topic, event, "slo", s_slo_keys);
        return 0;
    }
    const char *symbol = s_field (event, "symbol");
    if (!s_symbol_valid (symbol))
        return -1;
    if (strcmp (name, "gaps_found") == 0) {
        const char *labels [] = { "timeframe", timeframe, NULL };
        gl_ops_metrics_add (self->metrics, "gapless_gaps_found_total", labels,
                            (double) strtoull (s_field (event, "count"), NULL, 10));
        snprintf (topic, sizeof topic, "gaps.%s.%s", timeframe, symbol);
        s_relay (self, topic, event, "gaps", s_gaps_keys);
    }
    else {
        snprintf (topic, sizeof topic, "coverage.%s.%s", symbol, timeframe);
        s_relay (self, topic, event, "coverage", s_coverage_keys);
    }
    return 0;
}

//  batch_written: the writer's batch duration and rows.
static int
s_event_batch (self_t *self, const gl_msg_t *event)
{
    char *end = NULL;
    double duration_ms = strtod (s_field (event, "duration_ms"), &end);
    if (!end || *end || duration_ms < 0)
        return -1;
    gl_ops_metrics_observe (self->metrics, "gapless_writer_batch_duration_seconds", NULL,
                            duration_ms / 1000);
    gl_ops_metrics_add (self->metrics, "gapless_writer_rows_total", NULL,
                        (double) strtoull (s_field (event, "rows"), NULL, 10));
    return 0;
}

//  EVENT: counted by name, then handled by where it comes from. An event
//  ops cannot use (bad provider, timeframe, tier or symbol) is refused:
//  counted and logged, the runtime returns its credit.
static int
s_handle_event (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *event = *message_p;
    const char *name = "other";
    for (size_t index = 0; s_event_names [index]; index++)
        if (strcmp (event->event.name, s_event_names [index]) == 0)
            name = s_event_names [index];
    const char *labels [] = { "name", name, NULL };
    gl_ops_metrics_add (self->metrics, "gapless_ops_events_total", labels, 1);
    int rc = 0;
    if (strcmp (name, "batch_written") == 0)
        rc = s_event_batch (self, event);
    else
    if (strcmp (name, "gaps_found") == 0 || strcmp (name, "coverage_snapshot") == 0
    ||  strcmp (name, "slo") == 0)
        rc = s_event_coverage (self, event);
    else
    if (strcmp (name, "other") != 0)
        rc = s_event_fetcher (self, event);
    if (rc != 0) {
        //  Said by the runtime's refusal line, at most one a second
        char detail [GL_MSG_ERROR_MAX];
        snprintf (detail, sizeof detail, "event %.64s: a field ops needs is missing or not"
                  " valid", event->event.name);
        gl_actor_refusal (actor, detail);
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Membership, connection, subscriptions

//  MEMBERSHIP: live instances per service; fetchers' for their provider.
static void
s_on_membership (gl_actor_t *actor, const gl_msg_t *membership, void *argument)
{
    self_t *self = (self_t *) argument;
    const char *service = membership->membership.service;
    gl_ops_services_t *services = &self->services;
    size_t index = 0;
    while (index < services->count && strcmp (services->services [index].name, service) != 0)
        index++;
    if (index == services->count && services->count < GL_OPS_SERVICES_MAX)
        snprintf (services->services [services->count++].name, GL_MSG_NAME_MAX + 1, "%s", service);
    if (index < services->count)
        services->services [index].count = (int64_t) membership->membership.count;
    if (strncmp (service, "fetcher.", 8) == 0) {
        gl_provider_t provider = gl_capability_parse_name (service + 8);
        gl_ops_health_members (self->health, provider, membership->membership.members,
                               membership->membership.member_count);
    }
    char topic [GL_MSG_NAME_MAX + 16];
    snprintf (topic, sizeof topic, "service.%s", service);
    gl_ops_map_t *map = gl_ops_encode_membership (membership, zclock_time ());
    s_publish (self, topic, &map, zclock_mono ());
}

//  Registered or lost: /health follows.
static void
s_on_connection (gl_actor_t *actor, bool registered, void *argument)
{
    ((self_t *) argument)->broker_up = registered;
}

//  zloop: everything ops holds, for a new subscriber.
static int
s_on_republish (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    self->republish_armed = false;
    int64_t since_ms = zclock_mono ();
    for (s_backfill_t *backfill = (s_backfill_t *) zhashx_first (self->backfills); backfill;
         backfill = (s_backfill_t *) zhashx_next (self->backfills))
        if (*backfill->progress.status)
            s_publish_progress (self, &backfill->progress, "subscribe", since_ms);
    s_publish_stats (self, since_ms);
    return 0;
}

//  A subscription: the full snapshot goes out at once (coalesced, for a
//  subscriber that subscribes to several topics at once).
static void
s_on_subscribe (gl_ops_pub_t *pub, const char *prefix, void *argument)
{
    self_t *self = (self_t *) argument;
    gl_log_debug ("subscribed", "prefix=%s", GL_LOG_VALUE (prefix));
    if (!self->republish_armed) {
        self->republish_armed = true;
        zloop_timer (gl_actor_loop (self->actor), 1, 1, s_on_republish, self);
    }
}

//  --------------------------------------------------------------------------
//  Metrics and pages

//  True during a regular session of the calendar.
static bool
s_market_open (self_t *self)
{
    int64_t now = zclock_time () / 1000, open = 0, close = 0;
    int year, month, day;
    gl_calendar_date_of (now, &year, &month, &day);
    return gl_calendar_session (self->calendar, year, month, day, &open, &close) == 0
        && now >= open && now < close;
}

//  Everything else: ops itself, services, backfills, lag, the market.
static void
s_update_ops_metrics (self_t *self)
{
    gl_ops_metrics_t *metrics = self->metrics;
    gl_ops_metrics_set (metrics, "gapless_ops_subscribers", NULL,
                        (double) gl_ops_pub_subscribers (self->pub));
    gl_ops_metrics_set (metrics, "gapless_ops_dropped_messages_total", NULL,
                        (double) gl_ops_pub_dropped (self->pub));
    gl_actor_stats_t stats = gl_actor_stats (self->actor);
    gl_ops_metrics_set (metrics, "gapless_ops_refused_messages_total", NULL, (double) stats.refused);
    gl_ops_metrics_set (metrics, "gapless_ops_broker_up", NULL, self->broker_up);
    gl_ops_metrics_set (metrics, "gapless_ops_database_up", NULL, gl_ops_store_up (self->store));
    const char *market [] = { "calendar", "xnys", NULL };
    gl_ops_metrics_set (metrics, "gapless_market_open", market, s_market_open (self));
    gl_ops_metrics_reset (metrics, "gapless_service_instances");
    for (size_t index = 0; index < self->services.count; index++) {
        const char *labels [] = { "service", self->services.services [index].name, NULL };
        gl_ops_metrics_set (metrics, "gapless_service_instances", labels,
                            (double) self->services.services [index].count);
    }
    gl_ops_metrics_reset (metrics, "gapless_backfills");
    for (s_backfill_t *backfill = (s_backfill_t *) zhashx_first (self->backfills); backfill;
         backfill = (s_backfill_t *) zhashx_next (self->backfills))
        if (*backfill->progress.status) {
            const char *labels [] = { "status", backfill->progress.status, NULL };
            gl_ops_metrics_add (metrics, "gapless_backfills", labels, 1);
        }
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++)
        if (self->newest_written [timeframe]) {
            const char *labels [] = { "timeframe", gl_timeframe_name ((gl_timeframe_t) timeframe),
                                      NULL };
            gl_ops_metrics_set (metrics, "gapless_ingestion_lag_seconds", labels,
                                (double) (zclock_time () / 1000 - self->newest_written [timeframe]));
        }
}

//  Renders /metrics and /health for the HTTP thread.
static void
s_render_pages (self_t *self)
{
    if (!self->http)
        return;
    char *text = gl_ops_metrics_render (self->metrics);
    if (text)
        gl_ops_http_set (self->http, "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8",
                         text);
    free (text);
    bool database = gl_ops_store_up (self->store), healthy = self->broker_up && database;
    char actors [2048] = "", reason [512] = "";
    for (size_t index = 0, used = 0; index < self->services.count && used < sizeof actors; index++)
        used += (size_t) snprintf (actors + used, sizeof actors - used, "%s\"%s\": %" PRId64,
                                   index? ", ": "", self->services.services [index].name,
                                   self->services.services [index].count);
    if (!healthy)
        snprintf (reason, sizeof reason, "%s%s%s", self->broker_up? "": "broker unreachable",
                  !self->broker_up && !database? "; ": "",
                  database? "": "database unreachable");
    char error [400] = "";
    for (const char *cursor = gl_ops_store_error (self->store); *cursor && strlen (error) < 390; cursor++)
        if (*cursor >= 0x20 && *cursor != '"' && *cursor != '\\')
            strncat (error, cursor, 1);
    char body [4096];
    snprintf (body, sizeof body, "{\"status\": \"%s\", \"reason\": \"%s\", \"broker\": %s,"
              " \"database\": %s, \"database_error\": \"%s\", \"actors\": {%s}}\n",
              healthy? "ok": "unavailable", reason, self->broker_up? "true": "false",
              database? "true": "false", error, actors);
    gl_ops_http_set (self->http, "/health", healthy? 200: 503, "application/json", body);
}

//  zloop: the snapshot tick.
static int
s_on_tick (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    int64_t since_ms = zclock_mono ();
    s_refresh_backfills (self, since_ms);
    if (since_ms >= self->stats_at_ms) {
        self->stats_at_ms = since_ms + self->stats_ms;
        if (gl_ops_store_stats (self->store, self->stats) == 0) {
            self->stats_known = true;
            gl_ops_catalog_queue (self->metrics, self->stats);
        }
    }
    s_publish_stats (self, since_ms);
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        gl_ops_provider_view_t view = gl_ops_health_view (self->health, (gl_provider_t) provider);
        gl_ops_catalog_provider (self->metrics, &view, s_in_flight_slices (self, view.provider));
    }
    s_update_ops_metrics (self);
    s_render_pages (self);
    self->ticks++;
    return 0;
}

//  --------------------------------------------------------------------------
//  Configuration and main

//  The sustainable rate of a provider's limits: the tightest rule's N/W
//  (the fetcher's default when none is configured).
static double
s_limit_per_s (gl_config_t *config, gl_provider_t provider)
{
    char key [64], error [GL_RATELIMIT_ERROR_MAX];
    snprintf (key, sizeof key, "fetcher/%s/limits", gl_capability_name (provider));
    gl_ratelimit_t *limiter = gl_ratelimit_new (gl_config_get (config, key, "5/1s"), 0, error);
    double rate = 0;
    for (size_t index = 0; limiter && index < gl_ratelimit_rules (limiter); index++) {
        double window = (double) gl_ratelimit_window_ms (limiter, index) / 1000;
        double rule = window > 0? gl_ratelimit_limit (limiter, index, 0) / window: 0;
        if (rule > 0 && (rate == 0 || rule < rate))
            rate = rule;
    }
    gl_ratelimit_destroy (&limiter);
    return rate;
}

//  Splits "scheduler,writer,fetcher.*" into follow (NULL-terminated).
static int
s_parse_follow (const char *list, char *copy, size_t size, const char **follow)
{
    snprintf (copy, size, "%s", list);
    size_t count = 0;
    char *saveptr = NULL;
    for (char *name = strtok_r (copy, ", ", &saveptr); name; name = strtok_r (NULL, ", ", &saveptr)) {
        if (count == S_FOLLOW_MAX)
            return -1;
        follow [count++] = name;
    }
    follow [count] = NULL;
    return 0;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "Usage: gapless-ops [OPTIONS]\n"
        "Publishes backfill progress, provider health and queue statistics (ZeroMQ PUB),\n"
        "and serves /metrics (Prometheus) and /health over HTTP.\n\n"
        "  -c, --config FILE      ZPL configuration (keys under actor/, ops/, fetcher/)\n"
        "  -e, --broker ENDPOINT  broker endpoint (default tcp://127.0.0.1:5570)\n"
        "  -i, --instance ID      instance id (default host:pid)\n"
        "  -d, --database URL     PostgreSQL connection (default: as gapless finds it)\n"
        "      --schema NAME      schema (default gapless)\n"
        "  -p, --publish ENDPOINT where subscribers connect (default tcp://127.0.0.1:5571)\n"
        "      --http PORT        HTTP port for /metrics and /health (default 9571; 0: any)\n"
        "  -h, --help             this help\n\n"
        "Config: ops/publish, ops/http, ops/http_address (127.0.0.1), ops/snapshot_ms (1000),\n"
        "ops/stats_ms (2000), ops/slow_ms (2000), ops/retain_s (300), ops/coalesce_ms (100),\n"
        "ops/hwm (10000), ops/credit (100), ops/follow (\"scheduler,writer,coverage,fetcher.*\"),\n"
        "ops/database, ops/schema; fetcher/<provider>/limits for the limit use.\n"
        "Environment: GAPLESS_<KEY>, DATABASE_URL.\n");
}

//  Reads ops' settings.
static int
s_configure (self_t *self, gl_config_t *config, gl_actor_options_t *options, int64_t *port,
             int64_t *hwm, char *error)
{
    int64_t credit, heartbeat_ms, retain_s;
    if (gl_config_int (config, "ops/snapshot_ms", 1000, 10, 60000, &self->snapshot_ms, error)
    ||  gl_config_int (config, "ops/stats_ms", 2000, 10, 600000, &self->stats_ms, error)
    ||  gl_config_int (config, "ops/slow_ms", 2000, 1, 3600000, &self->slow_ms, error)
    ||  gl_config_int (config, "ops/retain_s", 300, 0, 86400, &retain_s, error)
    ||  gl_config_int (config, "ops/coalesce_ms", 100, 1, 1000, &self->coalesce_ms, error)
    ||  gl_config_int (config, "ops/hwm", 10000, 1, 10000000, hwm, error)
    ||  gl_config_int (config, "ops/credit", 100, 1, 10000, &credit, error)
    ||  gl_config_int (config, "ops/http", 9571, 0, 65535, port, error)
    ||  gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 600000, &heartbeat_ms, error))
        return -1;
    self->retain_ms = retain_s * 1000;
    if (gl_actor_options_configure (options, config, error) != 0)
        return -1;
    options->credit = (uint32_t) credit;
    options->heartbeat_ms = (uint32_t) heartbeat_ms;
    return 0;
}

//  Creates what the actor needs beside the runtime. Returns 0 or -1.
static int
s_start (self_t *self, gl_config_t *config, int64_t port, int64_t hwm)
{
    self->health = gl_ops_health_new ();
    self->metrics = gl_ops_metrics_new ();
    self->calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    self->backfills = zhashx_new ();
    self->slices_seen = zhashx_new ();
    self->stats = (gl_ops_stats_t *) calloc (1, sizeof (gl_ops_stats_t));
    self->pending = (s_pending_t *) calloc (S_PENDING_MAX, sizeof (s_pending_t));
    self->found = (int64_t *) calloc (S_IDS_MAX, sizeof (int64_t));
    self->store = gl_ops_store_new (gl_config_get (config, "ops/database", NULL),
                                    gl_config_get (config, "ops/schema", NULL));
    if (!self->health || !self->metrics || !self->calendar || !self->backfills
    ||  !self->slices_seen || !self->stats || !self->pending || !self->found || !self->store)
        return -1;
    zhashx_set_destructor (self->backfills, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_destructor (self->slices_seen, (zhashx_destructor_fn *) zstr_free);
    gl_ops_catalog_declare (self->metrics);
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++)
        gl_ops_health_set_limit (self->health, (gl_provider_t) provider,
                                 s_limit_per_s (config, (gl_provider_t) provider));
    const char *endpoint = gl_config_get (config, "ops/publish", "tcp://127.0.0.1:5571");
    int64_t insecure = 0;
    char error [GL_CONFIG_ERROR_MAX];
    if (gl_config_int (config, "ops/insecure", 0, 0, 1, &insecure, error) != 0) {
        fprintf (stderr, "gapless-ops: %s\n", error);
        return -1;
    }
    gl_ops_pub_security_t security = {
        .curve_secret = gl_config_get (config, "ops/curve_secret", NULL),
        .curve_allow = gl_config_get (config, "ops/curve_allow", NULL),
        .insecure = insecure == 1,
    };
    self->pub = gl_ops_pub_new (endpoint, (int) hwm, gl_actor_loop (self->actor), &security,
                                s_on_subscribe, self);
    self->http = self->pub? gl_ops_http_new (gl_config_get (config, "ops/http_address",
                                                             "127.0.0.1"), (int) port): NULL;
    if (!self->http)
        return -1;
    gl_log_info ("ops_started", "publish=%s http=%s:%d", endpoint,
                 gl_config_get (config, "ops/http_address", "127.0.0.1"),
                 gl_ops_http_port (self->http));
    return 0;
}

//  Destroys what s_start made.
static void
s_stop (self_t *self)
{
    gl_ops_http_destroy (&self->http);
    gl_ops_pub_destroy (&self->pub);
    gl_ops_store_destroy (&self->store);
    gl_ops_health_destroy (&self->health);
    gl_ops_metrics_destroy (&self->metrics);
    gl_calendar_destroy (&self->calendar);
    zhashx_destroy (&self->backfills);
    zhashx_destroy (&self->slices_seen);
    free (self->stats);
    free (self->pending);
    free (self->found);
}

//  Parses flags and configuration, then runs the actor until SIGTERM.
int
main (int argc, char **argv)
{
    static const gl_actor_flag_t extra [] = {
        { "publish", "ops/publish" }, { "http", "ops/http" }, { NULL, NULL } };
    gl_actor_options_t options = { .service = "ops" };
    int status = 2;
    gl_config_t *config = gl_actor_command_line (argc, argv, "ops", extra, s_usage, &options,
                                                 &status);
    if (!config)
        return status;
    if (gl_settings_check_start (config, "ops") != 0) {
        gl_config_destroy (&config);
        return 2;
    }
    char error [GL_CONFIG_ERROR_MAX];
    self_t self = { 0 };
    int64_t port = 0, hwm = 0;
    char follow_copy [1024];
    const char *follow [S_FOLLOW_MAX + 1];
    if (s_configure (&self, config, &options, &port, &hwm, error) == -1)
        fprintf (stderr, "gapless-ops: %s\n", error);
    else
    if (s_parse_follow (gl_config_get (config, "ops/follow", "scheduler,writer,coverage,fetcher.*"),
                        follow_copy, sizeof follow_copy, follow) == -1)
        fprintf (stderr, "gapless-ops: config: ops/follow: expected at most %d services\n",
                 S_FOLLOW_MAX);
    else {
        options.follow = follow;
        self.actor = gl_actor_new (&options);
    }
    if (self.actor && s_start (&self, config, port, hwm) == 0) {
        gl_actor_on (self.actor, GL_MSG_EVENT, s_handle_event, &self);
        gl_actor_on (self.actor, GL_MSG_WRITTEN, s_handle_written, &self);
        gl_actor_on_membership (self.actor, s_on_membership, &self);
        gl_actor_on_reload (self.actor, gl_settings_on_reload, config);
        gl_actor_on_connection (self.actor, s_on_connection, &self);
        zloop_timer (gl_actor_loop (self.actor), (size_t) self.snapshot_ms, 0, s_on_tick, &self);
        s_render_pages (&self);
        status = gl_actor_run (self.actor) == 0? 0: 1;
    }
    else
    if (self.actor)
        fprintf (stderr, "gapless-ops: cannot start (see the log above)\n");
    s_stop (&self);
    gl_actor_destroy (&self.actor);
    gl_config_destroy (&config);
    return status;
}
