/*  gl_backlog — backfills and their slices in PostgreSQL.  */
#include "gl_backlog.h"
#include "gl_log.h"
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_TIME_MAX 4102444800       //  2100-01-01, the protocol's bound
#define S_COPY_CHUNK (256 * 1024)
#define S_BUSY_MS 100               //  busy calls while one statement runs

struct _gl_backlog_t {
    gl_db_t *db;                    //  not owned
    gl_db_busy_fn *busy;       //  called between the steps of long work
    void *busy_argument;
};

//  One symbol of a request, with what the database knows of it.
typedef struct {
    const char *ticker;
    gl_calendar_kind_t calendar;
    int64_t listed_from;            //  00:00 UTC of listed_on, or 0
} s_symbol_t;

//  The state of one enqueue's COPY.
typedef struct {
    gl_backlog_t *self;
    const gl_backlog_request_t *request;
    gl_calendar_t *calendar;
    const s_symbol_t *symbol;
    char *buffer;
    size_t used;
    int64_t bars;
    bool failed;
} s_copy_t;

//  Creates a backlog on the caller's connection.
gl_backlog_t *
gl_backlog_new (gl_db_t *db)
{
    gl_backlog_t *self = (gl_backlog_t *) calloc (1, sizeof (gl_backlog_t));
    if (self)
        self->db = db;
    return self;
}

//  Destroys the backlog and nulls the caller's pointer.
void
gl_backlog_destroy (gl_backlog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

//  True for a ticker the symbols table accepts: 1-32 of A-Z a-z 0-9 . ^ = : / _ -.
static bool
s_ticker_valid (const char *ticker)
{
    size_t length = ticker? strlen (ticker): 0;
    if (length == 0 || length > 32)
        return false;
    for (size_t index = 0; index < length; index++)
        if (!strchr ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.^=:/_-",
                     ticker [index]))
            return false;
    return true;
}

//  Validates a request.
int
gl_backlog_check (const gl_backlog_request_t *request, char *error)
{
    if (!request->symbols || request->symbol_count == 0) {
        snprintf (error, 256, "expected at least one symbol");
        return -1;
    }
    for (size_t index = 0; index < request->symbol_count; index++)
        if (!s_ticker_valid (request->symbols [index])) {
            snprintf (error, 256, "symbol '%.40s' is not 1-32 of A-Z a-z 0-9 . ^ = : / _ -",
                      request->symbols [index]? request->symbols [index]: "");
            return -1;
        }
    if (gl_timeframe_seconds (request->timeframe) <= 0) {
        snprintf (error, 256, "expected a timeframe: 1m 5m 15m 30m 1h 4h 1d 1w");
        return -1;
    }
    if (request->from < 0 || request->to > S_TIME_MAX || request->from >= request->to) {
        snprintf (error, 256, "expected from < to, both within 1970-01-01..2100-01-01");
        return -1;
    }
    gl_slice_unit_t unit = request->unit? request->unit: gl_slicer_default_unit (request->timeframe);
    if (!gl_slicer_unit_fits (unit, request->timeframe)) {
        snprintf (error, 256, "a %s slice cannot hold whole %s bars", gl_slicer_unit_name (unit),
                  gl_timeframe_name (request->timeframe));
        return -1;
    }
    //  a tier, a refill or a definition of too many slices, before any is cut
    return gl_slicer_check_size (unit, request->from, request->to, request->symbol_count,
                                 error, 256);
}

void
gl_backlog_on_busy (gl_backlog_t *self, gl_db_busy_fn *fn, void *argument)
{
    self->busy = fn;
    self->busy_argument = argument;
}

//  Tells the owner that long work goes on (between statements, COPY chunks).
static void
s_busy (gl_backlog_t *self)
{
    if (self->busy)
        self->busy (self->busy_argument);
}

//  Runs a statement with text parameters; returns the result if its status
//  is expected, else NULL with the error in error.
static PGresult *
s_run (gl_backlog_t *self, const char *sql, int count, const char *const *values,
       ExecStatusType expected, char *error)
{
    s_busy (self);
    PGresult *result = gl_db_exec_busy (self->db, sql, count, values, S_BUSY_MS, self->busy,
                                        self->busy_argument);
    if (gl_db_check (self->db, result, expected) == -1) {
        snprintf (error, 256, "%s", gl_db_error (self->db));
        PQclear (result);
        return NULL;
    }
    return result;
}

//  Runs a statement whose rows do not matter. Returns 0 or -1.
static int
s_do (gl_backlog_t *self, const char *sql, int count, const char *const *values,
      ExecStatusType expected, char *error)
{
    PGresult *result = s_run (self, sql, count, values, expected, error);
    PQclear (result);
    return result? 0: -1;
}

//  A PostgreSQL array literal of quoted texts ({"a","b"}). The texts must
//  hold no quote or backslash (tickers, provider names, UUIDs). Caller
//  owns return value; NULL on out of memory.
static char *
s_texts_literal (const char *const *texts, size_t count)
{
    size_t size = 3;
    for (size_t index = 0; index < count; index++)
        size += strlen (texts [index]) + 3;
    char *literal = malloc (size);
    if (!literal)
        return NULL;
    size_t used = 0;
    literal [used++] = '{';
    for (size_t index = 0; index < count; index++)
        used += (size_t) snprintf (literal + used, size - used, "%s\"%s\"", index? ",": "",
                                   texts [index]);
    snprintf (literal + used, size - used, "}");
    return literal;
}

