/*  gl_writer — buffered, fenced, idempotent bar storage.  */
#include "gl_writer.h"
#include "gl_capability.h"
#include "gl_db.h"
#include "gl_log.h"

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_BATCH_ROWS_DEFAULT 50000
#define S_SLICE_MAX_AGE_MS_DEFAULT 600000
#define S_COPY_CHUNK (256 * 1024)
#define S_ERROR_MAX 512
//  Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
#define S_POSTGRES_EPOCH 946684800
//  The widest ts (Unix seconds) whose microseconds since PostgreSQL's
//  epoch fit the 64 bits a binary COPY carries; PostgreSQL's own range is
//  narrower and its server says so (a data error, isolated like any).
#define S_TS_ENCODABLE_MIN (INT64_MIN / 1000000 + S_POSTGRES_EPOCH)
#define S_TS_ENCODABLE_MAX (INT64_MAX / 1000000 + S_POSTGRES_EPOCH)

#define S_COLUMNS "symbol, timeframe, ts, provider, open, high, low, close, volume, " \
                  "vwap, trade_count, provisional, adjustment"
#define S_VALUES(t) "(" t ".open, " t ".high, " t ".low, " t ".close, " t ".volume, " \
                    t ".vwap, " t ".trade_count, " t ".provisional, " t ".adjustment)"
//  The stored row's columns a revision keeps, from table t, as old_*.
#define S_OLD_VALUES(t) t ".open AS old_open, " t ".high AS old_high, " t ".low AS old_low, " \
                        t ".close AS old_close, " t ".volume AS old_volume, " \
                        t ".vwap AS old_vwap, " t ".trade_count AS old_trade_count, " \
                        t ".as_of AS old_as_of, " t ".provisional AS old_provisional, " \
                        t ".adjustment AS old_adjustment"
//  The replaced versions of a statement's rows, into bar_revisions: one
//  row of parallel arrays per batch slice (array_agg sees the rows of a
//  group in one order, so element i of each array is one version). A
//  version that landed earlier in the same transaction was never seen by
//  anyone and is not kept.
#define S_KEEP_REVISIONS(from) \
    "INSERT INTO bar_revisions (symbol, timeframe, provider, superseded_at, first_ts, last_ts," \
    "                           ts, open, high, low, close, volume, vwap, trade_count, as_of," \
    "                           provisional, adjustment)" \
    " SELECT symbol, timeframe, provider, now(), min(ts), max(ts), array_agg(ts)," \
    "        array_agg(old_open), array_agg(old_high), array_agg(old_low), array_agg(old_close)," \
    "        array_agg(old_volume), array_agg(old_vwap), array_agg(old_trade_count)," \
    "        array_agg(old_as_of), array_agg(old_provisional), array_agg(old_adjustment)" \
    "   FROM " from " AND old_as_of < now()" \
    "  GROUP BY symbol, timeframe, provider, batch_slice"
#define S_SAME_KEY(a, b) a ".symbol = " b ".symbol AND " a ".timeframe = " b ".timeframe" \
                         " AND " a ".ts = " b ".ts AND " a ".provider = " b ".provider"

//  Locks each slice's job_runs row if the token is live (ids in run order,
//  so two writers lock in the same order) and says which run it is.
static const char *s_fence_sql =
    "SELECT l.id IS NOT NULL, l.symbol, l.timeframe,"
    "       extract(epoch FROM l.slice_from)::bigint, extract(epoch FROM l.slice_to)::bigint"
    "  FROM unnest($1::bigint[], $2::uuid[]) WITH ORDINALITY AS u (run, token, position)"
    " CROSS JOIN LATERAL queue_lock_lease(u.run, u.token) AS l"
    " ORDER BY u.position";

//  How many of the batch's (symbol, timeframe, provider, first..last)
//  ranges already hold a row (0 means a plain COPY cannot conflict), and
//  at how many the stored first bar would be changed by the batch's (the
//  sample that predicts a revised re-delivery), out of how many ranges.
static const char *s_occupied_sql =
    "SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ohlc_bars b"
    "                WHERE b.symbol = g.symbol AND b.timeframe = g.timeframe"
    "                  AND b.ts BETWEEN to_timestamp(g.first) AND to_timestamp(g.last)"
    "                  AND b.provider = g.provider)),"
    "       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ohlc_bars b"
    "                WHERE b.symbol = g.symbol AND b.timeframe = g.timeframe"
    "                  AND b.ts = to_timestamp(g.first) AND b.provider = g.provider"
    "                  AND (b.provisional OR NOT g.provisional)"
    "                  AND (b.open, b.high, b.low, b.close, b.volume, b.provisional)"
    "                      IS DISTINCT FROM (g.open, g.high, g.low, g.close, g.volume,"
    "                                        g.provisional))),"
    "       count(*)"
    "  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],"
    "              $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[],"
    "              $11::boolean[])"
    "       AS g (symbol, timeframe, provider, first, last, open, high, low, close, volume,"
    "             provisional)";

//  The merge. One join finds, for each staged row, the stored row it
//  would change: identical rows, and provisional rows over final ones,
//  drop out there (reads only, nothing rewritten or locked). Changed rows
//  are updated by their ctid, without a second index lookup, and the
//  version they replace goes to bar_revisions; new rows are inserted. A
//  row a concurrent writer inserted or moved after the join's snapshot is
//  left alone (ON CONFLICT DO NOTHING, a stale ctid), the counts then fall
//  short and the batch is retried, so no version is ever replaced without
//  being kept. A stored row that was final is a revision, counted per
//  batch slice. Row 0: inserted, updated, how many updates and inserts
//  the join expected; then one row per slice with revisions.
static const char *s_merge_sql =
    "WITH j AS MATERIALIZED ("
    " SELECT s.*, o.ctid AS old_ctid, " S_OLD_VALUES ("o")
    "   FROM writer_stage s LEFT JOIN ohlc_bars o ON " S_SAME_KEY ("o", "s")
    "  WHERE o.ctid IS NULL OR ((o.provisional OR NOT s.provisional)"
    "        AND " S_VALUES ("o") " IS DISTINCT FROM " S_VALUES ("s") ")),"
    " u AS (UPDATE ohlc_bars b"
    "          SET open = j.open, high = j.high, low = j.low, close = j.close,"
    "              volume = j.volume, vwap = j.vwap, trade_count = j.trade_count,"
    "              provisional = j.provisional, adjustment = j.adjustment, as_of = now()"
    "         FROM j WHERE b.ctid = j.old_ctid RETURNING 1),"
    " h AS (" S_KEEP_REVISIONS ("j WHERE old_ctid IS NOT NULL") "),"
    " i AS (INSERT INTO ohlc_bars AS b (" S_COLUMNS ")"
    "       SELECT " S_COLUMNS " FROM j WHERE j.old_ctid IS NULL"
    "       ON CONFLICT (symbol, timeframe, ts, provider) DO NOTHING"
    "       RETURNING 1)"
    " SELECT -1, (SELECT count(*) FROM i), (SELECT count(*) FROM u),"
    "        (SELECT count(*) FROM j WHERE old_ctid IS NOT NULL),"
    "        (SELECT count(*) FROM j WHERE old_ctid IS NULL)"
    " UNION ALL"
    " SELECT batch_slice, count(*), 0, 0, 0 FROM j"
    "  WHERE old_ctid IS NOT NULL AND NOT old_provisional GROUP BY batch_slice";

