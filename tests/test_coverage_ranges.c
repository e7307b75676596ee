/*  test_coverage_ranges — gl_rangeset and gl_coverage without the actor:
    merging and cutting ranges; a symbol stored session by session from
    2019 to 2027 has no gap on any holiday, early close or DST day and
    costs one range; a missing 10:31 bar is one gap of one bar; a hole
    every allowed provider answered without becomes no trades; nothing is
    expected before the listing date; failing slices count as provider
    errors; the freshness SLO sees a lagging symbol.
*/
#include "gl_coverage.h"
#include "gl_rangeset.h"
#include "gl_test.h"
#include <stdlib.h>

#define DATE(y, m, d) gl_calendar_date_utc (y, m, d)
#define MINUTE 60

//  Sorted disjoint ranges: add merges, remove cuts, lookups find.
static void
s_test_rangeset (void)
{
    gl_rangeset_t *set = gl_rangeset_new ();
    GL_CHECK_INT (gl_rangeset_add (set, 10, 10), -1);
    GL_CHECK_INT (gl_rangeset_add (set, 20, 10), -1);
    GL_CHECK_INT (gl_rangeset_add (set, 10, 20), 0);
    GL_CHECK_INT (gl_rangeset_add (set, 30, 40), 0);
    GL_CHECK_INT (gl_rangeset_add (set, 50, 60), 0);
    GL_CHECK_INT (gl_rangeset_size (set), 3);
    //  Touching merges; bridging two merges three
    GL_CHECK_INT (gl_rangeset_add (set, 20, 25), 0);
    GL_CHECK_INT (gl_rangeset_size (set), 3);
    GL_CHECK_INT (gl_rangeset_at (set, 0)->to, 25);
    GL_CHECK_INT (gl_rangeset_add (set, 24, 55), 0);
    GL_CHECK_INT (gl_rangeset_size (set), 1);
    GL_CHECK_INT (gl_rangeset_at (set, 0)->from, 10);
    GL_CHECK_INT (gl_rangeset_at (set, 0)->to, 60);
    GL_CHECK (gl_rangeset_at (set, 1) == NULL);
    //  Cutting the middle splits; cutting an edge trims; cutting nothing is fine
    GL_CHECK_INT (gl_rangeset_remove (set, 30, 35), 0);
    GL_CHECK_INT (gl_rangeset_size (set), 2);
    GL_CHECK_INT (gl_rangeset_at (set, 0)->to, 30);
    GL_CHECK_INT (gl_rangeset_at (set, 1)->from, 35);
    GL_CHECK_INT (gl_rangeset_remove (set, 0, 12), 0);
    GL_CHECK_INT (gl_rangeset_at (set, 0)->from, 12);
    GL_CHECK_INT (gl_rangeset_remove (set, 100, 200), 0);
    GL_CHECK_INT (gl_rangeset_remove (set, 5, 5), -1);
    GL_CHECK_INT (gl_rangeset_size (set), 2);
    //  One remove over several ranges
    GL_CHECK_INT (gl_rangeset_add (set, 70, 80), 0);
    GL_CHECK_INT (gl_rangeset_remove (set, 20, 75), 0);
    GL_CHECK_INT (gl_rangeset_size (set), 2);
    GL_CHECK_INT (gl_rangeset_at (set, 0)->to, 20);
    GL_CHECK_INT (gl_rangeset_at (set, 1)->from, 75);
    //  Lookups
    GL_CHECK_INT (gl_rangeset_find (set, 0), 0);
    GL_CHECK_INT (gl_rangeset_find (set, 19), 0);
    GL_CHECK_INT (gl_rangeset_find (set, 20), 1);
    GL_CHECK_INT (gl_rangeset_find (set, 80), 2);
    GL_CHECK (gl_rangeset_contains (set, 12, 20));
    GL_CHECK (!gl_rangeset_contains (set, 12, 21));
    GL_CHECK (!gl_rangeset_contains (set, 20, 21));
    GL_CHECK (gl_rangeset_contains (set, 79, 80));
    //  Many ranges stay sorted and merge back into one
    gl_rangeset_clear (set);
    GL_CHECK_INT (gl_rangeset_size (set), 0);
    for (int64_t start = 1000; start > 0; start -= 10)
        GL_CHECK_INT (gl_rangeset_add (set, start, start + 5), 0);
    GL_CHECK_INT (gl_rangeset_size (set), 100);
    bool sorted = true;
    for (size_t index = 1; index < gl_rangeset_size (set); index++)
        sorted &= gl_rangeset_at (set, index - 1)->to < gl_rangeset_at (set, index)->from;
    GL_CHECK (sorted);
    GL_CHECK (gl_rangeset_bytes (set) >= 100 * sizeof (gl_range_t));
    GL_CHECK_INT (gl_rangeset_add (set, 0, 2000), 0);
    GL_CHECK_INT (gl_rangeset_size (set), 1);
    gl_rangeset_destroy (&set);
    gl_rangeset_destroy (&set);
    GL_CHECK (set == NULL);
}

