/*  gapless-fetcher — the fetcher actor of one provider, service
    fetcher.<provider>.

    On FETCH it answers at once with FAILED what it cannot work (the
    breaker open, a repeat of a run in progress under the same lease, a
    timeframe the provider lacks, times outside 1970..2100, more than
    max_windows requests); otherwise it queues the job (a run sent again
    under a new lease supersedes the older job of it). Jobs are
    worked a request at a time each, up to `concurrency` requests in
    flight, each request paced by the shared rate limit and admitted by the
    breaker. Pages are followed and long ranges split into the provider's
    maximum span; bars go in parts (last=true on the final part) to one
    writer instance per run, writer/<sorted members[hash(run_id) % n]>
    (the service until writer MEMBERSHIP is known), failures to
    `scheduler` with their error class. A part the broker bounces, or a
    run's writer leaving, fails the run retryable. Breaker changes
    and a periodic health summary go to `ops` as EVENT messages.

    Credit is manual and sized by pacing: the instance holds (or has
    coming) the jobs with a request in flight plus what its share lets it
    start now, at least one while it has a share, never more than
    `credit`; the credit of an ended job is given back only within that,
    and the rest as the windows free room. So queued work waits in the
    broker for whichever fetcher of the service can start it, and at the
    end of a batch no instance sits on leftovers while another idles (a
    job dealt past the READY credit with no room to start it is logged
    as fetch_held_back and counted as held_back in fetcher_health). An instance
    the membership leaves without a share (more fetchers than a rule's N)
    gives every waiting job back at once (FAILED rate_limited, retryable)
    and keeps back the credit of each job that ends until it has a share
    again, so the broker stops handing it work it could never start.

    Cut off from the broker, the instance drops its share to 0 at once; it
    starts again as a new member when registered (SPEC 5.7).

    A 403 with Retry-After is a ban (too many requests over the limit),
    not a refused key: the whole credential pauses for Retry-After. The
    instance that sees it tells its siblings (from MEMBERSHIP of its own
    service) and ops with EVENT provider_banned; every instance answers
    its waiting and new FETCHes FAILED rate_limited, retryable, with the
    ban's remaining time, so the scheduler spends no attempt. A refused
    key (401, or a 403 without Retry-After) is FAILED auth, not
    retryable, and for auth_hold_ms every FETCH is answered so at once.
*/
#include "gl_actor.h"
#include "gl_breaker.h"
#include "gl_calendar.h"
#include "gl_config.h"
#include "gl_http.h"
#include "gl_settings.h"
#include "gl_log.h"
#include "gl_provider.h"
#include "gl_ratelimit.h"
#include <getopt.h>

#define LATENCY_BUCKETS 6
#define MESSAGE_MAX 256
#define ANSWERED_MAX 256
#define WRITERS_MAX 64
#define HELD_MAX 256
#define SIBLINGS_MAX 64
#define SETTLE_HEARTBEATS 4    //  a grown share's extra wait, in heartbeat intervals
static const int64_t s_latency_bounds [LATENCY_BUCKETS] = { 50, 100, 250, 500, 1000, 5000 };
//  The FAILED classes (SPEC 7.2), counted for fetcher_health's errors
#define ERROR_CLASSES 8
static const char *s_error_classes [ERROR_CLASSES] = { "rate_limited", "auth", "not_found",
    "no_data", "server_error", "timeout", "parse_error", "breaker_open" };

//  A window of a job's range, at most the provider's span.
typedef struct {
    int64_t from, to;
} window_t;

//  One FETCH being worked.
typedef struct _job_t {
    void *owner;                //  the self_t
    gl_msg_t *fetch;            //  the FETCH as received
    char sender [GL_MSG_NAME_MAX * 2 + 2];
    window_t *windows;          //  still to fetch, in order; [0] is current
    size_t window_count;
    char *continuation;         //  next page of the current window, or NULL
    gl_msg_t *part;             //  bars not yet sent
    uint32_t parts_sent;
    size_t bars_total;
    bool saw_no_data;
    uint32_t refusals;          //  429s met by this job
    uint32_t resends;           //  requests sent again after a dropped connection
    bool in_flight;
    bool abandoned;             //  answered FAILED while a request was in flight
    bool parts_at_risk;         //  parts went out before the broker was lost
    char writer [GL_MSG_NAME_MAX * 2 + 2];      //  where its parts go, once chosen
    int64_t not_before;         //  monotonic ms: do not request before
    uint64_t permit;            //  breaker permit of the request in flight
    struct _job_t *next;
} job_t;

typedef struct {
    gl_actor_t *actor;
    gl_config_t *config;
    gl_provider_t provider;
    char provider_name [16];
    char service [GL_MSG_NAME_MAX + 1];
    const char *base_url;
    char key [512], secret [512];
    gl_calendar_t *calendar;
    gl_http_t *http;
    gl_ratelimit_t *ratelimit;
    char *limits;               //  the rules in force, as configured
    gl_breaker_t *breaker;
    gl_breaker_options_t breaker_options;       //  in force
    job_t *jobs;                //  accepted jobs, oldest first
    size_t in_flight;
    int64_t concurrency, part_bars, max_refusals, page_limit, max_windows;
    int64_t pump_at;            //  the earliest armed pacing wake-up, 0: none
    uint64_t requests, failures, refusals, bars, dropped;
    uint64_t refused;           //  FETCH answered FAILED without a request
    uint64_t received;          //  FETCH taken since start
    uint64_t held_back;         //  of those past the first credit, dealt without room
    uint64_t bounced_bars, bounced_other;       //  what the broker returned
    struct {                    //  runs (one attempt: run and lease) lately answered FAILED
        uint64_t run_id;
        char lease_token [GL_MSG_NAME_MAX + 1];
    } answered [ANSWERED_MAX];
    size_t answered_next;
    bool membership_known;      //  a MEMBERSHIP came since registering
    char writers [WRITERS_MAX][GL_MSG_NAME_MAX + 1];    //  writer instances, sorted
    size_t writer_count;        //  0: unknown or none, parts go to the service
    uint32_t credit_max;        //  the configured credit: the most jobs held or coming
    uint32_t withheld;          //  credit of ended jobs not given back yet
    gl_msg_t *held [HELD_MAX];  //  FAILED answers waiting for a registration
    size_t held_count;
    uint64_t bars_expected, bars_delivered;     //  completeness, finished jobs
    uint64_t latency [LATENCY_BUCKETS + 1];
    uint64_t latency_sum_ms, fetches;           //  for ops' histogram and selections
    uint64_t errors [2][ERROR_CLASSES];         //  FAILED sent, by endpoint (0 intraday,
                                                //  1 daily and weekly) and class
    int64_t slow_ms;                            //  ops/slow_ms: slower calls are reported
    int64_t banned_until;       //  monotonic ms: the credential is banned until then
    int64_t auth_until;         //  monotonic ms: FETCH answered auth at once until then
    int64_t auth_hold_ms;
    char auth_message [MESSAGE_MAX];    //  the provider's refusal, for the held answers
    char siblings [SIBLINGS_MAX][GL_MSG_NAME_MAX + 1];  //  other instances of the service
    size_t sibling_count;
} self_t;

//  Milliseconds on the monotonic clock.
static int64_t
s_now (void)
{
    return zclock_mono ();
}

static void s_pump (self_t *self);
static void s_pump_requests (self_t *self);
static void s_pump_later (self_t *self, int64_t at);
static void s_credit_update (self_t *self);
static gl_provider_query_t s_query (self_t *self, job_t *job);

//  True when the latest MEMBERSHIP leaves this instance no share of some
//  rule even once every transition is over: more fetchers than the rule's
//  N (e.g. 6 on 5/1s), so it may never send. Not while the membership is
//  unknown (before the first MEMBERSHIP, or since the broker was lost).
static bool
s_no_share (self_t *self)
{
    if (!self->membership_known)
        return false;
    for (size_t rule = 0; rule < gl_ratelimit_rules (self->ratelimit); rule++)
        if (gl_ratelimit_limit (self->ratelimit, rule, INT64_MAX / 2) == 0)
            return true;
    return false;
}

//  A new EVENT from this instance with the given name and key/value
//  pairs (NULL-terminated list of key, value), or NULL if out of memory.
//  Caller owns return value.
static gl_msg_t *
s_event_new (self_t *self, const char *name, const char *const *pairs)
{
    gl_msg_t *event = gl_msg_new (GL_MSG_EVENT);
    if (!event) {
        gl_log_warn ("event_not_sent", "name=%s reason=\"out of memory\"", name);
        return NULL;
    }
    snprintf (event->event.source, sizeof (event->event.source), "%s",
              gl_actor_address (self->actor));
    snprintf (event->event.name, sizeof (event->event.name), "%s", name);
    event->event.time_ms = zclock_time ();
    gl_msg_add_field (event, "provider", self->provider_name);
    for (size_t index = 0; pairs [index] && pairs [index + 1]; index += 2)
        gl_msg_add_field (event, pairs [index], pairs [index + 1]);
    return event;
}

