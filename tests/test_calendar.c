/*  test_calendar — XNYS and 24x7 calendars against known dates, the bar
    start convention, bad input, and the tz parser against glibc. */
#include "gl_calendar.h"
#include "gl_test.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

//  UTC instant of a civil date and time.
static int64_t
s_utc (int year, int month, int day, int hour, int minute)
{
    struct tm fields = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                         .tm_hour = hour, .tm_min = minute };
    return (int64_t) timegm (&fields);
}

//  Expected session open/close in UTC hours and minutes.
static void
s_check_session (gl_calendar_t *calendar, int year, int month, int day,
                 int open_hour, int open_minute, int close_hour, int close_minute)
{
    int64_t open_utc = 0, close_utc = 0;
    GL_CHECK_INT (gl_calendar_session (calendar, year, month, day, &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, s_utc (year, month, day, open_hour, open_minute));
    GL_CHECK_INT (close_utc, s_utc (year, month, day, close_hour, close_minute));
}

//  Bars of one session day for a timeframe.
static int64_t
s_day_bars (gl_calendar_t *calendar, const char *timeframe, int year, int month, int day)
{
    return gl_calendar_count_bars (calendar, gl_timeframe_parse (timeframe),
                                   s_utc (year, month, day, 0, 0),
                                   s_utc (year, month, day, 0, 0) + 86400);
}

//  Collects bar starts into an array and checks they rise.
typedef struct {
    int64_t bars [16];
    int64_t count;
    int64_t last;
    bool ordered;
    int stop_after;
} s_collect_t;

//  Bar callback: records, and stops with 7 after stop_after bars if set.
static int
s_collect (int64_t bar_start_utc, void *argument)
{
    s_collect_t *collect = (s_collect_t *) argument;
    if (collect->count > 0 && bar_start_utc <= collect->last)
        collect->ordered = false;
    if (collect->count < 16)
        collect->bars [collect->count] = bar_start_utc;
    collect->last = bar_start_utc;
    collect->count++;
    return collect->stop_after && collect->count == collect->stop_after? 7: 0;
}

//  Every NYSE full-day closure of 2024 and 2025, and nothing else on a
//  weekday.
static void
s_test_holidays (gl_calendar_t *calendar)
{
    static const int closed [][3] = {
        { 2024, 1, 1 }, { 2024, 1, 15 }, { 2024, 2, 19 }, { 2024, 3, 29 }, { 2024, 5, 27 },
        { 2024, 6, 19 }, { 2024, 7, 4 }, { 2024, 9, 2 }, { 2024, 11, 28 }, { 2024, 12, 25 },
        { 2025, 1, 1 }, { 2025, 1, 9 }, { 2025, 1, 20 }, { 2025, 2, 17 }, { 2025, 4, 18 },
        { 2025, 5, 26 }, { 2025, 6, 19 }, { 2025, 7, 4 }, { 2025, 9, 1 }, { 2025, 11, 27 },
        { 2025, 12, 25 },
    };
    size_t count = sizeof closed / sizeof closed [0];
    for (size_t index = 0; index < count; index++)
        GL_CHECK (!gl_calendar_is_session_day (calendar, closed [index][0],
                                               closed [index][1], closed [index][2]));
    //  252 sessions in 2024 (262 weekdays), 250 in 2025 (261 weekdays).
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1D, s_utc (2024, 1, 1, 0, 0),
                                          s_utc (2025, 1, 1, 0, 0)), 252);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1D, s_utc (2025, 1, 1, 0, 0),
                                          s_utc (2026, 1, 1, 0, 0)), 250);
    GL_CHECK (gl_calendar_is_session_day (calendar, 2024, 3, 28));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2024, 3, 30));     //  Saturday
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2024, 3, 31));     //  Sunday

    //  Weekend observance.
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2022, 6, 20));     //  Juneteenth on Sunday
    GL_CHECK (gl_calendar_is_session_day (calendar, 2022, 6, 17));
    GL_CHECK (gl_calendar_is_session_day (calendar, 2021, 6, 18));      //  Before 2022
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2021, 12, 24));    //  Christmas on Saturday
    GL_CHECK (gl_calendar_is_session_day (calendar, 2021, 12, 31));     //  New Year's on Saturday
    GL_CHECK (gl_calendar_is_session_day (calendar, 2022, 1, 3));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2023, 1, 2));      //  New Year's on Sunday
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2020, 7, 3));      //  July 4 on Saturday
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2021, 7, 5));      //  July 4 on Sunday
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2022, 12, 26));    //  Christmas on Sunday
    GL_CHECK (gl_calendar_is_session_day (calendar, 1997, 1, 20));      //  MLK Day before 1998
    GL_CHECK (!gl_calendar_is_session_day (calendar, 1998, 1, 19));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 1990, 4, 13));     //  Good Friday 1990
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2040, 3, 30));     //  Good Friday 2040
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2040, 11, 22));    //  Thanksgiving 2040
}