//  Groups a walk's bars into one slice per UTC day (one session).
typedef struct {
    gl_coverage_t *coverage;
    gl_timeframe_t timeframe;
    int64_t first, last;        //  of the session in progress, first -1: none
} s_sessions_t;

//  Covers the session in progress, from its first bar to its last's end.
static void
s_sessions_flush (s_sessions_t *sessions)
{
    if (sessions->first >= 0)
        gl_coverage_cover (sessions->coverage, "AAPL", sessions->timeframe, sessions->first,
                           sessions->last + gl_timeframe_seconds (sessions->timeframe));
}

static int
s_sessions_bar (int64_t bar_start, void *argument)
{
    s_sessions_t *sessions = (s_sessions_t *) argument;
    if (sessions->first >= 0 && bar_start / 86400 != sessions->first / 86400) {
        s_sessions_flush (sessions);
        sessions->first = -1;
    }
    if (sessions->first < 0)
        sessions->first = bar_start;
    sessions->last = bar_start;
    return 0;
}

//  Covers every slice of a timeframe from 2019 to 2027 as the scheduler
//  cuts them: one per session (intraday), per year for 1d and 1w.
static void
s_store_everything (gl_coverage_t *coverage, gl_calendar_t *calendar, gl_timeframe_t timeframe)
{
    if (timeframe == GL_TF_1D || timeframe == GL_TF_1W) {
        for (int year = 2019; year < 2028; year++)
            gl_coverage_cover (coverage, "AAPL", timeframe, DATE (year, 1, 1),
                               DATE (year + 1, 1, 1));
        return;
    }
    s_sessions_t sessions = { coverage, timeframe, -1, -1 };
    gl_calendar_each_bar (calendar, timeframe, DATE (2019, 1, 1), DATE (2028, 1, 1),
                          s_sessions_bar, &sessions);
    s_sessions_flush (&sessions);
}

//  Fully stored: zero gaps over 2019-2027, every expected bar stored, one range.
static void
s_test_no_false_gap (void)
{
    gl_coverage_t *coverage = gl_coverage_new ();
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (coverage && calendar);
    GL_CHECK_INT (gl_coverage_set_symbol (coverage, "AAPL", GL_CALENDAR_XNYS, "T1", 0), 0);
    gl_timeframe_t timeframes [] = { GL_TF_1M, GL_TF_5M, GL_TF_30M, GL_TF_1H, GL_TF_4H,
                                     GL_TF_1D, GL_TF_1W };
    for (size_t index = 0; index < sizeof timeframes / sizeof timeframes [0]; index++) {
        s_store_everything (coverage, calendar, timeframes [index]);
        gl_coverage_report_t report;
        GL_CHECK_INT (gl_coverage_account (coverage, "AAPL", timeframes [index], DATE (2019, 1, 1),
                                           DATE (2028, 1, 1), &report, NULL, NULL), 0);
        if (report.gaps)
            fprintf (stderr, "%s: %zu gaps\n", gl_timeframe_name (timeframes [index]), report.gaps);
        GL_CHECK_INT (report.gaps, 0);
        GL_CHECK_INT (report.not_fetched, 0);
        GL_CHECK_INT (report.ranges, 1);
        GL_CHECK_INT (report.stored, report.expected);
        GL_CHECK (report.expected > 0);
    }
    //  1m: 9 years of sessions, early closes included (210 bars each)
    gl_coverage_report_t report;
    gl_coverage_account (coverage, "AAPL", GL_TF_1M, DATE (2019, 1, 1), DATE (2028, 1, 1), &report,
                         NULL, NULL);
    GL_CHECK_INT (report.expected, gl_calendar_count_bars (calendar, GL_TF_1M, DATE (2019, 1, 1),
                                                           DATE (2028, 1, 1)));
    //  Beyond what is stored, the gap starts at the first session of 2028
    GL_CHECK_INT (gl_coverage_account (coverage, "AAPL", GL_TF_1D, DATE (2019, 1, 1),
                                       DATE (2028, 1, 8), &report, NULL, NULL), 0);
    GL_CHECK_INT (report.gaps, 1);
    GL_CHECK_INT (report.not_fetched, 5);       //  Mon 3 to Fri 7 January 2028
    gl_calendar_destroy (&calendar);
    gl_coverage_destroy (&coverage);
}