//  The update alone, for a batch expected to change every stored row it
//  names (a revised re-delivery): one primary-key join updates each row
//  in place, with no materialized join, ctid bookkeeping or insert into
//  ohlc_bars; the
//  stored row's old provisional flag is read by its ctid to count
//  revisions, and the version it replaces goes to bar_revisions. A row
//  this leaves alone (identical, provisional over final, new, or changed
//  by a concurrent writer after the statement began, which the ctid join
//  then skips) makes the full merge run after it. One row per batch slice:
//  updated, revisions.
static const char *s_update_sql =
    "WITH u AS ("
    " UPDATE ohlc_bars b"
    "    SET open = s.open, high = s.high, low = s.low, close = s.close,"
    "        volume = s.volume, vwap = s.vwap, trade_count = s.trade_count,"
    "        provisional = s.provisional, adjustment = s.adjustment, as_of = now()"
    "   FROM writer_stage s, ohlc_bars o"
    "  WHERE " S_SAME_KEY ("b", "s") " AND o.ctid = b.ctid"
    "    AND (b.provisional OR NOT s.provisional)"
    "    AND " S_VALUES ("b") " IS DISTINCT FROM " S_VALUES ("s")
    " RETURNING s.batch_slice, b.symbol, b.timeframe, b.ts, b.provider, " S_OLD_VALUES ("o") "),"
    " h AS (" S_KEEP_REVISIONS ("u WHERE true") ")"
    " SELECT batch_slice, count(*), count(*) FILTER (WHERE NOT old_provisional)"
    "   FROM u GROUP BY batch_slice";

//  Completes the batch's finished slices; true when every one completed.
static const char *s_complete_sql =
    "SELECT coalesce(bool_and(queue_complete(u.run, u.token, u.rows)), true)"
    "  FROM unnest($1::bigint[], $2::uuid[], $3::bigint[]) AS u (run, token, rows)";

//  The result of one statement, as the flush needs to tell them apart.
typedef enum {
    S_OK,
    S_DATA,         //  a row is refused (class 22 or 23): isolate it
    S_CONFLICT,     //  unique violation on a direct COPY: merge instead
    S_TRANSIENT,    //  anything else: roll back, keep the batch, retry
} outcome_t;

//  One slice (run id + lease token) and the parts held for it.
typedef struct {
    uint64_t run_id;
    char token [GL_MSG_NAME_MAX + 1];
    char provider [33];
    char symbol [GL_MSG_SYMBOL_MAX + 1];
    char timeframe [4];
    char adjustment [6];            //  the price basis of every part
    gl_msg_t **parts;               //  held messages
    size_t part_count;
    uint32_t *seen;                 //  part numbers received, held or written
    size_t seen_count;
    bool has_last;
    uint32_t last_part;
    size_t rows_held;
    int64_t touched_ms;             //  when its latest part arrived (monotonic)
    size_t batch_index;             //  position in the flush's batch
    uint64_t rows_written;          //  by earlier forced flushes
    uint64_t revisions;             //  by earlier forced flushes
    //  One flush's view of the slice
    bool live;
    int64_t from, to;
    uint64_t batch_rows, batch_revisions;
    uint64_t batch_outside;         //  bars outside [from, to), left out
} slice_t;

//  One bar of the batch.
typedef struct {
    slice_t *slice;
    const gl_bar_t *bar;
    size_t sequence;                //  arrival order: the later bar wins
    bool bad;
} row_t;

//  A bar dropped as a duplicate of a later arrival from another slice
//  of the batch: it landed too if the row that replaced it did.
typedef struct {
    slice_t *slice;
    size_t row;                     //  the replacing row's position
} shadow_t;

struct _gl_writer_t {
    char *conninfo, *schema;
    gl_writer_options_t options;
    gl_db_t *db;
    bool connected_before;
    bool contradicted;              //  stored bars contradict the bar policy
    bool expect_changed;            //  the batch looks like a revised re-delivery
    slice_t **slices;
    size_t slice_count;
    slice_t **batch;                //  the slices of the flush in progress
    size_t batch_count;
    row_t *rows;
    size_t row_count, row_capacity;
    shadow_t *shadows;              //  in row order
    size_t shadow_count, shadow_capacity;
    char *copy;
    size_t copy_size, copy_capacity;
    bool copy_failed;               //  the COPY buffer could not grow
    gl_msg_t **written;
    size_t written_count, written_next;
    char error [S_ERROR_MAX];       //  last statement's error, one line
    char constraint [64];           //  its constraint name, if any
    outcome_t outcome;              //  last statement's outcome
    gl_writer_stats_t stats;
    gl_writer_stats_t pending;      //  counts of the flush in progress
};

//  Grows *array to hold needed elements. Returns 0, or -1 out of memory.
static int
s_grow (void **array, size_t *capacity, size_t needed, size_t element)
{
    if (needed <= *capacity)
        return 0;
    size_t wanted = *capacity? *capacity: 16;
    while (wanted < needed)
        wanted *= 2;
    void *grown = realloc (*array, wanted * element);
    if (!grown)
        return -1;
    *array = grown;
    *capacity = wanted;
    return 0;
}

//  Creates a writer; connects later.
gl_writer_t *
gl_writer_new (const char *conninfo, const char *schema, const gl_writer_options_t *options)
{
    gl_writer_t *self = (gl_writer_t *) calloc (1, sizeof (gl_writer_t));
    if (!self)
        return NULL;
    self->conninfo = conninfo? strdup (conninfo): NULL;
    self->schema = schema? strdup (schema): NULL;
    if (options)
        self->options = *options;
    if (self->options.batch_rows == 0)
        self->options.batch_rows = S_BATCH_ROWS_DEFAULT;
    if (self->options.slice_max_age_ms <= 0)
        self->options.slice_max_age_ms = S_SLICE_MAX_AGE_MS_DEFAULT;
    if ((conninfo && !self->conninfo) || (schema && !self->schema))
        gl_writer_destroy (&self);
    return self;
}

//  Milliseconds on the monotonic clock.
static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  Frees a slice and the messages it holds.
static void
s_slice_destroy (slice_t **self_p)
{
    slice_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->part_count; index++)
        gl_msg_destroy (&self->parts [index]);
    free (self->parts);
    free (self->seen);
    free (self);
    *self_p = NULL;
}

//  Destroys the writer.
void
gl_writer_destroy (gl_writer_t **self_p)
{
    gl_writer_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->slice_count; index++)
        s_slice_destroy (&self->slices [index]);
    for (size_t index = self->written_next; index < self->written_count; index++)
        gl_msg_destroy (&self->written [index]);
    free (self->slices);
    free (self->batch);
    free (self->rows);
    free (self->shadows);
    free (self->copy);
    free (self->written);
    gl_db_destroy (&self->db);
    free (self->conninfo);
    free (self->schema);
    free (self);
    *self_p = NULL;
}