//  Shipped ad-hoc closures, and closures added from configuration.
static void
s_test_closures (gl_calendar_t *calendar)
{
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2018, 12, 5));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2025, 1, 9));
    GL_CHECK (gl_calendar_is_session_day (calendar, 2025, 1, 10));
    for (int day = 11; day <= 14; day++)
        GL_CHECK (!gl_calendar_is_session_day (calendar, 2001, 9, day));
    GL_CHECK (gl_calendar_is_session_day (calendar, 2001, 9, 17));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2012, 10, 29));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2012, 10, 30));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2004, 6, 11));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2007, 1, 2));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 1994, 4, 27));

    GL_CHECK (gl_calendar_is_session_day (calendar, 2024, 3, 5));
    GL_CHECK_INT (gl_calendar_add_closures (calendar, "2024-03-05, 2024-03-06"), 0);
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2024, 3, 5));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2024, 3, 6));
    GL_CHECK_INT (gl_calendar_add_closure (calendar, 2024, 3, 5), 0);   //  Twice is fine
    GL_CHECK_INT (gl_calendar_add_closures (calendar, ""), 0);

    //  Bad dates add nothing.
    GL_CHECK_INT (gl_calendar_add_closure (calendar, 2023, 2, 29), -1);
    GL_CHECK_INT (gl_calendar_add_closure (calendar, 2024, 13, 1), -1);
    GL_CHECK_INT (gl_calendar_add_closure (calendar, 2024, 4, 31), -1);
    GL_CHECK_INT (gl_calendar_add_closure (calendar, 2024, 1, 0), -1);
    GL_CHECK_INT (gl_calendar_add_closures (calendar, "2024-04-09,2024-02-30"), -1);
    GL_CHECK (gl_calendar_is_session_day (calendar, 2024, 4, 9));
    GL_CHECK_INT (gl_calendar_add_closures (calendar, "2024-04-09,"), -1);
    GL_CHECK_INT (gl_calendar_add_closures (calendar, "2024-4-09"), -1);
    GL_CHECK_INT (gl_calendar_add_closures (calendar, "2024-04-09x"), -1);
    GL_CHECK_INT (gl_calendar_add_closures (calendar, "2024-04-09;2024-04-10"), -1);
    GL_CHECK_INT (gl_calendar_add_closures (calendar, NULL), -1);
    GL_CHECK (gl_calendar_is_session_day (calendar, 2024, 4, 9));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2024, 2, 30));

    //  The configuration's closures reach every calendar made afterwards
    GL_CHECK_INT (gl_calendar_set_configured_closures ("2024-04-09,2024-04-10"), 0);
    GL_CHECK_INT (gl_calendar_set_configured_closures ("2024-04-11x"), -1);   //  kept as it was
    gl_calendar_t *configured = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (configured && !gl_calendar_is_session_day (configured, 2024, 4, 9));
    GL_CHECK (configured && !gl_calendar_is_session_day (configured, 2024, 4, 10));
    GL_CHECK (configured && gl_calendar_is_session_day (configured, 2024, 4, 11));
    gl_calendar_destroy (&configured);
    GL_CHECK_INT (gl_calendar_set_configured_closures (""), 0);
    configured = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (configured && gl_calendar_is_session_day (configured, 2024, 4, 9));
    gl_calendar_destroy (&configured);
}

