/*  gapless-coverage — the coverage tracker: knows, per symbol and
    timeframe, which ranges are stored, and answers GAPS from memory.

    At start it loads gl_coverage from PostgreSQL (gl_coverage_store).
    Each WRITTEN is checked against the calendar: a slice whose rows are
    every expected bar is covered at once; otherwise its bar starts are
    read (one index range scan) and the missing bars become holes, refilled
    by an enqueue to the scheduler pinned to the next allowed provider, or
    classified no trades when every allowed provider answered without them.
    A timer audits covered ranges against ohlc_bars (a deleted bar, a lost
    range) the same way. Changes are written back on a timer; ops hears
    gaps_found, coverage_snapshot and slo events. Design and settings:
    actors/coverage/README.md.
*/
#include "gl_capability.h"
#include "gl_settings.h"
#include "gl_actor.h"
#include "gl_config.h"
#include "gl_coverage.h"
#include "gl_coverage_store.h"
#include "gl_log.h"
#include <math.h>
#include <time.h>

#define S_STATS_MS 10000
#define S_DB_BACKOFF_MAX_S 5
#define S_SAVES_PER_TICK 256
#define S_SNAPSHOTS_PER_TICK 256
#define S_RECONCILE_WINDOWS 4           //  1d windows reconciled per tick, at most
#define S_TICK_WORK_MS 50               //  no audit or reconciliation work starts later in a tick
#define S_RECONCILE_SPAN (31 * 86400)   //  of one window

typedef struct {
    uint64_t written, complete, audited, holes, missing, no_trades, refills, refills_refused,
             gaps_requests, gaps_refused, audit_ranges, audit_mismatches, saved, save_failures,
             db_failures, events, bounced, reconciled_days, reconcile_mismatches,
             written_refused;
} s_stats_t;

typedef struct {
    gl_actor_t *actor;
    gl_db_t *db;
    gl_coverage_t *coverage;
    const char *database, *schema;
    gl_provider_t routes [GL_TF_1W + 1][GL_PROVIDER_COUNT];
    size_t route_counts [GL_TF_1W + 1];
    int64_t max_bars, audit_bars, refill_priority;
    gl_coverage_cursor_t audit;         //  where the audit goes on
    gl_coverage_cursor_t reconcile;     //  where the reconciliation goes on
    double price_tolerance, volume_tolerance;   //  relative
    uint64_t sequence;                  //  of refill request ids
    int64_t db_retry_at, db_backoff;
    s_stats_t stats;
} self_t;

//  Wall-clock seconds.
static int64_t
s_now (void)
{
    return (int64_t) time (NULL);
}

