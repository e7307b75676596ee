/*  gl_ops_store — ops' read-only queries.  */
#include "gl_ops_store.h"
#include "gl_db.h"
#include "gl_log.h"
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct _gl_ops_store_t {
    char *conninfo, *schema;
    gl_db_t *db;
    bool up;
    int64_t retry_at_ms;        //  no new connection before (monotonic)
    int64_t retry_ms;           //  the wait after the next failed attempt
    char since [64];            //  server time of the previous slice scan
    char error [512];
};

gl_ops_store_t *
gl_ops_store_new (const char *conninfo, const char *schema)
{
    gl_ops_store_t *self = (gl_ops_store_t *) calloc (1, sizeof (gl_ops_store_t));
    if (!self)
        return NULL;
    self->conninfo = conninfo? strdup (conninfo): NULL;
    self->schema = strdup (schema? schema: GL_DB_SCHEMA_DEFAULT);
    if ((conninfo && !self->conninfo) || !self->schema)
        gl_ops_store_destroy (&self);
    return self;
}

void
gl_ops_store_destroy (gl_ops_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_db_destroy (&(*self_p)->db);
    free ((*self_p)->conninfo);
    free ((*self_p)->schema);
    free (*self_p);
    *self_p = NULL;
}

bool
gl_ops_store_up (gl_ops_store_t *self)
{
    return self->up;
}

const char *
gl_ops_store_error (gl_ops_store_t *self)
{
    return self->error;
}

//  Records the state after a query; logs only when it changes.
static void
s_state (gl_ops_store_t *self, bool up, const char *error)
{
    if (up && !self->up)
        gl_log_info ("database_up", "schema=%s", self->schema);
    if (up)
        self->retry_ms = GL_OPS_STORE_RETRY_MS;
    if (!up && self->up)
        gl_log_warn ("database_down", "schema=%s error=%s", self->schema, GL_LOG_VALUE (error));
    self->up = up;
    snprintf (self->error, sizeof self->error, "%s", up? "": error);
}

//  The connection, made again if it broke; NULL when down.
static PGconn *
s_conn (gl_ops_store_t *self)
{
    if (self->db && PQstatus (gl_db_conn (self->db)) == CONNECTION_OK)
        return gl_db_conn (self->db);
    gl_db_destroy (&self->db);
    if (zclock_mono () < self->retry_at_ms)
        return NULL;
    if (self->retry_ms < GL_OPS_STORE_RETRY_MS)
        self->retry_ms = GL_OPS_STORE_RETRY_MS;
    self->retry_at_ms = zclock_mono () + self->retry_ms;
    self->retry_ms = self->retry_ms * 2 > GL_OPS_STORE_RETRY_MAX_MS? GL_OPS_STORE_RETRY_MAX_MS
                                                                  : self->retry_ms * 2;
    self->db = gl_db_new (self->conninfo, self->schema);
    if (!self->db) {
        s_state (self, false, "cannot connect to PostgreSQL");
        return NULL;
    }
    return gl_db_conn (self->db);
}

//  Runs a query with text parameters. Returns the result (caller clears
//  it), or NULL with the state set down.
static PGresult *
s_query (gl_ops_store_t *self, const char *sql, int count, const char *const *values)
{
    PGconn *conn = s_conn (self);
    if (!conn) {
        if (self->up || !*self->error)
            s_state (self, false, "cannot connect to PostgreSQL");
        return NULL;
    }
    PGresult *result = PQexecParams (conn, sql, count, NULL, values, NULL, NULL, 0);
    if (PQresultStatus (result) != PGRES_TUPLES_OK) {
        s_state (self, false, PQerrorMessage (conn));
        PQclear (result);
        if (PQstatus (conn) != CONNECTION_OK)
            gl_db_destroy (&self->db);
        return NULL;
    }
    s_state (self, true, "");
    return result;
}

