/*  gl_slicer — cuts a backfill's range into slices, the units of work the
    scheduler enqueues, leases and retries.

    A slice is one calendar unit of one symbol and timeframe: a trading
    session, an ISO week, a calendar month or a calendar year (UTC dates;
    an XNYS session's civil date is the UTC date of its open). Its range
    runs from the first expected bar start in the unit to the end of the
    last expected bar (the session's close for intraday bars, the next day
    for 1d, the next Monday for 1w), so a slice never covers only closed
    time, and a unit without an expected bar gives no slice.

    Slices are whole units, never clipped to the request: the same unit
    always gives the same range, so overlapping or repeated requests name
    the same slices and share them (job_runs.idx_hash). A request is
    widened to the units that hold at least one expected bar inside it: a
    range of only weekends and holidays gives no slice.

    Default units (ARCHITECTURE's defaults, configurable per timeframe):
    1m a session; 5m, 15m and 30m a week; 1h and 4h a month; 1d and 1w a
    year. A unit must hold at least one bar's length (1w by year only).
*/
#ifndef GL_SLICER_H_INCLUDED
#define GL_SLICER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "gl_calendar.h"
#include "gl_timeframe.h"

typedef enum {
    GL_SLICE_INVALID = 0,
    GL_SLICE_SESSION,
    GL_SLICE_WEEK,
    GL_SLICE_MONTH,
    GL_SLICE_YEAR,
} gl_slice_unit_t;

//  One slice: [from, to) in UTC seconds, and how many bars the calendar
//  expects in it.
typedef struct {
    int64_t from, to;
    int64_t bars;
} gl_slice_t;

//  Called once per slice, in order. Return 0 to go on, -1 to stop.
typedef int (gl_slicer_fn) (const gl_slice_t *slice, void *argument);

//  Parses "session", "week", "month", "year"; GL_SLICE_INVALID otherwise.
gl_slice_unit_t gl_slicer_unit_parse (const char *name);

//  The unit's name, or "invalid".
const char *gl_slicer_unit_name (gl_slice_unit_t unit);

//  The default unit of a timeframe, or GL_SLICE_INVALID for none.
gl_slice_unit_t gl_slicer_default_unit (gl_timeframe_t timeframe);

//  True if the unit can hold whole bars of the timeframe (a session holds
//  intraday bars only; 1d needs a week or more, 1w a year).
bool gl_slicer_unit_fits (gl_slice_unit_t unit, gl_timeframe_t timeframe);

//  Calls callback for every slice whose unit overlaps [from, to). Returns
//  the number of slices, or -1 when the callback stopped it or for a bad
//  timeframe, unit, range (from < to, years 1970-2099) or calendar.
int64_t gl_slicer_cut (gl_calendar_t *calendar, gl_timeframe_t timeframe,
                       gl_slice_unit_t unit, int64_t from, int64_t to,
                       gl_slicer_fn *callback, void *argument);

//  The most slices one enqueue may ask for, counted as symbols times
//  gl_slicer_units: a request beyond it is refused before anything is cut
//  or staged (1m bars of 10,000 symbols over 50 years would be 182 million
//  units). Split a larger backfill by symbols or by range.
#define GL_SLICER_MAX_SLICES 5000000

//  How many units overlap [from, to): an upper bound on one symbol's
//  slices, counted without a calendar (a session unit as a day). Returns
//  -1 for a bad unit or range (from < to, years 1970-2099).
int64_t gl_slicer_units (gl_slice_unit_t unit, int64_t from, int64_t to);

//  Checks that symbols times gl_slicer_units stays within
//  GL_SLICER_MAX_SLICES. Returns 0, or -1 with what is wrong in error
//  (size bytes), naming the count and the limit.
int gl_slicer_check_size (gl_slice_unit_t unit, int64_t from, int64_t to, size_t symbols,
                          char *error, size_t size);

#endif