//  Opens the database when it is not open (or was lost), with backoff.
//  Returns true when it can be used.
static bool
s_database (self_t *self)
{
    if (self->db && PQstatus (gl_db_conn (self->db)) == CONNECTION_OK)
        return true;
    if (s_now () < self->db_retry_at)
        return false;
    gl_db_destroy (&self->db);
    self->db = gl_db_new (self->database, self->schema);
    if (self->db) {
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

//  Formats an instant as ISO 8601 UTC.
static void
s_iso (int64_t instant, char *buffer, size_t size)
{
    time_t seconds = (time_t) instant;
    struct tm utc;
    gmtime_r (&seconds, &utc);
    strftime (buffer, size, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

//  Adds a number to an event's or a reply's fields.
static void
s_field_number (gl_msg_t *message, const char *key, int64_t value)
{
    char text [24];
    snprintf (text, sizeof text, "%" PRId64, value);
    gl_msg_add_field (message, key, text);
}

//  Adds an instant (ISO 8601, "" for none) to a message's fields.
static void
s_field_time (gl_msg_t *message, const char *key, int64_t instant)
{
    char text [32] = "";
    if (instant >= 0)
        s_iso (instant, text, sizeof text);
    gl_msg_add_field (message, key, text);
}

//  A new event from this tracker; NULL on out of memory.
static gl_msg_t *
s_event_new (const char *name)
{
    gl_msg_t *event = gl_msg_new (GL_MSG_EVENT);
    if (event) {
        snprintf (event->event.source, sizeof event->event.source, "coverage");
        snprintf (event->event.name, sizeof event->event.name, "%s", name);
        event->event.time_ms = (int64_t) zclock_time ();
    }
    return event;
}

//  Sends an event to ops and destroys it.
static void
s_event_send (self_t *self, gl_msg_t **event_p)
{
    if (*event_p && gl_actor_send (self->actor, "ops", *event_p) == 0)
        self->stats.events++;
    gl_msg_destroy (event_p);
}

//  --------------------------------------------------------------------------
//  Slices: what WRITTEN and the audit bring

//  Asks the scheduler to fetch [from, to) again from one provider. The
//  slices that hold it succeeded already, so the request says refresh.
static void
s_send_refill (self_t *self, const char *symbol, gl_timeframe_t timeframe, int64_t from,
               int64_t to, gl_provider_t provider)
{
    gl_msg_t *enqueue = gl_msg_new (GL_MSG_ENQUEUE);
    if (!enqueue)
        return;
    snprintf (enqueue->enqueue.request_id, sizeof enqueue->enqueue.request_id, "%s:%" PRIu64,
              gl_actor_address (self->actor), ++self->sequence);
    gl_msg_add_symbol (enqueue, symbol);
    snprintf (enqueue->enqueue.timeframe, sizeof enqueue->enqueue.timeframe, "%s",
              gl_timeframe_name (timeframe));
    enqueue->enqueue.from = from;
    enqueue->enqueue.to = to;
    enqueue->enqueue.priority = self->refill_priority;
    snprintf (enqueue->enqueue.provider, sizeof enqueue->enqueue.provider, "%s",
              gl_capability_name (provider));
    enqueue->enqueue.refresh = true;
    if (gl_actor_send (self->actor, "scheduler", enqueue) == 0) {
        self->stats.refills++;
        gl_log_info ("refill_requested", "symbol=%s timeframe=%s from=%" PRId64 " to=%" PRId64
                     " provider=%s request_id=%s", symbol, gl_timeframe_name (timeframe), from,
                     to, gl_capability_name (provider), enqueue->enqueue.request_id);
    }
    gl_msg_destroy (&enqueue);
}

//  Tells ops that a slice lacks bars.
static void
s_send_gaps_found (self_t *self, const char *symbol, gl_timeframe_t timeframe,
                   const gl_coverage_outcome_t *outcome)
{
    gl_msg_t *event = s_event_new ("gaps_found");
    if (event) {
        gl_msg_add_field (event, "timeframe", gl_timeframe_name (timeframe));
        gl_msg_add_field (event, "symbol", symbol);
        s_field_number (event, "count", (int64_t) outcome->holes);
        s_field_number (event, "bars", outcome->missing);
    }
    s_event_send (self, &event);
}

//  Reads what a slice holds and applies it: holes reported and refilled,
//  confirmed ones classified no trades. Returns 0, or -1 when the
//  database failed (nothing changed).
static int
s_check_slice (self_t *self, const char *symbol, gl_timeframe_t timeframe, int64_t from,
               int64_t to, gl_provider_t answered)
{
    int64_t *starts = NULL;
    int64_t count = gl_coverage_store_starts (self->db, symbol, timeframe, from, to, &starts);
    if (count < 0)
        return -1;
    gl_coverage_outcome_t outcome;
    int rc = gl_coverage_apply (self->coverage, symbol, timeframe, from, to, starts,
                                (size_t) count, answered, self->routes [timeframe],
                                self->route_counts [timeframe], &outcome);
    free (starts);
    if (rc) {
        gl_log_warn ("slice_not_applied", "symbol=%s timeframe=%s from=%" PRId64 " to=%" PRId64,
                     symbol, gl_timeframe_name (timeframe), from, to);
        return 0;
    }
    if (outcome.confirmed) {
        self->stats.no_trades += (uint64_t) outcome.confirmed;
        gl_log_info ("no_trades_confirmed", "symbol=%s timeframe=%s from=%" PRId64
                     " to=%" PRId64 " bars=%" PRId64, symbol, gl_timeframe_name (timeframe),
                     from, to, outcome.confirmed);
    }
    if (outcome.holes == 0)
        return 0;
    self->stats.holes += outcome.holes;
    self->stats.missing += (uint64_t) outcome.missing;
    gl_log_info ("gaps_found", "symbol=%s timeframe=%s from=%" PRId64 " to=%" PRId64
                 " holes=%zu bars=%" PRId64 " answered=%s", symbol, gl_timeframe_name (timeframe),
                 from, to, outcome.holes, outcome.missing, gl_capability_name (answered));
    s_send_gaps_found (self, symbol, timeframe, &outcome);
    if (outcome.refill != GL_PROVIDER_INVALID)
        s_send_refill (self, symbol, timeframe, outcome.refill_from, outcome.refill_to,
                       outcome.refill);
    return 0;
}

//  Makes sure a symbol's calendar and listing are known, looking a
//  symbol not seen yet up in the symbols table (one primary-key read):
//  its bars must never be counted on another calendar.
static bool
s_symbol_known (self_t *self, const char *symbol)
{
    if (gl_coverage_has_symbol (self->coverage, symbol))
        return true;
    if (s_database (self))
        gl_coverage_store_symbol (self->db, self->coverage, symbol);
    return gl_coverage_has_symbol (self->coverage, symbol);
}

//  A slice was written: covered at once when its rows are every bar
//  needed, else checked bar by bar. Only a slice job_runs says succeeded
//  with exactly that range counts: anyone can send a WRITTEN, and a forged
//  or mistaken one must neither claim bars nor ask for a refill. Without
//  the database it is taken on trust (the audit checks it later).
static int
s_handle_written (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *written = *message_p;
    gl_timeframe_t timeframe = gl_timeframe_parse (written->written.timeframe);
    const char *symbol = written->written.symbol;
    self->stats.written++;
    gl_provider_t answered = GL_PROVIDER_INVALID;
    if (!s_symbol_known (self, symbol)
    ||  (s_database (self)
      && gl_coverage_store_run (self->db, written->written.run_id, symbol, timeframe,
                                written->written.from, written->written.to, &answered) == 0)) {
        self->stats.written_refused++;
        return -1;              //  the runtime counts and logs it
    }
    int64_t needed = gl_coverage_needed (self->coverage, symbol, timeframe, written->written.from,
                                         written->written.to);
    if (needed < 0)
        return -1;
    if ((int64_t) written->written.rows == needed) {
        self->stats.complete++;
        return gl_coverage_cover (self->coverage, symbol, timeframe, written->written.from,
                                  written->written.to) == 0? 0: -1;
    }
    if (!s_database (self)) {
        gl_log_warn ("slice_not_checked", "run_id=%" PRIu64 " reason=database_unavailable",
                     written->written.run_id);
        return 0;
    }
    self->stats.audited++;
    if (s_check_slice (self, symbol, timeframe, written->written.from, written->written.to,
                       answered))
        gl_log_warn ("slice_not_checked", "run_id=%" PRIu64 " reason=\"%s\"",
                     written->written.run_id, gl_db_error (self->db));
    return 0;
}

//  --------------------------------------------------------------------------
//  GAPS

//  A new reply to a request.
static gl_msg_t *
s_reply_new (const char *request_id)
{
    gl_msg_t *reply = gl_msg_new (GL_MSG_REPLY);
    if (reply)
        snprintf (reply->reply.request_id, sizeof reply->reply.request_id, "%s", request_id);
    return reply;
}

//  Sends a reply to the requester and destroys it.
static void
s_reply_send (self_t *self, const char *to, gl_msg_t **reply_p)
{
    if (*reply_p && gl_actor_send (self->actor, to, *reply_p) != 0)
        gl_log_warn ("reply_not_sent", "to=%s request_id=%s", to, (*reply_p)->reply.request_id);
    gl_msg_destroy (reply_p);
}

//  True for a ticker: 1-32 of [A-Za-z0-9.^=:/_-] (the symbols table's rule).
static bool
s_is_ticker (const char *symbol)
{
    size_t length = strlen (symbol);
    if (length == 0 || length > GL_MSG_SYMBOL_MAX)
        return false;
    return strspn (symbol, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                           ".^=:/_-") == length;
}

//  Adds one gap as a row of the reply, up to the rows a reply holds.
typedef struct {
    gl_msg_t *reply;
    size_t rows;
} s_gap_rows_t;

static int
s_gap_row (const gl_coverage_gap_t *gap, void *argument)
{
    s_gap_rows_t *rows = (s_gap_rows_t *) argument;
    if (rows->rows++ >= GL_MSG_MAX_ROWS)
        return 0;
    char from [32], to [32], bars [24];
    s_iso (gap->from, from, sizeof from);
    s_iso (gap->to, to, sizeof to);
    snprintf (bars, sizeof bars, "%" PRId64, gap->bars);
    gl_msg_add_row (rows->reply);
    gl_msg_add_row_field (rows->reply, "from", from);
    gl_msg_add_row_field (rows->reply, "to", to);
    gl_msg_add_row_field (rows->reply, "bars", bars);
    gl_msg_add_row_field (rows->reply, "kind", gap->errors == 0? "not_fetched"
                                              : gap->errors == gap->bars? "provider_error"
                                                                        : "mixed");
    return 0;
}

//  Why a gaps request cannot be answered, or NULL.
static const char *
s_gaps_refusal (self_t *self, const gl_msg_t *request, char *why, size_t size)
{
    const char *symbol = request->gaps.symbol;
    if (!s_is_ticker (symbol))
        snprintf (why, size, "symbol: expected a ticker of 1-32 [A-Za-z0-9.^=:/_-], got \"%.32s\"",
                  symbol);
    else
    if (request->gaps.from >= request->gaps.to)
        snprintf (why, size, "expected from < to, got from %" PRId64 " to %" PRId64,
                  request->gaps.from, request->gaps.to);
    else
    if (!s_symbol_known (self, symbol))
        snprintf (why, size, "unknown symbol %s: it is not in the symbols table", symbol);
    else {
        int64_t expected = gl_coverage_expected (self->coverage, symbol,
                                                 gl_timeframe_parse (request->gaps.timeframe),
                                                 request->gaps.from, request->gaps.to);
        if (expected <= self->max_bars)
            return NULL;
        snprintf (why, size, "range too large: %" PRId64 " expected bars, at most %" PRId64
                  " (coverage/max_bars)", expected, self->max_bars);
    }
    return why;
}

//  Answers a gaps request from memory.
static int
s_handle_gaps (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *request = *message_p;
    gl_msg_t *reply = s_reply_new (request->gaps.request_id);
    if (!reply)
        return -1;
    self->stats.gaps_requests++;
    char why [256];
    const char *refusal = s_gaps_refusal (self, request, why, sizeof why);
    gl_timeframe_t timeframe = gl_timeframe_parse (request->gaps.timeframe);
    gl_coverage_report_t report;
    s_gap_rows_t rows = { reply, 0 };
    if (!refusal && gl_coverage_account (self->coverage, request->gaps.symbol, timeframe,
                                         request->gaps.from, request->gaps.to, &report,
                                         s_gap_row, &rows))
        refusal = "the range could not be accounted for";
    if (refusal) {
        self->stats.gaps_refused++;
        snprintf (reply->reply.error, sizeof reply->reply.error, "%s", refusal);
        gl_log_info ("gaps_refused", "sender=%s reason=\"%s\"", sender, refusal);
        s_reply_send (self, sender, &reply);
        return 0;
    }
    reply->reply.ok = true;
    gl_msg_add_field (reply, "symbol", request->gaps.symbol);
    gl_msg_add_field (reply, "timeframe", request->gaps.timeframe);
    s_field_time (reply, "from", request->gaps.from);
    s_field_time (reply, "to", request->gaps.to);
    s_field_number (reply, "expected", report.expected);
    s_field_number (reply, "stored", report.stored);
    s_field_number (reply, "no_trades", report.no_trades);
    s_field_number (reply, "not_fetched", report.not_fetched);
    s_field_number (reply, "provider_error", report.provider_error);
    s_field_number (reply, "ranges", (int64_t) report.ranges);
    s_field_number (reply, "gaps", (int64_t) report.gaps);
    s_field_time (reply, "first_covered", report.first_covered);
    s_field_time (reply, "last_covered", report.last_covered);
    s_field_number (reply, "rows_total", (int64_t) rows.rows);
    s_reply_send (self, sender, &reply);
    return 0;
}

//  The scheduler's answer to a refill.
static int
s_handle_reply (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    const gl_msg_t *reply = (*message_p);
    const char *fields_new = gl_msg_field (reply->reply.fields, reply->reply.field_count,
                                           "slices_new");
    const char *fields_stored = gl_msg_field (reply->reply.fields, reply->reply.field_count,
                                              "slices_stored");
    if (!reply->reply.ok) {
        self->stats.refills_refused++;
        gl_log_warn ("refill_refused", "request_id=%s error=\"%s\"", reply->reply.request_id,
                     reply->reply.error);
    }
    else
        gl_log_info ("refill_enqueued", "request_id=%s slices_new=%s slices_stored=%s",
                     reply->reply.request_id, fields_new? fields_new: "",
                     fields_stored? fields_stored: "");
    return 0;
}

//  Counts and logs what the broker returned (a refill with no scheduler,
//  an event with no ops): nothing is lost that the next audit or
//  snapshot does not bring again.
static void
s_handle_bounce (gl_actor_t *actor, const char *destination, gl_msg_t *message,
                 const char *code, const char *text, void *argument)
{
    self_t *self = (self_t *) argument;
    self->stats.bounced++;
    gl_log_warn ("message_bounced", "destination=%s type=%s code=%s text=\"%s\"", destination,
                 message? gl_msg_type_name (message->type): "unknown", code, text);
}

//  --------------------------------------------------------------------------
//  Timers

//  Writes changed symbol-timeframes back, and sends their snapshots.
static int
s_on_flush (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    int64_t index;
    for (int saved = 0; saved < S_SAVES_PER_TICK && s_database (self)
         && (index = gl_coverage_take_changed (self->coverage, GL_COVERAGE_UNSAVED)) >= 0; saved++)
        if (gl_coverage_store_save (self->db, self->coverage, (size_t) index) == 0)
            self->stats.saved++;
        else {
            self->stats.save_failures++;
            gl_coverage_mark_changed (self->coverage, (size_t) index, GL_COVERAGE_UNSAVED);
            break;
        }
    return 0;
}

//  Sends a coverage_snapshot of each changed symbol-timeframe, each at
//  most once per tick.
static int
s_on_snapshot (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    int64_t index;
    for (int sent = 0; sent < S_SNAPSHOTS_PER_TICK
         && (index = gl_coverage_take_changed (self->coverage, GL_COVERAGE_UNREPORTED)) >= 0;
         sent++) {
        const char *symbol;
        gl_timeframe_t timeframe;
        gl_coverage_key (self->coverage, (size_t) index, &symbol, &timeframe);
        const gl_rangeset_t *covered = gl_coverage_covered (self->coverage, (size_t) index);
        size_t size = gl_rangeset_size (covered);
        gl_coverage_report_t report = { .first_covered = -1, .last_covered = -1 };
        if (size)
            gl_coverage_account (self->coverage, symbol, timeframe,
                                 gl_rangeset_at (covered, 0)->from,
                                 gl_rangeset_at (covered, size - 1)->to, &report, NULL, NULL);
        gl_msg_t *event = s_event_new ("coverage_snapshot");
        if (event) {
            gl_msg_add_field (event, "symbol", symbol);
            gl_msg_add_field (event, "timeframe", gl_timeframe_name (timeframe));
            s_field_number (event, "ranges", (int64_t) size);
            s_field_number (event, "gaps", (int64_t) report.gaps);
            s_field_number (event, "stored", report.stored);
            s_field_number (event, "no_trades", report.no_trades);
            s_field_number (event, "not_fetched", report.not_fetched);
            s_field_number (event, "provider_error", report.provider_error);
            s_field_time (event, "first_covered", report.first_covered);
            s_field_time (event, "last_covered", report.last_covered);
        }
        s_event_send (self, &event);
    }
    return 0;
}

//  Audits covered time against ohlc_bars, round robin in windows, as far
//  as the tick's budget of expected bars goes, and starting nothing after
//  S_TICK_WORK_MS, so requests and heartbeats are never kept waiting
//  long: a window whose distinct bar count differs from what it needs is
//  checked bar by bar.
static int
s_on_audit (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    int64_t budget = self->audit_bars, deadline = zclock_mono () + S_TICK_WORK_MS;
    const char *symbol;
    gl_timeframe_t timeframe;
    int64_t from, to;
    while (budget > 0 && zclock_mono () < deadline && s_database (self)) {
        if (!gl_coverage_next_window (self->coverage, &self->audit, 0, &symbol, &timeframe, &from,
                                      &to)) {
            self->audit = (gl_coverage_cursor_t) GL_COVERAGE_CURSOR_START;
            break;              //  a pass ends; the next tick starts the next
        }
        int64_t needed = gl_coverage_needed (self->coverage, symbol, timeframe, from, to);
        int64_t stored = gl_coverage_store_count (self->db, symbol, timeframe, from, to);
        if (stored < 0)
            break;
        self->stats.audit_ranges++;
        budget -= needed > 0? needed: 1;
        if (stored != needed) {
            self->stats.audit_mismatches++;
            if (s_check_slice (self, symbol, timeframe, from, to, GL_PROVIDER_INVALID))
                break;
        }
    }
    return 0;
}

//  How far apart two values are, relative to the larger (0 when both are 0).
static double
s_relative (double one, double other)
{
    double larger = fabs (one) > fabs (other)? fabs (one): fabs (other);
    return larger > 0? fabs (one - other) / larger: 0;
}

//  Compares one daily bar with its day's 1m aggregate, field by field,
//  when the day's 1m bars are all accounted for; reports each field
//  beyond its tolerance. Returns the fields reported.
static int
s_reconcile_day (self_t *self, const char *symbol, const gl_coverage_day_t *day)
{
    static const char *names [5] = { "open", "high", "low", "close", "volume" };
    gl_coverage_report_t report;
    if (gl_coverage_account (self->coverage, symbol, GL_TF_1M, day->day, day->day + 86400,
                             &report, NULL, NULL)
    ||  report.expected == 0 || report.stored + report.no_trades != report.expected)
        return 0;               //  the 1m bars of the day are not all there
    self->stats.reconciled_days++;
    int reported = 0;
    for (int field = 0; field < 5; field++) {
        double tolerance = field == 4? self->volume_tolerance: self->price_tolerance;
        if (s_relative (day->daily [field], day->minutes [field]) <= tolerance)
            continue;
        char date [16], daily [32], minutes [32];
        time_t seconds = (time_t) day->day;
        struct tm utc;
        gmtime_r (&seconds, &utc);
        strftime (date, sizeof date, "%Y-%m-%d", &utc);
        snprintf (daily, sizeof daily, "%.10g", day->daily [field]);
        snprintf (minutes, sizeof minutes, "%.10g", day->minutes [field]);
        gl_log_info ("reconcile_mismatch", "symbol=%s day=%s field=%s daily=%s aggregate=%s",
                     symbol, date, names [field], daily, minutes);
        gl_msg_t *event = s_event_new ("reconcile_mismatch");
        if (event) {
            gl_msg_add_field (event, "symbol", symbol);
            gl_msg_add_field (event, "day", date);
            gl_msg_add_field (event, "field", names [field]);
            gl_msg_add_field (event, "daily", daily);
            gl_msg_add_field (event, "aggregate", minutes);
        }
        s_event_send (self, &event);
        self->stats.reconcile_mismatches++;
        reported++;
    }
    return reported;
}

//  Reconciles a few months of daily bars per tick with the aggregate of
//  their 1m bars, round robin over the covered 1d ranges.
static int
s_on_reconcile (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    const char *symbol;
    gl_timeframe_t timeframe;
    int64_t from, to;
    int64_t deadline = zclock_mono () + S_TICK_WORK_MS;
    for (int windows = 0; windows < S_RECONCILE_WINDOWS && zclock_mono () < deadline
                          && s_database (self);) {
        if (!gl_coverage_next_window (self->coverage, &self->reconcile, S_RECONCILE_SPAN,
                                      &symbol, &timeframe, &from, &to)) {
            self->reconcile = (gl_coverage_cursor_t) GL_COVERAGE_CURSOR_START;
            break;
        }
        if (timeframe != GL_TF_1D)
            continue;
        windows++;
        gl_coverage_day_t *days = NULL;
        int64_t count = gl_coverage_store_days (self->db, symbol, from, to, &days);
        for (int64_t day = 0; day < count; day++)
            s_reconcile_day (self, symbol, &days [day]);
        free (days);
        if (count < 0)
            break;
    }
    return 0;
}

//  Reloads the failing slices and the symbols.
static int
s_on_reload (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    if (s_database (self)) {
        gl_coverage_store_errors (self->db, self->coverage);
        gl_coverage_store_symbols (self->db, self->coverage);
    }
    return 0;
}

//  Sends the freshness SLO of every tier and timeframe with a sample.
static int
s_on_slo (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    static gl_coverage_slo_t slo [GL_COVERAGE_TIERS][GL_TF_1W + 1];
    gl_coverage_slo (self->coverage, s_now (), slo);
    for (int tier = 0; tier < GL_COVERAGE_TIERS; tier++)
        for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++) {
            const gl_coverage_slo_t *cell = &slo [tier][timeframe];
            if (cell->sampled == 0)
                continue;
            gl_msg_t *event = s_event_new ("slo");
            if (event) {
                char name [4], rate [16];
                snprintf (name, sizeof name, "T%d", tier);
                snprintf (rate, sizeof rate, "%.4f", (double) cell->violations
                                                     / (double) cell->sampled);
                gl_msg_add_field (event, "tier", name);
                gl_msg_add_field (event, "timeframe", gl_timeframe_name ((gl_timeframe_t) timeframe));
                s_field_number (event, "sampled", (int64_t) cell->sampled);
                s_field_number (event, "violations", (int64_t) cell->violations);
                gl_msg_add_field (event, "rate", rate);
            }
            s_event_send (self, &event);
        }
    return 0;
}

//  Logs the counters.
static void
s_log_stats (self_t *self)
{
    const s_stats_t *stats = &self->stats;
    gl_log_info ("coverage_stats", "keys=%zu written=%" PRIu64 " complete=%" PRIu64
                 " audited=%" PRIu64 " holes=%" PRIu64 " missing=%" PRIu64 " no_trades=%" PRIu64
                 " refills=%" PRIu64 " refills_refused=%" PRIu64 " gaps_requests=%" PRIu64
                 " gaps_refused=%" PRIu64 " audit_ranges=%" PRIu64 " audit_mismatches=%" PRIu64
                 " saved=%" PRIu64 " save_failures=%" PRIu64 " db_failures=%" PRIu64
                 " events=%" PRIu64 " bounced=%" PRIu64 " reconciled_days=%" PRIu64
                 " reconcile_mismatches=%" PRIu64 " written_refused=%" PRIu64,
                 gl_coverage_count (self->coverage),
                 stats->written, stats->complete, stats->audited, stats->holes, stats->missing,
                 stats->no_trades, stats->refills, stats->refills_refused, stats->gaps_requests,
                 stats->gaps_refused, stats->audit_ranges, stats->audit_mismatches,
                 stats->saved, stats->save_failures, stats->db_failures, stats->events,
                 stats->bounced, stats->reconciled_days, stats->reconcile_mismatches,
                 stats->written_refused);
}

//  The stats line every S_STATS_MS.
static int
s_on_stats (zloop_t *loop, int timer_id, void *argument)
{
    s_log_stats ((self_t *) argument);
    return 0;
}

//  --------------------------------------------------------------------------
//  Start

//  Prints the command-line help.
static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "Usage: gapless-coverage [OPTIONS]\n"
        "Tracks which bars are stored, per symbol and timeframe, and answers GAPS.\n\n"
        "  -c, --config FILE      ZPL configuration (keys under actor/, coverage/, calendar/,\n"
        "                         scheduler/route/)\n"
        "  -e, --broker ENDPOINT  broker endpoint (default tcp://127.0.0.1:5570)\n"
        "  -i, --instance ID      instance id (default host:pid)\n"
        "  -d, --database URL     PostgreSQL connection (default: as gapless finds it)\n"
        "      --schema NAME      schema (default gapless)\n"
        "  -h, --help             this help\n\n"
        "Config: coverage/max_bars (10000000), coverage/audit_ms (1000),\n"
        "coverage/audit_bars (200000), coverage/flush_ms (200), coverage/snapshot_ms (1000),\n"
        "coverage/slo_ms (10000), coverage/reload_ms (5000), coverage/refill_priority (5),\n"
        "coverage/reconcile_ms (60000), coverage/reconcile_price_bp (50),\n"
        "coverage/reconcile_volume_bp (500),\n"
        "coverage/database, coverage/schema, calendar/closures, scheduler/route/<tf>.\n"
        "Environment: GAPLESS_<KEY>, DATABASE_URL.\n");
}

//  Reads the allowed providers of every timeframe (the scheduler's routes).
static int
s_configure_routes (self_t *self, gl_config_t *config, char *error)
{
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++) {
        char key [48], copy [256], *saveptr = NULL;
        const char *name = gl_timeframe_name ((gl_timeframe_t) timeframe);
        snprintf (key, sizeof key, "scheduler/route/%s", name);
        const char *list = gl_config_get (config, key, NULL);
        if (!list) {
            self->route_counts [timeframe] = gl_capability_route ((gl_timeframe_t) timeframe,
                                                                  self->routes [timeframe],
                                                                  GL_PROVIDER_COUNT);
            continue;
        }
        snprintf (copy, sizeof copy, "%s", list);
        size_t count = 0;
        for (char *provider_name = strtok_r (copy, ", ", &saveptr); provider_name;
             provider_name = strtok_r (NULL, ", ", &saveptr)) {
            gl_provider_t provider = gl_capability_parse_name (provider_name);
            if (!gl_capability_routable (provider, (gl_timeframe_t) timeframe)
            ||  count == GL_PROVIDER_COUNT) {
                snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s: %.40s: expected providers"
                          " serving %s (polygon yahoo tradier finnhub alpaca)", key,
                          provider_name, name);
                return -1;
            }
            self->routes [timeframe][count++] = provider;
        }
        self->route_counts [timeframe] = count;
    }
    return 0;
}

