/*  gapless-scheduler — turns backfill requests into slices in PostgreSQL
    and slices into FETCH messages, and settles every answer.

    Requests (enqueue, command) come from the CLI and are answered with one
    reply each (protocol/SPEC.md 7.3). A dispatch timer claims runnable
    slices as far as the fetchers can start them within a lease, routes
    each to a provider and instance (gl_router) and sends FETCH straight
    to that instance, so when the broker announces the instance left, the
    scheduler knows exactly which slices died with it and queues them
    again at once. FAILED, WRITTEN and the rescue timer settle the rest.
    PostgreSQL is the truth: several schedulers may run, the lease tokens
    fence every outcome, and a restarted scheduler adopts the slices still
    running. Design and settings: actors/scheduler/README.md.
*/
#include "gl_actor.h"
#include "gl_backlog.h"
#include "gl_config.h"
#include "gl_log.h"
#include "gl_ratelimit.h"
#include "gl_router.h"
#include "gl_settings.h"
#include <limits.h>
#include <time.h>

#define S_STATS_MS 10000
#define S_DB_BACKOFF_MAX_S 5
#define S_ENQUEUE_SYMBOLS_MAX 10000
#define S_PERIODIC_MAX 32           //  periodic runs and arrivals taken per tick
#define S_CLOSE_GRACE_S 3600        //  a session's last bars turn final within it

typedef struct {
    uint64_t requests, refused_requests, dispatched, not_now, written, failed, released,
             refused, empty, lost, rescued, adopted, extended, db_failures, periodic,
             arrivals, live_dispatched, stale;
} s_stats_t;

typedef struct {
    gl_actor_t *actor;
    gl_config_t *config;                        //  the running configuration
    gl_db_t *db;
    gl_backlog_t *backlog;
    gl_router_t *router;
    const char *database, *schema;
    double lease_seconds;
    int64_t not_now_ms;
    size_t claim_max;
    int max_attempts;
    int live_priority;                          //  and up: live work, the reserved share
    double live_share;                          //  of each provider's capacity
    double horizon_seconds;                     //  of work in flight per provider
    gl_calendar_t *calendars [GL_CALENDAR_24X7 + 1];    //  for sessions_only runs
    int64_t tier_caps [3];
    double rates [GL_PROVIDER_COUNT + 1];       //  requests per second, 0: unlimited
    const char *routes [GL_TF_1W + 1];          //  scheduler/route/<tf>, or NULL
    gl_slice_unit_t units [GL_TF_1W + 1];       //  scheduler/slice/<tf>
    gl_backlog_slice_t *claimed;                //  claim_max of them
    int64_t db_retry_at, db_backoff;            //  wall seconds
    int64_t stats_at_ms;
    s_stats_t stats;
} self_t;

//  Wall-clock seconds: the clock of leases in PostgreSQL.
static int64_t
s_now (void)
{
    return (int64_t) time (NULL);
}

//  Opens the database when it is not open (or was lost), with backoff.
//  Long work (a big enqueue) keeps the broker hearing from this instance.
static void
s_busy (void *argument)
{
    self_t *self = (self_t *) argument;
    if (self->actor)
        gl_actor_keepalive (self->actor);
}

//  Returns true when it can be used.
static bool
s_database (self_t *self)
{
    if (self->db && PQstatus (gl_db_conn (self->db)) == CONNECTION_OK)
        return true;
    if (s_now () < self->db_retry_at)
        return false;
    gl_backlog_destroy (&self->backlog);
    gl_db_destroy (&self->db);
    self->db = gl_db_new (self->database, self->schema);
    self->backlog = self->db? gl_backlog_new (self->db): NULL;
    if (self->backlog) {
        gl_backlog_on_busy (self->backlog, s_busy, self);
        self->db_backoff = 0;
        return true;
    }
    self->stats.db_failures++;
    self->db_backoff = self->db_backoff? self->db_backoff * 2: 1;
    if (self->db_backoff > S_DB_BACKOFF_MAX_S)
        self->db_backoff = S_DB_BACKOFF_MAX_S;
    self->db_retry_at = s_now () + self->db_backoff;
    gl_log_warn ("database_unavailable", "retry_in_s=%" PRId64, self->db_backoff);
    return false;
}

//  --------------------------------------------------------------------------
//  Dispatch

//  The service address of a provider's fetchers and one instance of it.
static void
s_fetcher_address (gl_provider_t provider, const char *instance, char *address, size_t size)
{
    snprintf (address, size, "fetcher.%s/%s", gl_capability_name (provider), instance);
}

//  A slice whose fetcher left with it (or, with no instance, whose lease
//  ran out): queued again at once, the death an attempt.
static void
s_on_lost (uint64_t run_id, const char *token, gl_provider_t provider, const char *instance,
           void *argument)
{
    self_t *self = (self_t *) argument;
    if (!*instance || !s_database (self))
        return;                 //  an expired lease is queue_rescue's
    char message [160];
    snprintf (message, sizeof message, "fetcher.%s/%s left holding the slice",
              gl_capability_name (provider), instance);
    if (gl_backlog_lost (self->backlog, run_id, token, "worker_lost", message) == 1) {
        self->stats.lost++;
        gl_log_info ("slice_lost", "run_id=%" PRIu64 " provider=%s instance=%s", run_id,
                     gl_capability_name (provider), instance);
    }
}

//  True if every provider the slice may use said it has no data.
static bool
s_all_empty (self_t *self, const gl_backlog_slice_t *slice)
{
    gl_provider_t allowed [GL_PROVIDER_COUNT];
    size_t count = *slice->provider_pin? 1: gl_router_route (self->router, slice->timeframe,
                                                             allowed, GL_PROVIDER_COUNT);
    if (*slice->provider_pin)
        allowed [0] = gl_capability_parse_name (slice->provider_pin);
    for (size_t index = 0; index < count; index++) {
        bool empty = false;
        for (size_t known = 0; known < slice->empty_count; known++)
            empty |= gl_capability_parse_name (slice->empty [known]) == allowed [index];
        if (!empty)
            return false;
    }
    return count > 0;
}