//  A PostgreSQL array literal of ids ({1,2}). Caller owns return value;
//  NULL on out of memory.
static char *
s_ids_literal (const int64_t *ids, size_t count)
{
    size_t size = count * 21 + 3, used = 0;
    char *literal = (char *) malloc (size);
    if (!literal)
        return NULL;
    literal [used++] = '{';
    for (size_t index = 0; index < count; index++)
        used += (size_t) snprintf (literal + used, size - used, "%s%" PRId64, index? ",": "",
                                   ids [index]);
    snprintf (literal + used, size - used, "}");
    return literal;
}

//  A column as a number, or as text into a buffer.
static int64_t
s_number (PGresult *result, int row, int column)
{
    return strtoll (PQgetvalue (result, row, column), NULL, 10);
}

static void
s_text (PGresult *result, int row, int column, char *buffer, size_t size)
{
    snprintf (buffer, size, "%s", PQgetvalue (result, row, column));
}

int
gl_ops_store_backfills (gl_ops_store_t *self, int64_t after_id, bool unfinished,
                        int64_t *ids, size_t size)
{
    char after [24], limit [24];
    snprintf (after, sizeof after, "%" PRId64, after_id);
    snprintf (limit, sizeof limit, "%zu", size);
    const char *values [] = { after, limit };
    PGresult *result = s_query (self, unfinished
        ? "SELECT id FROM backfills WHERE id > $1::bigint"
          " UNION SELECT id FROM backfill_progress"
          " WHERE status IN ('queued', 'running', 'paused') ORDER BY 1 LIMIT $2::bigint"
        : "SELECT id FROM backfills WHERE id > $1::bigint ORDER BY 1 LIMIT $2::bigint",
        2, values);
    if (!result)
        return -1;
    int rows = PQntuples (result);
    for (int row = 0; row < rows; row++)
        ids [row] = s_number (result, row, 0);
    PQclear (result);
    return rows;
}

int64_t
gl_ops_store_newest_backfill (gl_ops_store_t *self)
{
    PGresult *result = s_query (self, "SELECT coalesce(max(id), 0) FROM backfills", 0, NULL);
    if (!result)
        return -1;
    int64_t newest = s_number (result, 0, 0);
    PQclear (result);
    return newest;
}

//  The progress row of a backfill id, by binary search (rows by id).
static gl_ops_progress_t *
s_progress_find (gl_ops_progress_t *rows, size_t count, int64_t id)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (rows [middle].id < id)
            low = middle + 1;
        else
            high = middle;
    }
    return low < count && rows [low].id == id? &rows [low]: NULL;
}

//  Fills the counts of the view's rows.
static void
s_progress_rows (PGresult *result, gl_ops_progress_t *rows)
{
    for (int row = 0; row < PQntuples (result); row++) {
        gl_ops_progress_t *progress = &rows [row];
        *progress = (gl_ops_progress_t) { .id = s_number (result, row, 0) };
        s_text (result, row, 1, progress->status, sizeof progress->status);
        s_text (result, row, 2, progress->timeframe, sizeof progress->timeframe);
        s_text (result, row, 3, progress->provider, sizeof progress->provider);
        int64_t *numbers [] = { &progress->range_from, &progress->range_to, &progress->priority,
                                &progress->created_at, &progress->total, &progress->queued,
                                &progress->running, &progress->succeeded, &progress->retrying,
                                &progress->dead, &progress->cancelled, &progress->paused,
                                &progress->bars_written, &progress->oldest_queued_s };
        for (int column = 0; column < 14; column++)
            *numbers [column] = s_number (result, row, 4 + column);
        progress->age_s = atof (PQgetvalue (result, row, 18));
    }
}

//  Adds the per-provider sums of the slices to the rows.
static void
s_progress_sums (PGresult *result, gl_ops_progress_t *rows, size_t count)
{
    for (int row = 0; row < PQntuples (result); row++) {
        gl_ops_progress_t *progress = s_progress_find (rows, count, s_number (result, row, 0));
        if (!progress)
            continue;
        gl_provider_t provider = gl_capability_parse_name (PQgetvalue (result, row, 1));
        progress->bars_by_provider [provider] += s_number (result, row, 2);
        progress->retries += s_number (result, row, 3);
        progress->recent_bars += s_number (result, row, 4);
        progress->recent_succeeded += s_number (result, row, 5);
        int64_t finished = s_number (result, row, 6);
        if (finished > progress->last_finished_ms)
            progress->last_finished_ms = finished;
    }
}