//  The timer periods.
typedef struct {
    int64_t audit_ms, flush_ms, snapshot_ms, slo_ms, reload_ms, reconcile_ms;
} s_periods_t;

//  Reads the tracker's settings into self, options and periods.
static int
s_configure (self_t *self, gl_config_t *config, gl_actor_options_t *options,
             s_periods_t *periods, char *error)
{
    int64_t heartbeat_ms, price_bp, volume_bp;
    if (gl_config_int (config, "coverage/max_bars", 10000000, 1, 1000000000, &self->max_bars,
                       error)
    ||  gl_config_int (config, "coverage/audit_ms", 1000, 10, 86400000, &periods->audit_ms, error)
    ||  gl_config_int (config, "coverage/audit_bars", 200000, 1, 100000000, &self->audit_bars,
                       error)
    ||  gl_config_int (config, "coverage/flush_ms", 200, 10, 600000, &periods->flush_ms, error)
    ||  gl_config_int (config, "coverage/snapshot_ms", 1000, 10, 600000, &periods->snapshot_ms,
                       error)
    ||  gl_config_int (config, "coverage/slo_ms", 10000, 10, 3600000, &periods->slo_ms, error)
    ||  gl_config_int (config, "coverage/reload_ms", 5000, 10, 3600000, &periods->reload_ms, error)
    ||  gl_config_int (config, "coverage/refill_priority", 5, -1000, 1000, &self->refill_priority,
                       error)
    ||  gl_config_int (config, "coverage/reconcile_ms", 60000, 10, 86400000,
                       &periods->reconcile_ms, error)
    ||  gl_config_int (config, "coverage/reconcile_price_bp", 50, 0, 10000, &price_bp, error)
    ||  gl_config_int (config, "coverage/reconcile_volume_bp", 500, 0, 10000, &volume_bp, error)
    ||  gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 600000, &heartbeat_ms, error)
    ||  s_configure_routes (self, config, error))
        return -1;
    if (gl_actor_options_configure (options, config, error) != 0)
        return -1;
    options->heartbeat_ms = (uint32_t) heartbeat_ms;
    self->price_tolerance = (double) price_bp / 10000;
    self->volume_tolerance = (double) volume_bp / 10000;
    self->database = gl_config_get (config, "coverage/database", NULL);
    self->schema = gl_config_get (config, "coverage/schema", NULL);
    return 0;
}