//  Sends an EVENT to ops with the given name and key/value pairs
//  (NULL-terminated list of key, value).
static void
s_event (self_t *self, const char *name, const char *const *pairs)
{
    gl_msg_t *event = s_event_new (self, name, pairs);
    if (event && gl_actor_send (self->actor, "ops", event) != 0)
        gl_log_debug ("event_not_sent", "name=%s", name);
    //  The scheduler routes by breaker state and health (its gl_router)
    if ((strcmp (name, "breaker_changed") == 0 || strcmp (name, "fetcher_health") == 0)
    &&  gl_actor_send (self->actor, "scheduler", event) != 0)
        gl_log_debug ("event_not_sent", "name=%s to=scheduler", name);
    gl_msg_destroy (&event);
}

//  Breaker callback: every change is logged and announced to ops.
static void
s_on_breaker_change (gl_breaker_t *breaker, gl_breaker_state_t from, gl_breaker_state_t to,
                     const char *reason, void *argument)
{
    self_t *self = (self_t *) argument;
    gl_log_warn ("breaker_changed", "provider=%s from=%s to=%s reason=\"%s\"",
                 self->provider_name, gl_breaker_state_name (from),
                 gl_breaker_state_name (to), reason);
    const char *pairs [] = { "from", gl_breaker_state_name (from),
                             "to", gl_breaker_state_name (to), "reason", reason, NULL };
    s_event (self, "breaker_changed", pairs);
}

//  Removes a job from the list and frees it; returns one credit.
static void
s_job_end (self_t *self, job_t *job)
{
    job_t **link = &self->jobs;
    while (*link && *link != job)
        link = &(*link)->next;
    if (*link)
        *link = job->next;
    gl_msg_destroy (&job->fetch);
    gl_msg_destroy (&job->part);
    free (job->windows);
    free (job->continuation);
    free (job);
    self->withheld++;
    s_credit_update (self);
}

//  Sends FAILED for a run to the scheduler, and remembers the run as
//  answered (so a later bounce of its parts is not answered again).
static void
s_send_failed (self_t *self, uint64_t run_id, const char *lease_token, const char *symbol,
               const char *timeframe, const char *error_class, bool retryable,
               uint64_t retry_after_ms, const char *message)
{
    size_t slot = self->answered_next++ % ANSWERED_MAX;
    self->answered [slot].run_id = run_id;
    snprintf (self->answered [slot].lease_token, sizeof (self->answered [slot].lease_token), "%s",
              lease_token);
    int endpoint = gl_timeframe_is_intraday (gl_timeframe_parse (timeframe))? 0: 1;
    for (size_t index = 0; index < ERROR_CLASSES; index++)
        self->errors [endpoint][index] += strcmp (s_error_classes [index], error_class) == 0;
    gl_log_info ("fetch_failed", "run_id=%" PRIu64 " symbol=%s class=%s retryable=%d "
                 "retry_after_ms=%" PRIu64 " message=\"%s\"", run_id, symbol, error_class,
                 retryable, retry_after_ms, message);
    gl_msg_t *failed = gl_msg_new (GL_MSG_FAILED);
    if (!failed) {
        gl_log_error ("failed_not_sent", "run_id=%" PRIu64 " reason=\"out of memory\"", run_id);
        return;
    }
    failed->failed.run_id = run_id;
    snprintf (failed->failed.lease_token, sizeof (failed->failed.lease_token), "%s", lease_token);
    snprintf (failed->failed.provider, sizeof (failed->failed.provider), "%s", self->provider_name);
    snprintf (failed->failed.error_class, sizeof (failed->failed.error_class), "%s", error_class);
    failed->failed.retryable = retryable;
    failed->failed.retry_after_ms = retry_after_ms;
    snprintf (failed->failed.message, sizeof (failed->failed.message), "%s", message);
    if (gl_actor_send (self->actor, "scheduler", failed) == 0)
        gl_msg_destroy (&failed);
    else
    if (!gl_actor_registered (self->actor) && self->held_count < HELD_MAX) {
        gl_log_warn ("failed_held", "run_id=%" PRIu64 " reason=\"not registered\"", run_id);
        self->held [self->held_count++] = failed;
    }
    else {
        gl_log_warn ("failed_not_sent", "run_id=%" PRIu64, run_id);
        gl_msg_destroy (&failed);
    }
}

//  Sends the FAILED answers held while the broker was lost.
static void
s_send_held (self_t *self)
{
    size_t kept = 0;
    for (size_t index = 0; index < self->held_count; index++)
        if (gl_actor_send (self->actor, "scheduler", self->held [index]) == 0)
            gl_msg_destroy (&self->held [index]);
        else
            self->held [kept++] = self->held [index];
    self->held_count = kept;
}

//  Answers the scheduler that a job failed, and ends it. A job with a
//  request in flight is only marked abandoned: its response ends it.
static void
s_job_fail (self_t *self, job_t *job, const char *error_class, bool retryable,
            uint64_t retry_after_ms, const char *message)
{
    if (job->abandoned)
        return;
    s_send_failed (self, job->fetch->fetch.run_id, job->fetch->fetch.lease_token,
                   job->fetch->fetch.symbol, job->fetch->fetch.timeframe, error_class, retryable,
                   retry_after_ms, message);
    if (job->in_flight)
        job->abandoned = true;
    else
        s_job_end (self, job);
}

//  The rest of the ban in ms, 0 when none.
static uint64_t
s_ban_remaining (self_t *self)
{
    int64_t now = s_now ();
    return self->banned_until > now? (uint64_t) (self->banned_until - now): 0;
}

//  Fails, as "not now", every job waiting for a request while the
//  credential is banned: retryable rate_limited, the ban's remaining
//  time as retry-after, so the scheduler spends no attempt.
static void
s_fail_banned (self_t *self)
{
    job_t *job = self->jobs;
    while (job) {
        job_t *next = job->next;
        if (!job->in_flight)
            s_job_fail (self, job, "rate_limited", true, s_ban_remaining (self),
                        "the provider banned this credential for a while (403 with "
                        "Retry-After); no request until the ban is over");
        job = next;
    }
}

//  Tells ops and every other instance of the service that the provider
//  banned the credential until until_ms (epoch ms), so none sends into
//  the ban.
static void
s_announce_ban (self_t *self, int64_t until_ms)
{
    char until [24], remaining [24];
    snprintf (until, sizeof (until), "%" PRId64, until_ms);
    snprintf (remaining, sizeof (remaining), "%" PRIu64, s_ban_remaining (self));
    const char *pairs [] = { "until_ms", until, "retry_after_ms", remaining, NULL };
    gl_msg_t *event = s_event_new (self, "provider_banned", pairs);
    if (!event)
        return;
    char destination [GL_MSG_NAME_MAX * 2 + 2];
    for (size_t index = 0; index < self->sibling_count; index++) {
        snprintf (destination, sizeof (destination), "%s/%s", self->service,
                  self->siblings [index]);
        if (gl_actor_send (self->actor, destination, event) != 0)
            gl_log_warn ("ban_not_announced", "to=%s", destination);
    }
    if (gl_actor_send (self->actor, "ops", event) != 0)
        gl_log_debug ("event_not_sent", "name=provider_banned");
    gl_msg_destroy (&event);
}

//  The credential is banned for retry_after_ms: no request on it until
//  then, waiting jobs are given back, and (when this instance saw the
//  ban itself) the siblings and ops are told. A ban already known to
//  last as long changes nothing.
static void
s_ban (self_t *self, uint64_t retry_after_ms, bool announce)
{
    if (retry_after_ms == 0)
        retry_after_ms = 1000;      //  a Retry-After of 0 still means "not now"
    int64_t until = s_now () + (int64_t) retry_after_ms;
    if (until <= self->banned_until)
        return;
    self->banned_until = until;
    gl_log_error ("provider_banned", "provider=%s retry_after_ms=%" PRIu64 " seen_by=%s "
                  "reason=\"403 with Retry-After: too many requests over the limit\"",
                  self->provider_name, retry_after_ms, announce? "this instance": "a sibling");
    if (announce)
        s_announce_ban (self, zclock_time () + (int64_t) retry_after_ms);
    s_fail_banned (self);
}

//  The provider refused the credential itself (401, or a 403 that is no
//  ban): every waiting job and, for auth_hold_ms, every new FETCH is
//  answered auth at once, so the fetcher stops hammering with a key that
//  cannot work.
static void
s_auth_hold (self_t *self, const char *message)
{
    if (self->auth_hold_ms == 0)
        return;
    bool fresh = s_now () >= self->auth_until;
    self->auth_until = s_now () + self->auth_hold_ms;
    snprintf (self->auth_message, sizeof (self->auth_message), "%s", message);
    if (fresh) {
        gl_log_error ("credential_refused", "provider=%s hold_ms=%" PRId64 " message=\"%s\" "
                      "action=\"check the key; FETCH answered auth until the hold ends\"",
                      self->provider_name, self->auth_hold_ms, message);
        const char *pairs [] = { "message", message, NULL };
        s_event (self, "credential_refused", pairs);
    }
    job_t *job = self->jobs;
    while (job) {
        job_t *next = job->next;
        if (!job->in_flight)
            s_job_fail (self, job, "auth", false, 0, self->auth_message);
        job = next;
    }
}