//  Session times across both 2024 DST changes, early closes, and DST
//  past the zone file's last transition (footer rule).
static void
s_test_sessions (gl_calendar_t *calendar)
{
    s_check_session (calendar, 2024, 3, 8, 14, 30, 21, 0);
    s_check_session (calendar, 2024, 3, 11, 13, 30, 20, 0);
    s_check_session (calendar, 2024, 11, 1, 13, 30, 20, 0);
    s_check_session (calendar, 2024, 11, 4, 14, 30, 21, 0);
    s_check_session (calendar, 2040, 3, 9, 14, 30, 21, 0);
    s_check_session (calendar, 2040, 3, 12, 13, 30, 20, 0);

    //  13:00 early closes.
    s_check_session (calendar, 2023, 11, 24, 14, 30, 18, 0);
    s_check_session (calendar, 2024, 12, 24, 14, 30, 18, 0);
    s_check_session (calendar, 2023, 7, 3, 13, 30, 17, 0);
    s_check_session (calendar, 2024, 7, 3, 13, 30, 17, 0);
    s_check_session (calendar, 2025, 7, 3, 13, 30, 17, 0);
    s_check_session (calendar, 2019, 7, 3, 13, 30, 17, 0);
    s_check_session (calendar, 2013, 7, 3, 13, 30, 17, 0);      //  Wednesday, from 2013
    s_check_session (calendar, 2013, 7, 5, 13, 30, 20, 0);
    s_check_session (calendar, 2018, 11, 23, 14, 30, 18, 0);    //  Thanksgiving on the 22nd
    s_check_session (calendar, 2002, 7, 5, 13, 30, 17, 0);      //  Friday after, before 2013
    s_check_session (calendar, 2002, 7, 3, 13, 30, 20, 0);
    s_check_session (calendar, 2022, 7, 1, 13, 30, 20, 0);      //  July 3 on Sunday: full day
    s_check_session (calendar, 2020, 7, 2, 13, 30, 20, 0);      //  July 3 observed holiday
    s_check_session (calendar, 2025, 12, 24, 14, 30, 18, 0);
    s_check_session (calendar, 1992, 11, 27, 14, 30, 19, 0);    //  14:00 before 1993

    int64_t open_utc = 1, close_utc = 1;
    GL_CHECK_INT (gl_calendar_session (calendar, 2024, 7, 4, &open_utc, &close_utc), -1);
    GL_CHECK_INT (gl_calendar_session (calendar, 2024, 2, 30, &open_utc, &close_utc), -1);
    GL_CHECK_INT (open_utc, 1);
}

