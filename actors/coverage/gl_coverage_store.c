/*  gl_coverage_store — the tracker's rows in PostgreSQL. See
    gl_coverage_store.h.
*/
#include "gl_coverage_store.h"
#include "gl_log.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ERRORS_MAX 100000     //  failing slices loaded at most

//  Runs a query with text parameters; returns the result, or NULL (logged).
static PGresult *
s_query (gl_db_t *db, const char *sql, int count, const char *const *values,
         ExecStatusType expected)
{
    PGresult *result = PQexecParams (gl_db_conn (db), sql, count, NULL, values, NULL, NULL, 0);
    if (gl_db_check (db, result, expected) == 0)
        return result;
    gl_log_warn ("coverage_query_failed", "error=\"%s\"", gl_db_error (db));
    PQclear (result);
    return NULL;
}

//  A result's value as an integer.
static int64_t
s_int (PGresult *result, int row, int column)
{
    return strtoll (PQgetvalue (result, row, column), NULL, 10);
}

//  Applies each row (symbol, timeframe, from, to[, extra]) of a query.
typedef int (s_row_fn) (gl_coverage_t *coverage, const char *symbol, gl_timeframe_t timeframe,
                        int64_t from, int64_t to, const char *extra);

//  Loads the rows of sql through a row function. Returns how many, or -1.
static int64_t
s_load_ranges (gl_db_t *db, gl_coverage_t *coverage, const char *sql, s_row_fn *apply)
{
    PGresult *result = s_query (db, sql, 0, NULL, PGRES_TUPLES_OK);
    if (!result)
        return -1;
    int64_t loaded = 0;
    for (int row = 0; row < PQntuples (result); row++) {
        gl_timeframe_t timeframe = gl_timeframe_parse (PQgetvalue (result, row, 1));
        const char *extra = PQnfields (result) > 4? PQgetvalue (result, row, 4): NULL;
        if (apply (coverage, PQgetvalue (result, row, 0), timeframe, s_int (result, row, 2),
                   s_int (result, row, 3), extra) == 0)
            loaded++;
    }
    PQclear (result);
    return loaded;
}

static int
s_apply_cover (gl_coverage_t *coverage, const char *symbol, gl_timeframe_t timeframe,
               int64_t from, int64_t to, const char *extra)
{
    return gl_coverage_cover (coverage, symbol, timeframe, from, to);
}

static int
s_apply_no_trades (gl_coverage_t *coverage, const char *symbol, gl_timeframe_t timeframe,
                   int64_t from, int64_t to, const char *extra)
{
    return gl_coverage_add_no_trades (coverage, symbol, timeframe, from, to);
}

static int
s_apply_error (gl_coverage_t *coverage, const char *symbol, gl_timeframe_t timeframe,
               int64_t from, int64_t to, const char *extra)
{
    return gl_coverage_add_error (coverage, symbol, timeframe, from, to);
}

//  The bits of "polygon,yahoo".
static uint32_t
s_provider_bits (const char *list)
{
    uint32_t bits = 0;
    char names [256], *saveptr = NULL;
    snprintf (names, sizeof names, "%s", list);
    for (char *name = strtok_r (names, ",", &saveptr); name; name = strtok_r (NULL, ",", &saveptr)) {
        gl_provider_t provider = gl_capability_parse_name (name);
        if (provider != GL_PROVIDER_INVALID)
            bits |= 1u << provider;
    }
    return bits;
}

//  A hole's providers come as "polygon,yahoo|alpaca": tried, then asked.
static int
s_apply_hole (gl_coverage_t *coverage, const char *symbol, gl_timeframe_t timeframe,
              int64_t from, int64_t to, const char *extra)
{
    char tried [256];
    snprintf (tried, sizeof tried, "%s", extra? extra: "");
    char *asked = strchr (tried, '|');
    if (asked)
        *asked++ = '\0';
    gl_coverage_hole_t hole = { from, to, s_provider_bits (tried), s_provider_bits (asked? asked: "") };
    return gl_coverage_add_hole (coverage, symbol, timeframe, &hole);
}

#define S_EPOCH(column) "extract(epoch FROM " column ")::bigint"