int
gl_ops_store_progress (gl_ops_store_t *self, const int64_t *ids, size_t count,
                       gl_ops_progress_fn *progress, void *argument)
{
    if (count == 0)
        return 0;
    char *literal = s_ids_literal (ids, count);
    if (!literal)
        return -1;
    const char *values [] = { literal };
    PGresult *view = s_query (self,
        "SELECT id, status, timeframe, coalesce(provider, ''),"
        " extract(epoch FROM range_from)::bigint, extract(epoch FROM range_to)::bigint,"
        " priority, extract(epoch FROM created_at)::bigint, slices_total, slices_queued,"
        " slices_running, slices_succeeded, slices_retrying, slices_dead, slices_cancelled,"
        " slices_paused, bars_written,"
        " coalesce(extract(epoch FROM now() - oldest_queued_at)::bigint, -1),"
        " extract(epoch FROM now() - created_at)"
        " FROM backfill_progress WHERE id = ANY ($1::bigint[]) ORDER BY id", 1, values);
    PGresult *sums = view? s_query (self,
        "SELECT r.of_backfill, coalesce(r.provider, ''), sum(r.rows_written), sum(r.attempt),"
        " coalesce(sum(r.rows_written) FILTER (WHERE r.finished_at > now() - interval '60 s'), 0),"
        " count(*) FILTER (WHERE r.status = 'succeeded'"
        "                  AND r.finished_at > now() - interval '60 s'),"
        " coalesce((extract(epoch FROM max(r.finished_at)) * 1000)::bigint, 0)"
        " FROM backfill_run_rows r"
        " WHERE r.of_backfill = ANY ($1::bigint[]) GROUP BY 1, 2", 1, values): NULL;
    free (literal);
    int found = -1;
    size_t rows = view? (size_t) PQntuples (view): 0;
    gl_ops_progress_t *table = sums && rows? (gl_ops_progress_t *) calloc (rows, sizeof *table)
                                           : NULL;
    if (sums && (table || rows == 0)) {
        if (rows) {
            s_progress_rows (view, table);
            s_progress_sums (sums, table, rows);
        }
        for (size_t row = 0; row < rows; row++)
            progress (&table [row], argument);
        found = (int) rows;
    }
    free (table);
    PQclear (view);
    PQclear (sums);
    return found;
}

int
gl_ops_store_run_backfills (gl_ops_store_t *self, const int64_t *run_ids, size_t count,
                            gl_ops_pair_fn *pair, void *argument)
{
    if (count == 0)
        return 0;
    char *literal = s_ids_literal (run_ids, count);
    if (!literal)
        return -1;
    const char *values [] = { literal };
    PGresult *result = s_query (self, "SELECT backfill_id, run_id FROM backfill_runs"
                                      " WHERE run_id = ANY ($1::bigint[])", 1, values);
    free (literal);
    if (!result)
        return -1;
    for (int row = 0; row < PQntuples (result); row++)
        pair (s_number (result, row, 0), s_number (result, row, 1), argument);
    PQclear (result);
    return 0;
}