//  A fresh BARS part for the job, or NULL if out of memory.
static gl_msg_t *
s_part_new (self_t *self, job_t *job)
{
    gl_msg_t *part = gl_msg_new (GL_MSG_BARS);
    if (!part)
        return NULL;
    part->bars.run_id = job->fetch->fetch.run_id;
    snprintf (part->bars.lease_token, sizeof (part->bars.lease_token), "%s",
              job->fetch->fetch.lease_token);
    snprintf (part->bars.provider, sizeof (part->bars.provider), "%s", self->provider_name);
    snprintf (part->bars.adjustment, sizeof (part->bars.adjustment), "%s",
              gl_capability_adjustment_name (gl_capability_adjustment (self->provider,
                  gl_timeframe_parse (job->fetch->fetch.timeframe),
                  gl_capability_policy_adjustment ())));
    snprintf (part->bars.symbol, sizeof (part->bars.symbol), "%s", job->fetch->fetch.symbol);
    snprintf (part->bars.timeframe, sizeof (part->bars.timeframe), "%s",
              job->fetch->fetch.timeframe);
    return part;
}

//  A 64-bit mix of the run id (splitmix64's finaliser), so consecutive
//  runs spread over the writers.
static uint64_t
s_run_hash (uint64_t run_id)
{
    uint64_t hash = run_id + 0x9e3779b97f4a7c15ULL;
    hash = (hash ^ (hash >> 30)) * 0xbf58476d1ce4e5b9ULL;
    hash = (hash ^ (hash >> 27)) * 0x94d049bb133111ebULL;
    return hash ^ (hash >> 31);
}

//  Chooses where every part of the job goes: one writer instance, picked
//  from the sorted members by the run id (the same choice in every
//  fetcher), so all parts of a slice reach the writer that completes it.
//  Before writer MEMBERSHIP is known, or with no writer, the service.
static void
s_job_choose_writer (self_t *self, job_t *job)
{
    if (self->writer_count == 0) {
        snprintf (job->writer, sizeof (job->writer), "writer");
        return;
    }
    size_t index = (size_t) (s_run_hash (job->fetch->fetch.run_id) % self->writer_count);
    snprintf (job->writer, sizeof (job->writer), "writer/%s", self->writers [index]);
}

//  Sends the job's current part to the writer and starts the next one.
//  Returns 0, or -1 if it cannot be sent or the next part allocated.
static int
s_part_send (self_t *self, job_t *job, bool last)
{
    job->part->bars.part = job->parts_sent++;
    job->part->bars.last = last;
    if (!job->writer [0])
        s_job_choose_writer (self, job);
    int rc = gl_actor_send (self->actor, job->writer, job->part);
    gl_msg_destroy (&job->part);
    job->part = s_part_new (self, job);
    return rc == 0 && (last || job->part)? 0: -1;
}

//  Adds a page's bars to the job, sending full parts on the way.
static int
s_job_add_bars (self_t *self, job_t *job, const gl_provider_result_t *result)
{
    for (size_t index = 0; index < result->bar_count; index++) {
        if (job->part->bars.bar_count >= (size_t) self->part_bars
        &&  s_part_send (self, job, false) != 0)
            return -1;
        if (gl_msg_add_bar (job->part, &result->bars [index]) != 0)
            return -1;
    }
    job->bars_total += result->bar_count;
    return 0;
}

//  Adds a finished job to the completeness counts: the bars the calendar
//  expects in its range against the bars delivered (a provider's missing
//  bars, or bars dropped as impossible, lower it). Returns the expected
//  count, -1 if the range cannot be counted.
static int64_t
s_job_count_completeness (self_t *self, job_t *job)
{
    int64_t expected = gl_calendar_count_bars (self->calendar,
        gl_timeframe_parse (job->fetch->fetch.timeframe),
        job->fetch->fetch.from, job->fetch->fetch.to);
    if (expected > 0) {
        self->bars_expected += (uint64_t) expected;
        self->bars_delivered += job->bars_total < (size_t) expected? job->bars_total
                                                                   : (uint64_t) expected;
    }
    return expected;
}

//  Moves the job past its current page: the next page, the next window,
//  or the end (the final part, or FAILED no_data if nothing came at all).
static void
s_job_advance (self_t *self, job_t *job, const gl_provider_result_t *result)
{
    free (job->continuation);
    job->continuation = result->continuation? strdup (result->continuation): NULL;
    if (result->continuation && !job->continuation) {
        s_job_fail (self, job, "server_error", true, 1000, "out of memory for the next page");
        return;
    }
    if (job->continuation)
        return;
    memmove (job->windows, job->windows + 1, (job->window_count - 1) * sizeof (window_t));
    job->window_count--;
    if (job->window_count > 0)
        return;
    if (job->bars_total == 0 && job->saw_no_data) {
        s_job_fail (self, job, "no_data", result->retryable, result->retry_after_ms,
                    "the provider has no bars in this range");
        return;
    }
    if (s_part_send (self, job, true) != 0) {
        s_job_fail (self, job, "server_error", true, 1000,
                    "the last part could not be sent to the writer");
        return;
    }
    int64_t expected = s_job_count_completeness (self, job);
    gl_log_info ("fetch_done", "run_id=%" PRIu64 " symbol=%s bars=%zu expected=%" PRId64
                 " parts=%u", job->fetch->fetch.run_id, job->fetch->fetch.symbol,
                 job->bars_total, expected, job->parts_sent);
    s_job_end (self, job);
}

//  The length of [from, to) in seconds, without overflow (0 if empty).
static uint64_t
s_range_length (int64_t from, int64_t to)
{
    return to > from? (uint64_t) to - (uint64_t) from: 0;
}

//  Splits the job's current window in two (the provider refused it as
//  too big). Returns false if it cannot be split further.
static bool
s_job_split (job_t *job)
{
    window_t *current = &job->windows [0];
    if (s_range_length (current->from, current->to) < 2 * 86400)
        return false;
    window_t *grown = (window_t *) realloc (job->windows,
                                            (job->window_count + 1) * sizeof (window_t));
    if (!grown)
        return false;
    job->windows = grown;
    memmove (job->windows + 1, job->windows, job->window_count * sizeof (window_t));
    job->window_count++;
    int64_t middle = job->windows [0].from
                   + (int64_t) (s_range_length (job->windows [0].from, job->windows [0].to) / 2);
    job->windows [0].to = middle;
    job->windows [1].from = middle;
    return true;
}

//  Counts a response's latency in the histogram; a call slower than
//  ops/slow_ms goes to ops as EVENT slow_request with its context (the
//  redacted URL's path: never a credential).
static void
s_count_latency (self_t *self, job_t *job, const gl_http_response_t *response)
{
    size_t bucket = 0;
    while (bucket < LATENCY_BUCKETS && response->elapsed_ms > s_latency_bounds [bucket])
        bucket++;
    self->latency [bucket]++;
    self->latency_sum_ms += (uint64_t) response->elapsed_ms;
    if (response->elapsed_ms < self->slow_ms || job->abandoned)
        return;
    gl_provider_query_t query = s_query (self, job);
    char endpoint [256] = "", values [5][24], error [256];
    gl_provider_request_t *request = gl_provider_request_new (&query, error);
    const char *path = request? strstr (request->redacted_url, "://"): NULL;
    path = path? strchr (path + 3, '/'): NULL;
    snprintf (endpoint, sizeof endpoint, "%.*s", path? (int) strcspn (path, "?"): 0, path? path: "");
    gl_provider_request_destroy (&request);
    snprintf (values [0], 24, "%" PRId64, response->elapsed_ms);
    snprintf (values [1], 24, "%ld", response->status);
    snprintf (values [2], 24, "%" PRId64, job->windows [0].from);
    snprintf (values [3], 24, "%" PRId64, job->windows [0].to);
    snprintf (values [4], 24, "%" PRIu32, job->fetch->fetch.attempt);
    const char *pairs [] = { "endpoint", endpoint, "symbol", job->fetch->fetch.symbol,
                             "timeframe", job->fetch->fetch.timeframe, "from", values [2],
                             "to", values [3], "attempt", values [4], "duration_ms", values [0],
                             "status", values [1], NULL };
    s_event (self, "slow_request", pairs);
}

//  The transport failed (no HTTP answer): timeout, oversize, or a broken
//  connection.
static void
s_handle_transport_error (self_t *self, job_t *job, const gl_http_response_t *response)
{
    gl_breaker_record (self->breaker, job->permit, GL_BREAKER_FAILURE, response->elapsed_ms,
                       s_now ());
    self->failures++;
    const char *error_class = response->timed_out? "timeout":
                              response->too_large? "parse_error": "server_error";
    s_job_fail (self, job, error_class, true, 0, response->error);
}

//  A kept-alive connection closed without an answer, and gl_http refused
//  libcurl's own resend (the limiter had counted one request): the same
//  request goes again when paced, counted like any other, up to
//  max_refusals times; then the job fails as a broken connection.
static void
s_handle_resend_refused (self_t *self, job_t *job, const gl_http_response_t *response)
{
    gl_log_info ("request_dropped", "run_id=%" PRIu64 " resends=%u reason=\"%s\"",
                 job->fetch->fetch.run_id, job->resends, response->error);
    if (++job->resends > (uint32_t) self->max_refusals) {
        s_handle_transport_error (self, job, response);
        return;
    }
    gl_breaker_record (self->breaker, job->permit, GL_BREAKER_IGNORED, response->elapsed_ms,
                       s_now ());
}