//  Collects gaps.
typedef struct {
    gl_coverage_gap_t gaps [8];
    size_t count;
} s_gaps_t;

static int
s_collect (const gl_coverage_gap_t *gap, void *argument)
{
    s_gaps_t *gaps = (s_gaps_t *) argument;
    if (gaps->count < 8)
        gaps->gaps [gaps->count++] = *gap;
    return 0;
}

//  The bar starts of one 1m session, less the ones to leave out.
static size_t
s_session_bars (int64_t open, int64_t *bars, const int64_t *missing, size_t missing_count)
{
    size_t count = 0;
    for (int64_t bar = open; bar < open + 390 * MINUTE; bar += MINUTE) {
        bool left_out = false;
        for (size_t index = 0; index < missing_count; index++)
            left_out |= missing [index] == bar;
        if (!left_out)
            bars [count++] = bar;
    }
    return count;
}

//  A missing 10:31 bar: one gap, a refill from the next provider; the
//  next provider lacks it too: no trades, no more refills.
static void
s_test_hole_and_no_trades (void)
{
    gl_coverage_t *coverage = gl_coverage_new ();
    gl_coverage_set_symbol (coverage, "MSFT", GL_CALENDAR_XNYS, "T0", 0);
    gl_provider_t allowed [] = { GL_PROVIDER_YAHOO, GL_PROVIDER_POLYGON };
    //  2024-03-12 (New York on EDT): the open is 13:30 UTC, 10:31 is 14:31
    int64_t open = DATE (2024, 3, 12) + 13 * 3600 + 30 * MINUTE, close = open + 390 * MINUTE;
    int64_t missing [] = { open + 61 * MINUTE };
    int64_t bars [390];
    size_t count = s_session_bars (open, bars, missing, 1);
    GL_CHECK_INT (gl_coverage_needed (coverage, "MSFT", GL_TF_1M, open, close), 390);
    gl_coverage_outcome_t outcome;
    GL_CHECK_INT (gl_coverage_apply (coverage, "MSFT", GL_TF_1M, open, close, bars, count,
                                     GL_PROVIDER_YAHOO, allowed, 2, &outcome), 0);
    GL_CHECK_INT (outcome.holes, 1);
    GL_CHECK_INT (outcome.missing, 1);
    GL_CHECK_INT (outcome.refill, GL_PROVIDER_POLYGON);
    GL_CHECK_INT (outcome.refill_from, missing [0]);
    GL_CHECK_INT (outcome.refill_to, missing [0] + MINUTE);
    s_gaps_t gaps = { 0 };
    gl_coverage_report_t report;
    GL_CHECK_INT (gl_coverage_account (coverage, "MSFT", GL_TF_1M, DATE (2024, 3, 11),
                                       DATE (2024, 3, 14), &report, s_collect, &gaps), 0);
    //  The 11th and 13th are not stored either: three gaps, one of one bar
    GL_CHECK_INT (report.gaps, 3);
    GL_CHECK_INT (gaps.count, 3);
    GL_CHECK_INT (gaps.gaps [1].from, missing [0]);
    GL_CHECK_INT (gaps.gaps [1].to, missing [0] + MINUTE);
    GL_CHECK_INT (gaps.gaps [1].bars, 1);
    GL_CHECK_INT (gaps.gaps [0].to, DATE (2024, 3, 11) + 20 * 3600);    //  16:00 EDT
    GL_CHECK_INT (report.stored, 389);
    GL_CHECK_INT (report.not_fetched, 390 + 1 + 390);
    size_t hole_count = 0;
    gl_coverage_holes (coverage, 0, &hole_count);
    GL_CHECK_INT (hole_count, 1);
    //  Yahoo's answer again (a freshness refetch): Polygon was asked already
    GL_CHECK_INT (gl_coverage_apply (coverage, "MSFT", GL_TF_1M, open, close, bars, count,
                                     GL_PROVIDER_YAHOO, allowed, 2, &outcome), 0);
    GL_CHECK_INT (outcome.holes, 1);
    GL_CHECK_INT (outcome.refill, GL_PROVIDER_INVALID);
    const gl_coverage_hole_t *holes = gl_coverage_holes (coverage, 0, &hole_count);
    GL_CHECK (hole_count == 1 && holes [0].asked == (1u << GL_PROVIDER_POLYGON)
              && holes [0].tried == (1u << GL_PROVIDER_YAHOO));
    //  Polygon answers the refill without it too: no trades
    GL_CHECK_INT (gl_coverage_apply (coverage, "MSFT", GL_TF_1M, open, close, bars, count,
                                     GL_PROVIDER_POLYGON, allowed, 2, &outcome), 0);
    GL_CHECK_INT (outcome.holes, 0);
    GL_CHECK_INT (outcome.confirmed, 1);
    GL_CHECK_INT (outcome.refill, GL_PROVIDER_INVALID);
    GL_CHECK_INT (gl_coverage_account (coverage, "MSFT", GL_TF_1M, open, close, &report, NULL,
                                       NULL), 0);
    GL_CHECK_INT (report.gaps, 0);
    GL_CHECK_INT (report.no_trades, 1);
    GL_CHECK_INT (report.stored, 389);
    GL_CHECK_INT (gl_coverage_needed (coverage, "MSFT", GL_TF_1M, open, close), 389);
    gl_coverage_holes (coverage, 0, &hole_count);
    GL_CHECK_INT (hole_count, 0);
    //  A bar deleted later (the audit finds it; no provider answered): a hole again
    int64_t deleted [] = { missing [0], open + 200 * MINUTE };
    count = s_session_bars (open, bars, deleted, 2);
    GL_CHECK_INT (gl_coverage_apply (coverage, "MSFT", GL_TF_1M, open, close, bars, count,
                                     GL_PROVIDER_INVALID, allowed, 2, &outcome), 0);
    GL_CHECK_INT (outcome.holes, 1);
    GL_CHECK_INT (outcome.refill, GL_PROVIDER_YAHOO);
    GL_CHECK_INT (outcome.refill_from, open + 200 * MINUTE);
    //  Holes a failing slice covers are provider errors
    GL_CHECK_INT (gl_coverage_add_error (coverage, "MSFT", GL_TF_1M, open, close), 0);
    gl_coverage_account (coverage, "MSFT", GL_TF_1M, open, close, &report, NULL, NULL);
    GL_CHECK_INT (report.provider_error, 1);
    GL_CHECK_INT (report.not_fetched, 0);
    gl_coverage_clear_errors (coverage);
    gl_coverage_account (coverage, "MSFT", GL_TF_1M, open, close, &report, NULL, NULL);
    GL_CHECK_INT (report.provider_error, 0);
    GL_CHECK_INT (report.not_fetched, 1);
    //  Changed entries come out once per use
    GL_CHECK_INT (gl_coverage_take_changed (coverage, GL_COVERAGE_UNSAVED), 0);
    GL_CHECK_INT (gl_coverage_take_changed (coverage, GL_COVERAGE_UNSAVED), -1);
    GL_CHECK_INT (gl_coverage_take_changed (coverage, GL_COVERAGE_UNREPORTED), 0);
    gl_coverage_mark_changed (coverage, 0, GL_COVERAGE_UNSAVED);
    GL_CHECK_INT (gl_coverage_take_changed (coverage, GL_COVERAGE_UNSAVED), 0);
    gl_coverage_destroy (&coverage);
}