//  True if text is a UUID in its canonical 8-4-4-4-12 hex form.
static bool
s_uuid_valid (const char *text)
{
    if (strlen (text) != 36)
        return false;
    for (int index = 0; index < 36; index++) {
        bool dash = index == 8 || index == 13 || index == 18 || index == 23;
        if (dash? text [index] != '-': !strchr ("0123456789abcdefABCDEF", text [index]))
            return false;
    }
    return true;
}

//  The held slice of this run and token, or NULL.
static slice_t *
s_slice_find (gl_writer_t *self, const gl_msg_t *message)
{
    for (size_t index = 0; index < self->slice_count; index++) {
        slice_t *slice = self->slices [index];
        if (slice->run_id == message->bars.run_id
        &&  strcmp (slice->token, message->bars.lease_token) == 0)
            return slice;
    }
    return NULL;
}

//  Creates and holds a new slice for the message's run and token.
static slice_t *
s_slice_new (gl_writer_t *self, const gl_msg_t *message)
{
    size_t capacity = self->slice_count;
    if (s_grow ((void **) &self->slices, &capacity, self->slice_count + 1, sizeof (slice_t *)))
        return NULL;
    slice_t *slice = (slice_t *) calloc (1, sizeof (slice_t));
    if (!slice)
        return NULL;
    slice->run_id = message->bars.run_id;
    snprintf (slice->token, sizeof (slice->token), "%s", message->bars.lease_token);
    snprintf (slice->provider, sizeof (slice->provider), "%s", message->bars.provider);
    snprintf (slice->symbol, sizeof (slice->symbol), "%s", message->bars.symbol);
    snprintf (slice->timeframe, sizeof (slice->timeframe), "%s", message->bars.timeframe);
    snprintf (slice->adjustment, sizeof (slice->adjustment), "%s", message->bars.adjustment);
    self->slices [self->slice_count++] = slice;
    return slice;
}

//  True if the slice already received this part number.
static bool
s_slice_has_part (const slice_t *slice, uint32_t part)
{
    for (size_t index = 0; index < slice->seen_count; index++)
        if (slice->seen [index] == part)
            return true;
    return false;
}

//  True when every part 0..last has arrived.
static bool
s_slice_ready (const slice_t *slice)
{
    return slice->has_last && slice->seen_count == (size_t) slice->last_part + 1;
}

//  Why the message cannot join its slice, or NULL if it can.
static const char *
s_part_conflict (const slice_t *slice, const gl_msg_t *message)
{
    if (strcmp (slice->symbol, message->bars.symbol)
    ||  strcmp (slice->timeframe, message->bars.timeframe)
    ||  strcmp (slice->provider, message->bars.provider)
    ||  strcmp (slice->adjustment, message->bars.adjustment))
        return "symbol, timeframe, provider or adjustment differ from the slice's earlier parts";
    uint32_t part = message->bars.part;
    if (slice->has_last && part > slice->last_part)
        return "part after the last part";
    if (message->bars.last)
        for (size_t index = 0; index < slice->seen_count; index++)
            if (slice->seen [index] > part)
                return "last part numbered below a part already received";
    return NULL;
}

//  Appends the message to the slice.
static int
s_slice_hold (slice_t *slice, gl_msg_t *message)
{
    size_t part_capacity = slice->part_count, seen_capacity = slice->seen_count;
    if (s_grow ((void **) &slice->parts, &part_capacity, slice->part_count + 1, sizeof (gl_msg_t *))
    ||  s_grow ((void **) &slice->seen, &seen_capacity, slice->seen_count + 1, sizeof (uint32_t)))
        return -1;
    slice->parts [slice->part_count++] = message;
    slice->seen [slice->seen_count++] = message->bars.part;
    slice->touched_ms = s_now_ms ();
    slice->rows_held += message->bars.bar_count;
    if (message->bars.last) {
        slice->has_last = true;
        slice->last_part = message->bars.part;
    }
    return 0;
}

//  Logs and counts a refused message, and destroys it.
static int
s_refuse (gl_writer_t *self, gl_msg_t **message_p, const char *reason)
{
    gl_msg_t *message = *message_p;
    if (message && message->type == GL_MSG_BARS)
        gl_log_warn ("bars_refused", "run_id=%" PRIu64 " part=%" PRIu32 " reason=\"%s\"",
                     message->bars.run_id, message->bars.part, reason);
    else
        gl_log_warn ("bars_refused", "reason=\"%s\"", reason);
    self->stats.refused++;
    gl_msg_destroy (message_p);
    return -1;
}

//  Takes a bars message into its slice.
int
gl_writer_add (gl_writer_t *self, gl_msg_t **message_p)
{
    gl_msg_t *message = *message_p;
    if (!message || message->type != GL_MSG_BARS)
        return s_refuse (self, message_p, "expected a bars message");
    if (!s_uuid_valid (message->bars.lease_token))
        return s_refuse (self, message_p, "lease_token: expected a UUID");
    slice_t *slice = s_slice_find (self, message);
    if (slice && s_slice_has_part (slice, message->bars.part)) {
        self->stats.duplicate_parts++;
        gl_msg_destroy (message_p);
        return 0;
    }
    const char *conflict = slice? s_part_conflict (slice, message): NULL;
    if (conflict)
        return s_refuse (self, message_p, conflict);
    if (!slice)
        slice = s_slice_new (self, message);
    if (!slice || s_slice_hold (slice, message) == -1)
        return s_refuse (self, message_p, "out of memory");
    *message_p = NULL;
    self->stats.messages++;
    return 0;
}

//  Drops the unfinished slices whose last part arrived longer than
//  slice_max_age_ms ago: their missing parts are not coming (a fetcher
//  died, or they went to another writer). Nothing of theirs was
//  completed; parts an earlier forced flush wrote stay stored, fenced.
size_t
gl_writer_expire (gl_writer_t *self)
{
    int64_t now = s_now_ms ();
    size_t kept = 0, expired = 0;
    for (size_t index = 0; index < self->slice_count; index++) {
        slice_t *slice = self->slices [index];
        if (s_slice_ready (slice) || now - slice->touched_ms < self->options.slice_max_age_ms) {
            self->slices [kept++] = slice;
            continue;
        }
        gl_log_warn ("slice_expired", "run_id=%" PRIu64 " symbol=%s timeframe=%s"
                     " parts_seen=%zu last_part=%s parts_dropped=%zu rows_dropped=%zu"
                     " rows_written=%" PRIu64 " age_ms=%" PRId64, slice->run_id,
                     slice->symbol, slice->timeframe, slice->seen_count,
                     slice->has_last? "known": "unknown", slice->part_count,
                     slice->rows_held, slice->rows_written, now - slice->touched_ms);
        s_slice_destroy (&slice);
        expired++;
    }
    self->slice_count = kept;
    self->stats.expired += expired;
    return expired;
}

//  Rows held in ready slices.
size_t
gl_writer_ready_rows (gl_writer_t *self)
{
    size_t rows = 0;
    for (size_t index = 0; index < self->slice_count; index++)
        if (s_slice_ready (self->slices [index]))
            rows += self->slices [index]->rows_held;
    return rows;
}

//  Slices whose every part has arrived, empty ones included.
size_t
gl_writer_ready_slices (gl_writer_t *self)
{
    size_t slices = 0;
    for (size_t index = 0; index < self->slice_count; index++)
        slices += s_slice_ready (self->slices [index]);
    return slices;
}