//  A PostgreSQL array literal of run ids ({1,2}). Caller owns return
//  value; NULL on out of memory.
static char *
s_ids_literal (const uint64_t *ids, size_t count)
{
    size_t size = count * 21 + 3, used = 0;
    char *literal = malloc (size);
    if (!literal)
        return NULL;
    literal [used++] = '{';
    for (size_t index = 0; index < count; index++)
        used += (size_t) snprintf (literal + used, size - used, "%s%" PRIu64, index? ",": "",
                                   ids [index]);
    snprintf (literal + used, size - used, "}");
    return literal;
}

//  Orders tickers, for the request's canonical form.
static int
s_compare_tickers (const void *left, const void *right)
{
    return strcmp (*(const char *const *) left, *(const char *const *) right);
}

//  The request's symbols, sorted, without repeats, as a PostgreSQL array
//  literal. Caller owns return value; NULL on out of memory.
static char *
s_symbol_array (const gl_backlog_request_t *request)
{
    const char **sorted = calloc (request->symbol_count, sizeof (char *));
    if (!sorted)
        return NULL;
    memcpy (sorted, request->symbols, request->symbol_count * sizeof (char *));
    qsort (sorted, request->symbol_count, sizeof (char *), s_compare_tickers);
    size_t distinct = 0;
    for (size_t index = 0; index < request->symbol_count; index++)
        if (distinct == 0 || strcmp (sorted [index], sorted [distinct - 1]) != 0)
            sorted [distinct++] = sorted [index];
    //  Tickers hold no quote, backslash, comma or brace (s_ticker_valid)
    char *array = s_texts_literal (sorted, distinct);
    free (sorted);
    return array;
}

//  Formats a UTC instant as PostgreSQL reads a timestamptz.
static void
s_format_time (int64_t instant, char *text, size_t size)
{
    time_t seconds = (time_t) instant;
    struct tm utc;
    gmtime_r (&seconds, &utc);
    strftime (text, size, "%Y-%m-%d %H:%M:%S+00", &utc);
}

//  Adds the request's unknown symbols and reads every symbol's calendar
//  and listing date into symbols (one per distinct ticker, tickers
//  copied). Returns the count, or -1.
static int
s_load_symbols (gl_backlog_t *self, const char *array, s_symbol_t *symbols, size_t size,
                char *error)
{
    const char *values [] = { array };
    //  A symbol added because someone asked for its bars is not joining a
    //  watchlist: its tier's definitions are not owed (0010_tiers.sql)
    if (s_do (self, "SELECT set_config ('gapless.watchlist', 'off', true)", 0, NULL,
              PGRES_TUPLES_OK, error) == -1
    ||  s_do (self, "INSERT INTO symbols (ticker) SELECT unnest($1::text[]) "
                    "ON CONFLICT DO NOTHING", 1, values, PGRES_COMMAND_OK, error) == -1)
        return -1;
    PGresult *result = s_run (self,
        "SELECT ticker, calendar, coalesce(extract(epoch FROM listed_on::timestamp"
        " AT TIME ZONE 'UTC'), 0)::bigint FROM symbols WHERE ticker = ANY ($1::text[])",
        1, values, PGRES_TUPLES_OK, error);
    if (!result)
        return -1;
    int count = PQntuples (result);
    int rc = (size_t) count <= size? count: -1;
    for (int row = 0; rc >= 0 && row < count; row++) {
        symbols [row].ticker = strdup (PQgetvalue (result, row, 0));
        symbols [row].calendar = gl_calendar_kind_parse (PQgetvalue (result, row, 1));
        symbols [row].listed_from = atoll (PQgetvalue (result, row, 2));
        if (!symbols [row].ticker)
            rc = -1;
        else
        if (!symbols [row].calendar) {
            snprintf (error, 256, "symbol %s has a calendar gapless does not know",
                      symbols [row].ticker);
            rc = -1;
        }
    }
    if (rc == -1 && !*error)
        snprintf (error, 256, "out of memory reading the symbols");
    PQclear (result);
    return rc;
}

//  Finds the active backfill of this request or records a new one.
//  Returns its id, or -1.
static int64_t
s_backfill (gl_backlog_t *self, const gl_backlog_request_t *request, const char *array,
            char *error)
{
    char from [32], to [32], priority [16], definition [24];
    s_format_time (request->from, from, sizeof from);
    s_format_time (request->to, to, sizeof to);
    snprintf (priority, sizeof priority, "%d", request->priority);
    snprintf (definition, sizeof definition, "%" PRId64, request->definition_id);
    const char *values [] = { array, gl_timeframe_name (request->timeframe), from, to,
                              priority, request->provider,
                              request->definition_id > 0? definition: NULL };
    //  The key names what the request asks for, not how it is scheduled.
    static const char *key =
        "md5($1::text[]::text || '|' || $2::text || '|' || extract(epoch FROM $3::timestamptz)"
        " || '|' || extract(epoch FROM $4::timestamptz) || '|' || coalesce($6::text, '*'))";
    char sql [1024];
    snprintf (sql, sizeof sql,
        "INSERT INTO backfills (symbols, timeframe, range_from, range_to, priority, provider,"
        " job_definition_id, request_key) VALUES ($1::text[], $2::text, $3::timestamptz,"
        " $4::timestamptz, $5::integer, $6::text, $7::bigint, %s) "
        "ON CONFLICT (request_key) WHERE status IN ('queued', 'running', 'paused') DO NOTHING "
        "RETURNING id", key);
    PGresult *result = s_run (self, sql, 7, values, PGRES_TUPLES_OK, error);
    if (result && PQntuples (result) == 0) {
        PQclear (result);
        //  Another client's identical request won the race, or came first
        snprintf (sql, sizeof sql,
            "SELECT id FROM backfills WHERE request_key = %s "
            "AND status IN ('queued', 'running', 'paused') AND $5::integer IS NOT NULL", key);
        result = s_run (self, sql, 6, values, PGRES_TUPLES_OK, error);
    }
    int64_t id = result && PQntuples (result) == 1? atoll (PQgetvalue (result, 0, 0)): -1;
    if (result && id == -1)
        snprintf (error, 256, "the backfill vanished while it was being enqueued");
    PQclear (result);
    return id;
}