//  Sends one claimed slice's FETCH to the chosen instance. Returns 0 when
//  it went, -1 when it did not (the caller gives the slice back).
static int
s_send_fetch (self_t *self, const gl_backlog_slice_t *slice, gl_provider_t provider,
              const char *instance)
{
    gl_msg_t *fetch = gl_msg_new (GL_MSG_FETCH);
    if (!fetch)
        return -1;
    fetch->fetch.run_id = slice->run_id;
    snprintf (fetch->fetch.lease_token, sizeof fetch->fetch.lease_token, "%s", slice->token);
    snprintf (fetch->fetch.symbol, sizeof fetch->fetch.symbol, "%s", slice->symbol);
    snprintf (fetch->fetch.timeframe, sizeof fetch->fetch.timeframe, "%s",
              gl_timeframe_name (slice->timeframe));
    fetch->fetch.from = slice->from;
    fetch->fetch.to = slice->to;
    fetch->fetch.attempt = slice->attempt + 1;
    char address [GL_MSG_NAME_MAX * 2 + 16];
    s_fetcher_address (provider, instance, address, sizeof address);
    int rc = gl_actor_send (self->actor, address, fetch);
    gl_msg_destroy (&fetch);
    return rc;
}

//  Routes and sends one claimed slice (live: of the reserved share), or
//  settles it when no provider can take it. Returns the provider it went
//  to, or GL_PROVIDER_INVALID.
static gl_provider_t
s_dispatch_slice (self_t *self, const gl_backlog_slice_t *slice, bool live)
{
    const char *refused [GL_PROVIDER_COUNT];
    for (size_t index = 0; index < slice->refused_count; index++)
        refused [index] = slice->refused [index];
    gl_provider_t provider = GL_PROVIDER_INVALID;
    char instance [GL_MSG_NAME_MAX + 1] = "";
    gl_route_t route = gl_router_choose (self->router, slice->timeframe,
                                         *slice->provider_pin? slice->provider_pin: NULL,
                                         refused, slice->refused_count, live, &provider,
                                         instance);
    if (route == GL_ROUTE_OK && s_send_fetch (self, slice, provider, instance) == 0
    &&  gl_router_assign (self->router, slice->run_id, slice->token, provider, instance, live,
                          s_now () + (int64_t) self->lease_seconds) == 0) {
        self->stats.dispatched++;
        self->stats.live_dispatched += live;
        return provider;
    }
    if (route == GL_ROUTE_NONE && s_all_empty (self, slice)) {
        //  Every allowed provider answered "no data": the range is empty
        if (gl_backlog_complete_empty (self->backlog, slice->run_id, slice->token) == 1)
            self->stats.empty++;
    }
    else
    if (route == GL_ROUTE_NONE) {
        if (gl_backlog_fail (self->backlog, slice->run_id, slice->token, "no_provider",
                             "every provider allowed for this slice refused it", false, 0) == 1)
            self->stats.failed++;
    }
    else
    if (gl_backlog_release (self->backlog, slice->run_id, slice->token,
                            (double) self->not_now_ms / 1000, "not_now",
                            route == GL_ROUTE_WAIT? "no provider can start it now"
                                                  : "the FETCH could not be sent") == 1)
        self->stats.not_now++;
    return GL_PROVIDER_INVALID;
}

//  Free room at every provider with fetchers (for bulk work: what the
//  reserve leaves): how many slices to claim.
static size_t
s_room (self_t *self, bool live)
{
    size_t room = 0;
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        size_t capacity = live? gl_router_capacity (self->router, (gl_provider_t) provider)
                              : gl_router_bulk_capacity (self->router, (gl_provider_t) provider);
        size_t in_flight = gl_router_in_flight (self->router, (gl_provider_t) provider);
        room += capacity > in_flight? capacity - in_flight: 0;
    }
    return room < self->claim_max? room: self->claim_max;
}

//  Claims up to room slices of one band (live work, or bulk) and sends
//  them. Returns how many were claimed.
static int
s_dispatch_band (self_t *self, size_t room, bool live)
{
    int claimed = gl_backlog_claim (self->backlog, gl_actor_address (self->actor), room,
                                    self->lease_seconds,
                                    live? self->live_priority: INT_MIN,
                                    live? INT_MAX: self->live_priority - 1, self->claimed);
    uint64_t run_ids [claimed > 0? claimed: 1];
    const char *providers [claimed > 0? claimed: 1];
    size_t sent = 0;
    for (int index = 0; index < claimed; index++) {
        gl_provider_t provider = s_dispatch_slice (self, &self->claimed [index], live);
        if (provider != GL_PROVIDER_INVALID) {
            run_ids [sent] = self->claimed [index].run_id;
            providers [sent++] = gl_capability_name (provider);
        }
    }
    gl_backlog_dispatched (self->backlog, run_ids, providers, sent);
    return claimed;
}

//  zloop: claims what the fetchers can start, live work first, and sends
//  it. Bulk work gets what the reserve leaves while live work waits.
static int
s_on_dispatch (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    size_t room = s_room (self, true);
    if (room == 0 || !gl_actor_registered (self->actor) || !s_database (self))
        return 0;
    int live = s_dispatch_band (self, room, true);
    gl_router_set_live_waiting (self->router, live > 0);
    room = s_room (self, false);
    if (room > 0)
        s_dispatch_band (self, room, false);
    return 0;
}

//  The slices whose leases want extending, collected for one statement.
typedef struct {
    uint64_t *run_ids;
    const char **tokens;
    size_t count, size;
} s_due_t;

//  Collects one slice to extend.
static void
s_collect_due (uint64_t run_id, const char *token, void *argument)
{
    s_due_t *due = (s_due_t *) argument;
    if (due->count < due->size) {
        due->run_ids [due->count] = run_id;
        due->tokens [due->count++] = token;
    }
}

//  Extends the leases of slices a live fetcher still holds once half of
//  their lease is gone: a slice in progress keeps its lease however slow
//  its provider; one whose fetcher died is queued again on its departure.
static void
s_extend_leases (self_t *self)
{
    size_t size = 0;
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++)
        size += gl_router_in_flight (self->router, (gl_provider_t) provider);
    if (size == 0 || !s_database (self))
        return;
    s_due_t due = { .run_ids = calloc (size, sizeof (uint64_t)),
                    .tokens = calloc (size, sizeof (char *)), .size = size };
    int64_t now = s_now (), lease = (int64_t) self->lease_seconds;
    if (due.run_ids && due.tokens) {
        gl_router_extend (self->router, now + lease / 2, now + lease, s_collect_due, &due);
        int extended = gl_backlog_extend (self->backlog, due.run_ids, due.tokens, due.count,
                                          self->lease_seconds);
        self->stats.extended += extended > 0? (uint64_t) extended: 0;
    }
    free (due.run_ids);
    free (due.tokens);
}