//  Next and previous sessions around Memorial Day 2024.
static void
s_test_next_previous (gl_calendar_t *calendar)
{
    int64_t open_utc = 0, close_utc = 0;
    GL_CHECK_INT (gl_calendar_next_session (calendar, s_utc (2024, 5, 24, 20, 0),
                                            &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, s_utc (2024, 5, 28, 13, 30));
    GL_CHECK_INT (close_utc, s_utc (2024, 5, 28, 20, 0));
    GL_CHECK_INT (gl_calendar_previous_session (calendar, s_utc (2024, 5, 28, 13, 30),
                                                &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, s_utc (2024, 5, 24, 13, 30));
    GL_CHECK_INT (close_utc, s_utc (2024, 5, 24, 20, 0));
    //  Strictly after / before: an open instant gives the neighbour.
    GL_CHECK_INT (gl_calendar_next_session (calendar, s_utc (2024, 5, 24, 13, 30),
                                            &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, s_utc (2024, 5, 28, 13, 30));
    GL_CHECK_INT (gl_calendar_next_session (calendar, s_utc (2024, 5, 24, 13, 29),
                                            &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, s_utc (2024, 5, 24, 13, 30));
    GL_CHECK_INT (gl_calendar_previous_session (calendar, s_utc (2024, 5, 28, 13, 31),
                                                &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, s_utc (2024, 5, 28, 13, 30));
    //  Across September 11, 2001.
    GL_CHECK_INT (gl_calendar_next_session (calendar, s_utc (2001, 9, 10, 20, 0),
                                            &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, s_utc (2001, 9, 17, 13, 30));
    GL_CHECK_INT (gl_calendar_next_session (calendar, INT64_MAX, &open_utc, &close_utc), -1);
}

//  Bar counts and starts by the documented convention.
static void
s_test_bars (gl_calendar_t *calendar)
{
    GL_CHECK_INT (s_day_bars (calendar, "1m", 2024, 3, 12), 390);
    GL_CHECK_INT (s_day_bars (calendar, "5m", 2024, 3, 12), 78);
    GL_CHECK_INT (s_day_bars (calendar, "15m", 2024, 3, 12), 26);
    GL_CHECK_INT (s_day_bars (calendar, "30m", 2024, 3, 12), 13);
    GL_CHECK_INT (s_day_bars (calendar, "1h", 2024, 3, 12), 7);
    GL_CHECK_INT (s_day_bars (calendar, "4h", 2024, 3, 12), 2);
    GL_CHECK_INT (s_day_bars (calendar, "1d", 2024, 3, 12), 1);
    GL_CHECK_INT (s_day_bars (calendar, "1m", 2023, 11, 24), 210);
    GL_CHECK_INT (s_day_bars (calendar, "1h", 2023, 11, 24), 4);
    GL_CHECK_INT (s_day_bars (calendar, "1m", 2024, 3, 16), 0);
    GL_CHECK_INT (s_day_bars (calendar, "1d", 2024, 3, 16), 0);

    //  On the clock grid (the default) 1h bars start 09:00 .. 15:00 New
    //  York (13:00Z in summer time), as Polygon, Alpaca and Finnhub stamp them.
    s_collect_t collect = { .ordered = true };
    GL_CHECK_INT (gl_calendar_grid (calendar, GL_TF_1H), GL_GRID_CLOCK);
    GL_CHECK_INT (gl_calendar_each_bar (calendar, GL_TF_1H, s_utc (2024, 3, 12, 0, 0),
                                        s_utc (2024, 3, 13, 0, 0), s_collect, &collect), 0);
    GL_CHECK_INT (collect.count, 7);
    for (int index = 0; index < 7; index++)
        GL_CHECK_INT (collect.bars [index], s_utc (2024, 3, 12, 13 + index, 0));

    //  On the session grid they start 09:30 .. 15:30 New York, as Yahoo's.
    collect = (s_collect_t) { .ordered = true };
    GL_CHECK_INT (gl_calendar_each_bar_on (calendar, GL_TF_1H, GL_GRID_SESSION,
                                           s_utc (2024, 3, 12, 0, 0), s_utc (2024, 3, 13, 0, 0),
                                           s_collect, &collect), 0);
    GL_CHECK_INT (collect.count, 7);
    for (int index = 0; index < 7; index++)
        GL_CHECK_INT (collect.bars [index], s_utc (2024, 3, 12, 13 + index, 30));

    //  A range cutting into a session: [10:31, 10:35) New York holds 4 bars,
    //  and a 30m range from 10:31 starts with the 11:00 bar.
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1M, s_utc (2024, 3, 12, 14, 31),
                                          s_utc (2024, 3, 12, 14, 35)), 4);
    collect = (s_collect_t) { .ordered = true };
    gl_calendar_each_bar (calendar, GL_TF_30M, s_utc (2024, 3, 12, 14, 31),
                          s_utc (2024, 3, 12, 15, 1), s_collect, &collect);
    GL_CHECK_INT (collect.count, 1);
    GL_CHECK_INT (collect.bars [0], s_utc (2024, 3, 12, 15, 0));

    //  1d bars are session dates at 00:00 UTC; Memorial Day week has four.
    collect = (s_collect_t) { .ordered = true };
    gl_calendar_each_bar (calendar, GL_TF_1D, s_utc (2024, 5, 27, 0, 0),
                          s_utc (2024, 6, 3, 0, 0), s_collect, &collect);
    GL_CHECK_INT (collect.count, 4);
    GL_CHECK_INT (collect.bars [0], s_utc (2024, 5, 28, 0, 0));
    GL_CHECK_INT (collect.bars [3], s_utc (2024, 5, 31, 0, 0));

    //  1w bars are Mondays: 53 in 2024 (Jan 1 is a Monday), the holiday
    //  Monday's week included; none from a Tuesday to the next Monday.
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1W, s_utc (2024, 1, 1, 0, 0),
                                          s_utc (2025, 1, 1, 0, 0)), 53);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1W, s_utc (2024, 1, 2, 0, 0),
                                          s_utc (2024, 1, 8, 0, 0)), 0);
    collect = (s_collect_t) { .ordered = true };
    gl_calendar_each_bar (calendar, GL_TF_1W, s_utc (2024, 5, 22, 0, 0),
                          s_utc (2024, 6, 4, 0, 0), s_collect, &collect);
    GL_CHECK_INT (collect.count, 2);
    GL_CHECK_INT (collect.bars [0], s_utc (2024, 5, 27, 0, 0));
    GL_CHECK_INT (collect.bars [1], s_utc (2024, 6, 3, 0, 0));

    //  Two years of 1m bars: the walk agrees with the count and rises.
    int64_t from = s_utc (2023, 1, 1, 0, 0), to = s_utc (2025, 1, 1, 0, 0);
    collect = (s_collect_t) { .ordered = true };
    GL_CHECK_INT (gl_calendar_each_bar (calendar, GL_TF_1M, from, to, s_collect, &collect), 0);
    int64_t count = gl_calendar_count_bars (calendar, GL_TF_1M, from, to);
    GL_CHECK_INT (collect.count, count);
    GL_CHECK (collect.ordered);
    //  250 + 252 sessions, 5 early closes of 210 bars.
    GL_CHECK_INT (count, (250 + 252) * 390 - 5 * 180);

    //  A callback's non-zero value stops the walk.
    collect = (s_collect_t) { .ordered = true, .stop_after = 3 };
    GL_CHECK_INT (gl_calendar_each_bar (calendar, GL_TF_1M, from, to, s_collect, &collect), 7);
    GL_CHECK_INT (collect.count, 3);
}

