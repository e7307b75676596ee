/*  test_slicer — backfill ranges cut into whole calendar units: sessions,
    weeks, months and years of the XNYS calendar (holidays, early closes,
    DST) and of 24x7, widened only to units the request has bars in.
*/
#include "gl_slicer.h"
#include "gl_test.h"

#define S_MAX_SLICES 64

typedef struct {
    gl_slice_t slices [S_MAX_SLICES];
    int count;
    int stop_after;             //  0: never stop
} s_collected_t;

//  Collects slices; stops when asked to.
static int
s_collect (const gl_slice_t *slice, void *argument)
{
    s_collected_t *collected = (s_collected_t *) argument;
    if (collected->count < S_MAX_SLICES)
        collected->slices [collected->count] = *slice;
    collected->count++;
    return collected->stop_after && collected->count >= collected->stop_after? -1: 0;
}

//  Cuts and returns what was collected (count -1 for an error).
static s_collected_t
s_cut (gl_calendar_t *calendar, gl_timeframe_t timeframe, gl_slice_unit_t unit,
       int64_t from, int64_t to)
{
    s_collected_t collected = { .count = 0 };
    int64_t count = gl_slicer_cut (calendar, timeframe, unit, from, to, s_collect, &collected);
    GL_CHECK (count == -1 || count == collected.count);
    if (count == -1)
        collected.count = -1;
    return collected;
}

#define DATE(y, m, d) gl_calendar_date_utc (y, m, d)
#define HOUR 3600

//  1m by session: one slice per session, open to close, none for closed days.
static void
s_test_sessions (gl_calendar_t *xnys)
{
    //  Mon 2024-03-25 12:00Z .. Wed 2024-03-27 15:00Z: three whole sessions (EDT)
    s_collected_t cut = s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION,
                               DATE (2024, 3, 25) + 12 * HOUR, DATE (2024, 3, 27) + 15 * HOUR);
    GL_CHECK_INT (cut.count, 3);
    for (int index = 0; index < 3; index++) {
        GL_CHECK_INT (cut.slices [index].from, DATE (2024, 3, 25 + index) + 13 * HOUR + 1800);
        GL_CHECK_INT (cut.slices [index].to, DATE (2024, 3, 25 + index) + 20 * HOUR);
        GL_CHECK_INT (cut.slices [index].bars, 390);
    }
    //  Winter (EST): 14:30Z to 21:00Z
    cut = s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 1, 8), DATE (2024, 1, 9));
    GL_CHECK_INT (cut.count, 1);
    GL_CHECK_INT (cut.slices [0].from, DATE (2024, 1, 8) + 14 * HOUR + 1800);
    GL_CHECK_INT (cut.slices [0].to, DATE (2024, 1, 8) + 21 * HOUR);
    //  A weekend, a holiday (Independence Day 2024): nothing
    GL_CHECK_INT (s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 3, 23), DATE (2024, 3, 25)).count, 0);
    GL_CHECK_INT (s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 7, 4), DATE (2024, 7, 5)).count, 0);
    //  An early close (2024-07-03 13:00 EDT): 210 bars, closing at 17:00Z
    cut = s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 7, 3), DATE (2024, 7, 4));
    GL_CHECK_INT (cut.count, 1);
    GL_CHECK_INT (cut.slices [0].to, DATE (2024, 7, 3) + 17 * HOUR);
    GL_CHECK_INT (cut.slices [0].bars, 210);
    //  One minute inside a session widens to the whole session
    cut = s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 3, 26) + 15 * HOUR,
                 DATE (2024, 3, 26) + 15 * HOUR + 60);
    GL_CHECK_INT (cut.count, 1);
    GL_CHECK_INT (cut.slices [0].bars, 390);
    //  After the close: no bar of the session lies in the request
    GL_CHECK_INT (s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 3, 26) + 21 * HOUR,
                         DATE (2024, 3, 27)).count, 0);
}