//  Loads the tracker's state; returns 0 or -1 (logged).
static int
s_load (self_t *self)
{
    if (!s_database (self))
        return -1;
    int64_t ranges = gl_coverage_store_load (self->db, self->coverage);
    if (ranges < 0) {
        gl_log_error ("coverage_not_loaded", "error=\"%s\"", gl_db_error (self->db));
        return -1;
    }
    gl_log_info ("coverage_loaded", "ranges=%" PRId64 " keys=%zu", ranges,
                 gl_coverage_count (self->coverage));
    return 0;
}

//  Registers the handlers and timers, runs until SIGTERM and writes what
//  changed. Returns the exit status.
static int
s_run (self_t *self, const s_periods_t *periods)
{
    gl_actor_on (self->actor, GL_MSG_WRITTEN, s_handle_written, self);
    gl_actor_on (self->actor, GL_MSG_GAPS, s_handle_gaps, self);
    gl_actor_on (self->actor, GL_MSG_REPLY, s_handle_reply, self);
    gl_actor_on_bounce (self->actor, s_handle_bounce, self);
    zloop_t *loop = gl_actor_loop (self->actor);
    zloop_timer (loop, (size_t) periods->flush_ms, 0, s_on_flush, self);
    zloop_timer (loop, (size_t) periods->snapshot_ms, 0, s_on_snapshot, self);
    zloop_timer (loop, (size_t) periods->audit_ms, 0, s_on_audit, self);
    zloop_timer (loop, (size_t) periods->reload_ms, 0, s_on_reload, self);
    zloop_timer (loop, (size_t) periods->slo_ms, 0, s_on_slo, self);
    zloop_timer (loop, (size_t) periods->reconcile_ms, 0, s_on_reconcile, self);
    zloop_timer (loop, S_STATS_MS, 0, s_on_stats, self);
    int run = gl_actor_run (self->actor);
    //  What changed since the last flush lands before the process goes
    int64_t index;
    while (s_database (self)
       &&  (index = gl_coverage_take_changed (self->coverage, GL_COVERAGE_UNSAVED)) >= 0)
        if (gl_coverage_store_save (self->db, self->coverage, (size_t) index))
            break;
    s_log_stats (self);
    return run == 0? 0: 1;
}