//  The grid in force per timeframe: the clock by default, set one by one
//  or from configuration, all or none; 4h clock bars start 08:00 and 12:00.
static void
s_test_grids (void)
{
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar);
    if (!calendar)
        return;
    int64_t day = s_utc (2024, 3, 12, 0, 0);
    s_collect_t collect = { .ordered = true };
    gl_calendar_each_bar (calendar, GL_TF_4H, day, day + 86400, s_collect, &collect);
    GL_CHECK_INT (collect.count, 2);
    GL_CHECK_INT (collect.bars [0], s_utc (2024, 3, 12, 12, 0));
    GL_CHECK_INT (collect.bars [1], s_utc (2024, 3, 12, 16, 0));
    //  A range from 09:30 New York still holds the 09:00 clock bar's
    //  successors only: [13:30Z, 15:00Z) holds 14:00Z.
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1H, s_utc (2024, 3, 12, 13, 30),
                                          s_utc (2024, 3, 12, 15, 0)), 1);
    //  The 1h clock bars of an early close: 09:00 .. 12:00.
    GL_CHECK_INT (s_day_bars (calendar, "1h", 2023, 11, 24), 4);
    //  Extended hours are on neither grid.
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1H, s_utc (2024, 3, 12, 8, 0),
                                          s_utc (2024, 3, 12, 9, 0) + 1), 0);

    GL_CHECK_INT (gl_calendar_set_grids (calendar, "1h=session,4h=clock"), 0);
    GL_CHECK_INT (gl_calendar_grid (calendar, GL_TF_1H), GL_GRID_SESSION);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1H, s_utc (2024, 3, 12, 13, 30),
                                          s_utc (2024, 3, 12, 13, 31)), 1);
    GL_CHECK_INT (gl_calendar_set_grids (calendar, "1h=clock,1d=clock"), -1);
    GL_CHECK_INT (gl_calendar_set_grids (calendar, "1h=clock,4h=hourly"), -1);
    GL_CHECK_INT (gl_calendar_set_grids (calendar, "1h"), -1);
    GL_CHECK_INT (gl_calendar_grid (calendar, GL_TF_1H), GL_GRID_SESSION);
    GL_CHECK_INT (gl_calendar_set_grid (calendar, GL_TF_1D, GL_GRID_CLOCK), -1);
    GL_CHECK_INT (gl_calendar_set_grid (calendar, GL_TF_1H, GL_GRID_INVALID), -1);
    GL_CHECK_INT (gl_calendar_grid (calendar, GL_TF_1D), GL_GRID_INVALID);
    GL_CHECK_INT (gl_calendar_count_bars_on (calendar, GL_TF_1H, GL_GRID_INVALID, day,
                                             day + 86400), -1);

    //  Grids agree where the length divides 09:30, never for 1h and 4h.
    GL_CHECK (gl_calendar_grids_agree (GL_TF_30M, GL_GRID_SESSION, GL_GRID_CLOCK));
    GL_CHECK (!gl_calendar_grids_agree (GL_TF_1H, GL_GRID_SESSION, GL_GRID_CLOCK));
    GL_CHECK (!gl_calendar_grids_agree (GL_TF_4H, GL_GRID_SESSION, GL_GRID_CLOCK));
    GL_CHECK (gl_calendar_grids_agree (GL_TF_4H, GL_GRID_CLOCK, GL_GRID_CLOCK));
    GL_CHECK (!gl_calendar_grids_agree (GL_TF_1D, GL_GRID_CLOCK, GL_GRID_CLOCK));
    GL_CHECK_INT (gl_calendar_grid_parse ("clock"), GL_GRID_CLOCK);
    GL_CHECK_INT (gl_calendar_grid_parse ("Clock"), GL_GRID_INVALID);
    GL_CHECK_STR (gl_calendar_grid_name (GL_GRID_SESSION), "session");
    gl_calendar_destroy (&calendar);
}