//  zloop: extends the leases of slices in progress, takes back expired
//  ones in PostgreSQL and in the router.
static int
s_on_rescue (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    s_extend_leases (self);
    gl_router_expire (self->router, s_now (), NULL, NULL);
    if (s_database (self)) {
        int rescued = gl_backlog_rescue (self->backlog);
        if (rescued > 0) {
            self->stats.rescued += (uint64_t) rescued;
            gl_log_info ("leases_rescued", "slices=%d", rescued);
        }
    }
    if (zclock_mono () >= self->stats_at_ms) {
        s_stats_t *stats = &self->stats;
        gl_log_info ("scheduler_stats", "requests=%" PRIu64 " refused_requests=%" PRIu64
            " dispatched=%" PRIu64 " not_now=%" PRIu64 " written=%" PRIu64 " failed=%" PRIu64
            " released=%" PRIu64 " refused=%" PRIu64 " empty=%" PRIu64 " lost=%" PRIu64
            " rescued=%" PRIu64 " adopted=%" PRIu64 " extended=%" PRIu64 " db_failures=%" PRIu64
            " periodic=%" PRIu64 " arrivals=%" PRIu64 " live_dispatched=%" PRIu64
            " stale=%" PRIu64,
            stats->requests, stats->refused_requests, stats->dispatched, stats->not_now,
            stats->written, stats->failed, stats->released, stats->refused, stats->empty,
            stats->lost, stats->rescued, stats->adopted, stats->extended, stats->db_failures,
            stats->periodic, stats->arrivals, stats->live_dispatched, stats->stale);
        self->stats_at_ms = zclock_mono () + S_STATS_MS;
    }
    return 0;
}

//  A slice found running at start: it counts against its provider until
//  answered or expired.
static void
s_adopt (uint64_t run_id, const char *token, const char *provider, int64_t lease_expires,
         void *argument)
{
    self_t *self = (self_t *) argument;
    if (gl_router_adopt (self->router, run_id, token, gl_capability_parse_name (provider),
                         lease_expires) == 0)
        self->stats.adopted++;
}

//  --------------------------------------------------------------------------
//  What fetchers, the writer and the broker say

//  FAILED: "not now" costs no attempt; "this provider cannot" moves to the
//  next provider; anything else is an attempt, retried with backoff.
static int
s_handle_failed (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *failed = *message_p;
    const char *class = failed->failed.error_class;
    uint64_t run_id = failed->failed.run_id;
    const char *token = failed->failed.lease_token, *message = failed->failed.message;
    //  Only the holder of the slice's lease speaks for it: a FAILED with
    //  another token (late, or forged) leaves the slice where it is
    gl_router_forget_sent (self->router, run_id, token);
    if (run_id > INT64_MAX) {
        self->stats.stale++;    //  no slice has such an id (job_runs.id is a bigint)
        return 0;
    }
    if (!s_database (self))
        return 0;               //  the lease runs out and the slice is rescued
    double retry_after = (double) failed->failed.retry_after_ms / 1000;
    int applied;
    if (strcmp (class, "breaker_open") == 0) {
        applied = gl_backlog_release (self->backlog, run_id, token,
                                      (double) self->not_now_ms / 1000, class, message);
        self->stats.released += applied == 1;
        //  Evidence of the breaker's state even before its event arrives
        //  (a scheduler that just started has heard none): route around it
        //  at once; the next provider need not wait for this one. Only from
        //  a fetcher that held the lease: anyone can send a FAILED
        if (applied == 1)
            gl_router_breaker (self->router, gl_capability_parse_name (failed->failed.provider),
                               GL_ROUTER_OPEN);
    }
    else
    if (strcmp (class, "rate_limited") == 0) {
        double delay = (double) self->not_now_ms / 1000;
        applied = gl_backlog_release (self->backlog, run_id, token,
                                      retry_after > delay? retry_after: delay, class, message);
        self->stats.released += applied == 1;
    }
    else
    if (strcmp (class, "not_found") == 0 || strcmp (class, "auth") == 0
    ||  strcmp (class, "no_data") == 0) {
        applied = gl_backlog_refuse (self->backlog, run_id, token, failed->failed.provider,
                                     strcmp (class, "no_data") == 0, class, message);
        self->stats.refused += applied == 1;
    }
    else {
        applied = gl_backlog_fail (self->backlog, run_id, token, class, message,
                                   failed->failed.retryable, retry_after);
        self->stats.failed += applied == 1;
    }
    if (applied == 0) {
        self->stats.stale++;
        gl_log_debug ("failed_stale", "run_id=%" PRIu64 " from=%s", run_id, sender);
    }
    return 0;
}

//  WRITTEN: the slice is done (the writer completed it in PostgreSQL).
static int
s_handle_written (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    gl_router_forget (self->router, (*message_p)->written.run_id);
    self->stats.written++;
    return 0;
}

//  The provider a fetcher service serves ("fetcher.polygon"), or invalid.
static gl_provider_t
s_provider_of (const char *service)
{
    return strncmp (service, "fetcher.", 8) == 0? gl_capability_parse_name (service + 8)
                                                : GL_PROVIDER_INVALID;
}

//  MEMBERSHIP of fetcher.*: the live instances; slices of those gone are
//  queued again at once.
static void
s_on_membership (gl_actor_t *actor, const gl_msg_t *membership, void *argument)
{
    self_t *self = (self_t *) argument;
    gl_provider_t provider = s_provider_of (membership->membership.service);
    if (provider == GL_PROVIDER_INVALID)
        return;
    if (gl_router_members (self->router, provider,
                           (const char *const *) membership->membership.members,
                           membership->membership.member_count, s_on_lost, self) == -1)
        gl_log_warn ("membership_not_applied", "service=%s", membership->membership.service);
}

//  The broker lost: FETCHes it held, or that were on their way, are lost
//  with it, and a fetcher that stays alive never answers them. So no
//  slice counts as held by a fetcher any more: their leases are no longer
//  extended and run out unless answered (else they stayed running for
//  ever, holding their provider's room).
static void
s_on_connection (gl_actor_t *actor, bool registered, void *argument)
{
    self_t *self = (self_t *) argument;
    if (registered)
        return;
    size_t disowned = gl_router_disown (self->router);
    if (disowned > 0)
        gl_log_info ("slices_disowned", "slices=%zu reason=broker_lost", disowned);
}

//  A breaker state's name as the router knows it.
static gl_router_breaker_t
s_breaker_parse (const char *name)
{
    return strcmp (name, "open") == 0? GL_ROUTER_OPEN
         : strcmp (name, "half_open") == 0? GL_ROUTER_HALF_OPEN: GL_ROUTER_CLOSED;
}