//  Messages held.
size_t
gl_writer_held_messages (gl_writer_t *self)
{
    size_t messages = 0;
    for (size_t index = 0; index < self->slice_count; index++)
        messages += self->slices [index]->part_count;
    return messages;
}

//  The counters.
const gl_writer_stats_t *
gl_writer_stats (gl_writer_t *self)
{
    return &self->stats;
}

//  The next WRITTEN message, or NULL.
gl_msg_t *
gl_writer_next_written (gl_writer_t *self)
{
    if (self->written_next == self->written_count) {
        self->written_next = self->written_count = 0;
        return NULL;
    }
    return self->written [self->written_next++];
}

//  Copies a server message into self->error on one line, quotes made safe
//  for logfmt.
static void
s_set_error (gl_writer_t *self, const char *message)
{
    snprintf (self->error, sizeof (self->error), "%s", message? message: "no result");
    for (char *cursor = self->error; *cursor; cursor++)
        if (*cursor == '\n' || *cursor == '"' || *cursor == '\\')
            *cursor = *cursor == '\n'? ' ': '\'';
    size_t length = strlen (self->error);
    while (length && self->error [length - 1] == ' ')
        self->error [--length] = 0;
}

//  Classifies a result against the status it should have.
static outcome_t
s_outcome (gl_writer_t *self, PGresult *result, ExecStatusType expected)
{
    self->constraint [0] = 0;
    self->outcome = S_OK;
    if (result && PQresultStatus (result) == expected)
        return S_OK;
    self->outcome = S_TRANSIENT;
    if (!result) {
        s_set_error (self, PQerrorMessage (gl_db_conn (self->db)));
        return S_TRANSIENT;
    }
    s_set_error (self, PQresultErrorMessage (result));
    const char *state = PQresultErrorField (result, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField (result, PG_DIAG_CONSTRAINT_NAME);
    snprintf (self->constraint, sizeof (self->constraint), "%s",
              constraint? constraint: state? state: "");
    if (state && strcmp (state, "23505") == 0)
        self->outcome = S_CONFLICT;
    else
    if (state && (strncmp (state, "22", 2) == 0 || strncmp (state, "23", 2) == 0))
        self->outcome = S_DATA;
    return self->outcome;
}

//  Runs a statement that returns no rows.
static outcome_t
s_exec (gl_writer_t *self, const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (self->db), sql);
    outcome_t outcome = s_outcome (self, result, PGRES_COMMAND_OK);
    PQclear (result);
    return outcome;
}

//  Opens the connection and the session's stage table if needed.
static int
s_connect (gl_writer_t *self)
{
    if (self->db && PQstatus (gl_db_conn (self->db)) == CONNECTION_OK)
        return 0;
    gl_db_destroy (&self->db);
    self->db = gl_db_new (self->conninfo, self->schema);
    if (!self->db)
        return -1;
    if (self->connected_before)
        self->stats.reconnects++;
    self->connected_before = true;
    //  No CHECKs on the stage (LIKE copies none): a bad bar is found by
    //  the insert into ohlc_bars, where it can be isolated.
    if (s_exec (self, "CREATE TEMP TABLE writer_stage (LIKE ohlc_bars INCLUDING DEFAULTS,"
                      " batch_slice integer NOT NULL)") != S_OK) {
        gl_log_error ("writer_stage_failed", "error=\"%s\"", self->error);
        gl_db_destroy (&self->db);
        return -1;
    }
    //  The stage never has statistics, and the merge's right plan never
    //  changes: per staged row, one primary-key lookup, then an update by
    //  ctid. A hash join would read all of ohlc_bars for every batch.
    if (s_exec (self, "SET enable_hashjoin = off; SET enable_mergejoin = off;"
                      " SET work_mem = '64MB'") != S_OK) {
        gl_log_error ("writer_session_failed", "error=\"%s\"", self->error);
        gl_db_destroy (&self->db);
        return -1;
    }
    //  The policy, recorded before the first bar: a bar of another grid
    //  or basis is then refused by the database from the start.
    char error [GL_CONFIG_ERROR_MAX];
    if (gl_capability_policy_adopt (gl_db_conn (self->db), &self->contradicted, error) == -1) {
        s_set_error (self, error);
        gl_log_error (self->contradicted? "writer_policy_contradicted": "writer_policy_failed",
                      "error=\"%s\"", self->error);
        gl_db_destroy (&self->db);
        return -1;
    }
    gl_log_info ("writer_connected", "schema=%s grid_1h=%s grid_4h=%s adjustment=%s",
                 gl_db_schema (self->db), gl_calendar_grid_name (gl_capability_policy_grid (GL_TF_1H)),
                 gl_calendar_grid_name (gl_capability_policy_grid (GL_TF_4H)),
                 gl_capability_adjustment_name (gl_capability_policy_adjustment ()));
    return 0;
}

//  Connects now and checks the bar policy.
int
gl_writer_check_policy (gl_writer_t *self, char *error)
{
    self->contradicted = false;
    if (s_connect (self) == -1 && self->contradicted) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "%s", self->error);
        return -1;
    }
    return 0;
}

//  Appends bytes to the COPY buffer.
static void
s_put (gl_writer_t *self, const void *data, size_t size)
{
    if (s_grow ((void **) &self->copy, &self->copy_capacity, self->copy_size + size, 1) == 0) {
        memcpy (self->copy + self->copy_size, data, size);
        self->copy_size += size;
    }
    else
        self->copy_failed = true;
}

//  Appends a 16-bit integer in network order.
static void
s_put16 (gl_writer_t *self, uint16_t value)
{
    value = htobe16 (value);
    s_put (self, &value, 2);
}

//  Appends a 32-bit integer in network order.
static void
s_put32 (gl_writer_t *self, uint32_t value)
{
    value = htobe32 (value);
    s_put (self, &value, 4);
}

//  Appends a field: its length, then its bytes.
static void
s_put_field (gl_writer_t *self, const void *data, uint32_t size)
{
    s_put32 (self, size);
    s_put (self, data, size);
}

//  Appends a bigint field (timestamptz and trade_count).
static void
s_put_int64 (gl_writer_t *self, int64_t value)
{
    uint64_t wire = htobe64 ((uint64_t) value);
    s_put_field (self, &wire, 8);
}

//  Appends a float8 field.
static void
s_put_double (gl_writer_t *self, double value)
{
    uint64_t bits;
    memcpy (&bits, &value, 8);
    bits = htobe64 (bits);
    s_put_field (self, &bits, 8);
}