//  Sends the COPY buffer when it is full (or force). Returns 0 or -1.
static int
s_copy_flush (s_copy_t *copy, bool force)
{
    if (copy->failed || copy->used == 0 || (!force && copy->used < S_COPY_CHUNK - 256))
        return copy->failed? -1: 0;
    if (PQputCopyData (gl_db_conn (copy->self->db), copy->buffer, (int) copy->used) != 1)
        copy->failed = true;
    copy->used = 0;
    s_busy (copy->self);
    return copy->failed? -1: 0;
}

//  Where a slice that reaches past now is cut.
typedef struct {
    int64_t start;                  //  the latest bar start kept, -1: none
    int64_t length, now;
    bool forming;                   //  keep the bar that has begun, not only closed ones
} s_last_bar_t;

//  Remembers the start of each bar that has closed by now (or begun).
static int
s_last_bar (int64_t start, void *argument)
{
    s_last_bar_t *last = (s_last_bar_t *) argument;
    if (start + (last->forming? 0: last->length) <= last->now)
        last->start = start;
    return 0;
}

//  Shortens a slice that reaches past now to the bars closed by then (for
//  freshness, to the bar forming now: the fetcher marks it provisional).
//  Returns false when none is left.
static bool
s_clip_to_now (s_copy_t *copy, gl_slice_t *slice)
{
    int64_t now = copy->request->now;
    if (now <= 0 || slice->to <= now)
        return true;
    s_last_bar_t last = { .start = -1, .length = gl_timeframe_seconds (copy->request->timeframe),
                          .now = now, .forming = copy->request->freshness };
    gl_calendar_each_bar (copy->calendar, copy->request->timeframe, slice->from,
                          now < slice->to? now: slice->to, s_last_bar, &last);
    if (last.start < 0)
        return false;
    slice->to = last.start + last.length;
    slice->bars = gl_calendar_count_bars (copy->calendar, copy->request->timeframe,
                                          slice->from, slice->to);
    return true;
}

//  Adds one slice of the current symbol to the COPY.
static int
s_copy_slice (const gl_slice_t *cut, void *argument)
{
    s_copy_t *copy = (s_copy_t *) argument;
    gl_slice_t slice = *cut;
    if (slice.to <= copy->symbol->listed_from || !s_clip_to_now (copy, &slice))
        return 0;
    char from [32], to [32];
    s_format_time (slice.from, from, sizeof from);
    s_format_time (slice.to, to, sizeof to);
    copy->used += (size_t) snprintf (copy->buffer + copy->used, S_COPY_CHUNK - copy->used,
                                     "%s\t%s\t%s\t%s\n", copy->symbol->ticker,
                                     gl_timeframe_name (copy->request->timeframe), from, to);
    copy->bars += slice.bars;
    return s_copy_flush (copy, false);
}

//  COPYs every symbol's slices into enqueue_stage. Returns 0 or -1.
static int
s_copy_slices (gl_backlog_t *self, const gl_backlog_request_t *request,
               const s_symbol_t *symbols, int count, int64_t *bars, char *error)
{
    PGresult *result = s_run (self, "COPY pg_temp.enqueue_stage FROM STDIN", 0, NULL,
                              PGRES_COPY_IN, error);
    if (!result)
        return -1;
    PQclear (result);
    s_copy_t copy = { .self = self, .request = request, .buffer = malloc (S_COPY_CHUNK) };
    gl_slice_unit_t unit = request->unit? request->unit: gl_slicer_default_unit (request->timeframe);
    gl_calendar_t *calendars [3] = { NULL, NULL, NULL };
    copy.failed = copy.buffer == NULL;
    for (int index = 0; index < count && !copy.failed; index++) {
        gl_calendar_kind_t kind = symbols [index].calendar;
        if (!calendars [kind] && (calendars [kind] = gl_calendar_new (kind)))
            gl_capability_policy_apply (calendars [kind]);
        copy.calendar = calendars [kind];
        copy.symbol = &symbols [index];
        if (!copy.calendar
        ||  gl_slicer_cut (copy.calendar, request->timeframe, unit, request->from, request->to,
                           s_copy_slice, &copy) == -1)
            copy.failed = true;
    }
    s_copy_flush (&copy, true);
    for (int kind = 0; kind < 3; kind++)
        gl_calendar_destroy (&calendars [kind]);
    free (copy.buffer);
    PGconn *conn = gl_db_conn (self->db);
    if (PQputCopyEnd (conn, copy.failed? "slicing failed": NULL) != 1)
        copy.failed = true;
    result = PQgetResult (conn);
    if (gl_db_check (self->db, result, PGRES_COMMAND_OK) == -1 && !copy.failed) {
        snprintf (error, 256, "%s", gl_db_error (self->db));
        copy.failed = true;
    }
    else
    if (copy.failed)
        snprintf (error, 256, "the request could not be cut into slices (out of memory?)");
    PQclear (result);
    while ((result = PQgetResult (conn)))
        PQclear (result);
    *bars = copy.bars;
    return copy.failed? -1: 0;
}