//  The median latency of a fetcher_health histogram: the upper bound of
//  the bucket holding the middle request ("inf" counts as twice the last).
static double
s_median_latency (const char *bounds, const char *counts)
{
    double bound [16], count [16], total = 0, last = 0;
    size_t buckets = 0;
    char *bounds_end = (char *) bounds, *counts_end = (char *) counts;
    while (bounds_end && counts_end && *counts_end && buckets < 16) {
        bool infinite = strncmp (bounds_end, "inf", 3) == 0;
        bound [buckets] = infinite? last * 2: strtod (bounds_end, &bounds_end);
        if (infinite)
            bounds_end += 3;
        last = bound [buckets];
        count [buckets] = strtod (counts_end, &counts_end);
        total += count [buckets++];
        bounds_end += *bounds_end == ',';
        counts_end += *counts_end == ',';
    }
    for (size_t index = 0, seen = 0; index < buckets; index++)
        if ((seen += (size_t) count [index]) * 2 >= total && total > 0)
            return bound [index];
    return 0;
}

//  A rate a peer sent, kept in [0, 1] as the health table's CHECKs want
//  it (NaN counts as the worst): an event's text is anyone's.
static double
s_unit (double value)
{
    if (!(value >= 0))
        return value < 0? 0: 1;
    return value > 1? 1: value;
}

//  EVENT from a fetcher: breaker changes and health samples feed routing.
static int
s_handle_event (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *event = *message_p;
    const gl_msg_field_t *fields = event->event.fields;
    size_t count = event->event.field_count;
    gl_provider_t provider = gl_capability_parse_name (gl_msg_field (fields, count, "provider"));
    if (provider == GL_PROVIDER_INVALID)
        return 0;
    const char *breaker = gl_msg_field (fields, count,
                                        strcmp (event->event.name, "breaker_changed") == 0
                                        ? "to": "breaker");
    if (breaker)
        gl_router_breaker (self->router, provider, s_breaker_parse (breaker));
    if (strcmp (event->event.name, "fetcher_health") == 0) {
        const char *bounds = gl_msg_field (fields, count, "latency_le_ms");
        const char *latencies = gl_msg_field (fields, count, "latency_counts");
        const char *failure = gl_msg_field (fields, count, "failure_rate");
        const char *complete = gl_msg_field (fields, count, "completeness");
        double completeness = complete && strcmp (complete, "none")? atof (complete): 1;
        double latency = bounds && latencies? s_median_latency (bounds, latencies): 0;
        gl_backlog_health_t sample = {
            .provider = gl_capability_name (provider), .latency_ms = latency >= 0? latency: 0,
            //  failure_rate -1: too few calls to tell, no error rate yet
            .error_rate = failure && atof (failure) > 0? s_unit (atof (failure) / 100): 0,
            .incompleteness = s_unit (1 - completeness),
            .breaker = breaker && (strcmp (breaker, "open") == 0
                                || strcmp (breaker, "half_open") == 0)? breaker: "closed",
        };
        gl_router_sample (self->router, provider, sample.latency_ms, sample.error_rate,
                          sample.incompleteness);
        sample.score = gl_router_score (self->router, provider);
        if (s_database (self))
            gl_backlog_health_record (self->backlog, &sample, GL_ROUTER_SAMPLES);
    }
    return 0;
}

//  A sample kept from before the scheduler started.
static void
s_load_health (const gl_backlog_health_t *sample, void *argument)
{
    self_t *self = (self_t *) argument;
    gl_provider_t provider = gl_capability_parse_name (sample->provider);
    gl_router_sample (self->router, provider, sample->latency_ms, sample->error_rate,
                      sample->incompleteness);
    gl_router_breaker (self->router, provider, s_breaker_parse (sample->breaker));
}

//  A FETCH the broker could not deliver: the slice waits, no attempt spent.
static void
s_on_bounce (gl_actor_t *actor, const char *destination, gl_msg_t *message, const char *code,
             const char *text, void *argument)
{
    self_t *self = (self_t *) argument;
    if (!message || message->type != GL_MSG_FETCH)
        return;
    if (!gl_router_forget_sent (self->router, message->fetch.run_id, message->fetch.lease_token))
        return;                 //  of an earlier dispatch: the current one stands
    if (s_database (self)) {
        char reason [128];
        snprintf (reason, sizeof reason, "%s bounced it: %s", destination, code);
        self->stats.not_now += gl_backlog_release (self->backlog, message->fetch.run_id,
                                                   message->fetch.lease_token,
                                                   (double) self->not_now_ms / 1000,
                                                   "not_now", reason) == 1;
    }
}

//  --------------------------------------------------------------------------
//  Requests

//  Starts a reply to a request.
static gl_msg_t *
s_reply_new (const char *request_id)
{
    gl_msg_t *reply = gl_msg_new (GL_MSG_REPLY);
    if (reply) {
        snprintf (reply->reply.request_id, sizeof reply->reply.request_id, "%s", request_id);
        reply->reply.ok = true;
    }
    return reply;
}

//  Sends a reply and destroys it.
static void
s_reply_send (self_t *self, const char *to, gl_msg_t **reply_p)
{
    gl_msg_t *reply = *reply_p;
    if (reply && !reply->reply.ok)
        self->stats.refused_requests++;
    if (reply && gl_actor_send (self->actor, to, reply) != 0)
        gl_log_warn ("reply_not_sent", "to=%s request_id=%s", to, reply->reply.request_id);
    gl_msg_destroy (reply_p);
}

//  Marks a reply as a refusal with the reason.
static void
s_reply_error (gl_msg_t *reply, const char *error)
{
    reply->reply.ok = false;
    snprintf (reply->reply.error, sizeof reply->reply.error, "%s", error);
}

//  Adds a number field to a reply.
static void
s_reply_number (gl_msg_t *reply, const char *key, int64_t value)
{
    char text [24];
    snprintf (text, sizeof text, "%" PRId64, value);
    gl_msg_add_field (reply, key, text);
}

//  Requests and time the slices of a request take: one request per slice
//  window at the provider routing would pick first, at its rate.
static void
s_reply_estimate (self_t *self, gl_msg_t *reply, const gl_backlog_request_t *request,
                  const gl_backlog_counts_t *counts)
{
    gl_provider_t route [GL_PROVIDER_COUNT];
    size_t count = request->provider? 1: gl_router_route (self->router, request->timeframe,
                                                          route, GL_PROVIDER_COUNT);
    if (request->provider)
        route [0] = gl_capability_parse_name (request->provider);
    gl_provider_t chosen = GL_PROVIDER_INVALID;
    size_t fetchers = 0, instances = 0;
    for (size_t index = 0; index < count && chosen == GL_PROVIDER_INVALID; index++)
        if (gl_router_capacity (self->router, route [index]) > 0)
            chosen = route [index];
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        fetchers += gl_router_capacity (self->router, (gl_provider_t) provider) > 0;
        instances += gl_router_instances (self->router, (gl_provider_t) provider);
    }
    int64_t work = counts->created + counts->shared;
    s_reply_number (reply, "requests", work);
    s_reply_number (reply, "fetchers", (int64_t) fetchers);
    s_reply_number (reply, "fetcher_instances", (int64_t) instances);
    gl_msg_add_field (reply, "provider", chosen? gl_capability_name (chosen): "none");
    if (chosen && self->rates [chosen] > 0)
        s_reply_number (reply, "eta_s", (int64_t) ((double) work / self->rates [chosen] + 0.5));
    else
        gl_msg_add_field (reply, "eta_s", "unknown");
}