//  Weeks, months and years: whole units, and the sum of their bars is what
//  the calendar expects over them.
static void
s_test_units (gl_calendar_t *xnys)
{
    //  5m by week: Wed 2024-03-27 .. Tue 2024-04-02 touches two weeks;
    //  Good Friday 2024-03-29 is closed
    s_collected_t cut = s_cut (xnys, GL_TF_5M, GL_SLICE_WEEK, DATE (2024, 3, 27), DATE (2024, 4, 3));
    GL_CHECK_INT (cut.count, 2);
    GL_CHECK_INT (cut.slices [0].from, DATE (2024, 3, 25) + 13 * HOUR + 1800);
    GL_CHECK_INT (cut.slices [0].to, DATE (2024, 3, 28) + 20 * HOUR);
    GL_CHECK_INT (cut.slices [0].bars, 4 * 78);
    GL_CHECK_INT (cut.slices [1].from, DATE (2024, 4, 1) + 13 * HOUR + 1800);
    GL_CHECK_INT (cut.slices [1].bars, 5 * 78);
    GL_CHECK_INT (gl_calendar_count_bars (xnys, GL_TF_5M, DATE (2024, 3, 25), DATE (2024, 4, 6)),
                  cut.slices [0].bars + cut.slices [1].bars);
    //  1h by month, March 2024, on the clock grid: 20 sessions of 7 bars,
    //  the first 09:00 EST (14:00Z), the last 15:00 EDT (19:00Z)
    cut = s_cut (xnys, GL_TF_1H, GL_SLICE_MONTH, DATE (2024, 3, 11), DATE (2024, 3, 12));
    GL_CHECK_INT (cut.count, 1);
    GL_CHECK_INT (cut.slices [0].from, DATE (2024, 3, 1) + 14 * HOUR);
    GL_CHECK_INT (cut.slices [0].to, DATE (2024, 3, 28) + 20 * HOUR);
    GL_CHECK_INT (cut.slices [0].bars, 140);
    //  1d by year: 2024's 252 sessions, from the first session date to the
    //  day after the last
    cut = s_cut (xnys, GL_TF_1D, GL_SLICE_YEAR, DATE (2024, 6, 1), DATE (2024, 6, 30));
    GL_CHECK_INT (cut.count, 1);
    GL_CHECK_INT (cut.slices [0].from, DATE (2024, 1, 2));
    GL_CHECK_INT (cut.slices [0].to, DATE (2025, 1, 1));
    GL_CHECK_INT (cut.slices [0].bars, 252);
    //  1w by year, 2024: Mondays from 2024-01-01 to 2024-12-30
    cut = s_cut (xnys, GL_TF_1W, GL_SLICE_YEAR, DATE (2024, 1, 1), DATE (2025, 1, 1));
    GL_CHECK_INT (cut.count, 1);
    GL_CHECK_INT (cut.slices [0].from, DATE (2024, 1, 1));
    GL_CHECK_INT (cut.slices [0].to, DATE (2025, 1, 6));
    GL_CHECK_INT (cut.slices [0].bars, 53);
    //  Two years of 1m: one slice per session, 252 + 250 of them
    cut = s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 1, 1), DATE (2026, 1, 1));
    GL_CHECK_INT (cut.count, 502);
}

//  Overlapping requests name the same slices for the units they share.
static void
s_test_shared (gl_calendar_t *xnys)
{
    s_collected_t first = s_cut (xnys, GL_TF_15M, GL_SLICE_WEEK, DATE (2024, 3, 4), DATE (2024, 3, 20));
    s_collected_t second = s_cut (xnys, GL_TF_15M, GL_SLICE_WEEK, DATE (2024, 3, 13), DATE (2024, 4, 2));
    GL_CHECK_INT (first.count, 3);          //  weeks of Mar 4, 11, 18
    GL_CHECK_INT (second.count, 4);         //  weeks of Mar 11, 18, 25, Apr 1
    for (int index = 0; index < 2; index++) {
        GL_CHECK_INT (first.slices [index + 1].from, second.slices [index].from);
        GL_CHECK_INT (first.slices [index + 1].to, second.slices [index].to);
    }
}

//  24x7: a session is a UTC day of 1440 minutes.
static void
s_test_crypto (gl_calendar_t *crypto)
{
    s_collected_t cut = s_cut (crypto, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 3, 23) + 60,
                               DATE (2024, 3, 25));
    GL_CHECK_INT (cut.count, 2);
    GL_CHECK_INT (cut.slices [0].from, DATE (2024, 3, 23));
    GL_CHECK_INT (cut.slices [0].to, DATE (2024, 3, 24));
    GL_CHECK_INT (cut.slices [0].bars, 1440);
}

