/*  gl_calendar — exchange trading calendars: which days trade, when a
    session opens and closes, and which bar start times a range must hold.

    Two kinds: GL_CALENDAR_XNYS (NYSE/Nasdaq regular sessions 09:30-16:00
    America/New_York, holidays by rule for 1990-2040, early closes at 13:00,
    ad-hoc closures added from configuration) and GL_CALENDAR_24X7 (crypto).

    Times are UTC seconds since the epoch (int64_t). Dates are civil dates
    in the exchange's time zone, given as year, month (1-12), day.

    Bar start convention, shared by every module that stores or compares
    bars (the sim, the fetchers' normalisation, the scheduler's slicer, the
    writer's grid check and the coverage tracker):
      - intraday (1m..4h) on XNYS, on the grid in force for the timeframe:
        - GL_GRID_CLOCK (the default): wall-clock multiples of the length
          since New York midnight, for every bar that overlaps the regular
          session (a 1h bar starts 09:00, 10:00 .. 15:00, the 09:00 bar
          holding 09:30-10:00; 4h bars start 08:00 and 12:00). This is how
          Polygon, Alpaca and Finnhub stamp their bars;
        - GL_GRID_SESSION: session open + k * length, for every k with
          start < session close (a 1h bar starts 09:30, 10:30 .. 15:30;
          the last bar of a session may be shorter). This is Yahoo's;
        for 1m..30m the two grids are the same bars (09:30 is a multiple of
          30 minutes); they differ for 1h and 4h only. Extended-hours bars
          (04:00-09:30, 16:00-20:00) are on neither grid;
      - intraday on 24X7: multiples of the length since the epoch;
      - 1d: the session date at 00:00 UTC (a date key, free of DST);
      - 1w: the Monday of the week at 00:00 UTC, for weeks that hold at
        least one session.

    The zone comes from $TZDIR/America/New_York (default /usr/share/zoneinfo),
    read by the calendar itself, never through TZ/localtime, so once its
    closures are added a calendar may be queried from any number of threads.
    Extra ad-hoc closures come from the configuration key calendar/closures
    ("YYYY-MM-DD,YYYY-MM-DD") through gl_calendar_add_closures.
*/
#ifndef GL_CALENDAR_H_INCLUDED
#define GL_CALENDAR_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gl_timeframe.h"

typedef enum {
    GL_CALENDAR_XNYS = 1,
    GL_CALENDAR_24X7 = 2,
} gl_calendar_kind_t;

//  The grid of intraday bar starts (see the convention above).
typedef enum {
    GL_GRID_INVALID = 0,
    GL_GRID_SESSION = 1,
    GL_GRID_CLOCK = 2,
} gl_grid_t;

typedef struct _gl_calendar_t gl_calendar_t;

//  Creates a calendar of the given kind, with the known ad-hoc closures
//  (2018-12-05, 2025-01-09) for XNYS. Returns NULL if the tz database has
//  no America/New_York. Caller owns return value.
gl_calendar_t *gl_calendar_new (gl_calendar_kind_t kind);

//  Destroys the calendar and nulls the caller's pointer. Safe twice.
void gl_calendar_destroy (gl_calendar_t **self_p);

//  Sets the closures of the configuration (calendar/closures,
//  "YYYY-MM-DD[,YYYY-MM-DD...]") that every XNYS calendar created after
//  this call gets besides the known ones. Call before any thread starts.
//  Returns 0, or -1 for an invalid list (nothing changes).
int gl_calendar_set_configured_closures (const char *dates);

//  Parses "xnys" / "24x7"; returns 0 for anything else.
gl_calendar_kind_t gl_calendar_kind_parse (const char *name);

//  Adds an ad-hoc full-day closure. Returns 0, or -1 for an invalid date.
int gl_calendar_add_closure (gl_calendar_t *self, int year, int month, int day);

//  Adds closures from a string of dates "YYYY-MM-DD[,YYYY-MM-DD...]".
//  Returns 0, or -1 naming nothing added if any date is malformed.
int gl_calendar_add_closures (gl_calendar_t *self, const char *dates);