//  Encodes rows [low, high) as a binary COPY stream in S_COLUMNS order,
//  then, for the stage, the row's slice in the batch.
static int
s_encode (gl_writer_t *self, size_t low, size_t high, bool staged)
{
    static const char signature [11] = "PGCOPY\n\377\r\n\0";
    self->copy_size = 0;
    self->copy_failed = false;
    s_put (self, signature, sizeof (signature));
    s_put32 (self, 0);
    s_put32 (self, 0);
    for (size_t index = low; index < high; index++) {
        const slice_t *slice = self->rows [index].slice;
        const gl_bar_t *bar = self->rows [index].bar;
        s_put16 (self, staged? 14: 13);
        s_put_field (self, slice->symbol, (uint32_t) strlen (slice->symbol));
        s_put_field (self, slice->timeframe, (uint32_t) strlen (slice->timeframe));
        s_put_int64 (self, (bar->ts - S_POSTGRES_EPOCH) * 1000000);
        s_put_field (self, slice->provider, (uint32_t) strlen (slice->provider));
        s_put_double (self, bar->open);
        s_put_double (self, bar->high);
        s_put_double (self, bar->low);
        s_put_double (self, bar->close);
        s_put_double (self, bar->volume);
        if (bar->has_vwap)
            s_put_double (self, bar->vwap);
        else
            s_put32 (self, UINT32_MAX);
        if (bar->has_trades)
            s_put_int64 (self, (int64_t) bar->trades);
        else
            s_put32 (self, UINT32_MAX);
        uint8_t provisional = bar->provisional;
        s_put_field (self, &provisional, 1);
        s_put_field (self, slice->adjustment, (uint32_t) strlen (slice->adjustment));
        if (staged) {
            uint32_t batch_slice = htobe32 ((uint32_t) slice->batch_index);
            s_put_field (self, &batch_slice, 4);
        }
    }
    s_put16 (self, UINT16_MAX);
    return self->copy_failed? -1: 0;
}

//  COPYs rows [low, high) into ohlc_bars, or into the stage.
static outcome_t
s_copy (gl_writer_t *self, bool staged, size_t low, size_t high)
{
    if (s_encode (self, low, high, staged) == -1) {
        s_set_error (self, "out of memory for the COPY buffer");
        return S_TRANSIENT;
    }
    PGconn *conn = gl_db_conn (self->db);
    char sql [256];
    snprintf (sql, sizeof sql, "COPY %s (" S_COLUMNS "%s) FROM STDIN (FORMAT binary)",
              staged? "writer_stage": "ohlc_bars", staged? ", batch_slice": "");
    PGresult *result = PQexec (conn, sql);
    outcome_t outcome = s_outcome (self, result, PGRES_COPY_IN);
    PQclear (result);
    if (outcome != S_OK)
        return outcome;
    int sent = 1;
    for (size_t offset = 0; sent == 1 && offset < self->copy_size; offset += S_COPY_CHUNK) {
        size_t size = self->copy_size - offset < S_COPY_CHUNK? self->copy_size - offset: S_COPY_CHUNK;
        sent = PQputCopyData (conn, self->copy + offset, (int) size);
    }
    PQputCopyEnd (conn, sent == 1? NULL: "the writer could not send the rows");
    result = PQgetResult (conn);
    outcome = s_outcome (self, result, PGRES_COMMAND_OK);
    PQclear (result);
    while ((result = PQgetResult (conn)))
        PQclear (result);
    return outcome;
}

//  Orders rows by (symbol, timeframe, provider, ts).
static int
s_compare_keys (const row_t *left, const row_t *right)
{
    int order = 0;
    if (left->slice != right->slice
    && ((order = strcmp (left->slice->symbol, right->slice->symbol))
     || (order = strcmp (left->slice->timeframe, right->slice->timeframe))
     || (order = strcmp (left->slice->provider, right->slice->provider))))
        return order;
    return (left->bar->ts > right->bar->ts) - (left->bar->ts < right->bar->ts);
}

//  Orders rows by key, then arrival.
static int
s_compare_rows (const void *left_p, const void *right_p)
{
    const row_t *left = left_p, *right = right_p;
    int order = s_compare_keys (left, right);
    if (order)
        return order;
    return (left->sequence > right->sequence) - (left->sequence < right->sequence);
}

//  Marks a row refused by PostgreSQL (or by us) and logs why.
static void
s_row_bad (gl_writer_t *self, row_t *row, const char *reason)
{
    row->bad = true;
    self->pending.bad_rows++;
    gl_log_warn ("bar_refused", "run_id=%" PRIu64 " symbol=%s timeframe=%s provider=%s"
                 " ts=%" PRId64 " reason=%s error=\"%s\"", row->slice->run_id,
                 row->slice->symbol, row->slice->timeframe, row->slice->provider,
                 row->bar->ts, reason, self->error);
}

//  Builds the batch's rows from live slices, sorted, one per key (the
//  latest arrival wins).
static int
s_collect_rows (gl_writer_t *self)
{
    size_t count = 0, sequence = 0;
    for (size_t index = 0; index < self->batch_count; index++)
        if (self->batch [index]->live)
            count += self->batch [index]->rows_held;
    if (s_grow ((void **) &self->rows, &self->row_capacity, count, sizeof (row_t)))
        return -1;
    self->row_count = 0;
    for (size_t index = 0; index < self->batch_count; index++) {
        slice_t *slice = self->batch [index];
        slice->batch_outside = 0;
        for (size_t part = 0; slice->live && part < slice->part_count; part++)
            for (size_t bar = 0; bar < slice->parts [part]->bars.bar_count; bar++) {
                const gl_bar_t *row = &slice->parts [part]->bars.bars [bar];
                if (row->ts < slice->from || row->ts >= slice->to)
                    slice->batch_outside++;
                else
                    self->rows [self->row_count++] = (row_t) { slice, row, sequence++, false };
            }
        self->pending.outside_rows += slice->batch_outside;
    }
    bool sorted = true;             //  the usual case: slices in order, bars in order
    for (size_t index = 1; sorted && index < self->row_count; index++)
        sorted = s_compare_rows (&self->rows [index - 1], &self->rows [index]) < 0;
    if (!sorted)
        qsort (self->rows, self->row_count, sizeof (row_t), s_compare_rows);
    size_t kept = 0;
    self->shadow_count = 0;
    for (size_t index = 0; index < self->row_count; index++) {
        if (kept && s_compare_keys (&self->rows [kept - 1], &self->rows [index]) == 0) {
            kept--;                 //  the later arrival replaces it
            size_t capacity = self->shadow_capacity;
            if (s_grow ((void **) &self->shadows, &capacity, self->shadow_count + 1,
                        sizeof (shadow_t)))
                return -1;
            self->shadow_capacity = capacity;
            self->shadows [self->shadow_count++] = (shadow_t) { self->rows [kept].slice, kept };
        }
        self->rows [kept++] = self->rows [index];
    }
    self->row_count = kept;
    for (size_t index = 0; index < self->row_count; index++) {
        const gl_bar_t *bar = self->rows [index].bar;
        if (bar->has_trades && bar->trades > INT64_MAX) {
            snprintf (self->error, sizeof self->error, "trades above 2^63-1");
            s_row_bad (self, &self->rows [index], "trade_count_range");
        }
        else
        if (bar->ts < S_TS_ENCODABLE_MIN || bar->ts > S_TS_ENCODABLE_MAX) {
            snprintf (self->error, sizeof self->error, "ts beyond any timestamp");
            s_row_bad (self, &self->rows [index], "ts_range");
        }
    }
    return 0;
}

//  Appends one element to an array literal being built in stream.
static void
s_array_add (FILE *stream, bool first, const char *value)
{
    fputs (first? "\"": ",\"", stream);
    for (const char *cursor = value; *cursor; cursor++) {
        if (*cursor == '"' || *cursor == '\\')
            fputc ('\\', stream);
        fputc (*cursor, stream);
    }
    fputc ('"', stream);
}