//  Bad input is refused; a callback can stop the cut.
static void
s_test_refusals (gl_calendar_t *xnys)
{
    GL_CHECK_INT (s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 3, 26), DATE (2024, 3, 26)).count, -1);
    GL_CHECK_INT (s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, -86400, DATE (2024, 3, 26)).count, -1);
    GL_CHECK_INT (s_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, 0, INT64_MAX).count, -1);
    GL_CHECK_INT (s_cut (xnys, GL_TF_1D, GL_SLICE_SESSION, DATE (2024, 1, 1), DATE (2024, 2, 1)).count, -1);
    GL_CHECK_INT (s_cut (xnys, GL_TF_1W, GL_SLICE_MONTH, DATE (2024, 1, 1), DATE (2024, 2, 1)).count, -1);
    GL_CHECK_INT (s_cut (xnys, GL_TF_INVALID, GL_SLICE_YEAR, DATE (2024, 1, 1), DATE (2024, 2, 1)).count, -1);
    GL_CHECK_INT (s_cut (NULL, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 3, 26), DATE (2024, 3, 27)).count, -1);
    s_collected_t collected = { .stop_after = 2 };
    GL_CHECK_INT (gl_slicer_cut (xnys, GL_TF_1M, GL_SLICE_SESSION, DATE (2024, 3, 25),
                                 DATE (2024, 3, 30), s_collect, &collected), -1);
    GL_CHECK_INT (collected.count, 2);
    GL_CHECK_INT (gl_slicer_unit_parse ("month"), GL_SLICE_MONTH);
    GL_CHECK_INT (gl_slicer_unit_parse ("Month"), GL_SLICE_INVALID);
    GL_CHECK_STR (gl_slicer_unit_name (GL_SLICE_WEEK), "week");
    GL_CHECK_INT (gl_slicer_default_unit (GL_TF_1H), GL_SLICE_MONTH);
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++)
        GL_CHECK (gl_slicer_unit_fits (gl_slicer_default_unit ((gl_timeframe_t) timeframe),
                                       (gl_timeframe_t) timeframe));
}

//  The units counted for the cap, and the cap itself: at the limit taken,
//  one symbol more refused with a message that names the limit.
static void
s_test_size (void)
{
    GL_CHECK_INT (gl_slicer_units (GL_SLICE_SESSION, DATE (2024, 3, 25), DATE (2024, 3, 30)), 5);
    GL_CHECK_INT (gl_slicer_units (GL_SLICE_SESSION, DATE (2024, 3, 25), DATE (2024, 3, 25) + 1), 1);
    GL_CHECK_INT (gl_slicer_units (GL_SLICE_WEEK, DATE (2024, 3, 24), DATE (2024, 3, 26)), 2);
    GL_CHECK_INT (gl_slicer_units (GL_SLICE_MONTH, DATE (2023, 11, 30), DATE (2024, 2, 2)), 4);
    GL_CHECK_INT (gl_slicer_units (GL_SLICE_YEAR, DATE (1974, 1, 1), DATE (2024, 1, 1)), 50);
    GL_CHECK_INT (gl_slicer_units (GL_SLICE_YEAR, DATE (2024, 1, 1), DATE (2024, 1, 1)), -1);
    GL_CHECK_INT (gl_slicer_units (GL_SLICE_INVALID, DATE (2024, 1, 1), DATE (2024, 2, 1)), -1);
    char error [256] = "";
    //  1m bars of 10,000 symbols over 50 years: 18,262 days each
    GL_CHECK_INT (gl_slicer_check_size (GL_SLICE_SESSION, DATE (1974, 1, 1), DATE (2024, 1, 1),
                                        10000, error, sizeof error), -1);
    GL_CHECK_STR (error, "10000 symbols x 18262 days is more than the 5000000 slices one"
                  " request may make: split it by symbols or by range");
    //  100 days: 50,000 symbols is the limit exactly
    int64_t from = DATE (2024, 1, 1), to = from + 100 * 86400;
    GL_CHECK_INT (gl_slicer_check_size (GL_SLICE_SESSION, from, to, GL_SLICER_MAX_SLICES / 100,
                                        error, sizeof error), 0);
    GL_CHECK_INT (gl_slicer_check_size (GL_SLICE_SESSION, from, to, GL_SLICER_MAX_SLICES / 100 + 1,
                                        error, sizeof error), -1);
    GL_CHECK_INT (gl_slicer_check_size (GL_SLICE_YEAR, from, to, SIZE_MAX, error, sizeof error), -1);
    GL_CHECK_INT (gl_slicer_check_size (GL_SLICE_YEAR, to, from, 1, error, sizeof error), -1);
    GL_CHECK_STR (error, "the range cannot be cut into year slices");
}

int
main (void)
{
    gl_calendar_t *xnys = gl_calendar_new (GL_CALENDAR_XNYS);
    gl_calendar_t *crypto = gl_calendar_new (GL_CALENDAR_24X7);
    GL_CHECK (xnys && crypto);
    if (xnys && crypto) {
        s_test_sessions (xnys);
        s_test_units (xnys);
        s_test_shared (xnys);
        s_test_crypto (crypto);
        s_test_refusals (xnys);
    }
    s_test_size ();
    gl_calendar_destroy (&xnys);
    gl_calendar_destroy (&crypto);
    return gl_test_done ("test_slicer");
}
