/*  gl_slicer — a backfill's range cut into whole calendar units.  */
#include "gl_slicer.h"
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define S_DAY 86400
#define S_TIME_MIN 0                //  1970-01-01
#define S_TIME_MAX 4102444800       //  2100-01-01

static const char *s_unit_names [] = { "invalid", "session", "week", "month", "year" };

//  The state of one cut: the slice being grown and where it ends.
typedef struct {
    gl_calendar_t *calendar;
    gl_timeframe_t timeframe;
    gl_slice_unit_t unit;
    int64_t length;             //  bar length in seconds
    int64_t key;                //  unit of the slice being grown
    int64_t session_close;      //  close of the last bar's session (intraday)
    gl_slice_t slice;           //  bars == 0: nothing grown yet
    int64_t from, to;           //  the request: a unit none of whose bars
    bool touched;               //  lies in it gives no slice
    int64_t count;
    gl_slicer_fn *callback;
    void *argument;
} s_cut_t;

//  Parses a unit name.
gl_slice_unit_t
gl_slicer_unit_parse (const char *name)
{
    for (int unit = GL_SLICE_SESSION; name && unit <= GL_SLICE_YEAR; unit++)
        if (strcmp (name, s_unit_names [unit]) == 0)
            return (gl_slice_unit_t) unit;
    return GL_SLICE_INVALID;
}

//  The unit's name.
const char *
gl_slicer_unit_name (gl_slice_unit_t unit)
{
    return unit >= GL_SLICE_SESSION && unit <= GL_SLICE_YEAR? s_unit_names [unit]: "invalid";
}

//  The default unit of a timeframe.
gl_slice_unit_t
gl_slicer_default_unit (gl_timeframe_t timeframe)
{
    switch (timeframe) {
        case GL_TF_1M:  return GL_SLICE_SESSION;
        case GL_TF_5M:
        case GL_TF_15M:
        case GL_TF_30M: return GL_SLICE_WEEK;
        case GL_TF_1H:
        case GL_TF_4H:  return GL_SLICE_MONTH;
        case GL_TF_1D:
        case GL_TF_1W:  return GL_SLICE_YEAR;
        default:        return GL_SLICE_INVALID;
    }
}

//  True if the unit holds whole bars of the timeframe.
bool
gl_slicer_unit_fits (gl_slice_unit_t unit, gl_timeframe_t timeframe)
{
    if (gl_timeframe_seconds (timeframe) <= 0 || unit < GL_SLICE_SESSION || unit > GL_SLICE_YEAR)
        return false;
    if (timeframe == GL_TF_1W)
        return unit == GL_SLICE_YEAR;
    if (timeframe == GL_TF_1D)
        return unit >= GL_SLICE_WEEK;
    return true;
}

//  00:00 UTC of the first day of the unit holding the instant's UTC date.
static int64_t
s_unit_start (gl_slice_unit_t unit, int64_t instant)
{
    int year, month, day;
    gl_calendar_date_of (instant, &year, &month, &day);
    int64_t midnight = gl_calendar_date_utc (year, month, day);
    switch (unit) {
        case GL_SLICE_SESSION:
            return midnight;
        case GL_SLICE_WEEK: {
            //  1970-01-01 was a Thursday: days since a Monday are (days + 3) % 7
            int64_t days = midnight / S_DAY;
            return (days - ((days % 7 + 7 + 3) % 7)) * S_DAY;
        }
        case GL_SLICE_MONTH:
            return gl_calendar_date_utc (year, month, 1);
        default:
            return gl_calendar_date_utc (year, 1, 1);
    }
}

//  00:00 UTC of the first day after the unit that starts at start.
static int64_t
s_unit_end (gl_slice_unit_t unit, int64_t start)
{
    int year, month, day;
    gl_calendar_date_of (start, &year, &month, &day);
    switch (unit) {
        case GL_SLICE_SESSION: return start + S_DAY;
        case GL_SLICE_WEEK:    return start + 7 * S_DAY;
        case GL_SLICE_MONTH:   return month == 12? gl_calendar_date_utc (year + 1, 1, 1)
                                                 : gl_calendar_date_utc (year, month + 1, 1);
        default:               return gl_calendar_date_utc (year + 1, 1, 1);
    }
}

//  Hands the grown slice to the callback if the request asked for any of
//  its bars. Returns the callback's value.
static int
s_emit (s_cut_t *self)
{
    int rc = 0;
    if (self->slice.bars > 0 && self->touched) {
        self->count++;
        rc = self->callback (&self->slice, self->argument);
    }
    self->slice.bars = 0;
    self->touched = false;
    return rc;
}