//  Applies what the provider said about its limit (counters, 429).
static void
s_learn_limit (self_t *self, const gl_provider_result_t *result)
{
    int64_t now = s_now ();
    if (result->limit.known && result->limit.remaining >= 0 && result->limit.reset_ms > 0)
        gl_ratelimit_observe (self->ratelimit, result->limit.remaining,
                              now + (result->limit.reset_ms - zclock_time ()), now);
    if (result->error == GL_PROVIDER_RATE_LIMITED)
        gl_ratelimit_refused (self->ratelimit, (int64_t) result->retry_after_ms, now);
}

//  True if the answer is a temporary ban, not a refusal of the
//  credential: a 403 with Retry-After (what providers answer after too
//  many requests over the limit). A real refusal (401, or a 403 saying
//  not authorised or not in the plan) carries none.
static bool
s_is_ban (const gl_provider_result_t *result, const gl_http_response_t *response)
{
    char value [32];
    return result->error == GL_PROVIDER_AUTH && response->status == 403
        && gl_http_header (response->headers, "Retry-After", value, sizeof (value));
}

//  A ban: the job goes back "not now", and the whole credential pauses.
static void
s_handle_ban (self_t *self, job_t *job, const gl_provider_result_t *result, int64_t elapsed_ms)
{
    gl_breaker_record (self->breaker, job->permit, GL_BREAKER_IGNORED, elapsed_ms, s_now ());
    self->refusals++;
    uint64_t retry_after = result->retry_after_ms? result->retry_after_ms: 1000;
    if (s_ban_remaining (self) > retry_after)
        retry_after = s_ban_remaining (self);
    s_job_fail (self, job, "rate_limited", true, retry_after, result->message);
    s_ban (self, result->retry_after_ms, true);     //  after: the job is ended by then
}

//  A parsed answer: record it with the breaker, then go on or fail.
static void
s_handle_result (self_t *self, job_t *job, const gl_provider_result_t *result,
                 const gl_http_response_t *response)
{
    int64_t elapsed_ms = response->elapsed_ms;
    if (s_is_ban (result, response)) {
        s_handle_ban (self, job, result, elapsed_ms);
        return;
    }
    s_learn_limit (self, result);
    gl_provider_error_t error = result->error;
    //  A parse error that is not retryable is a contract error (XML where
    //  JSON was asked, a page of bars none usable): the same every time,
    //  and no sign of the provider's health, so the breaker ignores it.
    bool provider_failed = error == GL_PROVIDER_SERVER_ERROR || error == GL_PROVIDER_TIMEOUT
                        || (error == GL_PROVIDER_PARSE_ERROR && result->retryable);
    bool contract_error = error == GL_PROVIDER_PARSE_ERROR && !result->retryable;
    gl_breaker_record (self->breaker, job->permit,
                       error == GL_PROVIDER_RATE_LIMITED || contract_error? GL_BREAKER_IGNORED:
                       provider_failed? GL_BREAKER_FAILURE: GL_BREAKER_SUCCESS,
                       elapsed_ms, s_now ());
    self->bars += result->bar_count;
    self->dropped += gl_provider_result_dropped (result);
    if (error == GL_PROVIDER_RATE_LIMITED) {
        self->refusals++;
        if (++job->refusals > (uint32_t) self->max_refusals)
            s_job_fail (self, job, "rate_limited", true, result->retry_after_ms, result->message);
        return;                 //  else the same request again, when paced
    }
    if (error == GL_PROVIDER_OK || error == GL_PROVIDER_NO_DATA) {
        job->saw_no_data = job->saw_no_data || error == GL_PROVIDER_NO_DATA;
        if (s_job_add_bars (self, job, result) != 0) {
            s_job_fail (self, job, "server_error", true, 1000,
                        "the writer is unreachable or out of memory for a part");
            return;
        }
        s_job_advance (self, job, result);
        return;
    }
    if (result->split_range && s_job_split (job))
        return;
    if (contract_error) {
        char run [24];
        snprintf (run, sizeof (run), "%" PRIu64, job->fetch->fetch.run_id);
        const char *pairs [] = { "run_id", run, "symbol", job->fetch->fetch.symbol,
                                 "message", result->message, NULL };
        s_event (self, "contract_error", pairs);
    }
    self->failures += provider_failed;
    s_job_fail (self, job, gl_provider_error_name (error), result->retryable,
                result->retry_after_ms, result->message);
    if (error == GL_PROVIDER_AUTH)
        s_auth_hold (self, result->message);
}

//  The query for the job's current page.
static gl_provider_query_t
s_query (self_t *self, job_t *job)
{
    return (gl_provider_query_t) {
        .provider = self->provider, .base_url = self->base_url,
        .key = self->key, .secret = self->secret [0]? self->secret: NULL,
        .symbol = job->fetch->fetch.symbol,
        .timeframe = gl_timeframe_parse (job->fetch->fetch.timeframe),
        .from = job->windows [0].from, .to = job->windows [0].to,
        .continuation = job->continuation, .calendar = self->calendar,
        .now = zclock_time () / 1000, .page_limit = (uint32_t) self->page_limit,
    };
}

//  HTTP completion: parse, classify, and pump the next requests.
static void
s_on_response (gl_http_t *http, const gl_http_response_t *response, void *argument)
{
    job_t *job = (job_t *) argument;
    self_t *self = (self_t *) job->owner;
    job->in_flight = false;
    self->in_flight--;
    s_count_latency (self, job, response);
    if (job->abandoned) {
        gl_breaker_record (self->breaker, job->permit, GL_BREAKER_IGNORED, response->elapsed_ms,
                           s_now ());
        s_job_end (self, job);
    }
    else
    if (response->resend_refused)
        s_handle_resend_refused (self, job, response);
    else
    if (response->curl_code != 0)
        s_handle_transport_error (self, job, response);
    else {
        gl_provider_query_t query = s_query (self, job);
        gl_provider_result_t *result = gl_provider_parse (&query, response->status,
                                                          response->headers, response->body,
                                                          response->size);
        if (result)
            s_handle_result (self, job, result, response);
        else
            s_job_fail (self, job, "parse_error", true, 0, "out of memory parsing the answer");
        gl_provider_result_destroy (&result);
    }
    s_pump (self);
}

//  Fails every job that waits for a request while the breaker is open.
static void
s_fail_waiting (self_t *self, int64_t retry_at)
{
    job_t *job = self->jobs;
    while (job) {
        job_t *next = job->next;
        if (!job->in_flight)
            s_job_fail (self, job, "breaker_open", true, (uint64_t) (retry_at - s_now ()),
                        "the provider's circuit breaker is open");
        job = next;
    }
}

//  Starts the job's next request. Returns 0, or -1 if it failed at once.
static int
s_job_request (self_t *self, job_t *job, uint64_t permit)
{
    char error [256];
    gl_provider_query_t query = s_query (self, job);
    gl_provider_request_t *request = gl_provider_request_new (&query, error);
    if (!request) {
        gl_breaker_record (self->breaker, permit, GL_BREAKER_IGNORED, 0, s_now ());
        s_job_fail (self, job, "not_found", false, 0, error);
        return -1;
    }
    job->permit = permit;
    gl_log_debug ("request", "run_id=%" PRIu64 " url=\"%s\"", job->fetch->fetch.run_id,
                  request->redacted_url);
    if (gl_http_get (self->http, request->url, (const char *const *) request->headers,
                     s_on_response, job) == 0) {
        gl_breaker_record (self->breaker, permit, GL_BREAKER_IGNORED, 0, s_now ());
        gl_provider_request_destroy (&request);
        s_job_fail (self, job, "server_error", true, 1000, "cannot start the request");
        return -1;
    }
    gl_provider_request_destroy (&request);
    job->in_flight = true;
    self->in_flight++;
    self->requests++;
    return 0;
}

//  zloop: a pacing wake-up.
static int
s_on_pump_timer (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    self->pump_at = 0;
    s_pump (self);
    return 0;
}

//  Arms a pacing wake-up at `at` unless an earlier one is armed.
static void
s_pump_later (self_t *self, int64_t at)
{
    if (at == INT64_MAX || (self->pump_at && self->pump_at <= at))
        return;
    int64_t now = s_now ();
    self->pump_at = at;
    zloop_timer (gl_actor_loop (self->actor), (size_t) (at > now? at - now: 0), 1,
                 s_on_pump_timer, self);
}

//  How many jobs this instance should hold or have coming: those with a
//  request in flight, plus what pacing lets it start now (the free room
//  of its tightest rule), at most the configured credit; none without a
//  share. The rest of the queue waits at the broker for whichever
//  instance has room (SPEC 5.7).
static uint32_t
s_credit_target (self_t *self)
{
    if (s_no_share (self))
        return 0;
    uint64_t target = (uint64_t) self->in_flight + gl_ratelimit_room (self->ratelimit, s_now ());
    return target < self->credit_max? (uint32_t) target: self->credit_max;
}

//  Gives back withheld credit up to the target: as requests leave and
//  the windows free room, the broker may hand this instance more. While
//  credit is kept back with no room at all, a wake-up is armed for when
//  pacing frees some (room only shrinks by sends, which pump again).
static void
s_credit_update (self_t *self)
{
    uint32_t target = s_credit_target (self);
    int64_t now = s_now ();
    if (self->withheld > 0 && !s_no_share (self) && gl_ratelimit_room (self->ratelimit, now) == 0)
        s_pump_later (self, gl_ratelimit_next (self->ratelimit, now));
    uint32_t outstanding = self->credit_max - self->withheld;
    if (outstanding >= target || self->withheld == 0)
        return;
    uint32_t give = target - outstanding < self->withheld? target - outstanding: self->withheld;
    if (gl_actor_credit (self->actor, give) == 0)
        self->withheld -= give;
}