#define S_SYMBOLS_SELECT \
    "SELECT ticker, calendar, tier, coalesce(" \
    S_EPOCH ("listed_on::timestamp AT TIME ZONE 'UTC'") ", 0) FROM symbols"

//  Records the symbols a query of S_SYMBOLS_SELECT returns. Returns how
//  many, or -1.
static int64_t
s_load_symbols (gl_db_t *db, gl_coverage_t *coverage, const char *sql, int count,
                const char *const *values)
{
    PGresult *result = s_query (db, sql, count, values, PGRES_TUPLES_OK);
    if (!result)
        return -1;
    int64_t loaded = 0;
    for (int row = 0; row < PQntuples (result); row++)
        loaded += gl_coverage_set_symbol (coverage, PQgetvalue (result, row, 0),
                                          gl_calendar_kind_parse (PQgetvalue (result, row, 1)),
                                          PQgetvalue (result, row, 2), s_int (result, row, 3)) == 0;
    PQclear (result);
    return loaded;
}

int64_t
gl_coverage_store_symbols (gl_db_t *db, gl_coverage_t *coverage)
{
    return s_load_symbols (db, coverage, S_SYMBOLS_SELECT, 0, NULL);
}

int64_t
gl_coverage_store_symbol (gl_db_t *db, gl_coverage_t *coverage, const char *ticker)
{
    const char *values [] = { ticker };
    return s_load_symbols (db, coverage, S_SYMBOLS_SELECT " WHERE ticker = $1", 1, values);
}

//  Takes the grid each hourly timeframe was first stored on (bar_grids):
//  the bars it expects are the bars the store can hold.
static int
s_load_grids (gl_db_t *db, gl_coverage_t *coverage)
{
    PGresult *result = s_query (db, "SELECT timeframe, grid FROM bar_grids", 0, NULL,
                                PGRES_TUPLES_OK);
    if (!result)
        return -1;
    for (int row = 0; row < PQntuples (result); row++)
        gl_coverage_set_grid (coverage, gl_timeframe_parse (PQgetvalue (result, row, 0)),
                              gl_calendar_grid_parse (PQgetvalue (result, row, 1)));
    PQclear (result);
    return 0;
}

int64_t
gl_coverage_store_load (gl_db_t *db, gl_coverage_t *coverage)
{
    if (s_load_grids (db, coverage) || gl_coverage_store_symbols (db, coverage) < 0)
        return -1;
    int64_t covered = s_load_ranges (db, coverage, "SELECT symbol, timeframe, "
                                     S_EPOCH ("range_from") ", " S_EPOCH ("range_to")
                                     "  FROM coverage ORDER BY symbol, timeframe, range_from",
                                     s_apply_cover);
    if (covered < 0
    ||  s_load_ranges (db, coverage, "SELECT symbol, timeframe, " S_EPOCH ("range_from") ", "
                       S_EPOCH ("range_to") " FROM coverage_no_trades", s_apply_no_trades) < 0
    ||  s_load_ranges (db, coverage, "SELECT symbol, timeframe, " S_EPOCH ("range_from") ", "
                       S_EPOCH ("range_to") ", array_to_string(providers_tried, ',') || '|'"
                       " || array_to_string(providers_asked, ',')"
                       "  FROM coverage_holes ORDER BY range_from", s_apply_hole) < 0
    ||  gl_coverage_store_errors (db, coverage) < 0)
        return -1;
    //  What was just loaded is what the database holds
    while (gl_coverage_take_changed (coverage, GL_COVERAGE_UNSAVED) >= 0)
        ;
    return covered;
}

int64_t
gl_coverage_store_errors (gl_db_t *db, gl_coverage_t *coverage)
{
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT symbol, timeframe, " S_EPOCH ("slice_from") ", "
              S_EPOCH ("slice_to") " FROM job_runs"
              " WHERE status IN ('dead', 'failed_will_retry') LIMIT %d", S_ERRORS_MAX);
    gl_coverage_clear_errors (coverage);
    return s_load_ranges (db, coverage, sql, s_apply_error);
}