//  Enqueues the staged slices; fills the counts. Returns 0 or -1.
static int
s_enqueue_staged (gl_backlog_t *self, const gl_backlog_request_t *request,
                  gl_backlog_counts_t *counts, char *error)
{
    char id [32], priority [16], attempts [16];
    snprintf (id, sizeof id, "%" PRId64, counts->backfill_id);
    snprintf (priority, sizeof priority, "%d", request->priority);
    snprintf (attempts, sizeof attempts, "%d", request->max_attempts > 0? request->max_attempts: 5);
    const char *values [] = { id, priority, attempts, request->provider,
                              request->refresh? "true": "false" };
    PGresult *result = s_run (self,
        "SELECT created, shared, stored, refreshed FROM queue_enqueue_staged ($1, $2, $3, $4, $5)",
        5, values, PGRES_TUPLES_OK, error);
    if (!result)
        return -1;
    counts->created = atoll (PQgetvalue (result, 0, 0));
    counts->shared = atoll (PQgetvalue (result, 0, 1));
    counts->stored = atoll (PQgetvalue (result, 0, 2));
    counts->refreshed = atoll (PQgetvalue (result, 0, 3));
    PQclear (result);
    return 0;
}

//  Queues again the succeeded slices of the request that hold a
//  provisional bar. Returns 0 or -1.
static int
s_refresh_provisional (gl_backlog_t *self, const gl_backlog_request_t *request,
                       const char *array, gl_backlog_counts_t *counts, char *error)
{
    char from [32], priority [16], id [32];
    s_format_time (request->from, from, sizeof from);
    snprintf (priority, sizeof priority, "%d", request->priority);
    snprintf (id, sizeof id, "%" PRId64, counts->backfill_id);
    const char *values [] = { array, gl_timeframe_name (request->timeframe), from, priority, id };
    PGresult *result = s_run (self, "SELECT queue_refresh_provisional ($1::text[], $2, $3, $4, $5)",
                              5, values, PGRES_TUPLES_OK, error);
    if (!result)
        return -1;
    counts->refreshed += atoll (PQgetvalue (result, 0, 0));
    PQclear (result);
    return 0;
}

//  Takes the request's watchlist entry first: its row lock makes a second
//  scheduler taking the same entry wait, then find it gone. Returns 0, or
//  -1 when it was taken (or the database failed).
static int
s_take_arrival (gl_backlog_t *self, int64_t watchlist_id, char *error)
{
    char id [24];
    snprintf (id, sizeof id, "%" PRId64, watchlist_id);
    const char *values [] = { id };
    PGresult *result = s_run (self, "DELETE FROM watchlist_pending WHERE id = $1", 1, values,
                              PGRES_COMMAND_OK, error);
    if (!result)
        return -1;
    int taken = strcmp (PQcmdTuples (result), "1") == 0;
    PQclear (result);
    if (!taken)
        snprintf (error, 256, "watchlist entry %s was taken already", id);
    return taken? 0: -1;
}

//  Refuses the staged slices if they would take a tier over its cap of
//  runnable slices (queued, retrying or paused, new ones counted once).
//  Returns 0 or -1.
static int
s_check_caps (gl_backlog_t *self, const int64_t *caps, char *error)
{
    PGresult *result = s_run (self,
        "WITH staged AS (SELECT s.symbol FROM pg_temp.enqueue_stage s WHERE NOT EXISTS"
        " (SELECT 1 FROM job_runs r WHERE r.idx_hash = slice_hash (s.symbol, s.timeframe,"
        " s.slice_from, s.slice_to)) AND NOT EXISTS (SELECT 1 FROM coverage c WHERE"
        " c.symbol = s.symbol AND c.timeframe = s.timeframe AND c.range_from <= s.slice_from"
        " AND c.range_to >= s.slice_to)), waiting AS (SELECT r.symbol FROM job_runs r WHERE"
        " r.status IN ('queued', 'failed_will_retry', 'paused'))"
        " SELECT y.tier, count(*) FROM (SELECT symbol FROM staged UNION ALL"
        " SELECT symbol FROM waiting) w JOIN symbols y ON y.ticker = w.symbol"
        " GROUP BY y.tier", 0, NULL, PGRES_TUPLES_OK, error);
    if (!result)
        return -1;
    int rc = 0;
    for (int row = 0; rc == 0 && row < PQntuples (result); row++) {
        const char *tier = PQgetvalue (result, row, 0);
        int index = tier [0] == 'T' && tier [1] >= '0' && tier [1] <= '2'? tier [1] - '0': -1;
        int64_t runnable = atoll (PQgetvalue (result, row, 1));
        if (index >= 0 && caps [index] > 0 && runnable > caps [index]) {
            snprintf (error, 256, "tier %s would hold %" PRId64 " runnable slices, over its cap"
                      " of %" PRId64 "; nothing was enqueued", tier, runnable, caps [index]);
            rc = -1;
        }
    }
    PQclear (result);
    return rc;
}