//  Nothing is expected before the listing date.
static void
s_test_listing (void)
{
    gl_coverage_t *coverage = gl_coverage_new ();
    GL_CHECK_INT (gl_coverage_set_symbol (coverage, "NEWCO", GL_CALENDAR_XNYS, "T2",
                                          DATE (2024, 3, 1)), 0);
    GL_CHECK_INT (gl_coverage_set_symbol (coverage, "BAD", GL_CALENDAR_XNYS, "T9", 0), -1);
    GL_CHECK (gl_coverage_has_symbol (coverage, "NEWCO"));
    GL_CHECK (!gl_coverage_has_symbol (coverage, "BAD"));
    gl_coverage_report_t report;
    s_gaps_t gaps = { 0 };
    GL_CHECK_INT (gl_coverage_account (coverage, "NEWCO", GL_TF_1D, DATE (2024, 1, 1),
                                       DATE (2024, 4, 1), &report, s_collect, &gaps), 0);
    GL_CHECK_INT (report.expected, 20);         //  the sessions of March 2024
    GL_CHECK_INT (gaps.count, 1);
    GL_CHECK_INT (gaps.gaps [0].from, DATE (2024, 3, 1));
    GL_CHECK_INT (gaps.gaps [0].to, DATE (2024, 3, 28) + 86400);   //  Good Friday closed
    //  Stored from the listing: no gap, though January and February are not
    GL_CHECK_INT (gl_coverage_cover (coverage, "NEWCO", GL_TF_1D, DATE (2024, 3, 1),
                                     DATE (2024, 3, 29)), 0);
    GL_CHECK_INT (gl_coverage_account (coverage, "NEWCO", GL_TF_1D, DATE (2024, 1, 1),
                                       DATE (2024, 4, 1), &report, NULL, NULL), 0);
    GL_CHECK_INT (report.gaps, 0);
    GL_CHECK_INT (report.stored, 20);
    //  Bad input
    GL_CHECK_INT (gl_coverage_account (coverage, "NEWCO", GL_TF_1D, 10, 10, &report, NULL, NULL),
                  -1);
    GL_CHECK_INT (gl_coverage_account (coverage, "NEWCO", GL_TF_INVALID, 0, 10, &report, NULL,
                                       NULL), -1);
    GL_CHECK_INT (gl_coverage_cover (coverage, "", GL_TF_1D, 0, 10), -1);
    //  The grid decides where hourly bars start: 09:00 EST (clock) is
    //  14:00 UTC, 09:30 (session) 14:30
    gl_coverage_set_symbol (coverage, "GRID", GL_CALENDAR_XNYS, "T2", 0);
    GL_CHECK_INT (gl_coverage_set_grid (coverage, GL_TF_1D, GL_GRID_SESSION), -1);
    gaps.count = 0;
    gl_coverage_account (coverage, "GRID", GL_TF_1H, DATE (2024, 1, 2), DATE (2024, 1, 3), &report,
                         s_collect, &gaps);
    GL_CHECK_INT (gaps.gaps [0].from, DATE (2024, 1, 2) + 14 * 3600);     //  09:00 EST, clock
    GL_CHECK_INT (gl_coverage_set_grid (coverage, GL_TF_1H, GL_GRID_SESSION), 0);
    gaps.count = 0;
    gl_coverage_account (coverage, "GRID", GL_TF_1H, DATE (2024, 1, 2), DATE (2024, 1, 3), &report,
                         s_collect, &gaps);
    GL_CHECK_INT (gaps.gaps [0].from, DATE (2024, 1, 2) + 14 * 3600 + 1800);
    GL_CHECK_INT (report.expected, 7);
    gl_coverage_destroy (&coverage);
}