//  Starts as many requests as pacing, the breaker and concurrency allow,
//  then sizes the credit by what is left to start.
static void
s_pump (self_t *self)
{
    s_pump_requests (self);
    s_credit_update (self);
}

//  Starts as many requests as pacing, the breaker and concurrency allow.
static void
s_pump_requests (self_t *self)
{
    if (s_ban_remaining (self) > 0) {
        s_fail_banned (self);
        return;
    }
    //  After a stall the broker may have given this share away before the
    //  heartbeat timer notices the silence: no request until it is heard.
    if (!gl_actor_broker_live (self->actor))
        return;
    while (self->in_flight < (size_t) self->concurrency) {
        int64_t now = s_now ();
        job_t *job = self->jobs;
        int64_t earliest = INT64_MAX;
        while (job && (job->in_flight || job->not_before > now)) {
            if (!job->in_flight && job->not_before < earliest)
                earliest = job->not_before;
            job = job->next;
        }
        if (!job) {
            s_pump_later (self, earliest);
            return;
        }
        int64_t next = gl_ratelimit_next (self->ratelimit, now);
        if (next > now) {
            s_pump_later (self, next);
            return;
        }
        int64_t retry_at = 0;
        uint64_t permit = gl_breaker_acquire (self->breaker, now, &retry_at);
        if (!permit) {
            if (gl_breaker_state (self->breaker, now) == GL_BREAKER_OPEN)
                s_fail_waiting (self, retry_at);
            else
                s_pump_later (self, retry_at);
            return;
        }
        gl_ratelimit_record (self->ratelimit, now);
        s_job_request (self, job, permit);
    }
}

//  Splits the job's range into windows of at most the provider's span.
//  Returns 0, or -1 with the reason in message (MESSAGE_MAX bytes) if the
//  range is empty, outside the times a provider serves, needs more than
//  max_windows requests, or the windows cannot be allocated.
static int
s_job_plan (self_t *self, job_t *job, gl_timeframe_t timeframe, char *message)
{
    int64_t from = job->fetch->fetch.from, to = job->fetch->fetch.to;
    if (from < GL_PROVIDER_TIME_MIN || to > GL_PROVIDER_TIME_MAX || from >= to) {
        snprintf (message, MESSAGE_MAX, "expected %d <= from < to <= %lld (1970 to 2100), got "
                  "from=%" PRId64 " to=%" PRId64, GL_PROVIDER_TIME_MIN,
                  (long long) GL_PROVIDER_TIME_MAX, from, to);
        return -1;
    }
    uint64_t length = s_range_length (from, to);
    int64_t span = gl_capability_max_span (self->provider, timeframe);
    uint64_t count = span > 0? length / (uint64_t) span + (length % (uint64_t) span != 0): 1;
    if (count > (uint64_t) self->max_windows) {
        snprintf (message, MESSAGE_MAX, "the range needs %" PRIu64 " requests of at most %"
                  PRId64 " s, more than max_windows=%" PRId64, count, span, self->max_windows);
        return -1;
    }
    job->windows = (window_t *) calloc ((size_t) count, sizeof (window_t));
    if (!job->windows) {
        snprintf (message, MESSAGE_MAX, "out of memory for %" PRIu64 " windows", count);
        return -1;
    }
    for (size_t index = 0; index < count; index++) {
        job->windows [index].from = span > 0? from + (int64_t) index * span: from;
        job->windows [index].to = index + 1 == count? to: job->windows [index].from + span;
    }
    job->window_count = (size_t) count;
    return 0;
}

//  The longest window of the rate limit, in ms: when to ask again.
static uint64_t
s_longest_window (self_t *self)
{
    int64_t longest = 0;
    for (size_t rule = 0; rule < gl_ratelimit_rules (self->ratelimit); rule++)
        if (gl_ratelimit_window_ms (self->ratelimit, rule) > longest)
            longest = gl_ratelimit_window_ms (self->ratelimit, rule);
    return (uint64_t) longest;
}

//  Fails a job this instance cannot work for want of a share: retryable,
//  rate_limited, not an attempt (the scheduler gives it to another).
static void
s_job_give_back (self_t *self, job_t *job)
{
    s_job_fail (self, job, "rate_limited", true, s_longest_window (self),
                "this fetcher has no share of the rate limit (more fetchers than the limit "
                "allows requests); given back for another fetcher");
}

//  Refuses a FETCH at the door: answered FAILED, counted, never worked.
static void
s_job_refuse (self_t *self, job_t *job, const char *error_class, bool retryable,
              uint64_t retry_after_ms, const char *message)
{
    self->refused++;
    s_job_fail (self, job, error_class, retryable, retry_after_ms, message);
}

//  How many jobs are held.
static size_t
s_job_count (self_t *self)
{
    size_t count = 0;
    for (job_t *job = self->jobs; job; job = job->next)
        count++;
    return count;
}

//  The job already working this run, or NULL.
static job_t *
s_job_find (self_t *self, uint64_t run_id, const job_t *except)
{
    for (job_t *job = self->jobs; job; job = job->next)
        if (job != except && !job->abandoned && job->fetch->fetch.run_id == run_id)
            return job;
    return NULL;
}

//  True if another job works this run under the same lease: a repeat.
static bool
s_job_repeat (self_t *self, const job_t *job)
{
    const job_t *older = s_job_find (self, job->fetch->fetch.run_id, job);
    return older && strcmp (older->fetch->fetch.lease_token, job->fetch->fetch.lease_token) == 0;
}

//  The run sent again under a new lease while an older one is worked
//  here: the scheduler took the run back (the older lease lost with a
//  departure it counted this fetcher in, or rescued) and what the older
//  job stores is fenced. The older job ends, answered FAILED retryable
//  under its own token (stale, so it costs no attempt), and the new one
//  is worked. Refusing the new one as a repeat would tell the scheduler
//  this provider cannot serve the slice.
static void
s_job_supersede (self_t *self, const job_t *job)
{
    job_t *older = s_job_find (self, job->fetch->fetch.run_id, job);
    if (older)
        s_job_fail (self, older, "server_error", true, 0,
                    "the run was sent again under a new lease; this one is given up");
}

//  A new job for the FETCH, at the end of the list; takes the message.
//  Returns NULL (the message left to the caller) if out of memory.
static job_t *
s_job_new (self_t *self, gl_msg_t **fetch_p, const char *sender)
{
    job_t *job = (job_t *) calloc (1, sizeof (job_t));
    if (!job)
        return NULL;
    job->owner = self;
    job->fetch = *fetch_p;
    job->part = s_part_new (self, job);
    if (!job->part) {
        free (job);
        return NULL;
    }
    *fetch_p = NULL;
    snprintf (job->sender, sizeof (job->sender), "%s", sender);
    job_t **tail = &self->jobs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = job;
    return job;
}

//  Counts (and logs) a job the broker dealt past the first credit (the
//  READY deal, given before any share is known) that cannot start at
//  once for want of pacing room: credit sized by pacing keeps this at 0
//  while the share holds, so a count above it is work one instance sits
//  on while a sibling may idle (SPEC 5.7).
static void
s_count_held_back (self_t *self, const job_t *job)
{
    if (++self->received <= self->credit_max)
        return;
    size_t waiting = 0;
    for (const job_t *other = self->jobs; other; other = other->next)
        waiting += !other->in_flight;
    uint32_t room = gl_ratelimit_room (self->ratelimit, s_now ());
    if (waiting > room) {
        self->held_back++;
        gl_log_info ("fetch_held_back", "run_id=%" PRIu64 " waiting=%zu room=%u",
                     job->fetch->fetch.run_id, waiting, room);
    }
}

//  FETCH: refuse at once what cannot be worked (the breaker open, a run
//  already in progress, a timeframe the provider lacks, a bad or too long
//  range), else queue the job.
static int
s_handle_fetch (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    self->fetches++;
    job_t *job = s_job_new (self, message_p, sender);
    if (!job) {
        gl_log_error ("fetch_refused", "reason=\"out of memory\"");
        return -1;              //  the runtime returns its credit
    }
    gl_timeframe_t timeframe = gl_timeframe_parse (job->fetch->fetch.timeframe);
    int64_t now = s_now ();
    char message [MESSAGE_MAX];
    if (gl_breaker_state (self->breaker, now) == GL_BREAKER_OPEN) {
        int64_t retry_at = 0;
        gl_breaker_acquire (self->breaker, now, &retry_at);
        s_job_refuse (self, job, "breaker_open", true, (uint64_t) (retry_at - now),
                      "the provider's circuit breaker is open");
    }
    else
    if (s_ban_remaining (self) > 0)
        s_job_refuse (self, job, "rate_limited", true, s_ban_remaining (self),
                      "the provider banned this credential for a while (403 with "
                      "Retry-After); no request until the ban is over");
    else
    if (now < self->auth_until)
        s_job_refuse (self, job, "auth", false, 0, self->auth_message);
    else
    if (s_no_share (self)) {
        self->refused++;
        s_job_give_back (self, job);
    }
    else
    if (s_job_repeat (self, job))
        s_job_refuse (self, job, "not_found", false, 0,
                      "this run is already being fetched here; the repeat is refused");
    else
    if (!gl_capability_supports (self->provider, timeframe))
        s_job_refuse (self, job, "not_found", false, 0,
                      "the provider has no bars of this timeframe");
    else
    if (s_job_plan (self, job, timeframe, message) != 0)
        s_job_refuse (self, job, "not_found", false, 0, message);
    else {
        s_job_supersede (self, job);
        s_count_held_back (self, job);
        s_pump (self);
    }
    return 0;
}