//  Bad timeframes and ranges.
static void
s_test_bad_input (gl_calendar_t *calendar)
{
    s_collect_t collect = { .ordered = true };
    int64_t day = s_utc (2024, 3, 12, 0, 0);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_INVALID, day, day + 86400), -1);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, (gl_timeframe_t) 99, day, day + 86400), -1);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1M, day + 86400, day), -1);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1M, day, INT64_MAX), -1);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1M, INT64_MIN, day), -1);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1M, day, day), 0);
    GL_CHECK_INT (gl_calendar_each_bar (calendar, GL_TF_INVALID, day, day + 86400,
                                        s_collect, &collect), -1);
    GL_CHECK_INT (gl_calendar_each_bar (calendar, GL_TF_1M, day + 1, day, s_collect, &collect), -1);
    GL_CHECK_INT (gl_calendar_each_bar (calendar, GL_TF_1M, day, day + 86400, NULL, NULL), -1);
    GL_CHECK_INT (collect.count, 0);
    GL_CHECK (!gl_calendar_is_session_day (calendar, 2024, 2, 30));
    GL_CHECK (!gl_calendar_is_session_day (calendar, 0, 1, 2));
    GL_CHECK_INT (gl_calendar_count_bars (NULL, GL_TF_1M, day, day + 86400), -1);
}