//  The SLO: a 24x7 symbol covered up to now is fresh, one that stopped
//  ten minutes ago lags.
static void
s_test_slo (void)
{
    gl_coverage_t *coverage = gl_coverage_new ();
    int64_t now = DATE (2024, 6, 1) + 12 * 3600 + 30;
    gl_coverage_set_symbol (coverage, "BTC-USD", GL_CALENDAR_24X7, "T0", 0);
    gl_coverage_set_symbol (coverage, "ETH-USD", GL_CALENDAR_24X7, "T0", 0);
    gl_coverage_set_symbol (coverage, "IBM", GL_CALENDAR_XNYS, "T0", 0);
    gl_coverage_cover (coverage, "BTC-USD", GL_TF_1M, now - 3600 - 30, now - 30);
    gl_coverage_cover (coverage, "ETH-USD", GL_TF_1M, now - 3600 - 30, now - 630);
    gl_coverage_cover (coverage, "IBM", GL_TF_1M, DATE (2024, 5, 31) + 13 * 3600 + 1800,
                       DATE (2024, 5, 31) + 20 * 3600);
    gl_coverage_slo_t slo [GL_COVERAGE_TIERS][GL_TF_1W + 1];
    gl_coverage_slo (coverage, now, slo);
    //  Saturday: IBM's exchange is closed, so it is not sampled
    GL_CHECK_INT (slo [0][GL_TF_1M].sampled, 2);
    GL_CHECK_INT (slo [0][GL_TF_1M].violations, 1);
    GL_CHECK_INT (slo [1][GL_TF_1M].sampled, 0);
    //  Two intervals late is still on time; three is not
    gl_coverage_slo (coverage, now - 600 + 2 * 60, slo);
    GL_CHECK_INT (slo [0][GL_TF_1M].violations, 0);
    gl_coverage_slo (coverage, now - 600 + 3 * 60, slo);
    GL_CHECK_INT (slo [0][GL_TF_1M].violations, 1);
    //  On the Friday, IBM in session and covered through now
    gl_coverage_slo (coverage, DATE (2024, 5, 31) + 15 * 3600, slo);
    GL_CHECK_INT (slo [0][GL_TF_1M].sampled, 3);
    gl_coverage_destroy (&coverage);
}