//  ENQUEUE: records a backfill and its slices, or (plan) says what it would.
static int
s_handle_enqueue (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *enqueue = *message_p;
    self->stats.requests++;
    gl_msg_t *reply = s_reply_new (enqueue->enqueue.request_id);
    if (!reply)
        return 0;
    char *tier_symbols [S_ENQUEUE_SYMBOLS_MAX];
    int tier_count = 0;
    char error [256] = "";
    if (!s_database (self))
        s_reply_error (reply, "the scheduler cannot reach PostgreSQL now; try again");
    else
    if (*enqueue->enqueue.tier && enqueue->enqueue.symbol_count)
        s_reply_error (reply, "give symbols or a tier, not both");
    else
    if (*enqueue->enqueue.tier
    &&  (tier_count = gl_backlog_tier (self->backlog, enqueue->enqueue.tier, tier_symbols,
                                       S_ENQUEUE_SYMBOLS_MAX)) <= 0)
        s_reply_error (reply, tier_count == 0? "the tier holds no active symbol"
                                             : "the tier's symbols could not be read");
    else
    if (*enqueue->enqueue.provider
    &&  !gl_capability_routable (gl_capability_parse_name (enqueue->enqueue.provider),
                                 gl_timeframe_parse (enqueue->enqueue.timeframe)))
        s_reply_error (reply, "that provider does not serve that timeframe on the grid"
                              " and price basis gapless stores");
    if (reply->reply.ok) {
        gl_backlog_request_t request = {
            .symbols = tier_count > 0? (const char *const *) tier_symbols
                                     : (const char *const *) enqueue->enqueue.symbols,
            .symbol_count = tier_count > 0? (size_t) tier_count: enqueue->enqueue.symbol_count,
            .timeframe = gl_timeframe_parse (enqueue->enqueue.timeframe),
            .from = enqueue->enqueue.from, .to = enqueue->enqueue.to,
            .priority = (int) (enqueue->enqueue.priority > 100? 100
                             : enqueue->enqueue.priority < -100? -100: enqueue->enqueue.priority),
            .provider = *enqueue->enqueue.provider? enqueue->enqueue.provider: NULL,
            .max_attempts = self->max_attempts, .now = s_now (),
            .tier_caps = self->tier_caps, .plan = enqueue->enqueue.plan,
            .refresh = enqueue->enqueue.refresh,
            .unit = self->units [gl_timeframe_parse (enqueue->enqueue.timeframe)],
        };
        gl_backlog_counts_t counts;
        if (gl_backlog_enqueue (self->backlog, &request, &counts, error) == -1)
            s_reply_error (reply, error);
        else {
            s_reply_number (reply, "backfill_id", counts.backfill_id);
            s_reply_number (reply, "slices_new", counts.created);
            s_reply_number (reply, "slices_shared", counts.shared);
            s_reply_number (reply, "slices_stored", counts.stored);
            s_reply_number (reply, "slices_refreshed", counts.refreshed);
            s_reply_number (reply, "bars_expected", counts.bars_expected);
            s_reply_estimate (self, reply, &request, &counts);
            gl_log_info ("backfill_enqueued", "backfill_id=%" PRId64 " plan=%d new=%" PRId64
                         " shared=%" PRId64 " stored=%" PRId64, counts.backfill_id,
                         request.plan, counts.created, counts.shared, counts.stored);
        }
    }
    for (int index = 0; index < tier_count; index++)
        free (tier_symbols [index]);
    s_reply_send (self, sender, &reply);
    return 0;
}

//  True when a session of one of the run's calendars is open now, or
//  closed within S_CLOSE_GRACE_S (its last bars turn final then).
static bool
s_in_session (self_t *self, const gl_backlog_periodic_t *run, int64_t now)
{
    for (int kind = GL_CALENDAR_XNYS; kind <= GL_CALENDAR_24X7; kind++) {
        if (!run->calendars [kind])
            continue;
        if (!self->calendars [kind])
            self->calendars [kind] = gl_calendar_new ((gl_calendar_kind_t) kind);
        int64_t open, close;
        if (self->calendars [kind]
        &&  gl_calendar_previous_session (self->calendars [kind], now + 1, &open, &close) == 0
        &&  now >= open && now < close + S_CLOSE_GRACE_S)
            return true;
    }
    return false;
}

//  Enqueues one periodic run or arrival: the window back from now of its
//  symbol or tier, as a backfill of its definition.
static void
s_run_periodic (self_t *self, const gl_backlog_periodic_t *run)
{
    int64_t now = s_now ();
    if (run->sessions_only && !run->watchlist_id && !s_in_session (self, run, now)) {
        gl_log_debug ("periodic_skipped", "definition=%s reason=closed", GL_LOG_VALUE (run->name));
        return;
    }
    char *symbols [S_ENQUEUE_SYMBOLS_MAX];
    int count = 0;
    if (*run->tier)
        count = gl_backlog_tier (self->backlog, run->tier, symbols, S_ENQUEUE_SYMBOLS_MAX);
    else
    if ((symbols [0] = strdup (run->symbol)))
        count = 1;
    gl_backlog_request_t request = {
        .symbols = (const char *const *) symbols, .symbol_count = count > 0? (size_t) count: 0,
        .timeframe = run->timeframe, .from = now > run->window? now - run->window: 0, .to = now,
        .priority = run->priority, .max_attempts = self->max_attempts, .now = now,
        .unit = self->units [run->timeframe],       //  the caps are for users' requests
        .freshness = run->freshness, .definition_id = run->definition_id,
        .watchlist_id = run->watchlist_id,
    };
    gl_backlog_counts_t counts;
    char error [256] = "";
    if (count > 0 && gl_backlog_enqueue (self->backlog, &request, &counts, error) == 0) {
        if (run->watchlist_id)
            self->stats.arrivals++;
        else
            self->stats.periodic++;
        gl_log_info ("periodic_enqueued", "definition=%s symbols=%d watchlist_id=%" PRId64
                     " backfill_id=%" PRId64 " new=%" PRId64 " refreshed=%" PRId64,
                     GL_LOG_VALUE (run->name), count, run->watchlist_id, counts.backfill_id,
                     counts.created, counts.refreshed);
    }
    else
    if (count != 0)
        gl_log_warn ("periodic_failed", "definition=%s watchlist_id=%" PRId64 " error=%s",
                     GL_LOG_VALUE (run->name), run->watchlist_id,
                     GL_LOG_VALUE (count < 0? "the symbols could not be read": error));
    for (int index = 0; index < count; index++)
        free (symbols [index]);
}