//  Everything of one enqueue inside the open transaction. Returns 0 or -1.
static int
s_enqueue (gl_backlog_t *self, const gl_backlog_request_t *request,
           gl_backlog_counts_t *counts, char *error)
{
    char *array = s_symbol_array (request);
    s_symbol_t *symbols = calloc (request->symbol_count, sizeof (s_symbol_t));
    int count = -1;
    if (!array || !symbols)
        snprintf (error, 256, "out of memory");
    else
        count = s_load_symbols (self, array, symbols, request->symbol_count, error);
    int rc = count >= 0? 0: -1;
    if (rc == 0 && request->watchlist_id > 0)
        rc = s_take_arrival (self, request->watchlist_id, error);
    if (rc == 0)
        rc = (counts->backfill_id = s_backfill (self, request, array, error)) == -1? -1: 0;
    if (rc == 0)
        rc = s_do (self, "SELECT queue_stage ()", 0, NULL, PGRES_TUPLES_OK, error);
    if (rc == 0)
        rc = s_copy_slices (self, request, symbols, count, &counts->bars_expected, error);
    if (rc == 0 && request->tier_caps)
        rc = s_check_caps (self, request->tier_caps, error);
    if (rc == 0)
        rc = s_enqueue_staged (self, request, counts, error);
    if (rc == 0 && request->freshness)
        rc = s_refresh_provisional (self, request, array, counts, error);
    for (size_t row = 0; symbols && row < request->symbol_count; row++)
        free ((char *) symbols [row].ticker);
    free (symbols);
    free (array);
    return rc;
}

//  Records the request and enqueues its slices in one transaction.
int
gl_backlog_enqueue (gl_backlog_t *self, const gl_backlog_request_t *request,
                    gl_backlog_counts_t *counts, char *error)
{
    memset (counts, 0, sizeof *counts);
    if (gl_backlog_check (request, error) == -1)
        return -1;
    if (gl_db_exec (self->db, "BEGIN") == -1) {
        snprintf (error, 256, "%s", gl_db_error (self->db));
        return -1;
    }
    int rc = s_enqueue (self, request, counts, error);
    if (rc == 0 && request->plan) {
        gl_db_exec (self->db, "ROLLBACK");
        counts->backfill_id = 0;
        return 0;
    }
    if (rc == 0 && gl_db_exec (self->db, "COMMIT") == -1) {
        snprintf (error, 256, "%s", gl_db_error (self->db));
        rc = -1;
    }
    if (rc == -1) {
        gl_db_exec (self->db, "ROLLBACK");
        gl_log_warn ("enqueue_failed", "timeframe=%s symbols=%zu error=%s",
                     gl_timeframe_name (request->timeframe), request->symbol_count,
                     GL_LOG_VALUE (error));
    }
    return rc;
}

//  Runs a fenced queue function returning a boolean. Returns 1, 0 or -1.
static int
s_fenced (gl_backlog_t *self, const char *sql, int count, const char *const *values)
{
    char error [256];
    PGresult *result = s_run (self, sql, count, values, PGRES_TUPLES_OK, error);
    if (!result) {
        gl_log_warn ("queue_call_failed", "error=%s", GL_LOG_VALUE (error));
        return -1;
    }
    int applied = PQntuples (result) == 1 && strcmp (PQgetvalue (result, 0, 0), "t") == 0;
    PQclear (result);
    return applied;
}

//  Copies a PostgreSQL text[] literal's elements ({a,b}) into names.
static size_t
s_parse_names (const char *array, char names [GL_PROVIDER_COUNT][33])
{
    size_t count = 0;
    const char *cursor = array && *array == '{'? array + 1: "";
    while (*cursor && *cursor != '}' && count < GL_PROVIDER_COUNT) {
        size_t length = strcspn (cursor, ",}");
        snprintf (names [count++], 33, "%.*s", (int) (length < 32? length: 32), cursor);
        cursor += length + (cursor [length] == ',');
    }
    return count;
}

//  Leases runnable slices.
int
gl_backlog_claim (gl_backlog_t *self, const char *owner, size_t limit, double lease_seconds,
                  int min_priority, int max_priority, gl_backlog_slice_t *slices)
{
    char limit_text [24], seconds [32], lowest [16], highest [16], error [256];
    snprintf (limit_text, sizeof limit_text, "%zu", limit);
    snprintf (seconds, sizeof seconds, "%.3f", lease_seconds);
    snprintf (lowest, sizeof lowest, "%d", min_priority);
    snprintf (highest, sizeof highest, "%d", max_priority);
    const char *values [] = { owner, limit_text, seconds, lowest, highest };
    PGresult *result = s_run (self,
        "SELECT id, lease_token, symbol, timeframe, extract(epoch FROM slice_from)::bigint,"
        " extract(epoch FROM slice_to)::bigint, attempt, coalesce(provider_pin, ''),"
        " providers_refused, providers_empty FROM queue_claim_band ($1, $2, $3, $4, $5)",
        5, values, PGRES_TUPLES_OK, error);
    if (!result) {
        gl_log_warn ("claim_failed", "error=%s", GL_LOG_VALUE (error));
        return -1;
    }
    int count = PQntuples (result);
    for (int row = 0; row < count && (size_t) row < limit; row++) {
        gl_backlog_slice_t *slice = &slices [row];
        memset (slice, 0, sizeof *slice);
        slice->run_id = strtoull (PQgetvalue (result, row, 0), NULL, 10);
        snprintf (slice->token, sizeof slice->token, "%s", PQgetvalue (result, row, 1));
        snprintf (slice->symbol, sizeof slice->symbol, "%s", PQgetvalue (result, row, 2));
        slice->timeframe = gl_timeframe_parse (PQgetvalue (result, row, 3));
        slice->from = atoll (PQgetvalue (result, row, 4));
        slice->to = atoll (PQgetvalue (result, row, 5));
        slice->attempt = (uint32_t) atol (PQgetvalue (result, row, 6));
        snprintf (slice->provider_pin, sizeof slice->provider_pin, "%s",
                  PQgetvalue (result, row, 7));
        slice->refused_count = s_parse_names (PQgetvalue (result, row, 8), slice->refused);
        slice->empty_count = s_parse_names (PQgetvalue (result, row, 9), slice->empty);
    }
    PQclear (result);
    return count;
}