//  The 24x7 calendar: every day a session 00:00-24:00 UTC.
static void
s_test_24x7 (void)
{
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_24X7);
    GL_CHECK (calendar);
    if (!calendar)
        return;
    GL_CHECK (gl_calendar_is_session_day (calendar, 2024, 12, 25));
    GL_CHECK (gl_calendar_is_session_day (calendar, 2024, 3, 16));
    s_check_session (calendar, 2024, 3, 10, 0, 0, 24, 0);
    GL_CHECK_INT (s_day_bars (calendar, "1m", 2024, 3, 10), 1440);
    GL_CHECK_INT (s_day_bars (calendar, "1h", 2024, 3, 10), 24);
    GL_CHECK_INT (s_day_bars (calendar, "4h", 2024, 3, 10), 6);
    int64_t year_start = s_utc (2024, 1, 1, 0, 0), year_end = s_utc (2025, 1, 1, 0, 0);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1D, year_start, year_end), 366);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1W, year_start, year_end), 53);
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_1M, year_start, year_end), 366 * 1440);
    //  Intraday bars are multiples of the length since the epoch.
    GL_CHECK_INT (gl_calendar_count_bars (calendar, GL_TF_4H, year_start + 1,
                                          year_start + 4 * 3600 + 1), 1);
    s_collect_t collect = { .ordered = true };
    gl_calendar_each_bar (calendar, GL_TF_4H, year_start + 1, year_start + 9 * 3600,
                          s_collect, &collect);
    GL_CHECK_INT (collect.count, 2);
    GL_CHECK_INT (collect.bars [0], year_start + 4 * 3600);
    GL_CHECK_INT (collect.bars [1], year_start + 8 * 3600);

    int64_t open_utc = 0, close_utc = 0;
    GL_CHECK_INT (gl_calendar_next_session (calendar, year_start, &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, year_start + 86400);
    GL_CHECK_INT (gl_calendar_previous_session (calendar, year_start + 1,
                                                &open_utc, &close_utc), 0);
    GL_CHECK_INT (open_utc, year_start);
    GL_CHECK_INT (close_utc, year_start + 86400);
    GL_CHECK_INT (gl_calendar_add_closure (calendar, 2024, 3, 5), -1);
    gl_calendar_destroy (&calendar);
    GL_CHECK (calendar == NULL);
}

//  Our tz parser agrees with glibc's localtime for every session open and
//  close of 1990-2040 (TZ is process-global: fine in a test, not in the
//  library).
static void
s_test_against_glibc (gl_calendar_t *calendar)
{
    setenv ("TZ", "America/New_York", 1);
    tzset ();
    int sessions = 0, mismatches = 0;
    for (int64_t days = s_utc (1990, 1, 1, 0, 0) / 86400;
         days < s_utc (2041, 1, 1, 0, 0) / 86400; days++) {
        time_t midnight = (time_t) (days * 86400);
        struct tm date;
        gmtime_r (&midnight, &date);
        int64_t open_utc, close_utc;
        if (gl_calendar_session (calendar, date.tm_year + 1900, date.tm_mon + 1,
                                 date.tm_mday, &open_utc, &close_utc))
            continue;
        sessions++;
        struct tm local = { .tm_year = date.tm_year, .tm_mon = date.tm_mon,
                            .tm_mday = date.tm_mday, .tm_hour = 9, .tm_min = 30,
                            .tm_isdst = -1 };
        if ((int64_t) mktime (&local) != open_utc)
            mismatches++;
        time_t close_time = (time_t) close_utc;
        localtime_r (&close_time, &local);
        if (local.tm_mday != date.tm_mday
        ||  !((local.tm_hour == 16 || local.tm_hour == 13 || local.tm_hour == 14)
              && local.tm_min == 0))
            mismatches++;
    }
    unsetenv ("TZ");
    tzset ();
    GL_CHECK (sessions > 12800);
    GL_CHECK_INT (mismatches, 0);
}

//  Writes a file; returns 0 or -1.
static int
s_write_file (const char *path, const void *bytes, size_t size)
{
    FILE *file = fopen (path, "wb");
    if (!file)
        return -1;
    size_t written = fwrite (bytes, 1, size, file);
    return fclose (file) == 0 && written == size? 0: -1;
}