//  Text of a PostgreSQL array literal, built by open_memstream.
typedef struct {
    FILE *stream;
    char *text;
    size_t size;
    bool first;
} literal_t;

//  Starts an empty array literal.
static void
s_literal_open (literal_t *literal)
{
    *literal = (literal_t) { .first = true };
    literal->stream = open_memstream (&literal->text, &literal->size);
    if (literal->stream)
        fputc ('{', literal->stream);
}

//  Appends a text element to the literal.
static void
s_literal_add (literal_t *literal, const char *value)
{
    if (literal->stream)
        s_array_add (literal->stream, literal->first, value);
    literal->first = false;
}

//  Appends an integer element to the literal.
static void
s_literal_add_int (literal_t *literal, int64_t value)
{
    char text [24];
    snprintf (text, sizeof text, "%" PRId64, value);
    s_literal_add (literal, text);
}

//  Closes the literal; its text stays in literal->text (free it).
static void
s_literal_close (literal_t *literal)
{
    if (literal->stream) {
        fputc ('}', literal->stream);
        fclose (literal->stream);
    }
}

//  Runs a query with text parameters; returns the result or NULL with
//  self->error set.
static PGresult *
s_query (gl_writer_t *self, const char *sql, int count, const char *const *values)
{
    PGresult *result = PQexecParams (gl_db_conn (self->db), sql, count, NULL, values,
                                     NULL, NULL, 0);
    if (s_outcome (self, result, PGRES_TUPLES_OK) != S_OK) {
        PQclear (result);
        return NULL;
    }
    return result;
}

//  Orders slices by run id (the lock order), then token.
static int
s_compare_slices (const void *left_p, const void *right_p)
{
    const slice_t *left = *(slice_t *const *) left_p, *right = *(slice_t *const *) right_p;
    if (left->run_id != right->run_id)
        return left->run_id > right->run_id? 1: -1;
    return strcmp (left->token, right->token);
}

//  Locks each slice's run if its token is live; marks the slices live.
static int
s_fence (gl_writer_t *self)
{
    literal_t runs, tokens;
    s_literal_open (&runs);
    s_literal_open (&tokens);
    for (size_t index = 0; index < self->batch_count; index++) {
        s_literal_add_int (&runs, (int64_t) self->batch [index]->run_id);
        s_literal_add (&tokens, self->batch [index]->token);
    }
    s_literal_close (&runs);
    s_literal_close (&tokens);
    const char *values [] = { runs.text, tokens.text };
    PGresult *result = runs.text && tokens.text? s_query (self, s_fence_sql, 2, values): NULL;
    free (runs.text);
    free (tokens.text);
    if (!result || PQntuples (result) != (int) self->batch_count) {
        PQclear (result);
        return -1;
    }
    for (size_t index = 0; index < self->batch_count; index++) {
        slice_t *slice = self->batch [index];
        int row = (int) index;
        bool locked = strcmp (PQgetvalue (result, row, 0), "t") == 0;
        slice->live = locked && strcmp (PQgetvalue (result, row, 1), slice->symbol) == 0
                   && strcmp (PQgetvalue (result, row, 2), slice->timeframe) == 0;
        if (locked && !slice->live)
            gl_log_warn ("bars_mismatch", "run_id=%" PRIu64 " symbol=%s timeframe=%s"
                         " run_symbol=%s run_timeframe=%s", slice->run_id, slice->symbol,
                         slice->timeframe, PQgetvalue (result, row, 1), PQgetvalue (result, row, 2));
        else
        if (!locked)
            gl_log_info ("bars_stale", "run_id=%" PRIu64 " parts=%zu rows=%zu", slice->run_id,
                         slice->part_count, slice->rows_held);
        if (locked && !slice->live)
            self->pending.mismatched++;
        else
        if (!slice->live)
            self->pending.stale++;
        slice->from = locked? strtoll (PQgetvalue (result, row, 3), NULL, 10): 0;
        slice->to = locked? strtoll (PQgetvalue (result, row, 4), NULL, 10): 0;
        slice->batch_rows = slice->batch_revisions = 0;
    }
    PQclear (result);
    return 0;
}

//  Appends a float8 element to the literal, exactly.
static void
s_literal_add_double (literal_t *literal, double value)
{
    char text [32];
    snprintf (text, sizeof text, "%.17g", value);
    s_literal_add (literal, text);
}

//  True when the next row's slice extends the range of the previous
//  row's: the same slice, or the same series' next slice, starting where
//  that one ends. Slices of one series with another slice between them
//  (several fetchers deliver out of order) are separate ranges, or the
//  range would span bars stored by the slice between, and send a batch
//  of fresh bars to the merge.
static bool
s_same_range (const slice_t *previous, const slice_t *next)
{
    return previous == next
        || (previous->to == next->from && !strcmp (previous->symbol, next->symbol)
            && !strcmp (previous->timeframe, next->timeframe)
            && !strcmp (previous->provider, next->provider));
}

//  True if some (symbol, timeframe, provider) range of the rows already
//  holds a bar; -1 on failure. Predicts a revised re-delivery when the
//  stored first bar of every range would be changed.
static int
s_occupied (gl_writer_t *self)
{
    literal_t symbols, timeframes, providers, firsts, lasts, opens, highs, lows, closes,
              volumes, provisionals;
    literal_t *literals [] = { &symbols, &timeframes, &providers, &firsts, &lasts, &opens,
                               &highs, &lows, &closes, &volumes, &provisionals };
    const int count = (int) (sizeof literals / sizeof literals [0]);
    for (int index = 0; index < count; index++)
        s_literal_open (literals [index]);
    for (size_t first = 0, index = 1; index <= self->row_count; index++) {
        const row_t *row = &self->rows [first];
        if (index < self->row_count && s_same_range (self->rows [index - 1].slice,
                                                     self->rows [index].slice))
            continue;
        s_literal_add (&symbols, row->slice->symbol);
        s_literal_add (&timeframes, row->slice->timeframe);
        s_literal_add (&providers, row->slice->provider);
        s_literal_add_int (&firsts, row->bar->ts);
        s_literal_add_int (&lasts, self->rows [index - 1].bar->ts);
        s_literal_add_double (&opens, row->bar->open);
        s_literal_add_double (&highs, row->bar->high);
        s_literal_add_double (&lows, row->bar->low);
        s_literal_add_double (&closes, row->bar->close);
        s_literal_add_double (&volumes, row->bar->volume);
        s_literal_add (&provisionals, row->bar->provisional? "t": "f");
        first = index;
    }
    const char *values [sizeof literals / sizeof literals [0]];
    bool built = true;
    for (int index = 0; index < count; index++) {
        s_literal_close (literals [index]);
        values [index] = literals [index]->text;
        built = built && values [index];
    }
    PGresult *result = built? s_query (self, s_occupied_sql, count, values): NULL;
    for (int index = 0; index < count; index++)
        free (literals [index]->text);
    int occupied = result? strcmp (PQgetvalue (result, 0, 0), "0") != 0: -1;
    self->expect_changed = result && strcmp (PQgetvalue (result, 0, 1), "0") != 0
                        && strcmp (PQgetvalue (result, 0, 1), PQgetvalue (result, 0, 2)) == 0;
    PQclear (result);
    return occupied;
}