//  Parses flags and configuration, loads the state, runs the actor.
int
main (int argc, char **argv)
{
    gl_actor_options_t options = { .service = "coverage" };
    int status = 2;
    gl_config_t *config = gl_actor_command_line (argc, argv, "coverage", NULL, s_usage, &options,
                                                 &status);
    if (!config)
        return status;
    if (gl_settings_check_start (config, "coverage") != 0) {
        gl_config_destroy (&config);
        return 2;
    }
    char error [GL_CONFIG_ERROR_MAX];
    self_t self = { .audit = GL_COVERAGE_CURSOR_START, .reconcile = GL_COVERAGE_CURSOR_START };
    s_periods_t periods = { 0 };
    if (s_configure (&self, config, &options, &periods, error)
    ||  gl_capability_configure (config, error))
        fprintf (stderr, "gapless-coverage: %s\n", error);
    else {
        self.coverage = gl_coverage_new ();
        //  The configured grids until bar_grids says what is stored (s_load)
        for (int timeframe = GL_TF_1M; self.coverage && timeframe <= GL_TF_4H; timeframe++)
            gl_coverage_set_grid (self.coverage, (gl_timeframe_t) timeframe,
                                  gl_capability_policy_grid ((gl_timeframe_t) timeframe));
        status = self.coverage && s_load (&self) == 0? 0: 1;
    }
    if (status == 0)
        self.actor = gl_actor_new (&options);
    if (self.actor)
        gl_actor_on_reload (self.actor, gl_settings_on_reload, config);
    if (self.actor)
        status = s_run (&self, &periods);
    else
    if (status == 0)
        status = 1;
    gl_actor_destroy (&self.actor);
    gl_coverage_destroy (&self.coverage);
    gl_db_destroy (&self.db);
    gl_config_destroy (&config);
    return status;
}
