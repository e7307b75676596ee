/*  test_store_bars — the bar tables against a real PostgreSQL: impossible
    rows are refused with an error naming the broken rule, a bar is stored
    once per provider, and the bars view picks one bar per time by
    provider precedence; a timeframe's price basis is recorded by its
    first bars and holds for the rest.
*/
#include "gl_test.h"
#include "gl_db.h"
#include "gl_testdb.h"

#include <stdlib.h>

//  Runs an insert of bars; returns the name of the constraint it broke, ""
//  if it was stored, or the SQLSTATE when no constraint is named.
static const char *
s_store (gl_db_t *db, char *broken, const char *sql, int count, const char *const *values)
{
    PGresult *result = PQexecParams (gl_db_conn (db), sql, count, NULL, values, NULL, NULL, 0);
    int rc = gl_db_check (db, result, PGRES_COMMAND_OK);
    const char *constraint = PQresultErrorField (result, PG_DIAG_CONSTRAINT_NAME);
    const char *state = PQresultErrorField (result, PG_DIAG_SQLSTATE);
    snprintf (broken, 64, "%s", rc == 0? "": constraint? constraint: state? state: "?");
    PQclear (result);
    return broken;
}

//  Inserts one bar (s_store's answer).
static const char *
s_insert (gl_db_t *db, char *broken, const char *timeframe, const char *provider,
          const char *open, const char *high, const char *low, const char *close,
          const char *volume, const char *provisional)
{
    const char *values [] = { timeframe, provider, open, high, low, close, volume, provisional };
    return s_store (db, broken,
        "INSERT INTO ohlc_bars (symbol, timeframe, ts, provider, open, high, low, close, "
        "                       volume, provisional, adjustment) "
        "VALUES ('AAPL', $1, '2025-01-02 14:30Z', $2, $3, $4, $5, $6, $7, $8, 'split')",
        8, values);
}

//  Returns the one value of a query, or "<error>".
static const char *
s_value (gl_db_t *db, char *buffer, const char *sql)
{
    PGresult *result = PQexec (gl_db_conn (db), sql);
    if (PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1)
        snprintf (buffer, 256, "%s", PQgetvalue (result, 0, 0));
    else
        snprintf (buffer, 256, "<error>");
    PQclear (result);
    return buffer;
}

//  Impossible bars are refused, each naming its rule in a clear error.
static void
s_test_constraints (gl_db_t *db)
{
    char broken [64];
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "9", "11", "10", "5", "f"),
                  "bar_high_at_least_low");
    GL_CHECK (strstr (gl_db_error (db), "violates check constraint \"bar_high_at_least_low\""));
    GL_CHECK (strstr (gl_db_error (db), "SQLSTATE 23514"));
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "11", "9", "10", "-1", "f"),
                  "bar_volume_not_negative");
    GL_CHECK_STR (s_insert (db, broken, "2m", "polygon", "10", "11", "9", "10", "5", "f"),
                  "timeframe_known");
    GL_CHECK (strstr (gl_db_error (db), "timeframe"));
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "12", "11", "9", "10", "5", "f"),
                  "bar_high_covers_open_close");
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "11", "9", "8", "5", "f"),
                  "bar_low_covers_open_close");
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "NaN", "9", "10", "5", "f"),
                  "bar_prices_finite");
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "Infinity", "9", "10", "5", "f"),
                  "bar_prices_finite");
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "11", "9", "10", "NaN", "f"),
                  "bar_volume_not_negative");
    char value [256];
    GL_CHECK_STR (s_value (db, value, "SELECT count(*) FROM ohlc_bars"), "0");
    //  A flat bar with no volume is possible
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "10", "10", "10", "0", "f"), "");
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "10", "10", "10", "0", "f"),
                  "ohlc_bars_pkey");
    GL_CHECK_INT (gl_db_exec (db, "DELETE FROM ohlc_bars"), 0);
}

//  Other tables refuse impossible rows too.
static void
s_test_other_constraints (gl_db_t *db)
{
    GL_CHECK_INT (gl_db_exec (db,
        "INSERT INTO job_runs (symbol, timeframe, slice_from, slice_to) "
        "VALUES ('AAPL', '1m', '2025-01-02', '2025-01-01')"), -1);
    GL_CHECK (strstr (gl_db_error (db), "job_run_range_not_empty"));
    GL_CHECK_INT (gl_db_exec (db,
        "INSERT INTO job_runs (symbol, timeframe, slice_from, slice_to, status) "
        "VALUES ('AAPL', '1m', '2025-01-01', '2025-01-02', 'running')"), -1);
    GL_CHECK (strstr (gl_db_error (db), "job_run_lease_iff_running"));
    GL_CHECK_INT (gl_db_exec (db,
        "INSERT INTO job_runs (symbol, timeframe, slice_from, slice_to, status) "
        "VALUES ('AAPL', '1m', '2025-01-01', '2025-01-02', 'lost')"), -1);
    GL_CHECK (strstr (gl_db_error (db), "job_run_status_known"));
    GL_CHECK_INT (gl_db_exec (db, "INSERT INTO symbols (ticker, tier) VALUES ('AAPL', 'T9')"), -1);
    GL_CHECK (strstr (gl_db_error (db), "symbol_tier_known"));
    GL_CHECK_INT (gl_db_exec (db,
        "INSERT INTO symbols (ticker, tier, calendar) VALUES ('BTC-USD', 'T0', '24x7')"), 0);
}