//  Records the providers dispatched slices went to.
int
gl_backlog_dispatched (gl_backlog_t *self, const uint64_t *run_ids,
                       const char *const *providers, size_t count)
{
    if (count == 0)
        return 0;
    char *ids = s_ids_literal (run_ids, count), *names = s_texts_literal (providers, count);
    int rc = -1;
    if (ids && names) {
        const char *values [] = { ids, names };
        char error [256];
        rc = s_do (self, "UPDATE job_runs SET provider = d.provider, updated_at = now()"
                         " FROM unnest ($1::bigint[], $2::text[]) AS d (id, provider)"
                         " WHERE job_runs.id = d.id AND job_runs.status = 'running'",
                   2, values, PGRES_COMMAND_OK, error);
        if (rc == -1)
            gl_log_warn ("dispatch_record_failed", "error=%s", GL_LOG_VALUE (error));
    }
    free (ids);
    free (names);
    return rc;
}

//  Not now: again after delay, no attempt spent.
int
gl_backlog_release (gl_backlog_t *self, uint64_t run_id, const char *token, double delay,
                    const char *error_class, const char *message)
{
    char id [24], seconds [32];
    snprintf (id, sizeof id, "%" PRIu64, run_id);
    snprintf (seconds, sizeof seconds, "%.3f", delay > 0? delay: 0);
    const char *values [] = { id, token, seconds, error_class, message };
    return s_fenced (self, "SELECT queue_release ($1, $2, $3, $4, $5)", 5, values);
}

//  An attempt spent.
int
gl_backlog_fail (gl_backlog_t *self, uint64_t run_id, const char *token,
                 const char *error_class, const char *message, bool retryable,
                 double retry_after)
{
    char id [24], seconds [32];
    snprintf (id, sizeof id, "%" PRIu64, run_id);
    snprintf (seconds, sizeof seconds, "%.3f", retry_after > 0? retry_after: 0);
    const char *values [] = { id, token, error_class, message, retryable? "t": "f", seconds };
    return s_fenced (self, "SELECT queue_fail ($1, $2, $3, $4, $5, $6)", 6, values);
}

//  Its fetcher died with it.
int
gl_backlog_lost (gl_backlog_t *self, uint64_t run_id, const char *token,
                 const char *error_class, const char *message)
{
    char id [24];
    snprintf (id, sizeof id, "%" PRIu64, run_id);
    const char *values [] = { id, token, error_class, message };
    return s_fenced (self, "SELECT queue_lost ($1, $2, $3, $4)", 4, values);
}

//  A provider cannot serve it.
int
gl_backlog_refuse (gl_backlog_t *self, uint64_t run_id, const char *token, const char *provider,
                   bool empty, const char *error_class, const char *message)
{
    char id [24];
    snprintf (id, sizeof id, "%" PRIu64, run_id);
    const char *values [] = { id, token, provider, empty? "t": "f", error_class, message };
    return s_fenced (self, "SELECT queue_refuse ($1, $2, $3, $4, $5, $6)", 6, values);
}

//  Every allowed provider had no data: done with 0 rows.
int
gl_backlog_complete_empty (gl_backlog_t *self, uint64_t run_id, const char *token)
{
    char id [24];
    snprintf (id, sizeof id, "%" PRIu64, run_id);
    const char *values [] = { id, token };
    return s_fenced (self, "SELECT queue_complete ($1, $2, 0)", 2, values);
}

//  Extends the leases of running slices.
int
gl_backlog_extend (gl_backlog_t *self, const uint64_t *run_ids, const char *const *tokens,
                   size_t count, double lease_seconds)
{
    if (count == 0)
        return 0;
    char *ids = s_ids_literal (run_ids, count), *uuids = s_texts_literal (tokens, count);
    char seconds [32];
    int extended = -1;
    if (ids && uuids) {
        snprintf (seconds, sizeof seconds, "%.3f", lease_seconds);
        const char *values [] = { ids, uuids, seconds };
        char error [256];
        PGresult *result = s_run (self,
            "SELECT count(*) FILTER (WHERE queue_extend (d.id, d.token, $3))"
            " FROM unnest ($1::bigint[], $2::uuid[]) AS d (id, token)",
            3, values, PGRES_TUPLES_OK, error);
        if (result)
            extended = atoi (PQgetvalue (result, 0, 0));
        else
            gl_log_warn ("extend_failed", "error=%s", GL_LOG_VALUE (error));
        PQclear (result);
    }
    free (ids);
    free (uuids);
    return extended;
}