//  Appends "{a,b,...}" of a set's bounds (from or to) to an array literal.
static void
s_bounds_literal (const gl_rangeset_t *set, bool upper, char *buffer, size_t size)
{
    size_t used = (size_t) snprintf (buffer, size, "{");
    for (size_t index = 0; index < gl_rangeset_size (set) && used < size; index++) {
        const gl_range_t *range = gl_rangeset_at (set, index);
        used += (size_t) snprintf (buffer + used, size - used, "%s%" PRId64, index? ",": "",
                                   upper? range->to: range->from);
    }
    if (used < size)
        snprintf (buffer + used, size - used, "}");
}

//  Replaces a table's ranges of one symbol-timeframe with a set's.
static int
s_save_set (gl_db_t *db, const char *table, const char *symbol, const char *timeframe,
            const gl_rangeset_t *set)
{
    char sql [256];
    snprintf (sql, sizeof sql, "DELETE FROM %s WHERE symbol = $1 AND timeframe = $2", table);
    const char *keys [] = { symbol, timeframe };
    PGresult *result = s_query (db, sql, 2, keys, PGRES_COMMAND_OK);
    if (!result)
        return -1;
    PQclear (result);
    size_t size = gl_rangeset_size (set);
    if (size == 0)
        return 0;
    size_t literal_size = size * 22 + 4;
    char *froms = (char *) malloc (literal_size), *tos = (char *) malloc (literal_size);
    int rc = -1;
    if (froms && tos) {
        s_bounds_literal (set, false, froms, literal_size);
        s_bounds_literal (set, true, tos, literal_size);
        snprintf (sql, sizeof sql, "INSERT INTO %s (symbol, timeframe, range_from, range_to)"
                  " SELECT $1, $2, to_timestamp(f), to_timestamp(t)"
                  "   FROM unnest($3::bigint[], $4::bigint[]) AS u (f, t)", table);
        const char *values [] = { symbol, timeframe, froms, tos };
        result = s_query (db, sql, 4, values, PGRES_COMMAND_OK);
        rc = result? 0: -1;
        PQclear (result);
    }
    free (froms);
    free (tos);
    return rc;
}

//  The array literal "{polygon,yahoo}" of provider bits.
static void
s_provider_literal (uint32_t bits, char *buffer, size_t size)
{
    size_t used = (size_t) snprintf (buffer, size, "{");
    for (int provider = 1; provider <= GL_PROVIDER_COUNT && used < size; provider++)
        if (bits & (1u << provider))
            used += (size_t) snprintf (buffer + used, size - used, "%s%s", used > 1? ",": "",
                                       gl_capability_name ((gl_provider_t) provider));
    if (used < size)
        snprintf (buffer + used, size - used, "}");
}

//  Replaces one symbol-timeframe's holes.
static int
s_save_holes (gl_db_t *db, gl_coverage_t *coverage, size_t index, const char *symbol,
              const char *timeframe)
{
    const char *keys [] = { symbol, timeframe };
    PGresult *result = s_query (db, "DELETE FROM coverage_holes WHERE symbol = $1"
                                " AND timeframe = $2", 2, keys, PGRES_COMMAND_OK);
    if (!result)
        return -1;
    PQclear (result);
    size_t count = 0;
    const gl_coverage_hole_t *holes = gl_coverage_holes (coverage, index, &count);
    for (size_t hole = 0; hole < count; hole++) {
        char from [24], to [24], tried [128], asked [128];
        snprintf (from, sizeof from, "%" PRId64, holes [hole].from);
        snprintf (to, sizeof to, "%" PRId64, holes [hole].to);
        s_provider_literal (holes [hole].tried, tried, sizeof tried);
        s_provider_literal (holes [hole].asked, asked, sizeof asked);
        const char *values [] = { symbol, timeframe, from, to, tried, asked };
        result = s_query (db, "INSERT INTO coverage_holes (symbol, timeframe, range_from,"
                          " range_to, providers_tried, providers_asked) VALUES ($1, $2,"
                          " to_timestamp($3), to_timestamp($4), $5, $6) ON CONFLICT DO NOTHING",
                          6, values, PGRES_COMMAND_OK);
        if (!result)
            return -1;
        PQclear (result);
    }
    return 0;
}