//  The bars view: final before provisional, then provider precedence.
static void
s_test_precedence (gl_db_t *db)
{
    char broken [64], value [256];
    GL_CHECK_STR (s_insert (db, broken, "1m", "tradier", "10", "11", "9", "10", "5", "f"), "");
    GL_CHECK_STR (s_insert (db, broken, "1m", "polygon", "10", "12", "9", "10", "5", "f"), "");
    GL_CHECK_STR (s_insert (db, broken, "1m", "newcomer", "10", "13", "9", "10", "5", "f"), "");
    GL_CHECK_STR (s_insert (db, broken, "1d", "polygon", "10", "11", "9", "10", "5", "f"), "");
    GL_CHECK_STR (s_insert (db, broken, "1d", "yahoo", "10", "12", "9", "10", "5", "f"), "");
    GL_CHECK_STR (s_insert (db, broken, "5m", "polygon", "10", "11", "9", "10", "5", "t"), "");
    GL_CHECK_STR (s_insert (db, broken, "5m", "tradier", "10", "12", "9", "10", "5", "f"), "");
    GL_CHECK_STR (s_insert (db, broken, "15m", "zeta", "10", "11", "9", "10", "5", "f"), "");
    GL_CHECK_STR (s_insert (db, broken, "15m", "alpha", "10", "12", "9", "10", "5", "f"), "");
    GL_CHECK_STR (s_value (db, value,
        "SELECT string_agg(timeframe || '=' || provider || ':' || high, ' ' ORDER BY timeframe) "
        "FROM bars WHERE symbol = 'AAPL'"),
        "15m=alpha:12 1d=yahoo:12 1m=polygon:12 5m=tradier:12");
    GL_CHECK_STR (s_value (db, value, "SELECT count(*) FROM ohlc_bars"), "9");
}

//  Inserts one weekly bar of basis at ts (s_store's answer).
static const char *
s_insert_basis (gl_db_t *db, char *broken, const char *ts, const char *basis)
{
    const char *values [] = { ts, basis };
    return s_store (db, broken,
        "INSERT INTO ohlc_bars (symbol, timeframe, ts, provider, open, high, low, close,"
        "                       volume, adjustment) "
        "VALUES ('BASIS', '1w', $1, 'polygon', 10, 11, 9, 10, 5, $2)", 2, values);
}

//  A timeframe's first bars record its basis; a bar of another basis is
//  then refused, naming both, and one of the recorded basis is stored.
static void
s_test_basis (gl_db_t *db)
{
    char state [64], value [256];
    GL_CHECK_STR (s_value (db, value, "WITH d AS (DELETE FROM bar_adjustments"
                                      " WHERE timeframe = '1w' RETURNING 1) SELECT count(*) FROM d"),
                  "1");
    GL_CHECK_STR (s_insert_basis (db, state, "2025-01-06", "raw"), "");
    GL_CHECK_STR (s_value (db, value, "SELECT adjustment FROM bar_adjustments WHERE timeframe = '1w'"),
                  "raw");
    GL_CHECK_STR (s_insert_basis (db, state, "2025-01-13", "split"), "23514");
    GL_CHECK (strstr (gl_db_error (db), "bar_adjustment_mismatch: 1w bars are stored with raw prices"));
    GL_CHECK_STR (s_insert_basis (db, state, "2025-01-13", "raw"), "");
    GL_CHECK_STR (s_value (db, value, "SELECT string_agg(adjustment, ',' ORDER BY ts) FROM ohlc_bars"
                                      " WHERE symbol = 'BASIS'"), "raw,raw");
}

int
main (void)
{
    gl_db_t *db = gl_testdb_new ("store_bars");
    GL_CHECK (db != NULL);
    if (!db)
        return gl_test_done ("test_store_bars");
    s_test_constraints (db);
    s_test_other_constraints (db);
    s_test_precedence (db);
    s_test_basis (db);
    gl_db_destroy (&db);
    return gl_test_done ("test_store_bars");
}