int
gl_ops_store_slices (gl_ops_store_t *self, const int64_t *ids, size_t count, size_t limit,
                     gl_ops_slice_fn *slice, void *argument)
{
    PGresult *now = s_query (self, "SELECT now()::text", 0, NULL);
    if (!now)
        return -1;
    char since [64];
    snprintf (since, sizeof since, "%s", *self->since? self->since: PQgetvalue (now, 0, 0));
    snprintf (self->since, sizeof self->since, "%s", PQgetvalue (now, 0, 0));
    PQclear (now);
    if (count == 0)
        return 0;
    char *literal = s_ids_literal (ids, count), text_limit [24];
    if (!literal)
        return -1;
    snprintf (text_limit, sizeof text_limit, "%zu", limit);
    //  updated_at is the transaction's start: a slice committed a moment
    //  after the previous scan may carry an earlier time, hence the margin.
    const char *values [] = { literal, since, text_limit };
    PGresult *result = s_query (self,
        "SELECT r.of_backfill, r.id, r.symbol, r.timeframe, r.status, coalesce(r.provider, ''),"
        " coalesce(r.error_class, ''), left(coalesce(r.error_message, ''), 200),"
        " extract(epoch FROM r.slice_from)::bigint, extract(epoch FROM r.slice_to)::bigint,"
        " r.attempt, r.rows_written"
        " FROM backfill_run_rows r"
        " WHERE r.of_backfill = ANY ($1::bigint[])"
        " AND r.updated_at > $2::timestamptz - interval '2 s'"
        " ORDER BY r.updated_at LIMIT $3::bigint", 3, values);
    free (literal);
    if (!result)
        return -1;
    for (int row = 0; row < PQntuples (result); row++) {
        gl_ops_slice_t item = { .backfill_id = s_number (result, row, 0),
                                .run_id = s_number (result, row, 1) };
        s_text (result, row, 2, item.symbol, sizeof item.symbol);
        s_text (result, row, 3, item.timeframe, sizeof item.timeframe);
        s_text (result, row, 4, item.status, sizeof item.status);
        s_text (result, row, 5, item.provider, sizeof item.provider);
        s_text (result, row, 6, item.error_class, sizeof item.error_class);
        s_text (result, row, 7, item.error_message, sizeof item.error_message);
        item.from = s_number (result, row, 8);
        item.to = s_number (result, row, 9);
        item.attempt = s_number (result, row, 10);
        item.rows = s_number (result, row, 11);
        slice (&item, argument);
    }
    PQclear (result);
    return 0;
}

int
gl_ops_store_stats (gl_ops_store_t *self, gl_ops_stats_t *stats)
{
    PGresult *queue = s_query (self,
        "SELECT coalesce(s.tier, 'T2'), r.status, r.priority, count(*),"
        " extract(epoch FROM now() - min(r.created_at))::bigint"
        " FROM job_runs r LEFT JOIN symbols s ON s.ticker = r.symbol"
        " GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 256", 0, NULL);
    PGresult *jobs = queue? s_query (self,
        "SELECT r.timeframe, coalesce(r.provider, ''), r.status, count(*), CASE WHEN d.freshness"
        " THEN 'freshness' WHEN d.id IS NOT NULL THEN 'window' ELSE 'request' END"
        " FROM job_runs r LEFT JOIN backfills b ON b.id = r.backfill_id"
        " LEFT JOIN job_definitions d ON d.id = b.job_definition_id"
        " WHERE r.status IN ('running', 'succeeded', 'dead') GROUP BY 1, 2, 3, 5"
        " ORDER BY 4 DESC LIMIT 256", 0, NULL): NULL;
    if (!jobs) {
        PQclear (queue);
        return -1;
    }
    stats->queue_count = (size_t) PQntuples (queue);
    for (int row = 0; row < PQntuples (queue); row++) {
        s_text (queue, row, 0, stats->queue [row].tier, sizeof stats->queue [row].tier);
        s_text (queue, row, 1, stats->queue [row].status, sizeof stats->queue [row].status);
        stats->queue [row].priority = s_number (queue, row, 2);
        stats->queue [row].count = s_number (queue, row, 3);
        stats->queue [row].oldest_s = s_number (queue, row, 4);
    }
    stats->job_count = (size_t) PQntuples (jobs);
    for (int row = 0; row < PQntuples (jobs); row++) {
        s_text (jobs, row, 0, stats->jobs [row].timeframe, sizeof stats->jobs [row].timeframe);
        s_text (jobs, row, 1, stats->jobs [row].provider, sizeof stats->jobs [row].provider);
        s_text (jobs, row, 4, stats->jobs [row].type, sizeof stats->jobs [row].type);
        s_text (jobs, row, 2, stats->jobs [row].status, sizeof stats->jobs [row].status);
        stats->jobs [row].count = s_number (jobs, row, 3);
    }
    PQclear (queue);
    PQclear (jobs);
    return 0;
}