//  Upserts the summary row of coverage_status.
static int
s_save_status (gl_db_t *db, gl_coverage_t *coverage, size_t index, const char *symbol,
               const char *timeframe)
{
    const gl_rangeset_t *covered = gl_coverage_covered (coverage, index);
    size_t size = gl_rangeset_size (covered), holes = 0;
    gl_coverage_holes (coverage, index, &holes);
    char first [24] = "", last [24] = "", gaps [24];
    if (size) {
        snprintf (first, sizeof first, "%" PRId64, gl_rangeset_at (covered, 0)->from);
        snprintf (last, sizeof last, "%" PRId64, gl_rangeset_at (covered, size - 1)->to);
    }
    snprintf (gaps, sizeof gaps, "%zu", holes);
    const char *values [] = { symbol, timeframe, size? first: NULL, size? last: NULL, gaps };
    PGresult *result = s_query (db, "INSERT INTO coverage_status (symbol, timeframe,"
                                " first_covered, last_covered, last_success_at, gap_count,"
                                " checked_at) VALUES ($1, $2, to_timestamp($3::bigint),"
                                " to_timestamp($4::bigint), now(), $5, now())"
                                " ON CONFLICT (symbol, timeframe) DO UPDATE SET"
                                " first_covered = EXCLUDED.first_covered,"
                                " last_covered = EXCLUDED.last_covered,"
                                " last_success_at = now(), gap_count = EXCLUDED.gap_count,"
                                " checked_at = now()", 5, values, PGRES_COMMAND_OK);
    PQclear (result);
    return result? 0: -1;
}

int
gl_coverage_store_save (gl_db_t *db, gl_coverage_t *coverage, size_t index)
{
    const char *symbol;
    gl_timeframe_t timeframe;
    if (gl_coverage_key (coverage, index, &symbol, &timeframe))
        return -1;
    const char *name = gl_timeframe_name (timeframe);
    if (gl_db_exec (db, "BEGIN"))
        return -1;
    if (s_save_set (db, "coverage", symbol, name, gl_coverage_covered (coverage, index))
    ||  s_save_set (db, "coverage_no_trades", symbol, name, gl_coverage_no_trades (coverage, index))
    ||  s_save_holes (db, coverage, index, symbol, name)
    ||  s_save_status (db, coverage, index, symbol, name)
    ||  gl_db_exec (db, "COMMIT")) {
        gl_db_exec (db, "ROLLBACK");
        return -1;
    }
    return 0;
}

//  The text parameters of a slice query.
typedef struct {
    char from [24], to [24];
    const char *values [4];
} s_slice_t;

static void
s_slice (s_slice_t *slice, const char *symbol, gl_timeframe_t timeframe, int64_t from, int64_t to)
{
    snprintf (slice->from, sizeof slice->from, "%" PRId64, from);
    snprintf (slice->to, sizeof slice->to, "%" PRId64, to);
    slice->values [0] = symbol;
    slice->values [1] = gl_timeframe_name (timeframe);
    slice->values [2] = slice->from;
    slice->values [3] = slice->to;
}

#define S_SLICE_WHERE \
    " FROM ohlc_bars WHERE symbol = $1 AND timeframe = $2" \
    "  AND ts >= to_timestamp($3::bigint) AND ts < to_timestamp($4::bigint)"

int64_t
gl_coverage_store_count (gl_db_t *db, const char *symbol, gl_timeframe_t timeframe,
                         int64_t from, int64_t to)
{
    s_slice_t slice;
    s_slice (&slice, symbol, timeframe, from, to);
    //  DISTINCT in a subquery is an index-only scan with Unique on top;
    //  count(DISTINCT ts) would sort
    PGresult *result = s_query (db, "SELECT count(*) FROM (SELECT DISTINCT ts" S_SLICE_WHERE ") d",
                                4, slice.values, PGRES_TUPLES_OK);
    int64_t count = result? s_int (result, 0, 0): -1;
    PQclear (result);
    return count;
}