//  Parses "session" / "clock"; GL_GRID_INVALID for anything else.
gl_grid_t gl_calendar_grid_parse (const char *name);

//  The grid's name, or "invalid".
const char *gl_calendar_grid_name (gl_grid_t grid);

//  The grid every new calendar starts with for a timeframe: GL_GRID_CLOCK
//  for intraday timeframes, GL_GRID_INVALID for 1d, 1w and bad input.
gl_grid_t gl_calendar_default_grid (gl_timeframe_t timeframe);

//  True if the two grids hold the same bars for this timeframe (always for
//  1m..30m, whose lengths divide the 09:30 open; never for 1h and 4h).
bool gl_calendar_grids_agree (gl_timeframe_t timeframe, gl_grid_t one, gl_grid_t other);

//  Sets the grid in force for an intraday timeframe. Returns 0, or -1 for
//  a daily or weekly timeframe or an invalid grid. Set grids before the
//  calendar is shared between threads.
int gl_calendar_set_grid (gl_calendar_t *self, gl_timeframe_t timeframe, gl_grid_t grid);

//  Sets grids from "TF=GRID[,TF=GRID...]" (the configuration key
//  calendar/grids, e.g. "1h=clock,4h=session"), all or none. Returns 0,
//  or -1 logging what was expected.
int gl_calendar_set_grids (gl_calendar_t *self, const char *grids);

//  The grid in force for a timeframe (GL_GRID_INVALID for 1d, 1w).
gl_grid_t gl_calendar_grid (gl_calendar_t *self, gl_timeframe_t timeframe);

//  True if the exchange trades on this civil date.
bool gl_calendar_is_session_day (gl_calendar_t *self, int year, int month, int day);

//  Session open and close in UTC for a session day. Returns 0, or -1 if
//  the date is not a session day.
int gl_calendar_session (gl_calendar_t *self, int year, int month, int day,
                         int64_t *open_utc, int64_t *close_utc);

//  The first session opening strictly after / the last session opening
//  strictly before the instant; stores open and close. Returns 0 or -1.
int gl_calendar_next_session (gl_calendar_t *self, int64_t after_utc,
                              int64_t *open_utc, int64_t *close_utc);
int gl_calendar_previous_session (gl_calendar_t *self, int64_t before_utc,
                                  int64_t *open_utc, int64_t *close_utc);

//  00:00 UTC of a civil date (any valid proleptic Gregorian date).
int64_t gl_calendar_date_utc (int year, int month, int day);

//  The UTC civil date of an instant.
void gl_calendar_date_of (int64_t utc, int *year, int *month, int *day);

//  Calls the callback once per expected bar start in [from_utc, to_utc),
//  in order, following the convention above. Stops early and returns the
//  callback's value if it returns non-zero; returns 0 when done, -1 for a
//  bad timeframe or range.
typedef int (gl_calendar_bar_fn) (int64_t bar_start_utc, void *argument);
int gl_calendar_each_bar (gl_calendar_t *self, gl_timeframe_t timeframe,
                          int64_t from_utc, int64_t to_utc,
                          gl_calendar_bar_fn *callback, void *argument);

//  Counts the expected bars in [from_utc, to_utc), or -1 on bad input.
int64_t gl_calendar_count_bars (gl_calendar_t *self, gl_timeframe_t timeframe,
                                int64_t from_utc, int64_t to_utc);

//  As gl_calendar_each_bar and gl_calendar_count_bars, on the given grid
//  rather than the one in force (the sim serves each provider's own).
int gl_calendar_each_bar_on (gl_calendar_t *self, gl_timeframe_t timeframe, gl_grid_t grid,
                             int64_t from_utc, int64_t to_utc,
                             gl_calendar_bar_fn *callback, void *argument);
int64_t gl_calendar_count_bars_on (gl_calendar_t *self, gl_timeframe_t timeframe,
                                   gl_grid_t grid, int64_t from_utc, int64_t to_utc);

#endif