//  s_occupied under a savepoint: a data error there (a ts PostgreSQL
//  cannot hold) sends the batch to the merge, which isolates the row,
//  instead of failing the whole flush. 1 occupied, 0 empty, -1 failed.
static int
s_occupied_guarded (gl_writer_t *self)
{
    if (s_exec (self, "SAVEPOINT occupied") != S_OK)
        return -1;
    int occupied = s_occupied (self);
    if (occupied != -1)
        return s_exec (self, "RELEASE SAVEPOINT occupied") == S_OK? occupied: -1;
    if (self->outcome != S_DATA)
        return -1;
    gl_log_debug ("writer_occupied_refused", "error=\"%s\"", self->error);
    if (s_exec (self, "ROLLBACK TO SAVEPOINT occupied") != S_OK
    ||  s_exec (self, "RELEASE SAVEPOINT occupied") != S_OK)
        return -1;
    self->expect_changed = false;
    return 1;
}

//  Rows the update-first statement changed (its column 1, summed).
static uint64_t
s_updated_rows (PGresult *result)
{
    uint64_t updated = 0;
    for (int index = 0; index < PQntuples (result); index++)
        updated += strtoull (PQgetvalue (result, index, 1), NULL, 10);
    return updated;
}

//  Adds the update-first statement's updated rows and per-slice revisions
//  (column 2) to the flush's counts.
static void
s_count_updates (gl_writer_t *self, PGresult *result)
{
    self->pending.updated += s_updated_rows (result);
    for (int index = 0; index < PQntuples (result); index++) {
        size_t slice = strtoull (PQgetvalue (result, index, 0), NULL, 10);
        uint64_t revisions = strtoull (PQgetvalue (result, index, 2), NULL, 10);
        if (slice < self->batch_count)
            self->batch [slice]->batch_revisions += revisions;
        self->pending.revisions += revisions;
    }
}

//  Stages rows [low, high) and merges them into ohlc_bars. When the batch
//  looks like a revised re-delivery, the plain update runs first and the
//  full merge only if some row is left; counts are taken only once every
//  statement succeeded.
static outcome_t
s_merge (gl_writer_t *self, size_t low, size_t high)
{
    outcome_t outcome = s_exec (self, "TRUNCATE writer_stage");
    if (outcome == S_OK)
        outcome = s_copy (self, true, low, high);
    if (outcome != S_OK)
        return outcome;
    PGresult *first = NULL;
    if (self->expect_changed) {
        first = PQexec (gl_db_conn (self->db), s_update_sql);
        outcome = s_outcome (self, first, PGRES_TUPLES_OK);
        uint64_t updated = outcome == S_OK? s_updated_rows (first): 0;
        if (outcome == S_OK && updated == high - low)
            s_count_updates (self, first);
        if (outcome != S_OK || updated == high - low) {
            PQclear (first);
            return outcome;
        }
    }
    PGresult *result = PQexec (gl_db_conn (self->db), s_merge_sql);
    outcome = s_outcome (self, result, PGRES_TUPLES_OK);
    if (outcome == S_OK && (strcmp (PQgetvalue (result, 0, 2), PQgetvalue (result, 0, 3)) != 0
                        ||  strcmp (PQgetvalue (result, 0, 1), PQgetvalue (result, 0, 4)) != 0)) {
        //  A concurrent writer moved or inserted a row after the join.
        s_set_error (self, "a stored bar changed under the merge; the batch is retried");
        outcome = S_TRANSIENT;
    }
    if (outcome == S_OK) {
        self->pending.inserted += strtoull (PQgetvalue (result, 0, 1), NULL, 10);
        self->pending.updated += strtoull (PQgetvalue (result, 0, 2), NULL, 10);
        if (first)
            s_count_updates (self, first);
        for (int index = 1; index < PQntuples (result); index++) {
            size_t slice = strtoull (PQgetvalue (result, index, 0), NULL, 10);
            uint64_t revisions = strtoull (PQgetvalue (result, index, 1), NULL, 10);
            if (slice < self->batch_count)
                self->batch [slice]->batch_revisions += revisions;
            self->pending.revisions += revisions;
        }
    }
    PQclear (result);
    PQclear (first);
    return outcome;
}

//  Merges rows [low, high) under a savepoint; when a row is refused,
//  bisects to find it, so every good row lands.
static outcome_t
s_merge_isolating (gl_writer_t *self, size_t low, size_t high)
{
    if (low == high)
        return S_OK;
    if (s_exec (self, "SAVEPOINT piece") != S_OK)
        return S_TRANSIENT;
    gl_writer_stats_t before = self->pending;
    outcome_t outcome = s_merge (self, low, high);
    if (outcome == S_OK)
        return s_exec (self, "RELEASE SAVEPOINT piece");
    if (outcome != S_DATA && outcome != S_CONFLICT)
        return S_TRANSIENT;         //  class 22 and 23 belong to a row; the rest is retried
    self->pending = before;
    char reason [sizeof self->constraint];
    memcpy (reason, self->constraint, sizeof reason);
    if (s_exec (self, "ROLLBACK TO SAVEPOINT piece") != S_OK
    ||  s_exec (self, "RELEASE SAVEPOINT piece") != S_OK)
        return S_TRANSIENT;
    if (high - low == 1) {
        s_row_bad (self, &self->rows [low], reason);
        return S_OK;
    }
    size_t middle = low + (high - low) / 2;
    outcome = s_merge_isolating (self, low, middle);
    return outcome == S_OK? s_merge_isolating (self, middle, high): outcome;
}

//  Writes the batch's rows: COPY straight into ohlc_bars when their
//  ranges are empty (under a savepoint, falling back to the merge on a
//  conflict), else through the stage.
static outcome_t
s_write_rows (gl_writer_t *self)
{
    size_t good = 0;
    for (size_t index = 0; index < self->row_count; index++)
        good += !self->rows [index].bad;
    if (good == 0)
        return S_OK;
    self->expect_changed = false;
    if (good == self->row_count) {
        int occupied = s_occupied_guarded (self);
        if (occupied == -1)
            return S_TRANSIENT;
        if (!occupied) {
            if (s_exec (self, "SAVEPOINT direct") != S_OK)
                return S_TRANSIENT;
            outcome_t outcome = s_copy (self, false, 0, self->row_count);
            if (outcome == S_OK) {
                self->pending.inserted += self->row_count;
                self->pending.direct_copies++;
                return s_exec (self, "RELEASE SAVEPOINT direct");
            }
            if (outcome == S_TRANSIENT
            ||  s_exec (self, "ROLLBACK TO SAVEPOINT direct") != S_OK
            ||  s_exec (self, "RELEASE SAVEPOINT direct") != S_OK)
                return S_TRANSIENT;
            gl_log_debug ("writer_direct_fallback", "reason=%s", self->constraint);
        }
    }
    self->pending.merges++;
    //  Rows marked bad before the write are left out piece by piece.
    for (size_t low = 0; low < self->row_count; ) {
        while (low < self->row_count && self->rows [low].bad)
            low++;
        size_t high = low;
        while (high < self->row_count && !self->rows [high].bad)
            high++;
        if (s_merge_isolating (self, low, high) != S_OK)
            return S_TRANSIENT;
        low = high;
    }
    return S_OK;
}