//  A missing or corrupt zone file gives NULL; a zone holding only a
//  footer rule gives the same sessions as the system's.
static void
s_test_zone_files (void)
{
    char directory [] = "/tmp/test_calendar_XXXXXX";
    GL_CHECK (mkdtemp (directory));
    char zone_dir [256], zone_path [256];
    snprintf (zone_dir, sizeof zone_dir, "%s/America", directory);
    snprintf (zone_path, sizeof zone_path, "%s/America/New_York", directory);
    setenv ("TZDIR", directory, 1);

    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar == NULL);

    GL_CHECK_INT (mkdir (zone_dir, 0700), 0);
    GL_CHECK_INT (s_write_file (zone_path, "TZif2 not really", 16), 0);
    calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar == NULL);

    //  Version 2, no transitions, one type "EST" -5h, then the footer.
    unsigned char block [44 + 6 + 4] = { 'T', 'Z', 'i', 'f', '2' };
    block [39] = 1;                                     //  typecnt
    block [43] = 4;                                     //  charcnt
    const unsigned char type [6] = { 0xff, 0xff, 0xb9, 0xb0, 0, 0 };
    memcpy (block + 44, type, 6);
    memcpy (block + 50, "EST", 4);
    const char footer [] = "\nEST5EDT,M3.2.0,M11.1.0\n";
    unsigned char file [2 * sizeof block + sizeof footer - 1];
    memcpy (file, block, sizeof block);
    memcpy (file + sizeof block, block, sizeof block);
    memcpy (file + 2 * sizeof block, footer, sizeof footer - 1);
    GL_CHECK_INT (s_write_file (zone_path, file, sizeof file), 0);
    calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar);
    if (calendar) {
        s_check_session (calendar, 2024, 3, 8, 14, 30, 21, 0);
        s_check_session (calendar, 2024, 3, 11, 13, 30, 20, 0);
        s_check_session (calendar, 2024, 11, 1, 13, 30, 20, 0);
        s_check_session (calendar, 2024, 11, 4, 14, 30, 21, 0);
        gl_calendar_destroy (&calendar);
    }
    //  Counts that point past the end of the file are refused.
    file [35] = 0x10;                                   //  v1 timecnt 4096
    GL_CHECK_INT (s_write_file (zone_path, file, sizeof file), 0);
    calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar == NULL);
    file [35] = 0;
    file [sizeof block + 35] = 0x10;                    //  v2 timecnt 4096
    GL_CHECK_INT (s_write_file (zone_path, file, sizeof file), 0);
    calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar == NULL);
    file [sizeof block + 35] = 0;
    //  A footer the parser cannot read is refused.
    memcpy (file + 2 * sizeof block + 8, "X", 1);
    GL_CHECK_INT (s_write_file (zone_path, file, sizeof file), 0);
    calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar == NULL);
    //  A version 1 file is refused: it has no 64-bit data and no footer.
    file [4] = '\0';
    GL_CHECK_INT (s_write_file (zone_path, file, sizeof file), 0);
    calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar == NULL);

    unlink (zone_path);
    rmdir (zone_dir);
    rmdir (directory);
    unsetenv ("TZDIR");
}

int
main (void)
{
    GL_CHECK_INT (gl_calendar_kind_parse ("xnys"), GL_CALENDAR_XNYS);
    GL_CHECK_INT (gl_calendar_kind_parse ("24x7"), GL_CALENDAR_24X7);
    GL_CHECK_INT (gl_calendar_kind_parse ("nyse"), 0);
    GL_CHECK_INT (gl_calendar_kind_parse (NULL), 0);
    GL_CHECK (gl_calendar_new ((gl_calendar_kind_t) 0) == NULL);

    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar);
    if (calendar) {
        s_test_sessions (calendar);
        s_test_holidays (calendar);
        s_test_next_previous (calendar);
        s_test_bars (calendar);
        s_test_grids ();
        s_test_bad_input (calendar);
        s_test_against_glibc (calendar);
        s_test_closures (calendar);
    }
    gl_calendar_destroy (&calendar);
    gl_calendar_destroy (&calendar);
    GL_CHECK (calendar == NULL);
    s_test_24x7 ();
    s_test_zone_files ();
    return gl_test_done ("test_calendar");
}