//  True if this attempt of the run (run id and lease) was lately
//  answered FAILED.
static bool
s_answered (self_t *self, uint64_t run_id, const char *lease_token)
{
    size_t count = self->answered_next < ANSWERED_MAX? self->answered_next: ANSWERED_MAX;
    for (size_t index = 0; index < count; index++)
        if (self->answered [index].run_id == run_id
        &&  strcmp (self->answered [index].lease_token, lease_token) == 0)
            return true;
    return false;
}

//  A BARS part came back: nobody stored it, so the run is not done. The
//  job (if still worked) or the run is answered FAILED retryable, once;
//  the slice is fetched again and the lease fences what was stored.
static void
s_bounced_bars (self_t *self, const gl_msg_t *bars, const char *code, const char *text)
{
    self->bounced_bars++;
    char message [MESSAGE_MAX];
    snprintf (message, sizeof (message), "part %u of the bars was returned by the broker (%s: "
              "%s): the writer did not take it", bars->bars.part, code, text);
    job_t *job = s_job_find (self, bars->bars.run_id, NULL);
    if (job && strcmp (job->fetch->fetch.lease_token, bars->bars.lease_token) == 0)
        s_job_fail (self, job, "server_error", true, 1000, message);
    else
    if (!s_answered (self, bars->bars.run_id, bars->bars.lease_token))
        s_send_failed (self, bars->bars.run_id, bars->bars.lease_token, bars->bars.symbol,
                       bars->bars.timeframe, "server_error", true, 1000, message);
}

//  BOUNCE: a returned BARS fails its run; a returned FAILED or EVENT has
//  nobody else to tell, so it is logged and counted.
static void
s_handle_bounce (gl_actor_t *actor, const char *destination, gl_msg_t *message,
                 const char *code, const char *text, void *argument)
{
    self_t *self = (self_t *) argument;
    const char *type = message? gl_msg_type_name (message->type): "undecodable";
    gl_log_warn ("message_bounced", "destination=%s type=%s code=%s text=\"%s\"",
                 destination, type, code, text);
    if (message && message->type == GL_MSG_BARS)
        s_bounced_bars (self, message, code, text);
    else
        self->bounced_other++;
}

//  The value of an EVENT's field, or NULL.
static const char *
s_event_field (const gl_msg_t *event, const char *key)
{
    for (size_t index = 0; index < event->event.field_count; index++)
        if (strcmp (event->event.fields [index].key, key) == 0)
            return event->event.fields [index].value;
    return NULL;
}

//  EVENT: a sibling instance saw the provider ban the credential
//  (provider_banned, until_ms in epoch ms): this one pauses as well.
//  Other events are not for a fetcher. Either way the credit goes back.
static int
s_handle_event (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *event = *message_p;
    const char *provider = s_event_field (event, "provider");
    const char *until = s_event_field (event, "until_ms");
    if (strcmp (event->event.name, "provider_banned") == 0 && provider && until
    &&  strcmp (provider, self->provider_name) == 0) {
        int64_t remaining = strtoll (until, NULL, 10) - zclock_time ();
        gl_log_warn ("ban_heard", "from=%s remaining_ms=%" PRId64, sender, remaining);
        if (remaining > 0)
            s_ban (self, (uint64_t) remaining, false);
    }
    else
        gl_log_debug ("event_ignored", "from=%s name=%s", sender, event->event.name);
    gl_msg_destroy (message_p);
    gl_actor_credit (self->actor, 1);
    return 0;
}

//  Gives back every job without a request in flight.
static void
s_give_back_waiting (self_t *self)
{
    job_t *job = self->jobs;
    while (job) {
        job_t *next = job->next;
        if (!job->in_flight)
            s_job_give_back (self, job);
        job = next;
    }
}

//  qsort: writer instance names in byte order.
static int
s_compare_names (const void *left, const void *right)
{
    return strcmp ((const char *) left, (const char *) right);
}

//  True if the instance is among the known writers.
static bool
s_writer_known (self_t *self, const char *instance)
{
    for (size_t index = 0; index < self->writer_count; index++)
        if (strcmp (self->writers [index], instance) == 0)
            return true;
    return false;
}

//  MEMBERSHIP of writer: the instances parts may be routed to. A run whose
//  writer left has lost the parts it was sent (they died with it; the
//  lease fences whatever it stored): it is answered FAILED retryable.
static void
s_writers_update (self_t *self, const gl_msg_t *membership)
{
    size_t count = 0;
    for (size_t member = 0; member < membership->membership.member_count
                            && count < WRITERS_MAX; member++)
        snprintf (self->writers [count++], GL_MSG_NAME_MAX + 1, "%s",
                  membership->membership.members [member]);
    qsort (self->writers, count, sizeof (self->writers [0]), s_compare_names);
    self->writer_count = count;
    gl_log_info ("writers_changed", "event=%s instance=%s writers=%zu",
                 membership->membership.event, membership->membership.instance, count);
    job_t *job = self->jobs;
    while (job) {
        job_t *next = job->next;
        const char *slash = strchr (job->writer, '/');
        if (slash && !s_writer_known (self, slash + 1)) {
            char message [MESSAGE_MAX];
            snprintf (message, sizeof (message), "%s left after %u parts of this run: they died "
                      "with it", job->writer, job->parts_sent);
            s_job_fail (self, job, "server_error", true, 1000, message);
        }
        job = next;
    }
}

//  MEMBERSHIP: of writer, where parts go; of our own service, our share
//  of the rate limit.
static void
s_handle_membership (gl_actor_t *actor, const gl_msg_t *membership, void *argument)
{
    self_t *self = (self_t *) argument;
    if (strcmp (membership->membership.service, "writer") == 0) {
        s_writers_update (self, membership);
        return;
    }
    if (strcmp (membership->membership.service, self->service) != 0)
        return;
    const char *me = strchr (gl_actor_address (actor), '/') + 1;
    size_t count = membership->membership.member_count;
    uint32_t index = 0;
    bool found = false;
    self->sibling_count = 0;
    for (size_t member = 0; member < count; member++) {
        const char *name = membership->membership.members [member];
        if (strcmp (name, me) == 0)
            found = true;
        else
        if (self->sibling_count < SIBLINGS_MAX)
            snprintf (self->siblings [self->sibling_count++], GL_MSG_NAME_MAX + 1, "%s", name);
        if (strcmp (name, me) < 0)
            index++;
    }
    gl_ratelimit_share (self->ratelimit, index, found? (uint32_t) count: 0, s_now ());
    char members [24], limit [16];
    snprintf (members, sizeof (members), "%zu", count);
    snprintf (limit, sizeof (limit), "%u", found? gl_ratelimit_limit (self->ratelimit, 0, INT64_MAX / 2): 0);
    gl_log_info ("share_changed", "members=%s index=%u share=%s", members, index, limit);
    self->membership_known = true;
    if (s_no_share (self))
        s_give_back_waiting (self);
    s_pump (self);
}

//  Marks every job that has sent parts: they went through a connection
//  now closed, to a broker that may forget them, so the run cannot be
//  trusted complete.
static void
s_mark_at_risk (self_t *self)
{
    for (job_t *job = self->jobs; job; job = job->next)
        job->parts_at_risk = job->parts_sent > 0;
}

//  Fails, retryable, every job whose parts went out before the broker was
//  lost; the slice is fetched again, the lease fences what was stored.
static void
s_fail_at_risk (self_t *self)
{
    job_t *job = self->jobs;
    while (job) {
        job_t *next = job->next;
        if (job->parts_at_risk) {
            char message [MESSAGE_MAX];
            snprintf (message, sizeof (message), "%u parts of this run went out before the "
                      "broker was lost and may be lost with it", job->parts_sent);
            s_job_fail (self, job, "server_error", true, 1000, message);
        }
        job = next;
    }
}

//  A grown share waits, besides a window and the guard, for the
//  instances that left or lost the broker to notice it: the broker
//  declares one dead after 3 to 4 silent intervals, and the instance
//  itself stops within 3 (SPEC 5.7).
static void
s_settle_update (self_t *self)
{
    gl_ratelimit_settle (self->ratelimit,
                         SETTLE_HEARTBEATS * (int64_t) gl_actor_heartbeat_ms (self->actor));
}