//  Counts, for each slice, the rows of its own that landed: a bar two
//  slices of the batch both hold is stored once, and counts for both.
static void
s_count_landed (gl_writer_t *self)
{
    for (size_t index = 0; index < self->row_count; index++)
        if (!self->rows [index].bad) {
            self->rows [index].slice->batch_rows++;
            self->pending.rows++;
        }
    for (size_t index = 0; index < self->shadow_count; index++) {
        const shadow_t *shadow = &self->shadows [index];
        const row_t *row = &self->rows [shadow->row];
        bool counted = row->bad || row->slice == shadow->slice;
        for (size_t earlier = index; !counted && earlier-- > 0
                                  && self->shadows [earlier].row == shadow->row; )
            counted = self->shadows [earlier].slice == shadow->slice;
        if (!counted)
            shadow->slice->batch_rows++;
    }
}

//  Counts each live slice's landed rows, then completes the finished ones.
static int
s_complete (gl_writer_t *self)
{
    s_count_landed (self);
    literal_t runs, tokens, rows;
    s_literal_open (&runs);
    s_literal_open (&tokens);
    s_literal_open (&rows);
    for (size_t index = 0; index < self->batch_count; index++) {
        slice_t *slice = self->batch [index];
        if (!slice->live || !s_slice_ready (slice))
            continue;
        s_literal_add_int (&runs, (int64_t) slice->run_id);
        s_literal_add (&tokens, slice->token);
        s_literal_add_int (&rows, (int64_t) (slice->rows_written + slice->batch_rows));
    }
    s_literal_close (&runs);
    s_literal_close (&tokens);
    s_literal_close (&rows);
    const char *values [] = { runs.text, tokens.text, rows.text };
    PGresult *result = runs.text && tokens.text && rows.text
                     ? s_query (self, s_complete_sql, 3, values): NULL;
    free (runs.text);
    free (tokens.text);
    free (rows.text);
    int completed = result && strcmp (PQgetvalue (result, 0, 0), "t") == 0? 0: -1;
    if (result && completed == -1)
        s_set_error (self, "queue_complete refused a slice whose lease this transaction holds");
    PQclear (result);
    return completed;
}

//  Picks the slices to write: ready ones, and with force every one that
//  holds parts. Returns how many.
static size_t
s_pick_batch (gl_writer_t *self, bool force)
{
    size_t capacity = self->batch_count;
    self->batch_count = 0;
    if (s_grow ((void **) &self->batch, &capacity, self->slice_count, sizeof (slice_t *)))
        return 0;
    for (size_t index = 0; index < self->slice_count; index++) {
        slice_t *slice = self->slices [index];
        if (s_slice_ready (slice) || (force && slice->part_count))
            self->batch [self->batch_count++] = slice;
    }
    if (self->batch_count > 1)      //  qsort's array must not be NULL, even empty
        qsort (self->batch, self->batch_count, sizeof (slice_t *), s_compare_slices);
    for (size_t index = 0; index < self->batch_count; index++)
        self->batch [index]->batch_index = index;
    return self->batch_count;
}

//  Queues the WRITTEN message of a completed slice.
static void
s_queue_written (gl_writer_t *self, const slice_t *slice)
{
    size_t capacity = self->written_count;
    gl_msg_t *written = gl_msg_new (GL_MSG_WRITTEN);
    if (!written || s_grow ((void **) &self->written, &capacity, self->written_count + 1,
                            sizeof (gl_msg_t *))) {
        gl_msg_destroy (&written);
        gl_log_error ("written_dropped", "run_id=%" PRIu64 " reason=out_of_memory", slice->run_id);
        return;
    }
    written->written.run_id = slice->run_id;
    snprintf (written->written.symbol, sizeof written->written.symbol, "%s", slice->symbol);
    snprintf (written->written.timeframe, sizeof written->written.timeframe, "%s", slice->timeframe);
    written->written.from = slice->from;
    written->written.to = slice->to;
    written->written.rows = slice->rows_written + slice->batch_rows;
    written->written.revisions = slice->revisions + slice->batch_revisions;
    self->written [self->written_count++] = written;
}

//  After COMMIT: completed and stale slices go, written parts are let go.
static void
s_settle (gl_writer_t *self)
{
    for (size_t index = 0; index < self->batch_count; index++) {
        slice_t *slice = self->batch [index];
        if (slice->live && s_slice_ready (slice)) {
            s_queue_written (self, slice);
            self->pending.slices++;
        }
        if (slice->batch_outside)
            gl_log_warn ("bars_outside_slice", "run_id=%" PRIu64 " symbol=%s timeframe=%s"
                         " from=%" PRId64 " to=%" PRId64 " rows=%" PRIu64, slice->run_id,
                         slice->symbol, slice->timeframe, slice->from, slice->to,
                         slice->batch_outside);
        slice->rows_written += slice->batch_rows;
        slice->revisions += slice->batch_revisions;
        for (size_t part = 0; part < slice->part_count; part++)
            gl_msg_destroy (&slice->parts [part]);
        slice->part_count = 0;
        slice->rows_held = 0;
    }
    size_t kept = 0;
    for (size_t index = 0; index < self->slice_count; index++) {
        slice_t *slice = self->slices [index];
        bool in_batch = false;
        for (size_t member = 0; member < self->batch_count && !in_batch; member++)
            in_batch = self->batch [member] == slice;
        if (in_batch && (!slice->live || s_slice_ready (slice)))
            s_slice_destroy (&slice);
        else
            self->slices [kept++] = slice;
    }
    self->slice_count = kept;
}

//  Adds the flush's counts to the totals.
static void
s_add_pending (gl_writer_t *self)
{
    uint64_t *total = (uint64_t *) &self->stats;
    const uint64_t *pending = (const uint64_t *) &self->pending;
    for (size_t index = 0; index < sizeof (gl_writer_stats_t) / sizeof (uint64_t); index++)
        total [index] += pending [index];
}

//  One transaction: fence, write, complete, commit.
static int
s_transaction (gl_writer_t *self)
{
    if (s_exec (self, "BEGIN") != S_OK || s_fence (self) == -1 || s_collect_rows (self) == -1)
        return -1;
    if (s_write_rows (self) != S_OK || s_complete (self) == -1)
        return -1;
    return s_exec (self, "COMMIT") == S_OK? 0: -1;
}

//  Writes the ready slices (all held ones with force) in one transaction.
int
gl_writer_flush (gl_writer_t *self, bool force)
{
    if (s_pick_batch (self, force) == 0)
        return 0;
    memset (&self->pending, 0, sizeof self->pending);
    if (s_connect (self) == -1 || s_transaction (self) == -1) {
        self->stats.failures++;
        gl_log_warn ("writer_flush_failed", "slices=%zu error=\"%s\"", self->batch_count,
                     self->db? self->error: "no connection");
        if (self->db && PQstatus (gl_db_conn (self->db)) == CONNECTION_OK
        &&  PQtransactionStatus (gl_db_conn (self->db)) != PQTRANS_IDLE
        &&  s_exec (self, "ROLLBACK") != S_OK)
            gl_db_destroy (&self->db);
        return -1;
    }
    s_settle (self);
    s_add_pending (self);
    return 0;
}