//  The audit's walk: windows of at most 30 days (or 2000 bars), in order.
static void
s_test_windows (void)
{
    gl_coverage_t *coverage = gl_coverage_new ();
    gl_coverage_cover (coverage, "A", GL_TF_1M, DATE (2024, 1, 1), DATE (2024, 2, 10));
    gl_coverage_cover (coverage, "A", GL_TF_1M, DATE (2024, 3, 1), DATE (2024, 3, 2));
    gl_coverage_cover (coverage, "B", GL_TF_1D, DATE (2020, 1, 1), DATE (2024, 1, 1));
    gl_coverage_cursor_t cursor = GL_COVERAGE_CURSOR_START;
    const char *symbol;
    gl_timeframe_t timeframe;
    int64_t from, to;
    int64_t expected [][2] = {
        { DATE (2024, 1, 1), DATE (2024, 1, 31) }, { DATE (2024, 1, 31), DATE (2024, 2, 10) },
        { DATE (2024, 3, 1), DATE (2024, 3, 2) },
        { DATE (2020, 1, 1), DATE (2024, 1, 1) },      //  2000 days are longer
    };
    for (size_t index = 0; index < 4; index++) {
        GL_CHECK (gl_coverage_next_window (coverage, &cursor, 0, &symbol, &timeframe, &from, &to));
        GL_CHECK_STR (symbol, index < 3? "A": "B");
        GL_CHECK_INT (from, expected [index][0]);
        GL_CHECK_INT (to, expected [index][1]);
    }
    GL_CHECK (!gl_coverage_next_window (coverage, &cursor, 0, &symbol, &timeframe, &from, &to));
    //  A window of at most 31 days, as the reconciliation asks
    cursor = (gl_coverage_cursor_t) GL_COVERAGE_CURSOR_START;
    for (int window = 0; window < 4; window++)
        gl_coverage_next_window (coverage, &cursor, 31 * 86400, &symbol, &timeframe, &from, &to);
    GL_CHECK_STR (symbol, "B");
    GL_CHECK_INT (from, DATE (2020, 1, 1));
    GL_CHECK_INT (to, DATE (2020, 2, 1));
    gl_coverage_destroy (&coverage);
}

int
main (void)
{
    s_test_windows ();
    s_test_rangeset ();
    s_test_no_false_gap ();
    s_test_hole_and_no_trades ();
    s_test_listing ();
    s_test_slo ();
    return gl_test_done ("test_coverage_ranges");
}