//  Records a health sample and trims the provider's history.
int
gl_backlog_health_record (gl_backlog_t *self, const gl_backlog_health_t *sample, int keep)
{
    char latency [32], errors [32], incompleteness [32], score [32], kept [16], error [256];
    snprintf (latency, sizeof latency, "%.3f", sample->latency_ms);
    snprintf (errors, sizeof errors, "%.6f", sample->error_rate);
    snprintf (incompleteness, sizeof incompleteness, "%.6f", sample->incompleteness);
    snprintf (score, sizeof score, "%.6f", sample->score);
    snprintf (kept, sizeof kept, "%d", keep);
    const char *values [] = { sample->provider, sample->breaker, latency, errors,
                              incompleteness, score };
    int rc = s_do (self, "INSERT INTO provider_health (provider, breaker, latency_ms, error_rate,"
                   " incompleteness, score) VALUES ($1, $2, $3, $4, $5, $6)"
                   " ON CONFLICT DO NOTHING", 6, values, PGRES_COMMAND_OK, error);
    const char *trim [] = { sample->provider, kept };
    if (rc == 0)
        rc = s_do (self, "DELETE FROM provider_health WHERE provider = $1 AND sampled_at <"
                   " (SELECT sampled_at FROM provider_health WHERE provider = $1"
                   " ORDER BY sampled_at DESC OFFSET $2::integer - 1 LIMIT 1)",
                   2, trim, PGRES_COMMAND_OK, error);
    if (rc == -1)
        gl_log_warn ("health_not_recorded", "provider=%s error=%s", sample->provider,
                     GL_LOG_VALUE (error));
    return rc;
}

//  Every kept health sample, oldest first.
int
gl_backlog_health_load (gl_backlog_t *self, gl_backlog_health_fn *fn, void *argument)
{
    char error [256];
    PGresult *result = s_run (self, "SELECT provider, breaker, coalesce(latency_ms, 0),"
        " coalesce(error_rate, 0), coalesce(incompleteness, 0), coalesce(score, 0)"
        " FROM provider_health ORDER BY sampled_at", 0, NULL, PGRES_TUPLES_OK, error);
    if (!result) {
        gl_log_warn ("health_not_loaded", "error=%s", GL_LOG_VALUE (error));
        return -1;
    }
    int count = PQntuples (result);
    for (int row = 0; row < count; row++) {
        gl_backlog_health_t sample = {
            .provider = PQgetvalue (result, row, 0), .breaker = PQgetvalue (result, row, 1),
            .latency_ms = atof (PQgetvalue (result, row, 2)),
            .error_rate = atof (PQgetvalue (result, row, 3)),
            .incompleteness = atof (PQgetvalue (result, row, 4)),
            .score = atof (PQgetvalue (result, row, 5)),
        };
        fn (&sample, argument);
    }
    PQclear (result);
    return count;
}

//  Takes back expired leases.
int
gl_backlog_rescue (gl_backlog_t *self)
{
    char error [256];
    PGresult *result = s_run (self, "SELECT queue_rescue ()", 0, NULL, PGRES_TUPLES_OK, error);
    if (!result) {
        gl_log_warn ("rescue_failed", "error=%s", GL_LOG_VALUE (error));
        return -1;
    }
    int rescued = atoi (PQgetvalue (result, 0, 0));
    PQclear (result);
    return rescued;
}

//  Every running slice, for the in-flight view at start.
int
gl_backlog_running (gl_backlog_t *self, gl_backlog_running_fn *fn, void *argument)
{
    char error [256];
    PGresult *result = s_run (self,
        "SELECT id, lease_token, coalesce(provider, ''), extract(epoch FROM lease_expires_at)::bigint"
        " FROM job_runs WHERE status = 'running'", 0, NULL, PGRES_TUPLES_OK, error);
    if (!result) {
        gl_log_warn ("running_failed", "error=%s", GL_LOG_VALUE (error));
        return -1;
    }
    int count = PQntuples (result);
    for (int row = 0; row < count; row++)
        fn (strtoull (PQgetvalue (result, row, 0), NULL, 10), PQgetvalue (result, row, 1),
            PQgetvalue (result, row, 2), atoll (PQgetvalue (result, row, 3)), argument);
    PQclear (result);
    return count;
}

//  The active symbols of a tier.
int
gl_backlog_tier (gl_backlog_t *self, const char *tier, char **tickers, size_t size)
{
    char error [256];
    const char *values [] = { tier };
    PGresult *result = s_run (self, "SELECT ticker FROM symbols WHERE tier = $1 AND active"
                              " ORDER BY ticker", 1, values, PGRES_TUPLES_OK, error);
    if (!result) {
        gl_log_warn ("tier_failed", "tier=%s error=%s", GL_LOG_VALUE (tier), GL_LOG_VALUE (error));
        return -1;
    }
    int count = 0;
    for (int row = 0; row < PQntuples (result) && (size_t) count < size; row++)
        if ((tickers [count] = strdup (PQgetvalue (result, row, 0))))
            count++;
    PQclear (result);
    return count;
}