int64_t
gl_coverage_store_starts (gl_db_t *db, const char *symbol, gl_timeframe_t timeframe,
                          int64_t from, int64_t to, int64_t **starts)
{
    s_slice_t slice;
    s_slice (&slice, symbol, timeframe, from, to);
    *starts = NULL;
    PGresult *result = s_query (db, "SELECT DISTINCT " S_EPOCH ("ts") S_SLICE_WHERE
                                " ORDER BY 1", 4, slice.values, PGRES_TUPLES_OK);
    if (!result)
        return -1;
    int rows = PQntuples (result);
    *starts = (int64_t *) malloc ((size_t) (rows? rows: 1) * sizeof (int64_t));
    for (int row = 0; *starts && row < rows; row++)
        (*starts) [row] = s_int (result, row, 0);
    PQclear (result);
    return *starts? rows: -1;
}

int64_t
gl_coverage_store_days (gl_db_t *db, const char *symbol, int64_t from, int64_t to,
                        gl_coverage_day_t **days)
{
    s_slice_t slice;
    s_slice (&slice, symbol, GL_TF_1D, from, to);
    *days = NULL;
    //  Both sides read the bars view with constant bounds, which it takes
    //  into its index scans; a lateral join per day would not be
    PGresult *result = s_query (db,
        "WITH m AS (SELECT date_trunc('day', ts, 'UTC') AS day,"
        "                  (array_agg(open ORDER BY ts))[1] AS open, max(high) AS high,"
        "                  min(low) AS low, (array_agg(close ORDER BY ts DESC))[1] AS close,"
        "                  sum(volume) AS volume"
        "             FROM bars WHERE symbol = $1 AND timeframe = '1m'"
        "              AND ts >= to_timestamp($3::bigint)"
        "              AND ts < to_timestamp($4::bigint) + interval '1 day'"
        "            GROUP BY 1)"
        "SELECT " S_EPOCH ("d.ts") ", d.open, d.high, d.low, d.close, d.volume,"
        "       m.open, m.high, m.low, m.close, m.volume"
        "  FROM bars d JOIN m ON m.day = d.ts"
        " WHERE d.symbol = $1 AND d.timeframe = $2 AND d.ts >= to_timestamp($3::bigint)"
        "   AND d.ts < to_timestamp($4::bigint) ORDER BY d.ts", 4, slice.values, PGRES_TUPLES_OK);
    if (!result)
        return -1;
    int rows = PQntuples (result);
    *days = (gl_coverage_day_t *) calloc ((size_t) (rows? rows: 1), sizeof (gl_coverage_day_t));
    for (int row = 0; *days && row < rows; row++) {
        (*days) [row].day = s_int (result, row, 0);
        for (int field = 0; field < 5; field++) {
            (*days) [row].daily [field] = strtod (PQgetvalue (result, row, 1 + field), NULL);
            (*days) [row].minutes [field] = strtod (PQgetvalue (result, row, 6 + field), NULL);
        }
    }
    PQclear (result);
    return *days? rows: -1;
}

//  Whether the WRITTEN names a slice the writer completed.
int
gl_coverage_store_run (gl_db_t *db, uint64_t run_id, const char *symbol,
                       gl_timeframe_t timeframe, int64_t from, int64_t to,
                       gl_provider_t *provider_p)
{
    *provider_p = GL_PROVIDER_INVALID;
    if (run_id > INT64_MAX)
        return 0;               //  job_runs.id is a bigint
    char id [24], start [24], end [24];
    snprintf (id, sizeof id, "%" PRIu64, run_id);
    snprintf (start, sizeof start, "%" PRId64, from);
    snprintf (end, sizeof end, "%" PRId64, to);
    const char *values [] = { id, symbol, gl_timeframe_name (timeframe), start, end };
    PGresult *result = s_query (db, "SELECT coalesce(provider, '') FROM job_runs WHERE id = $1"
                                " AND symbol = $2 AND timeframe = $3::timeframe AND slice_from ="
                                " to_timestamp($4::bigint) AND slice_to = to_timestamp($5::bigint)"
                                " AND status = 'succeeded'", 5, values, PGRES_TUPLES_OK);
    int found = result? PQntuples (result) == 1: -1;
    if (found == 1)
        *provider_p = gl_capability_parse_name (PQgetvalue (result, 0, 0));
    PQclear (result);
    return found;
}