//  zloop: backfills the symbols that joined a tier, then runs the periodic
//  definitions that are due.
static int
s_on_periodic (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    if (!gl_actor_registered (self->actor) || !s_database (self))
        return 0;
    gl_backlog_periodic_t runs [S_PERIODIC_MAX];
    int count = gl_backlog_arrivals (self->backlog, runs, S_PERIODIC_MAX);
    for (int index = 0; index < count; index++)
        s_run_periodic (self, &runs [index]);
    count = gl_backlog_due (self->backlog, runs, S_PERIODIC_MAX);
    for (int index = 0; index < count; index++)
        s_run_periodic (self, &runs [index]);
    return 0;
}

//  The status of one backfill (target) or of all of them (0).
static void
s_command_status (self_t *self, uint64_t target, gl_msg_t *reply, char *error)
{
    char id [24];
    snprintf (id, sizeof id, "%" PRIu64, target);
    const char *values [] = { id };
    static const char *columns =
        "id, status, timeframe, range_from, range_to, priority, coalesce(provider, '') AS provider,"
        " slices_total, slices_queued, slices_running, slices_succeeded, slices_retrying,"
        " slices_dead, slices_cancelled, slices_paused, bars_written, created_at,"
        " coalesce(extract(epoch FROM now() - oldest_queued_at)::bigint::text, '')"
        " AS oldest_queued_s";
    char sql [1024];
    if (target) {
        snprintf (sql, sizeof sql, "SELECT %s FROM backfill_progress WHERE id = $1", columns);
        int found = gl_backlog_fields (self->backlog, sql, 1, values, reply, error);
        if (found == 0)
            snprintf (error, 256, "no backfill %" PRIu64, target);
        if (found == 1)
            gl_backlog_fields (self->backlog,
                "SELECT round(coalesce(sum(r.rows_written) FILTER (WHERE r.finished_at >"
                " now() - interval '60 seconds'), 0) / 60.0, 1)::text AS bars_per_s,"
                " CASE WHEN count(*) FILTER (WHERE r.status = 'succeeded' AND r.finished_at >"
                " now() - interval '60 seconds') = 0 THEN 'unknown' ELSE ceil(count(*) FILTER"
                " (WHERE r.status NOT IN ('succeeded', 'dead', 'cancelled')) * 60.0 / count(*)"
                " FILTER (WHERE r.status = 'succeeded' AND r.finished_at > now() - interval"
                " '60 seconds'))::bigint::text END AS eta_s FROM backfill_run_rows r"
                " WHERE r.of_backfill = $1",
                1, values, reply, error);
        if (found == 1)
            gl_backlog_rows (self->backlog,
                "SELECT r.id AS run_id, r.symbol, r.error_class, left(r.error_message, 200)"
                " AS error_message, r.updated_at FROM backfill_run_rows r"
                " WHERE r.of_backfill = $1 AND r.error_class IS NOT NULL"
                " AND r.status <> 'succeeded'"
                " ORDER BY r.updated_at DESC LIMIT 5", 1, values, reply, error);
    }
    else {
        snprintf (sql, sizeof sql, "SELECT %s FROM backfill_progress ORDER BY id DESC", columns);
        gl_backlog_rows (self->backlog, sql, 0, NULL, reply, error);
    }
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        char key [40];
        snprintf (key, sizeof key, "in_flight_%s", gl_capability_name ((gl_provider_t) provider));
        s_reply_number (reply, key, (int64_t) gl_router_in_flight (self->router,
                                                                   (gl_provider_t) provider));
    }
}

//  cancel, pause, resume of a backfill; dlq list, requeue, purge.
static void
s_command_act (self_t *self, const char *action, uint64_t target, gl_msg_t *reply, char *error)
{
    char id [24];
    snprintf (id, sizeof id, "%" PRIu64, target);
    const char *values [] = { id };
    const char *sql =
        strcmp (action, "cancel") == 0? "SELECT queue_cancel_backfill ($1) AS slices":
        strcmp (action, "pause") == 0? "SELECT queue_pause_backfill ($1) AS slices":
        strcmp (action, "resume") == 0? "SELECT queue_resume_backfill ($1) AS slices":
        strcmp (action, "dlq_requeue") == 0
        ? "SELECT count(*) FILTER (WHERE queue_requeue (id)) AS slices FROM dead_letters"
          " WHERE $1::bigint = 0 OR id = $1::bigint":
        "SELECT queue_purge (nullif ($1::bigint, 0)) AS slices";
    if (strcmp (action, "dlq_list") == 0) {
        gl_backlog_rows (self->backlog,
            "SELECT id, backfill_id, symbol, timeframe, slice_from, slice_to,"
            " coalesce(provider, '') AS provider, attempt, error_class,"
            " left(error_message, 200) AS error_message, died_at FROM dead_letters"
            " ORDER BY died_at DESC", 0, NULL, reply, error);
        return;
    }
    if ((strcmp (action, "cancel") == 0 || strcmp (action, "pause") == 0
      || strcmp (action, "resume") == 0) && target == 0) {
        snprintf (error, 256, "%s needs a backfill id", action);
        return;
    }
    bool one_slice = strncmp (action, "dlq_", 4) == 0 && target != 0;
    if (gl_backlog_fields (self->backlog, sql, 1, values, reply, error) != 1
    ||  reply->reply.field_count != 1)
        return;
    if (strcmp (reply->reply.fields [0].value, "-1") == 0)
        snprintf (error, 256, "backfill %" PRIu64 " cannot be %s now (not found, or already"
                  " %s)", target, strcmp (action, "resume") == 0? "resumed": action,
                  strcmp (action, "resume") == 0? "running": "ended or paused");
    else
    if (one_slice && strcmp (reply->reply.fields [0].value, "0") == 0)
        //  A named slice that is not dead: nothing done, and the client must
        //  not read "done: 0 slices" as success (a typo'd id, a live slice)
        snprintf (error, 256, "no dead slice %" PRIu64 " (not found, or not dead)", target);
}

