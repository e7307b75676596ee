/*  gl_coverage_store — the coverage tracker's PostgreSQL side: loads what
    gl_coverage holds (bar_grids, symbols, coverage, coverage_no_trades,
    coverage_holes, failing job_runs), writes a symbol-timeframe back
    (coverage, coverage_no_trades, coverage_holes, coverage_status, in one
    transaction), and reads the bar starts of one slice from ohlc_bars
    (an index range scan) for the continuity audit, and daily bars beside
    their day's 1m aggregate for the reconciliation.

    Each function returns -1 with the server's message in gl_db_error
    when a statement fails; the caller reconnects and retries.
*/
#ifndef GL_COVERAGE_STORE_H_INCLUDED
#define GL_COVERAGE_STORE_H_INCLUDED

#include "gl_coverage.h"
#include "gl_db.h"

//  Loads the hourly grids (bar_grids), every symbol, covered range,
//  no-trades range and hole. Returns the number of covered ranges
//  loaded, or -1.
int64_t gl_coverage_store_load (gl_db_t *db, gl_coverage_t *coverage);

//  Loads (again) every symbol's calendar, tier and listing date. Returns
//  how many, or -1.
int64_t gl_coverage_store_symbols (gl_db_t *db, gl_coverage_t *coverage);

//  Loads one symbol (a primary-key lookup). Returns 1 if found, 0 if
//  the table does not hold it, or -1.
int64_t gl_coverage_store_symbol (gl_db_t *db, gl_coverage_t *coverage, const char *ticker);

//  Replaces the failing ranges with the slices of job_runs that are dead
//  or waiting for a retry. Returns how many, or -1.
int64_t gl_coverage_store_errors (gl_db_t *db, gl_coverage_t *coverage);

//  Writes one symbol-timeframe's rows. Returns 0 or -1 (rolled back).
int gl_coverage_store_save (gl_db_t *db, gl_coverage_t *coverage, size_t index);

//  Distinct bar starts stored for a symbol-timeframe in [from, to).
//  Returns the count, or -1.
int64_t gl_coverage_store_count (gl_db_t *db, const char *symbol, gl_timeframe_t timeframe,
                                 int64_t from, int64_t to);

//  The distinct bar starts stored in [from, to), sorted, into *starts
//  (caller frees). Returns the count, or -1.
int64_t gl_coverage_store_starts (gl_db_t *db, const char *symbol, gl_timeframe_t timeframe,
                                  int64_t from, int64_t to, int64_t **starts);

//  A daily bar beside the aggregate of the 1m bars of its day: open,
//  high, low, close, volume each.
typedef struct {
    int64_t day;                //  the 1d bar's start: the session date, 00:00 UTC
    double daily [5], minutes [5];
} gl_coverage_day_t;

//  Each 1d bar of a symbol in [from, to) (the bars view: one bar per
//  time) with the aggregate of the same UTC day's 1m bars (first open,
//  highest high, lowest low, last close, summed volume), for days that
//  have both, into *days (caller frees). Returns the count, or -1.
int64_t gl_coverage_store_days (gl_db_t *db, const char *symbol, int64_t from, int64_t to,
                                gl_coverage_day_t **days);

//  Whether run_id is a succeeded slice of exactly symbol, timeframe and
//  [from, to), as a WRITTEN says: 1 with the provider of its last attempt
//  in *provider_p (GL_PROVIDER_INVALID when none), 0 when it is not, -1
//  when the database could not say.
int gl_coverage_store_run (gl_db_t *db, uint64_t run_id, const char *symbol,
                           gl_timeframe_t timeframe, int64_t from, int64_t to,
                           gl_provider_t *provider_p);

#endif