//  The end of the bar starting at start: its length, cut at the session's
//  close for intraday bars.
static int64_t
s_bar_end (s_cut_t *self, int64_t start)
{
    if (!gl_timeframe_is_intraday (self->timeframe))
        return start + self->length;
    if (start >= self->session_close) {
        int64_t open, close;
        if (gl_calendar_previous_session (self->calendar, start + 1, &open, &close) == 0)
            self->session_close = close;
    }
    int64_t end = start + self->length;
    return end < self->session_close? end: self->session_close;
}

//  Adds one expected bar: to the slice of its unit, or starts the next.
static int
s_add_bar (int64_t start, void *argument)
{
    s_cut_t *self = (s_cut_t *) argument;
    int64_t key = s_unit_start (self->unit, start);
    if (self->slice.bars > 0 && key != self->key) {
        int rc = s_emit (self);
        if (rc != 0)
            return rc;
    }
    if (self->slice.bars == 0) {
        self->key = key;
        self->slice.from = start;
    }
    self->slice.to = s_bar_end (self, start);
    self->slice.bars++;
    self->touched |= start >= self->from && start < self->to;
    return 0;
}

//  Cuts [from, to), widened to whole units, into slices.
int64_t
gl_slicer_cut (gl_calendar_t *calendar, gl_timeframe_t timeframe, gl_slice_unit_t unit,
               int64_t from, int64_t to, gl_slicer_fn *callback, void *argument)
{
    if (!calendar || !callback || !gl_slicer_unit_fits (unit, timeframe)
    ||  from >= to || from < S_TIME_MIN || to > S_TIME_MAX)
        return -1;
    s_cut_t self = {
        .calendar = calendar, .timeframe = timeframe, .unit = unit,
        .length = gl_timeframe_seconds (timeframe), .callback = callback,
        .argument = argument, .from = from, .to = to,
    };
    int64_t first = s_unit_start (unit, from);
    int64_t last = s_unit_end (unit, s_unit_start (unit, to - 1));
    int rc = gl_calendar_each_bar (calendar, timeframe, first, last, s_add_bar, &self);
    if (rc == 0)
        rc = s_emit (&self);
    return rc == 0? self.count: -1;
}

//  Counts the units overlapping [from, to).
int64_t
gl_slicer_units (gl_slice_unit_t unit, int64_t from, int64_t to)
{
    if (unit < GL_SLICE_SESSION || unit > GL_SLICE_YEAR
    ||  from >= to || from < S_TIME_MIN || to > S_TIME_MAX)
        return -1;
    int64_t first = s_unit_start (unit, from), last = s_unit_start (unit, to - 1);
    int first_year, first_month, last_year, last_month, day;
    gl_calendar_date_of (first, &first_year, &first_month, &day);
    gl_calendar_date_of (last, &last_year, &last_month, &day);
    switch (unit) {
        case GL_SLICE_SESSION: return (last - first) / S_DAY + 1;
        case GL_SLICE_WEEK:    return (last - first) / (7 * S_DAY) + 1;
        case GL_SLICE_MONTH:   return (last_year - first_year) * 12 + last_month - first_month + 1;
        default:               return last_year - first_year + 1;
    }
}

//  Checks the size of a request against the cap.
int
gl_slicer_check_size (gl_slice_unit_t unit, int64_t from, int64_t to, size_t symbols,
                      char *error, size_t size)
{
    int64_t units = gl_slicer_units (unit, from, to);
    if (units == -1) {
        snprintf (error, size, "the range cannot be cut into %s slices", gl_slicer_unit_name (unit));
        return -1;
    }
    //  units <= 47,500 (130 years of days): with symbols bounded first,
    //  the product cannot overflow
    if (symbols <= GL_SLICER_MAX_SLICES && units * (int64_t) symbols <= GL_SLICER_MAX_SLICES)
        return 0;
    //  sessions are counted as days, the bound known without a calendar
    const char *name = unit == GL_SLICE_SESSION? "day": gl_slicer_unit_name (unit);
    snprintf (error, size, "%zu symbol%s x %" PRId64 " %s%s is more than the %d slices one"
              " request may make: split it by symbols or by range", symbols,
              symbols == 1? "": "s", units, name, units == 1? "": "s", GL_SLICER_MAX_SLICES);
    return -1;
}