//  COMMAND: status, cancel, pause, resume, dlq_list, dlq_requeue, dlq_purge.
static int
s_handle_command (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *command = *message_p;
    self->stats.requests++;
    gl_msg_t *reply = s_reply_new (command->command.request_id);
    if (!reply)
        return 0;
    char error [256] = "";
    if (!s_database (self))
        snprintf (error, sizeof error, "the scheduler cannot reach PostgreSQL now; try again");
    else
    if (strcmp (command->command.action, "status") == 0)
        s_command_status (self, command->command.target, reply, error);
    else
        s_command_act (self, command->command.action, command->command.target, reply, error);
    if (*error)
        s_reply_error (reply, error);
    s_reply_send (self, sender, &reply);
    return 0;
}

//  --------------------------------------------------------------------------
//  Start

//  Prints the command-line help.
static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "Usage: gapless-scheduler [OPTIONS]\n"
        "Cuts backfill requests into slices in PostgreSQL, dispatches them to fetchers,\n"
        "and retries, reroutes, rescues or dead-letters them.\n\n"
        "  -c, --config FILE      ZPL configuration (keys under actor/, scheduler/, fetcher/)\n"
        "  -e, --broker ENDPOINT  broker endpoint (default tcp://127.0.0.1:5570)\n"
        "  -i, --instance ID      instance id (default host:pid)\n"
        "  -d, --database URL     PostgreSQL connection (default: as gapless finds it)\n"
        "      --schema NAME      schema (default gapless)\n"
        "  -h, --help             this help\n\n"
        "Config: scheduler/lease_seconds (120), scheduler/dispatch_ms (200),\n"
        "scheduler/rescue_ms (5000), scheduler/not_now_ms (1000), scheduler/claim_max (500),\n"
        "scheduler/max_attempts (5), scheduler/tier_cap_t0 (20000), _t1 (20000), _t2 (40000),\n"
        "scheduler/periodic_ms (1000), scheduler/horizon_seconds (10),\n"
        "scheduler/live_priority (30), scheduler/live_share (20, percent),\n"
        "scheduler/route/<tf> (\"polygon,alpaca\" for 1m..4h, \"yahoo,polygon,tradier\"\n"
        "for 1d 1w), scheduler/slice/<tf> (1m session, 5m-30m week, 1h 4h month, 1d 1w year),\n"
        "fetcher/<provider>/limits (the rules that pace dispatch). Environment: GAPLESS_<KEY>.\n");
}

//  The sustainable rate of a provider's limits: the tightest rule's N/W.
static double
s_rate_of (const char *limits)
{
    char error [GL_RATELIMIT_ERROR_MAX];
    gl_ratelimit_t *limiter = limits && *limits? gl_ratelimit_new (limits, 0, error): NULL;
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

//  Reads the scheduler's settings.
static int
s_configure (self_t *self, gl_config_t *config, gl_actor_options_t *options,
             int64_t *dispatch_ms, int64_t *rescue_ms, int64_t *periodic_ms, char *error)
{
    int64_t lease, claim_max, attempts, heartbeat_ms, horizon, live_priority, live_share;
    if (gl_config_int (config, "scheduler/lease_seconds", 120, 5, 86400, &lease, error)
    ||  gl_config_int (config, "scheduler/dispatch_ms", 200, 10, 60000, dispatch_ms, error)
    ||  gl_config_int (config, "scheduler/rescue_ms", 5000, 100, 600000, rescue_ms, error)
    ||  gl_config_int (config, "scheduler/not_now_ms", 1000, 0, 600000, &self->not_now_ms, error)
    ||  gl_config_int (config, "scheduler/claim_max", 500, 1, 10000, &claim_max, error)
    ||  gl_config_int (config, "scheduler/max_attempts", 5, 1, 100, &attempts, error)
    ||  gl_config_int (config, "scheduler/tier_cap_t0", 20000, 0, INT32_MAX, &self->tier_caps [0], error)
    ||  gl_config_int (config, "scheduler/tier_cap_t1", 20000, 0, INT32_MAX, &self->tier_caps [1], error)
    ||  gl_config_int (config, "scheduler/tier_cap_t2", 40000, 0, INT32_MAX, &self->tier_caps [2], error)
    ||  gl_config_int (config, "scheduler/periodic_ms", 1000, 10, 600000, periodic_ms, error)
    ||  gl_config_int (config, "scheduler/horizon_seconds", 10, 1, 86400, &horizon, error)
    ||  gl_config_int (config, "scheduler/live_priority", 30, -100, 100, &live_priority, error)
    ||  gl_config_int (config, "scheduler/live_share", 20, 0, 90, &live_share, error)
    ||  gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 600000, &heartbeat_ms, error))
        return -1;
    self->horizon_seconds = (double) horizon;
    self->live_priority = (int) live_priority;
    self->live_share = (double) live_share / 100;
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++) {
        char key [64];
        snprintf (key, sizeof key, "fetcher/%s/limits", gl_capability_name ((gl_provider_t) provider));
        self->rates [provider] = s_rate_of (gl_config_get (config, key, ""));
    }
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++) {
        const char *name = gl_timeframe_name ((gl_timeframe_t) timeframe);
        char key [64];
        snprintf (key, sizeof key, "scheduler/route/%s", name);
        self->routes [timeframe] = gl_config_get (config, key, NULL);
        snprintf (key, sizeof key, "scheduler/slice/%s", name);
        const char *unit = gl_config_get (config, key, NULL);
        self->units [timeframe] = unit? gl_slicer_unit_parse (unit)
                                      : gl_slicer_default_unit ((gl_timeframe_t) timeframe);
        if (!gl_slicer_unit_fits (self->units [timeframe], (gl_timeframe_t) timeframe)) {
            snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s: expected session, week, month or"
                      " year, a unit that holds whole %s bars", key, name);
            return -1;
        }
    }
    self->lease_seconds = (double) lease;
    self->claim_max = (size_t) claim_max;
    self->max_attempts = (int) attempts;
    self->database = gl_config_get (config, "scheduler/database", NULL);
    self->schema = gl_config_get (config, "scheduler/schema", NULL);
    static const char *const follow [] = { "fetcher.*", NULL };
    if (gl_actor_options_configure (options, config, error) != 0)
        return -1;
    options->credit = 100;
    options->heartbeat_ms = (uint32_t) heartbeat_ms;
    options->follow = follow;
    return 0;
}