//  Reads the periodic runs of a result: definition id, watchlist id,
//  name, symbol, tier, timeframe, window seconds, priority, freshness,
//  sessions only, calendars (a text array). Returns how many.
static int
s_periodic_rows (PGresult *result, gl_backlog_periodic_t *runs, size_t size)
{
    int count = 0;
    for (int row = 0; row < PQntuples (result) && (size_t) count < size; row++) {
        gl_backlog_periodic_t *run = &runs [count];
        memset (run, 0, sizeof *run);
        run->definition_id = atoll (PQgetvalue (result, row, 0));
        run->watchlist_id = atoll (PQgetvalue (result, row, 1));
        snprintf (run->name, sizeof run->name, "%s", PQgetvalue (result, row, 2));
        snprintf (run->symbol, sizeof run->symbol, "%s", PQgetvalue (result, row, 3));
        snprintf (run->tier, sizeof run->tier, "%s", PQgetvalue (result, row, 4));
        run->timeframe = gl_timeframe_parse (PQgetvalue (result, row, 5));
        run->window = atoll (PQgetvalue (result, row, 6));
        run->priority = atoi (PQgetvalue (result, row, 7));
        run->freshness = strcmp (PQgetvalue (result, row, 8), "t") == 0;
        run->sessions_only = strcmp (PQgetvalue (result, row, 9), "t") == 0;
        const char *calendars = PQgetvalue (result, row, 10);
        run->calendars [GL_CALENDAR_XNYS] = strstr (calendars, "xnys") != NULL;
        run->calendars [GL_CALENDAR_24X7] = strstr (calendars, "24x7") != NULL;
        count++;
    }
    return count;
}

//  Runs a query of periodic runs with a limit. Returns how many, or -1.
static int
s_periodic (gl_backlog_t *self, const char *sql, gl_backlog_periodic_t *runs, size_t size)
{
    char error [256], limit [24];
    snprintf (limit, sizeof limit, "%zu", size);
    const char *values [] = { limit };
    PGresult *result = s_run (self, sql, 1, values, PGRES_TUPLES_OK, error);
    if (!result) {
        gl_log_warn ("periodic_failed", "error=%s", GL_LOG_VALUE (error));
        return -1;
    }
    int count = s_periodic_rows (result, runs, size);
    PQclear (result);
    return count;
}

//  Takes the due periodic definitions.
int
gl_backlog_due (gl_backlog_t *self, gl_backlog_periodic_t *runs, size_t size)
{
    return s_periodic (self,
        "SELECT d.id, 0, d.name, coalesce (d.symbol, ''), coalesce (d.tier, ''), d.timeframe,"
        " extract (epoch FROM d.window_length)::bigint, d.priority, d.freshness,"
        " d.sessions_only, coalesce ((SELECT array_agg (DISTINCT y.calendar) FROM symbols y"
        " WHERE y.active AND (y.tier = d.tier OR y.ticker = d.symbol))::text, '{}')"
        " FROM job_definitions_due ($1::integer) d", runs, size);
}

//  The symbol arrivals waiting for their backfill.
int
gl_backlog_arrivals (gl_backlog_t *self, gl_backlog_periodic_t *runs, size_t size)
{
    return s_periodic (self,
        "SELECT d.id, w.id, d.name, w.ticker, '', d.timeframe,"
        " extract (epoch FROM d.window_length)::bigint, d.priority, d.freshness,"
        " d.sessions_only, y.calendar FROM watchlist_pending w"
        " JOIN job_definitions d ON d.id = w.definition_id"
        " JOIN symbols y ON y.ticker = w.ticker"
        " WHERE d.enabled ORDER BY w.id LIMIT $1::integer", runs, size);
}

//  Adds one result row to the reply through add (a field or a row field).
static int
s_add_row (PGresult *result, int row, gl_msg_t *reply,
           int (*add) (gl_msg_t *, const char *, const char *))
{
    for (int column = 0; column < PQnfields (result); column++)
        if (add (reply, PQfname (result, column), PQgetvalue (result, row, column)) == -1)
            return -1;
    return 0;
}

//  A query's rows into the reply.
int
gl_backlog_rows (gl_backlog_t *self, const char *sql, int count, const char *const *values,
                 gl_msg_t *reply, char *error)
{
    PGresult *result = s_run (self, sql, count, values, PGRES_TUPLES_OK, error);
    if (!result)
        return -1;
    int rows = PQntuples (result), added = 0, rc = 0;
    for (int row = 0; rc == 0 && row < rows && row < GL_MSG_MAX_ROWS; row++, added++)
        if (gl_msg_add_row (reply) == -1 || s_add_row (result, row, reply, gl_msg_add_row_field))
            rc = -1;
    PQclear (result);
    char total [24];
    snprintf (total, sizeof total, "%d", rows);
    if (rc == 0 && gl_msg_add_field (reply, "rows_total", total) == -1)
        rc = -1;
    if (rc == -1)
        snprintf (error, 256, "the answer does not fit in a reply");
    return rc == 0? added: -1;
}

//  A one-row query's columns as the reply's fields.
int
gl_backlog_fields (gl_backlog_t *self, const char *sql, int count, const char *const *values,
                   gl_msg_t *reply, char *error)
{
    PGresult *result = s_run (self, sql, count, values, PGRES_TUPLES_OK, error);
    if (!result)
        return -1;
    int found = PQntuples (result) > 0;
    int rc = found && s_add_row (result, 0, reply, gl_msg_add_field) == -1? -1: found;
    if (rc == -1)
        snprintf (error, 256, "the answer does not fit in a reply");
    PQclear (result);
    return rc;
}