//  Registration changes. Lost: the broker will declare this instance dead
//  and give its share of the rate limit away, so the share is 0 at once,
//  and no request starts until a new MEMBERSHIP. Registered again: this
//  instance is a new member, whose old share is 0 for one window
//  (protocol/SPEC.md 5.7), which dropping to 0 here already arranges.
static void
s_on_connection (gl_actor_t *actor, bool registered, void *argument)
{
    self_t *self = (self_t *) argument;
    if (registered) {
        s_settle_update (self);
        gl_log_info ("broker_registered", "share=0 until_membership=1 failed_held=%zu",
                     self->held_count);
        s_send_held (self);
        s_fail_at_risk (self);
        return;
    }
    s_mark_at_risk (self);
    gl_ratelimit_share (self->ratelimit, 0, 0, s_now ());
    self->membership_known = false;
    self->writer_count = 0;     //  the broker announces them again at registration
    gl_log_warn ("share_dropped", "reason=broker_lost share=0 jobs_held=%zu in_flight=%zu",
                 s_job_count (self), self->in_flight);
}

//  zloop: timed breaker transitions, and any pacing they release.
static int
s_on_breaker_timer (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    gl_breaker_tick (self->breaker, s_now ());
    s_pump (self);
    return 0;
}

//  zloop: the health summary for ops.
static int
s_on_health_timer (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    char values [12][24];
    snprintf (values [0], 24, "%" PRIu64, self->requests);
    snprintf (values [1], 24, "%" PRIu64, self->failures);
    snprintf (values [2], 24, "%" PRIu64, self->refusals);
    snprintf (values [3], 24, "%" PRIu64, self->bars);
    snprintf (values [4], 24, "%" PRIu64, self->dropped);
    snprintf (values [5], 24, "%d", gl_breaker_failure_rate (self->breaker));
    snprintf (values [6], 24, "%zu", self->in_flight);
    snprintf (values [8], 24, "%" PRIu64, self->refused);
    snprintf (values [9], 24, "%" PRIu64, self->bounced_bars);
    snprintf (values [10], 24, "%" PRIu64, self->bounced_other);
    snprintf (values [11], 24, "%" PRIu64, self->held_back);
    if (self->bars_expected)
        snprintf (values [7], 24, "%.4f", (double) self->bars_delivered / (double) self->bars_expected);
    else
        snprintf (values [7], 24, "none");
    char histogram [160] = "", errors [2][256] = { "", "" }, sums [2][24];
    for (size_t endpoint = 0; endpoint < 2; endpoint++)
        for (size_t index = 0; index < ERROR_CLASSES; index++) {
            size_t used = strlen (errors [endpoint]);
            snprintf (errors [endpoint] + used, sizeof (errors [endpoint]) - used, "%s%s:%" PRIu64,
                      index? ",": "", s_error_classes [index], self->errors [endpoint][index]);
        }
    snprintf (sums [0], 24, "%" PRIu64, self->latency_sum_ms);
    snprintf (sums [1], 24, "%" PRIu64, self->fetches);
    for (size_t bucket = 0; bucket <= LATENCY_BUCKETS; bucket++) {
        size_t used = strlen (histogram);
        snprintf (histogram + used, sizeof (histogram) - used, "%s%" PRIu64,
                  bucket? ",": "", self->latency [bucket]);
    }
    const char *pairs [] = {
        "breaker", gl_breaker_state_name (gl_breaker_state (self->breaker, s_now ())),
        "requests", values [0], "failures", values [1], "rate_limited", values [2],
        "bars", values [3], "bars_dropped", values [4], "failure_rate", values [5],
        "in_flight", values [6], "refused", values [8],
        "bounced_bars", values [9], "bounced_other", values [10], "held_back", values [11],
        "completeness", values [7], "latency_le_ms", "50,100,250,500,1000,5000,inf",
        "latency_counts", histogram, "latency_sum_ms", sums [0], "fetches", sums [1],
        "errors", errors [0], "errors_daily", errors [1], NULL
    };
    s_event (self, "fetcher_health", pairs);
    return 0;
}

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "Usage: gapless-fetcher --provider NAME [OPTIONS]\n"
        "Fetches bars from one provider for FETCH messages (service fetcher.NAME).\n\n"
        "  -p, --provider NAME    polygon, yahoo, tradier, finnhub or alpaca\n"
        "  -c, --config FILE      ZPL configuration (keys under fetcher/NAME/)\n"
        "  -e, --broker ENDPOINT  broker endpoint (default tcp://127.0.0.1:5570)\n"
        "  -i, --instance ID      instance id (default host:pid)\n"
        "  -u, --base-url URL     the provider's base URL (fetcher/NAME/base_url)\n"
        "  -h, --help             this help\n\n"
        "Keys under fetcher/NAME/: base_url, key and secret (secrets: environment\n"
        "GAPLESS_FETCHER_NAME_KEY or a key_file readable by its owner only),\n"
        "limits (\"5/1s,200/60s\"), guard_ms, concurrency, credit, page_limit,\n"
        "max_windows (requests one FETCH may expand to, default 4096),\n"
        "part_bars, max_refusals, connect_timeout_ms, timeout_ms, max_body,\n"
        "auth_hold_ms (FETCH answered auth at once after the key was refused),\n"
        "health_ms, breaker/{window,minimum_calls,failure_rate,slow_rate,\n"
        "slow_call_ms,open_ms,half_open_calls,probe_timeout_ms,half_open_max_ms};\n"
        "ops/slow_ms (2000): calls slower than this go to ops as EVENT slow_request.\n"
        "SIGHUP re-reads --config: limits and breaker/* apply at once, the rest\n"
        "at the next start.\n");
}

//  Reads an integer key under fetcher/<provider>/ of config. Returns 0 or -1.
static int
s_setting_in (self_t *self, gl_config_t *config, const char *name, int64_t fallback,
              int64_t minimum, int64_t maximum, int64_t *value, char *error)
{
    char path [128];
    snprintf (path, sizeof (path), "fetcher/%s/%s", self->provider_name, name);
    return gl_config_int (config, path, fallback, minimum, maximum, value, error);
}

//  Reads an integer key under fetcher/<provider>/ of the running file.
static int
s_setting (self_t *self, const char *name, int64_t fallback, int64_t minimum, int64_t maximum,
           int64_t *value, char *error)
{
    return s_setting_in (self, self->config, name, fallback, minimum, maximum, value, error);
}

//  Reads fetcher/<provider>/breaker/... of config. Returns 0 or -1.
static int
s_breaker_options (self_t *self, gl_config_t *config, gl_breaker_options_t *options, char *error)
{
    int64_t window, minimum, failure_rate, slow_rate, slow_ms, open_ms, probes, probe_ms, max_ms;
    if (s_setting_in (self, config, "breaker/window", 20, 1, 100000, &window, error)
    ||  s_setting_in (self, config, "breaker/minimum_calls", 10, 1, 100000, &minimum, error)
    ||  s_setting_in (self, config, "breaker/failure_rate", 50, 1, 100, &failure_rate, error)
    ||  s_setting_in (self, config, "breaker/slow_rate", 100, 1, 100, &slow_rate, error)
    ||  s_setting_in (self, config, "breaker/slow_call_ms", 10000, 1, 3600000, &slow_ms, error)
    ||  s_setting_in (self, config, "breaker/open_ms", 30000, 1, 3600000, &open_ms, error)
    ||  s_setting_in (self, config, "breaker/half_open_calls", 3, 1, 64, &probes, error)
    ||  s_setting_in (self, config, "breaker/probe_timeout_ms", 30000, 1, 3600000, &probe_ms,
                      error)
    ||  s_setting_in (self, config, "breaker/half_open_max_ms", 60000, 1, 3600000, &max_ms,
                      error))
        return -1;
    *options = (gl_breaker_options_t) {
        .window_size = (uint32_t) window, .minimum_calls = (uint32_t) minimum,
        .failure_rate = (uint32_t) failure_rate, .slow_rate = (uint32_t) slow_rate,
        .slow_call_ms = slow_ms, .open_ms = open_ms, .half_open_calls = (uint32_t) probes,
        .probe_timeout_ms = probe_ms, .half_open_max_ms = max_ms
    };
    if (minimum > window) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: fetcher/%s/breaker: expected "
                  "minimum_calls <= window", self->provider_name);
        return -1;
    }
    return 0;
}

//  Builds the breaker from fetcher/<provider>/breaker/... Returns 0 or -1.
static int
s_breaker_setup (self_t *self, char *error)
{
    if (s_breaker_options (self, self->config, &self->breaker_options, error) == -1)
        return -1;
    self->breaker = gl_breaker_new (&self->breaker_options);
    if (!self->breaker) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "fetcher: cannot create the breaker");
        return -1;
    }
    gl_breaker_on_change (self->breaker, s_on_breaker_change, self);
    return 0;
}