//  Connects everything the scheduler runs on. Returns 0 or -1.
static int
s_start (self_t *self, gl_actor_options_t *options)
{
    self->router = gl_router_new (self->lease_seconds);
    self->claimed = calloc (self->claim_max, sizeof (gl_backlog_slice_t));
    if (!self->router || !self->claimed)
        return -1;
    gl_router_set_horizon (self->router, self->horizon_seconds);
    gl_router_set_reserve (self->router, self->live_share);
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++)
        gl_router_set_rate (self->router, (gl_provider_t) provider, self->rates [provider]);
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++) {
        char error [256];
        if (self->routes [timeframe]
        &&  gl_router_set_route (self->router, (gl_timeframe_t) timeframe, self->routes [timeframe],
                                 error) == -1) {
            fprintf (stderr, "gapless-scheduler: config: scheduler/route/%s: %s\n",
                     gl_timeframe_name ((gl_timeframe_t) timeframe), error);
            return -1;
        }
    }
    if (s_database (self)) {
        bool contradicted = false;
        char error [GL_CONFIG_ERROR_MAX];
        if (gl_capability_policy_adopt (gl_db_conn (self->db), &contradicted, error) == -1
        &&  contradicted) {
            fprintf (stderr, "gapless-scheduler: %s\n", error);
            return -1;
        }
        gl_backlog_running (self->backlog, s_adopt, self);
        gl_backlog_health_load (self->backlog, s_load_health, self);
    }
    self->actor = gl_actor_new (options);
    return self->actor? 0: -1;
}

//  Applies the live settings of a configuration that passed
//  gl_settings_reload: rates and routes (checked on a scratch router
//  first, so a route is applied whole or not at all), dispatch sizes,
//  attempts, caps, the horizon and the reserve, the log level.
static void
s_apply_live (self_t *self, gl_config_t *config)
{
    self_t next = { 0 };
    gl_actor_options_t options = { 0 };
    int64_t dispatch_ms, rescue_ms, periodic_ms;
    char error [GL_CONFIG_ERROR_MAX];
    gl_router_t *scratch = gl_router_new (self->lease_seconds);
    int rc = s_configure (&next, config, &options, &dispatch_ms, &rescue_ms, &periodic_ms, error);
    for (int timeframe = GL_TF_1M; rc == 0 && timeframe <= GL_TF_1W; timeframe++)
        if (next.routes [timeframe] && (!scratch
        ||  gl_router_set_route (scratch, (gl_timeframe_t) timeframe, next.routes [timeframe],
                                 error) == -1))
            rc = -1;
    gl_router_destroy (&scratch);
    gl_backlog_slice_t *claimed = rc == 0? realloc (self->claimed, next.claim_max
                                                    * sizeof (gl_backlog_slice_t)): NULL;
    if (rc != 0 || !claimed) {
        gl_log_warn ("config_reload_refused", "problem=%s", GL_LOG_VALUE (rc? error: "out of memory"));
        return;
    }
    self->claimed = claimed;
    self->claim_max = next.claim_max;
    self->not_now_ms = next.not_now_ms;
    self->max_attempts = next.max_attempts;
    memcpy (self->tier_caps, next.tier_caps, sizeof self->tier_caps);
    self->live_priority = next.live_priority;
    gl_router_set_horizon (self->router, next.horizon_seconds);
    gl_router_set_reserve (self->router, next.live_share);
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++)
        gl_router_set_rate (self->router, (gl_provider_t) provider, next.rates [provider]);
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++)
        gl_router_set_route (self->router, (gl_timeframe_t) timeframe, next.routes [timeframe],
                             error);
    memcpy (self->routes, next.routes, sizeof self->routes);
    gl_actor_log_level (config, error);
}

//  SIGHUP: the file again, checked whole; its live keys applied.
static void
s_on_reload (gl_actor_t *actor, void *argument)
{
    self_t *self = (self_t *) argument;
    gl_config_t *fresh = gl_settings_reload (self->config);
    if (!fresh)
        return;
    s_apply_live (self, fresh);
    //  The strings read at start (database, schema) point into the old one
    gl_config_t *old = self->config;
    self->config = fresh;
    self->database = gl_config_get (fresh, "scheduler/database", NULL);
    self->schema = gl_config_get (fresh, "scheduler/schema", NULL);
    gl_config_destroy (&old);
}

//  Parses flags and configuration, then runs the actor until SIGTERM.
int
main (int argc, char **argv)
{
    gl_actor_options_t options = { .service = "scheduler" };
    int status = 2;
    gl_config_t *config = gl_actor_command_line (argc, argv, "scheduler", NULL, s_usage, &options,
                                                 &status);
    if (!config)
        return status;
    if (gl_settings_check_start (config, "scheduler") != 0) {
        gl_config_destroy (&config);
        return 2;
    }
    char error [GL_CONFIG_ERROR_MAX];
    self_t self = { .config = config };
    int64_t dispatch_ms = 0, rescue_ms = 0, periodic_ms = 0;
    if (s_configure (&self, config, &options, &dispatch_ms, &rescue_ms, &periodic_ms, error) == -1
    ||  gl_capability_configure (config, error) == -1)
        fprintf (stderr, "gapless-scheduler: %s\n", error);
    else
    if (s_start (&self, &options) == 0) {
        self.stats_at_ms = zclock_mono () + S_STATS_MS;
        gl_actor_on (self.actor, GL_MSG_ENQUEUE, s_handle_enqueue, &self);
        gl_actor_on (self.actor, GL_MSG_COMMAND, s_handle_command, &self);
        gl_actor_on (self.actor, GL_MSG_FAILED, s_handle_failed, &self);
        gl_actor_on (self.actor, GL_MSG_WRITTEN, s_handle_written, &self);
        gl_actor_on (self.actor, GL_MSG_EVENT, s_handle_event, &self);
        gl_actor_on_membership (self.actor, s_on_membership, &self);
        gl_actor_on_connection (self.actor, s_on_connection, &self);
        gl_actor_on_bounce (self.actor, s_on_bounce, &self);
        gl_actor_on_reload (self.actor, s_on_reload, &self);
        zloop_t *loop = gl_actor_loop (self.actor);
        zloop_timer (loop, (size_t) dispatch_ms, 0, s_on_dispatch, &self);
        zloop_timer (loop, (size_t) rescue_ms, 0, s_on_rescue, &self);
        zloop_timer (loop, (size_t) periodic_ms, 0, s_on_periodic, &self);
        gl_log_info ("scheduler_started", "address=%s lease_s=%.0f adopted=%" PRIu64,
                     gl_actor_address (self.actor), self.lease_seconds, self.stats.adopted);
        status = gl_actor_run (self.actor) == 0? 0: 1;
    }
    else
        fprintf (stderr, "gapless-scheduler: cannot start (see the log above)\n");
    gl_actor_destroy (&self.actor);
    gl_router_destroy (&self.router);
    for (int kind = GL_CALENDAR_XNYS; kind <= GL_CALENDAR_24X7; kind++)
        gl_calendar_destroy (&self.calendars [kind]);
    gl_backlog_destroy (&self.backlog);
    gl_db_destroy (&self.db);
    free (self.claimed);
    gl_config_destroy (&self.config);
    return status;
}