//  Reads the provider's settings and secrets. Returns 0 or -1.
static int
s_setup (self_t *self, char *error)
{
    char path [128];
    snprintf (path, sizeof (path), "fetcher/%s/base_url", self->provider_name);
    self->base_url = gl_config_get (self->config, path, NULL);
    if (!self->base_url || !*self->base_url) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s: expected the provider's base URL",
                  path);
        return -1;
    }
    snprintf (path, sizeof (path), "fetcher/%s/key", self->provider_name);
    if (gl_config_secret (self->config, path, self->key, sizeof (self->key), error) != 0)
        return -1;
    snprintf (path, sizeof (path), "fetcher/%s/secret", self->provider_name);
    if (gl_config_secret (self->config, path, self->secret, sizeof (self->secret), error) != 0)
        return -1;
    int64_t guard_ms, connect_ms, timeout_ms, max_body;
    if (s_setting (self, "concurrency", 4, 1, 1000, &self->concurrency, error)
    ||  s_setting (self, "part_bars", 10000, 1, GL_MSG_MAX_BARS, &self->part_bars, error)
    ||  s_setting (self, "max_refusals", 5, 0, 1000, &self->max_refusals, error)
    ||  s_setting (self, "page_limit", 0, 0, 50000, &self->page_limit, error)
    ||  s_setting (self, "max_windows", 4096, 1, 1000000, &self->max_windows, error)
    ||  s_setting (self, "guard_ms", 50, 0, 60000, &guard_ms, error)
    ||  s_setting (self, "auth_hold_ms", 60000, 0, 86400000, &self->auth_hold_ms, error)
    ||  s_setting (self, "connect_timeout_ms", 5000, 1, 600000, &connect_ms, error)
    ||  s_setting (self, "timeout_ms", 30000, 1, 3600000, &timeout_ms, error)
    ||  s_setting (self, "max_body", 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024, &max_body, error)
    ||  s_breaker_setup (self, error)
    ||  gl_capability_configure (self->config, error))
        return -1;
    snprintf (path, sizeof (path), "fetcher/%s/limits", self->provider_name);
    char limit_error [GL_RATELIMIT_ERROR_MAX];
    self->limits = strdup (gl_config_get (self->config, path, "5/1s"));
    self->ratelimit = self->limits? gl_ratelimit_new (self->limits, guard_ms, limit_error): NULL;
    if (!self->ratelimit) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s: %s", path, limit_error);
        return -1;
    }
    //  Not a member until the broker says so: no share yet.
    gl_ratelimit_share (self->ratelimit, 0, 0, s_now ());
    s_settle_update (self);
    gl_http_options_t options = {
        .connect_timeout_ms = connect_ms, .timeout_ms = timeout_ms,
        .max_body = (size_t) max_body, .max_host_connections = self->concurrency
    };
    self->http = gl_http_new (gl_actor_loop (self->actor), &options);
    self->calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    if (!self->http || !self->calendar) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "fetcher: cannot start HTTP or the calendar");
        return -1;
    }
    gl_capability_policy_apply (self->calendar);
    return 0;
}

//  Frees everything the actor holds.
static void
s_teardown (self_t *self)
{
    while (self->jobs)
        s_job_end (self, self->jobs);
    for (size_t index = 0; index < self->held_count; index++)
        gl_msg_destroy (&self->held [index]);
    gl_http_destroy (&self->http);
    gl_actor_destroy (&self->actor);
    gl_ratelimit_destroy (&self->ratelimit);
    free (self->limits);
    gl_breaker_destroy (&self->breaker);
    gl_calendar_destroy (&self->calendar);
    gl_config_destroy (&self->config);
}

//  SIGHUP: the file again, checked whole (gl_settings_reload), and its
//  live keys put in force together or not at all: the rate-limit rules
//  (gl_ratelimit_configure keeps the send log, so no window is ever
//  overrun by the change), the breaker's thresholds (its state stays) and
//  the log level. Other keys wait for a restart, and each SIGHUP says so.
static void
s_on_reload (gl_actor_t *actor, void *argument)
{
    self_t *self = (self_t *) argument;
    gl_config_t *fresh = gl_settings_reload (self->config);
    if (!fresh)
        return;
    char path [128], error [GL_CONFIG_ERROR_MAX] = "out of memory";
    char limit_error [GL_RATELIMIT_ERROR_MAX] = "";
    snprintf (path, sizeof (path), "fetcher/%s/limits", self->provider_name);
    char *limits = strdup (gl_config_get (fresh, path, "5/1s"));
    gl_breaker_options_t options;
    int rc = limits && s_breaker_options (self, fresh, &options, error) == 0? 0: -1;
    bool limits_changed = rc == 0 && strcmp (limits, self->limits) != 0;
    bool breaker_changed = rc == 0 && memcmp (&options, &self->breaker_options, sizeof options);
    //  The breaker first: it can refuse without changing anything, and
    //  is put back if the limits then fail.
    if (rc == 0 && breaker_changed && gl_breaker_configure (self->breaker, &options) == -1)
        rc = -1;
    if (rc == 0 && limits_changed
    &&  gl_ratelimit_configure (self->ratelimit, limits, s_now (), limit_error) == -1) {
        if (breaker_changed)
            gl_breaker_configure (self->breaker, &self->breaker_options);
        rc = -1;
    }
    if (rc == 0) {
        if (breaker_changed)
            self->breaker_options = options;
        if (limits_changed) {
            free (self->limits);
            self->limits = limits;
            limits = NULL;
        }
        gl_log_info ("config_applied", "provider=%s limits=%s limits_changed=%s "
                     "breaker_changed=%s", self->provider_name, GL_LOG_VALUE (self->limits),
                     limits_changed? "yes": "no", breaker_changed? "yes": "no");
        gl_actor_log_level (fresh, error);
        s_pump (self);
    }
    else
        gl_log_warn ("config_reload_refused", "provider=%s problem=%s", self->provider_name,
                     GL_LOG_VALUE (*limit_error? limit_error: error));
    free (limits);
    gl_config_destroy (&fresh);
}

int
main (int argc, char **argv)
{
    static struct option options [] = {
        { "provider", required_argument, NULL, 'p' },
        { "config", required_argument, NULL, 'c' },
        { "broker", required_argument, NULL, 'e' },
        { "instance", required_argument, NULL, 'i' },
        { "base-url", required_argument, NULL, 'u' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *config_path = NULL, *broker = NULL, *provider = NULL, *base_url = NULL;
    self_t self = { 0 };
    static const char *const follow [] = { "writer", NULL };
    gl_actor_options_t actor_options = { .manual_credit = true, .follow = follow };
    int option;
    while ((option = getopt_long (argc, argv, "p:c:e:i:u:h", options, NULL)) != -1) {
        switch (option) {
            case 'p': provider = optarg; break;
            case 'c': config_path = optarg; break;
            case 'e': broker = optarg; break;
            case 'i': actor_options.instance = optarg; break;
            case 'u': base_url = optarg; break;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    }
    self.provider = gl_capability_parse_name (provider? provider: "");
    if (self.provider == GL_PROVIDER_INVALID) {
        fprintf (stderr, "gapless-fetcher: --provider: expected polygon, yahoo, tradier, "
                 "finnhub or alpaca\n");
        return 2;
    }
    snprintf (self.provider_name, sizeof (self.provider_name), "%s", provider);
    snprintf (self.service, sizeof (self.service), "fetcher.%s", provider);
    gl_log_set_name (self.service);
    char error [GL_CONFIG_ERROR_MAX], path [128];
    self.config = gl_config_load (config_path, error);
    if (!self.config) {
        fprintf (stderr, "gapless-fetcher: %s\n", error);
        return 2;
    }
    if (broker)
        gl_config_set (self.config, "actor/broker", broker);
    snprintf (path, sizeof (path), "fetcher/%s/base_url", provider);
    if (base_url)
        gl_config_set (self.config, path, base_url);
    //  after the flags, as on SIGHUP: a key a flag gives is the flag's
    if (gl_settings_check_start (self.config, "fetcher") != 0) {
        gl_config_destroy (&self.config);
        return 2;
    }
    int64_t credit, heartbeat_ms, health_ms;
    if (s_setting (&self, "credit", 8, 1, 10000, &credit, error)
    ||  s_setting (&self, "health_ms", 5000, 100, 3600000, &health_ms, error)
    ||  gl_config_int (self.config, "ops/slow_ms", 2000, 1, 3600000, &self.slow_ms, error)
    ||  gl_config_int (self.config, "broker/heartbeat_ms", 1000, 10, 600000, &heartbeat_ms, error)
    ||  gl_actor_options_configure (&actor_options, self.config, error)) {
        fprintf (stderr, "gapless-fetcher: %s\n", error);
        gl_config_destroy (&self.config);
        return 2;
    }
    actor_options.service = self.service;
    actor_options.credit = (uint32_t) credit;
    self.credit_max = (uint32_t) credit;
    actor_options.heartbeat_ms = (uint32_t) heartbeat_ms;
    self.actor = gl_actor_new (&actor_options);
    if (!self.actor || s_setup (&self, error) != 0) {
        if (self.actor)
            fprintf (stderr, "gapless-fetcher: %s\n", error);
        s_teardown (&self);
        return 2;
    }
    gl_actor_on (self.actor, GL_MSG_FETCH, s_handle_fetch, &self);
    gl_actor_on (self.actor, GL_MSG_EVENT, s_handle_event, &self);
    gl_actor_on_membership (self.actor, s_handle_membership, &self);
    gl_actor_on_bounce (self.actor, s_handle_bounce, &self);
    gl_actor_on_reload (self.actor, s_on_reload, &self);
    gl_actor_on_connection (self.actor, s_on_connection, &self);
    zloop_timer (gl_actor_loop (self.actor), 100, 0, s_on_breaker_timer, &self);
    zloop_timer (gl_actor_loop (self.actor), (size_t) health_ms, 0, s_on_health_timer, &self);
    gl_log_info ("started", "provider=%s base_url=%s", provider, self.base_url);
    int rc = gl_actor_run (self.actor);
    s_teardown (&self);
    return rc == 0? 0: 1;
}
