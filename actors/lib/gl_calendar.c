/*  gl_calendar — exchange trading calendars.

    XNYS sessions are computed, not looked up: a civil date is a session
    day unless it is a weekend, a holiday by rule, or an ad-hoc closure.
    Session times are local wall-clock times in America/New_York turned
    into UTC with the system tz database, which we parse ourselves (TZif
    version 2+, 64-bit section, plus the POSIX TZ footer for instants past
    the last transition). setenv ("TZ") + localtime would work but is
    process-global and not thread-safe; a calendar is immutable once its
    closures are added, so any number of threads may query it at once.

    Every XNYS session lies within one UTC date (09:30-16:00 New York is
    13:30-21:00 UTC at the latest), so a session's civil date equals the
    UTC date of its open, and range queries walk UTC dates.
*/
#include "gl_calendar.h"
#include "gl_log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY_SECONDS       86400
#define S_FIRST_YEAR        1
#define S_LAST_YEAR         9999
//  Instants from 0001-01-01 to 9999-12-31 UTC: outside, a range is bad.
#define S_FIRST_INSTANT     (-62135596800LL)
#define S_END_INSTANT       (253402300800LL)
#define S_OPEN_MINUTE       (9 * 60 + 30)
#define S_CLOSE_MINUTE      (16 * 60)
#define S_EARLY_MINUTE      (13 * 60)
//  Before 1993 the day after Thanksgiving closed at 14:00.
#define S_EARLY_1992_MINUTE (14 * 60)
//  How far next/previous session search before giving up.
#define S_SEARCH_DAYS       3660
#define S_ZONE_NAME         "America/New_York"
#define S_ZONE_DIRECTORY    "/usr/share/zoneinfo"

enum { S_SUNDAY, S_MONDAY, S_TUESDAY, S_WEDNESDAY, S_THURSDAY, S_FRIDAY, S_SATURDAY };

//  A POSIX TZ rule "Mm.w.d/time": month, week 1-5 (5 = last), weekday,
//  seconds after local midnight.
typedef struct {
    int month;
    int week;
    int weekday;
    int64_t time;
} s_rule_t;

//  The POSIX TZ footer: standard and daylight UTC offsets and the rules.
typedef struct {
    bool present;
    bool has_dst;
    int64_t std_offset;
    int64_t dst_offset;
    s_rule_t start;
    s_rule_t end;
} s_footer_t;

//  The zone: transition instants, the UTC offset in force from each one,
//  the offset before the first, and the footer.
typedef struct {
    size_t count;
    int64_t *times;
    int64_t *offsets;
    int64_t initial_offset;
    s_footer_t footer;
} s_zone_t;

struct _gl_calendar_t {
    gl_calendar_kind_t kind;
    s_zone_t zone;
    int64_t *closures;          //  Sorted days since the epoch
    size_t closure_count;
    size_t closure_capacity;
    gl_grid_t grids [GL_TF_1W + 1];     //  grid in force per intraday timeframe
};

//  Well-known one-off full-day closures, shipped with every XNYS calendar.
static const char *s_known_closures =
    "1994-04-27,"                                   //  Nixon
    "2001-09-11,2001-09-12,2001-09-13,2001-09-14,"  //  September 11
    "2004-06-11,"                                   //  Reagan
    "2007-01-02,"                                   //  Ford
    "2012-10-29,2012-10-30,"                        //  Hurricane Sandy
    "2018-12-05,"                                   //  G. H. W. Bush
    "2025-01-09";                                   //  Carter

//  One-off 13:00 closes that no rule produces.
static const struct { int year, month, day; } s_adhoc_early_closes [] = {
    { 1996, 12, 24 }, { 1997, 12, 24 }, { 1998, 12, 24 },
    { 1997, 12, 26 }, { 2003, 12, 26 },
};
#define S_ADHOC_EARLY_COUNT (sizeof (s_adhoc_early_closes) / sizeof (s_adhoc_early_closes [0]))


//  --------------------------------------------------------------------------
//  Civil dates (proleptic Gregorian, after H. Hinnant's algorithms)

//  Floor division for possibly negative numerators.
static int64_t
s_floor_div (int64_t numerator, int64_t denominator)
{
    int64_t quotient = numerator / denominator;
    if ((numerator % denominator != 0) && ((numerator < 0) != (denominator < 0)))
        quotient--;
    return quotient;
}

//  Days since 1970-01-01 for a civil date.
static int64_t
s_days_from_civil (int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = s_floor_div (year, 400);
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2? -3: 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

//  Civil date for days since 1970-01-01.
static void
s_civil_from_days (int64_t days, int *year, int *month, int *day)
{
    days += 719468;
    int64_t era = s_floor_div (days, 146097);
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524
                           - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    *day = (int) (day_of_year - (153 * month_index + 2) / 5 + 1);
    *month = (int) (month_index < 10? month_index + 3: month_index - 9);
    *year = (int) (year_of_era + era * 400 + (*month <= 2));
}

//  Day of the week, 0 = Sunday, for days since 1970-01-01 (a Thursday).
static int
s_weekday (int64_t days)
{
    return (int) (days - s_floor_div (days + 4, 7) * 7 + 4);
}

//  True for a leap year.
static bool
s_is_leap (int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

//  Days in a month of a year.
static int
s_month_length (int64_t year, int month)
{
    static const int lengths [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return month == 2 && s_is_leap (year)? 29: lengths [month - 1];
}

//  True if year-month-day is a real date in the supported years.
static bool
s_is_valid_date (int year, int month, int day)
{
    return year >= S_FIRST_YEAR && year <= S_LAST_YEAR
        && month >= 1 && month <= 12
        && day >= 1 && day <= s_month_length (year, month);
}

//  Easter Sunday (Gregorian computus, anonymous algorithm), as days.
static int64_t
s_easter_days (int year)
{
    int golden = year % 19;
    int century = year / 100;
    int year_of_century = year % 100;
    int leap_centuries = century / 4;
    int century_rest = century % 4;
    int correction = (century + 8) / 25;
    int moon_correction = (century - correction + 1) / 3;
    int epact = (19 * golden + century - leap_centuries - moon_correction + 15) % 30;
    int leap_years = year_of_century / 4;
    int year_rest = year_of_century % 4;
    int weekday_offset = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7;
    int full_moon_shift = (golden + 11 * epact + 22 * weekday_offset) / 451;
    int month = (epact + weekday_offset - 7 * full_moon_shift + 114) / 31;
    int day = (epact + weekday_offset - 7 * full_moon_shift + 114) % 31 + 1;
    return s_days_from_civil (year, month, day);
}


//  --------------------------------------------------------------------------
//  The tz database

//  Reads a big-endian unsigned 32-bit integer.
static uint32_t
s_read_u32 (const unsigned char *bytes)
{
    return (uint32_t) bytes [0] << 24 | (uint32_t) bytes [1] << 16
         | (uint32_t) bytes [2] << 8 | (uint32_t) bytes [3];
}

//  Reads a big-endian signed 64-bit integer.
static int64_t
s_read_i64 (const unsigned char *bytes)
{
    return (int64_t) ((uint64_t) s_read_u32 (bytes) << 32 | s_read_u32 (bytes + 4));
}

//  Parses a POSIX TZ time or offset "[+-]h[h][:mm[:ss]]" into seconds.
//  Returns the position after it, or NULL.
static const char *
s_parse_time (const char *text, int64_t *seconds)
{
    int sign = 1;
    if (*text == '+' || *text == '-')
        sign = *text++ == '-'? -1: 1;
    int64_t parts [3] = { 0, 0, 0 };
    for (int part = 0; part < 3; part++) {
        if (part > 0 && *text != ':')
            break;
        if (part > 0)
            text++;
        int digits = 0;
        while (*text >= '0' && *text <= '9' && digits < 3) {
            parts [part] = parts [part] * 10 + (*text++ - '0');
            digits++;
        }
        if (digits == 0)
            return NULL;
    }
    *seconds = sign * (parts [0] * 3600 + parts [1] * 60 + parts [2]);
    return text;
}

//  Skips a POSIX TZ zone abbreviation ("EST" or "<-03>"); returns the
//  position after it, or NULL.
static const char *
s_skip_abbreviation (const char *text)
{
    const char *start = text;
    if (*text == '<') {
        const char *end = strchr (text, '>');
        return end? end + 1: NULL;
    }
    while ((*text >= 'A' && *text <= 'Z') || (*text >= 'a' && *text <= 'z'))
        text++;
    return text - start >= 3? text: NULL;
}

//  Parses a POSIX TZ rule ",Mm.w.d[/time]"; returns the position after it,
//  or NULL. Only the M form is supported (every US zone uses it).
static const char *
s_parse_rule (const char *text, s_rule_t *rule)
{
    char *end;
    if (*text++ != ',' || *text++ != 'M')
        return NULL;
    long values [3];
    for (int index = 0; index < 3; index++) {
        if (index > 0 && *text++ != '.')
            return NULL;
        errno = 0;
        values [index] = strtol (text, &end, 10);
        if (end == text || errno)
            return NULL;
        text = end;
    }
    if (values [0] < 1 || values [0] > 12 || values [1] < 1 || values [1] > 5
    ||  values [2] < 0 || values [2] > 6)
        return NULL;
    rule->month = (int) values [0];
    rule->week = (int) values [1];
    rule->weekday = (int) values [2];
    rule->time = 2 * 3600;
    if (*text == '/')
        text = s_parse_time (text + 1, &rule->time);
    return text;
}

//  Parses the footer "EST5EDT,M3.2.0,M11.1.0". Returns 0 or -1.
static int
s_parse_footer (const char *text, s_footer_t *footer)
{
    int64_t offset;
    text = s_skip_abbreviation (text);
    if (!text || !(text = s_parse_time (text, &offset)))
        return -1;
    //  POSIX offsets count west of Greenwich: EST5 is UTC-5.
    footer->std_offset = -offset;
    footer->present = true;
    if (*text == '\0')
        return 0;
    if (!(text = s_skip_abbreviation (text)))
        return -1;
    footer->has_dst = true;
    footer->dst_offset = footer->std_offset + 3600;
    if (*text != ',' && *text != '\0') {
        if (!(text = s_parse_time (text, &offset)))
            return -1;
        footer->dst_offset = -offset;
    }
    if (!(text = s_parse_rule (text, &footer->start))
    ||  !(text = s_parse_rule (text, &footer->end)))
        return -1;
    return *text == '\0'? 0: -1;
}

//  Reads a whole file into a new buffer; returns it (caller frees) or NULL.
static unsigned char *
s_read_file (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    size_t capacity = 4096, length = 0;
    unsigned char *buffer = malloc (capacity);
    while (buffer) {
        length += fread (buffer + length, 1, capacity - length, file);
        if (length < capacity)
            break;
        capacity *= 2;
        unsigned char *larger = realloc (buffer, capacity);
        if (!larger)
            free (buffer);
        buffer = larger;
    }
    bool failed = ferror (file);
    fclose (file);
    if (failed) {
        free (buffer);
        return NULL;
    }
    *size = length;
    return buffer;
}

//  The six counts of a TZif header.
typedef struct {
    uint32_t isut, isstd, leap, time, type, chars;
} s_counts_t;

//  Reads a TZif header at bytes; returns 0 or -1.
static int
s_read_header (const unsigned char *bytes, size_t size, s_counts_t *counts, char *version)
{
    if (size < 44 || memcmp (bytes, "TZif", 4) != 0)
        return -1;
    *version = (char) bytes [4];
    counts->isut = s_read_u32 (bytes + 20);
    counts->isstd = s_read_u32 (bytes + 24);
    counts->leap = s_read_u32 (bytes + 28);
    counts->time = s_read_u32 (bytes + 32);
    counts->type = s_read_u32 (bytes + 36);
    counts->chars = s_read_u32 (bytes + 40);
    return counts->type == 0 || counts->type > 256 || counts->time > 100000? -1: 0;
}

//  Size of a TZif data block with times of time_size bytes.
static size_t
s_block_size (const s_counts_t *counts, size_t time_size)
{
    return counts->time * (time_size + 1) + counts->type * 6 + counts->chars
         + counts->leap * (time_size + 4) + counts->isstd + counts->isut;
}

//  Parses a TZif v2+ file into the zone. Returns 0, or -1 with reason set.
static int
s_zone_parse (s_zone_t *zone, const unsigned char *bytes, size_t size, const char **reason)
{
    s_counts_t counts;
    char version;
    *reason = "not a TZif file";
    if (s_read_header (bytes, size, &counts, &version))
        return -1;
    *reason = "expected TZif version 2 or later";
    if (version < '2')
        return -1;
    size_t offset = 44 + s_block_size (&counts, 4);
    *reason = "truncated TZif file";
    if (offset > size || s_read_header (bytes + offset, size - offset, &counts, &version))
        return -1;
    const unsigned char *data = bytes + offset + 44;
    size_t data_size = s_block_size (&counts, 8);
    if (size < offset + 44 + data_size + 2)
        return -1;
    const unsigned char *indices = data + counts.time * 8;
    const unsigned char *types = indices + counts.time;
    zone->count = counts.time;
    zone->times = calloc (counts.time + 1, sizeof (int64_t));
    zone->offsets = calloc (counts.time + 1, sizeof (int64_t));
    *reason = "out of memory";
    if (!zone->times || !zone->offsets)
        return -1;
    *reason = "bad transition type";
    for (size_t index = 0; index < counts.time; index++) {
        if (indices [index] >= counts.type)
            return -1;
        zone->times [index] = s_read_i64 (data + index * 8);
        zone->offsets [index] = (int32_t) s_read_u32 (types + indices [index] * 6);
    }
    zone->initial_offset = (int32_t) s_read_u32 (types);

    //  The footer sits between two newlines after the data block.
    const char *footer = (const char *) data + data_size;
    const char *footer_end = memchr (footer + 1, '\n', size - (offset + 44 + data_size + 1));
    *reason = "expected a POSIX TZ footer";
    if (*footer != '\n' || !footer_end || footer_end - footer > 128)
        return -1;
    char text [129];
    memcpy (text, footer + 1, footer_end - footer - 1);
    text [footer_end - footer - 1] = '\0';
    *reason = "unsupported POSIX TZ footer";
    if (*text && s_parse_footer (text, &zone->footer))
        return -1;
    return 0;
}

//  Loads America/New_York from $TZDIR or the system tz database.
//  Returns 0 or -1 after logging why.
static int
s_zone_load (s_zone_t *zone)
{
    const char *directory = getenv ("TZDIR");
    char path [1024];
    snprintf (path, sizeof path, "%s/%s",
              directory && *directory? directory: S_ZONE_DIRECTORY, S_ZONE_NAME);
    size_t size = 0;
    unsigned char *bytes = s_read_file (path, &size);
    if (!bytes) {
        gl_log_error ("calendar_zone_missing", "path=%s reason=%s hint=\"install tzdata\"",
                      GL_LOG_VALUE (path), GL_LOG_VALUE (strerror (errno)));
        return -1;
    }
    const char *reason = NULL;
    int rc = s_zone_parse (zone, bytes, size, &reason);
    free (bytes);
    if (rc)
        gl_log_error ("calendar_zone_invalid", "path=%s reason=%s", GL_LOG_VALUE (path),
                      GL_LOG_VALUE (reason));
    return rc;
}

//  The instant a footer rule fires in a year, given the offset in force.
static int64_t
s_rule_instant (const s_rule_t *rule, int64_t year, int64_t offset)
{
    int64_t first = s_days_from_civil (year, rule->month, 1);
    int64_t day = first + (rule->weekday - s_weekday (first) + 7) % 7 + (rule->week - 1) * 7;
    int64_t last = first + s_month_length (year, rule->month) - 1;
    while (day > last)
        day -= 7;
    return day * S_DAY_SECONDS + rule->time - offset;
}

//  UTC offset by the footer rule at an instant.
static int64_t
s_footer_offset (const s_footer_t *footer, int64_t instant)
{
    if (!footer->has_dst)
        return footer->std_offset;
    int year, month, day;
    s_civil_from_days (s_floor_div (instant + footer->std_offset, S_DAY_SECONDS),
                       &year, &month, &day);
    int64_t start = s_rule_instant (&footer->start, year, footer->std_offset);
    int64_t end = s_rule_instant (&footer->end, year, footer->dst_offset);
    bool in_dst = start < end? instant >= start && instant < end
                             : instant >= start || instant < end;
    return in_dst? footer->dst_offset: footer->std_offset;
}

//  UTC offset (seconds east) in force at an instant.
static int64_t
s_zone_offset (const s_zone_t *zone, int64_t instant)
{
    if (zone->footer.present
    && (zone->count == 0 || instant >= zone->times [zone->count - 1]))
        return s_footer_offset (&zone->footer, instant);
    if (zone->count == 0 || instant < zone->times [0])
        return zone->initial_offset;
    size_t low = 0, high = zone->count;     //  times [low] <= instant < times [high]
    while (high - low > 1) {
        size_t middle = low + (high - low) / 2;
        if (zone->times [middle] <= instant)
            low = middle;
        else
            high = middle;
    }
    return zone->offsets [low];
}

//  UTC instant of a local wall-clock time (seconds since the epoch as if
//  local were UTC). Session times never fall in a DST gap or overlap.
static int64_t
s_zone_to_utc (const s_zone_t *zone, int64_t local)
{
    int64_t offset = s_zone_offset (zone, local - s_zone_offset (zone, local));
    return local - offset;
}


//  --------------------------------------------------------------------------
//  XNYS rules

//  True if day (of a weekday date) is the weekday on which a fixed-date
//  holiday on holiday_day is observed: Saturday moves to Friday, Sunday
//  to Monday.
static bool
s_is_observed (int day, int weekday, int holiday_day)
{
    return day == holiday_day
        || (day == holiday_day - 1 && weekday == S_FRIDAY)
        || (day == holiday_day + 1 && weekday == S_MONDAY);
}

//  True if a weekday date is an XNYS holiday by rule.
static bool
s_is_holiday (int year, int month, int day, int weekday, int64_t days)
{
    switch (month) {
        case 1:     //  New Year's (never observed on Dec 31); MLK from 1998
            return day == 1 || (day == 2 && weekday == S_MONDAY)
                || (year >= 1998 && weekday == S_MONDAY && day >= 15 && day <= 21);
        case 2:     //  Presidents' Day, third Monday
            return weekday == S_MONDAY && day >= 15 && day <= 21;
        case 3:
        case 4:     //  Good Friday
            return days == s_easter_days (year) - 2;
        case 5:     //  Memorial Day, last Monday
            return weekday == S_MONDAY && day >= 25;
        case 6:     //  Juneteenth from 2022
            return year >= 2022 && s_is_observed (day, weekday, 19);
        case 7:     //  Independence Day
            return s_is_observed (day, weekday, 4);
        case 9:     //  Labor Day, first Monday
            return weekday == S_MONDAY && day <= 7;
        case 11:    //  Thanksgiving, fourth Thursday
            return weekday == S_THURSDAY && day >= 22 && day <= 28;
        case 12:    //  Christmas
            return s_is_observed (day, weekday, 25);
        default:
            return false;
    }
}

//  Close minute after local midnight of an XNYS session day. Early closes:
//  July 3 on Mon/Tue/Thu from 1995 and on Wednesday from 2013 (before
//  2013, when July 4 was a Thursday, Friday July 5 closed early instead);
//  the day after Thanksgiving from 1992 (14:00 that year); Christmas Eve
//  Mon-Thu from 1999; and a few one-offs.
static int
s_close_minute (int year, int month, int day, int weekday)
{
    if (month == 7) {
        bool before = day == 3
            && ((year >= 1995 && (weekday == S_MONDAY || weekday == S_TUESDAY
                                  || weekday == S_THURSDAY))
                || (year >= 2013 && weekday == S_WEDNESDAY));
        bool after = day == 5 && weekday == S_FRIDAY && year >= 1996 && year <= 2012;
        if (before || after)
            return S_EARLY_MINUTE;
    }
    if (month == 11 && weekday == S_FRIDAY && day >= 23 && day <= 29 && year >= 1992)
        return year == 1992? S_EARLY_1992_MINUTE: S_EARLY_MINUTE;
    if (month == 12 && day == 24 && weekday >= S_MONDAY && weekday <= S_THURSDAY
    &&  year >= 1999)
        return S_EARLY_MINUTE;
    for (size_t index = 0; index < S_ADHOC_EARLY_COUNT; index++)
        if (s_adhoc_early_closes [index].year == year
        &&  s_adhoc_early_closes [index].month == month
        &&  s_adhoc_early_closes [index].day == day)
            return S_EARLY_MINUTE;
    return S_CLOSE_MINUTE;
}

//  True if the day (since the epoch) is an ad-hoc closure.
static bool
s_is_closure (gl_calendar_t *self, int64_t days)
{
    size_t low = 0, high = self->closure_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (self->closures [middle] == days)
            return true;
        if (self->closures [middle] < days)
            low = middle + 1;
        else
            high = middle;
    }
    return false;
}

//  Session of a day since the epoch: returns true and stores open and
//  close if it is a session day.
static bool
s_day_session (gl_calendar_t *self, int64_t days, int64_t *open_utc, int64_t *close_utc)
{
    int64_t midnight = days * S_DAY_SECONDS;
    if (self->kind == GL_CALENDAR_24X7) {
        *open_utc = midnight;
        *close_utc = midnight + S_DAY_SECONDS;
        return true;
    }
    int weekday = s_weekday (days);
    if (weekday == S_SATURDAY || weekday == S_SUNDAY)
        return false;
    int year, month, day;
    s_civil_from_days (days, &year, &month, &day);
    if (s_is_holiday (year, month, day, weekday, days) || s_is_closure (self, days))
        return false;
    *open_utc = s_zone_to_utc (&self->zone, midnight + S_OPEN_MINUTE * 60);
    *close_utc = s_zone_to_utc (&self->zone,
                                midnight + s_close_minute (year, month, day, weekday) * 60);
    return true;
}

//  True if the day since the epoch is a session day.
static bool
s_is_session (gl_calendar_t *self, int64_t days)
{
    int64_t open_utc, close_utc;
    return s_day_session (self, days, &open_utc, &close_utc);
}


//  --------------------------------------------------------------------------
//  Public API

//  The closures of the configuration (gl_calendar_set_configured_closures).
static char *s_configured_closures;

//  Creates a calendar; XNYS loads the zone and the known closures.
gl_calendar_t *
gl_calendar_new (gl_calendar_kind_t kind)
{
    if (kind != GL_CALENDAR_XNYS && kind != GL_CALENDAR_24X7) {
        gl_log_error ("calendar_kind_invalid", "kind=%d expected=\"xnys or 24x7\"", (int) kind);
        return NULL;
    }
    gl_calendar_t *self = calloc (1, sizeof (gl_calendar_t));
    if (!self)
        return NULL;
    self->kind = kind;
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++)
        self->grids [timeframe] = gl_calendar_default_grid ((gl_timeframe_t) timeframe);
    if (kind == GL_CALENDAR_XNYS
    && (s_zone_load (&self->zone) || gl_calendar_add_closures (self, s_known_closures)
    ||  (s_configured_closures && gl_calendar_add_closures (self, s_configured_closures))))
        gl_calendar_destroy (&self);
    return self;
}

//  Sets the configured closures, once validated on a calendar of its own.
int
gl_calendar_set_configured_closures (const char *dates)
{
    gl_calendar_t *probe = dates? gl_calendar_new (GL_CALENDAR_XNYS): NULL;
    bool valid = probe && gl_calendar_add_closures (probe, dates) == 0;
    gl_calendar_destroy (&probe);
    char *copy = valid && *dates? strdup (dates): NULL;
    if (!valid || (*dates && !copy))
        return -1;
    free (s_configured_closures);
    s_configured_closures = copy;
    return 0;
}

//  Destroys the calendar and nulls the caller's pointer.
void
gl_calendar_destroy (gl_calendar_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_calendar_t *self = *self_p;
    free (self->zone.times);
    free (self->zone.offsets);
    free (self->closures);
    free (self);
    *self_p = NULL;
}

//  Parses a calendar kind name.
gl_calendar_kind_t
gl_calendar_kind_parse (const char *name)
{
    if (name && strcmp (name, "xnys") == 0)
        return GL_CALENDAR_XNYS;
    if (name && strcmp (name, "24x7") == 0)
        return GL_CALENDAR_24X7;
    return 0;
}

//  Adds one ad-hoc closure, keeping the list sorted and free of repeats.
int
gl_calendar_add_closure (gl_calendar_t *self, int year, int month, int day)
{
    if (!self || self->kind != GL_CALENDAR_XNYS || !s_is_valid_date (year, month, day)) {
        gl_log_warn ("calendar_closure_rejected", "date=%04d-%02d-%02d"
                     " expected=\"a valid date on an xnys calendar\"", year, month, day);
        return -1;
    }
    int64_t days = s_days_from_civil (year, month, day);
    if (s_is_closure (self, days))
        return 0;
    if (self->closure_count == self->closure_capacity) {
        size_t capacity = self->closure_capacity? self->closure_capacity * 2: 16;
        int64_t *closures = realloc (self->closures, capacity * sizeof (int64_t));
        if (!closures)
            return -1;
        self->closures = closures;
        self->closure_capacity = capacity;
    }
    size_t index = self->closure_count;
    while (index > 0 && self->closures [index - 1] > days) {
        self->closures [index] = self->closures [index - 1];
        index--;
    }
    self->closures [index] = days;
    self->closure_count++;
    return 0;
}

//  Parses "YYYY-MM-DD" exactly at text; returns the position after it or
//  NULL if it is not a valid date.
static const char *
s_parse_date (const char *text, int *year, int *month, int *day)
{
    static const char pattern [] = "dddd-dd-dd";
    int values [3] = { 0, 0, 0 }, field = 0;
    for (size_t index = 0; index < sizeof pattern - 1; index++) {
        if (pattern [index] == '-') {
            if (text [index] != '-')
                return NULL;
            field++;
        }
        else
        if (text [index] >= '0' && text [index] <= '9')
            values [field] = values [field] * 10 + text [index] - '0';
        else
            return NULL;
    }
    if (!s_is_valid_date (values [0], values [1], values [2]))
        return NULL;
    *year = values [0];
    *month = values [1];
    *day = values [2];
    return text + sizeof pattern - 1;
}

//  Adds closures from "YYYY-MM-DD[,YYYY-MM-DD...]", all or none.
int
gl_calendar_add_closures (gl_calendar_t *self, const char *dates)
{
    if (!self || !dates)
        return -1;
    //  Validate everything first so a bad list adds nothing.
    for (int pass = 0; pass < 2; pass++) {
        const char *cursor = dates + strspn (dates, " ");
        while (*cursor) {
            int year, month, day;
            const char *end = s_parse_date (cursor, &year, &month, &day);
            if (end)
                end += strspn (end, " ");
            if (end && *end == ',') {
                end += 1 + strspn (end + 1, " ");
                if (*end == '\0')
                    end = NULL;         //  A trailing comma promises one more date
            }
            else
            if (end && *end != '\0')
                end = NULL;
            if (!end) {
                gl_log_warn ("calendar_closures_rejected", "value=%s"
                             " expected=\"YYYY-MM-DD[,YYYY-MM-DD...]\"", GL_LOG_VALUE (dates));
                return -1;
            }
            if (pass == 1 && gl_calendar_add_closure (self, year, month, day))
                return -1;
            cursor = end;
        }
    }
    return 0;
}

//  00:00 UTC of a civil date.
int64_t
gl_calendar_date_utc (int year, int month, int day)
{
    return s_days_from_civil (year, month, day) * S_DAY_SECONDS;
}

//  The UTC civil date of an instant.
void
gl_calendar_date_of (int64_t utc, int *year, int *month, int *day)
{
    s_civil_from_days (s_floor_div (utc, S_DAY_SECONDS), year, month, day);
}

//  True if the civil date is a session day.
bool
gl_calendar_is_session_day (gl_calendar_t *self, int year, int month, int day)
{
    return self && s_is_valid_date (year, month, day)
        && s_is_session (self, s_days_from_civil (year, month, day));
}

//  Session open and close in UTC of a civil date.
int
gl_calendar_session (gl_calendar_t *self, int year, int month, int day,
                     int64_t *open_utc, int64_t *close_utc)
{
    if (!self || !open_utc || !close_utc || !s_is_valid_date (year, month, day))
        return -1;
    return s_day_session (self, s_days_from_civil (year, month, day),
                          open_utc, close_utc)? 0: -1;
}

//  Steps day by day from the UTC date of instant (direction +1 or -1) to
//  the first session whose open lies strictly beyond it. Returns 0 or -1.
static int
s_search_session (gl_calendar_t *self, int64_t instant, int direction,
                  int64_t *open_utc, int64_t *close_utc)
{
    if (!self || !open_utc || !close_utc
    ||  instant < S_FIRST_INSTANT || instant >= S_END_INSTANT)
        return -1;
    int64_t days = s_floor_div (instant, S_DAY_SECONDS);
    for (int step = 0; step <= S_SEARCH_DAYS; step++, days += direction) {
        int64_t open, close;
        if (days < s_floor_div (S_FIRST_INSTANT, S_DAY_SECONDS)
        ||  days >= s_floor_div (S_END_INSTANT, S_DAY_SECONDS))
            return -1;
        if (s_day_session (self, days, &open, &close)
        &&  (direction > 0? open > instant: open < instant)) {
            *open_utc = open;
            *close_utc = close;
            return 0;
        }
    }
    return -1;
}

//  First session opening strictly after the instant.
int
gl_calendar_next_session (gl_calendar_t *self, int64_t after_utc,
                          int64_t *open_utc, int64_t *close_utc)
{
    return s_search_session (self, after_utc, 1, open_utc, close_utc);
}

//  Last session opening strictly before the instant.
int
gl_calendar_previous_session (gl_calendar_t *self, int64_t before_utc,
                              int64_t *open_utc, int64_t *close_utc)
{
    return s_search_session (self, before_utc, -1, open_utc, close_utc);
}

//  Smallest multiple of step at or above value.
static int64_t
s_ceil_multiple (int64_t value, int64_t step)
{
    return -s_floor_div (-value, step) * step;
}

//  Bar starts in [from, to) as a visitor: either calls the callback per
//  bar or, with no callback, only counts. Returns the callback's non-zero
//  value, or 0.
typedef struct {
    gl_calendar_bar_fn *callback;
    void *argument;
    int64_t count;
} s_visit_t;

//  Visits the bars start, start + step, ... below end. Counting needs no
//  loop. Returns the callback's non-zero value or 0.
static int
s_visit_run (s_visit_t *visit, int64_t start, int64_t step, int64_t end)
{
    if (start >= end)
        return 0;
    if (!visit->callback) {
        visit->count += (end - 1 - start) / step + 1;
        return 0;
    }
    for (int64_t bar = start; bar < end; bar += step) {
        int rc = visit->callback (bar, visit->argument);
        if (rc)
            return rc;
    }
    return 0;
}

//  Intraday bars of XNYS sessions in [from, to). On the clock grid the
//  first bar starts at the last wall-clock multiple of the length at or
//  before the open (the open is 09:30 local on every session day, and no
//  DST change falls between midnight and the open, so its distance from
//  local midnight is the same every day).
static int
s_visit_sessions (gl_calendar_t *self, int64_t length, gl_grid_t grid, int64_t from,
                  int64_t to, s_visit_t *visit)
{
    int64_t lead = grid == GL_GRID_CLOCK? (S_OPEN_MINUTE * 60) % length: 0;
    int64_t last = s_floor_div (to - 1, S_DAY_SECONDS);
    for (int64_t days = s_floor_div (from, S_DAY_SECONDS); days <= last; days++) {
        int64_t open, close;
        if (!s_day_session (self, days, &open, &close))
            continue;
        int64_t first = open - lead;
        int64_t start = first + s_ceil_multiple (from > first? from - first: 0, length);
        int rc = s_visit_run (visit, start, length, close < to? close: to);
        if (rc)
            return rc;
    }
    return 0;
}

//  Daily bars (session dates at 00:00 UTC) or weekly bars (Mondays of
//  weeks with a session) in [from, to).
static int
s_visit_days (gl_calendar_t *self, bool weekly, int64_t from, int64_t to, s_visit_t *visit)
{
    int64_t days = s_floor_div (s_ceil_multiple (from, S_DAY_SECONDS), S_DAY_SECONDS);
    if (weekly)
        days += (S_MONDAY - s_weekday (days) + 7) % 7;
    for (; days * S_DAY_SECONDS < to; days += weekly? 7: 1) {
        bool has_session = s_is_session (self, days);
        for (int weekday = 1; weekly && !has_session && weekday < 5; weekday++)
            has_session = s_is_session (self, days + weekday);
        int rc = has_session? s_visit_run (visit, days * S_DAY_SECONDS, 1,
                                           days * S_DAY_SECONDS + 1): 0;
        if (rc)
            return rc;
    }
    return 0;
}

//  Dispatches a bar walk by calendar kind and timeframe; -1 on bad input.
static int
s_visit (gl_calendar_t *self, gl_timeframe_t timeframe, gl_grid_t grid, int64_t from,
         int64_t to, s_visit_t *visit)
{
    int64_t length = gl_timeframe_seconds (timeframe);
    if (gl_timeframe_is_intraday (timeframe) && grid != GL_GRID_SESSION && grid != GL_GRID_CLOCK) {
        gl_log_warn ("calendar_query_rejected", "timeframe=%s grid=%d"
                     " expected=\"session or clock\"", gl_timeframe_name (timeframe), (int) grid);
        return -1;
    }
    if (!self || length == 0 || from > to || from < S_FIRST_INSTANT || to > S_END_INSTANT) {
        gl_log_warn ("calendar_query_rejected", "timeframe=%s"
                 " from=%lld to=%lld expected=\"a calendar, a valid timeframe and"
                 " from <= to within years 1-9999\"",
                 gl_timeframe_name (timeframe), (long long) from, (long long) to);
        return -1;
    }
    if (timeframe == GL_TF_1D || timeframe == GL_TF_1W)
        return s_visit_days (self, timeframe == GL_TF_1W, from, to, visit);
    if (self->kind == GL_CALENDAR_24X7)
        return s_visit_run (visit, s_ceil_multiple (from, length), length, to);
    return s_visit_sessions (self, length, grid, from, to, visit);
}

//  Calls the callback per expected bar start in [from, to) on a grid.
int
gl_calendar_each_bar_on (gl_calendar_t *self, gl_timeframe_t timeframe, gl_grid_t grid,
                         int64_t from_utc, int64_t to_utc,
                         gl_calendar_bar_fn *callback, void *argument)
{
    if (!callback)
        return -1;
    s_visit_t visit = { callback, argument, 0 };
    return s_visit (self, timeframe, grid, from_utc, to_utc, &visit);
}

//  Counts expected bar starts in [from, to) on a grid without visiting each.
int64_t
gl_calendar_count_bars_on (gl_calendar_t *self, gl_timeframe_t timeframe, gl_grid_t grid,
                           int64_t from_utc, int64_t to_utc)
{
    s_visit_t visit = { NULL, NULL, 0 };
    if (s_visit (self, timeframe, grid, from_utc, to_utc, &visit))
        return -1;
    return visit.count;
}

//  Calls the callback per expected bar start in [from, to) on the grid in force.
int
gl_calendar_each_bar (gl_calendar_t *self, gl_timeframe_t timeframe,
                      int64_t from_utc, int64_t to_utc,
                      gl_calendar_bar_fn *callback, void *argument)
{
    return gl_calendar_each_bar_on (self, timeframe, gl_calendar_grid (self, timeframe),
                                    from_utc, to_utc, callback, argument);
}

//  Counts expected bar starts in [from, to) on the grid in force.
int64_t
gl_calendar_count_bars (gl_calendar_t *self, gl_timeframe_t timeframe,
                        int64_t from_utc, int64_t to_utc)
{
    return gl_calendar_count_bars_on (self, timeframe, gl_calendar_grid (self, timeframe),
                                      from_utc, to_utc);
}

//  --------------------------------------------------------------------------
//  Grids

//  Names of the grids, by gl_grid_t.
static const char *s_grid_names [] = { "invalid", "session", "clock" };

//  Parses a grid name.
gl_grid_t
gl_calendar_grid_parse (const char *name)
{
    for (int grid = GL_GRID_SESSION; name && grid <= GL_GRID_CLOCK; grid++)
        if (strcmp (s_grid_names [grid], name) == 0)
            return (gl_grid_t) grid;
    return GL_GRID_INVALID;
}

//  The grid's name.
const char *
gl_calendar_grid_name (gl_grid_t grid)
{
    return grid >= GL_GRID_SESSION && grid <= GL_GRID_CLOCK? s_grid_names [grid]: "invalid";
}

//  The grid a new calendar holds for a timeframe.
gl_grid_t
gl_calendar_default_grid (gl_timeframe_t timeframe)
{
    return gl_timeframe_is_intraday (timeframe)? GL_GRID_CLOCK: GL_GRID_INVALID;
}

//  True if both grids hold the same bars for the timeframe.
bool
gl_calendar_grids_agree (gl_timeframe_t timeframe, gl_grid_t one, gl_grid_t other)
{
    if (!gl_timeframe_is_intraday (timeframe) || one == GL_GRID_INVALID || other == GL_GRID_INVALID)
        return false;
    return one == other || (S_OPEN_MINUTE * 60) % gl_timeframe_seconds (timeframe) == 0;
}

//  Sets the grid in force for an intraday timeframe.
int
gl_calendar_set_grid (gl_calendar_t *self, gl_timeframe_t timeframe, gl_grid_t grid)
{
    if (!self || !gl_timeframe_is_intraday (timeframe)
    || (grid != GL_GRID_SESSION && grid != GL_GRID_CLOCK)) {
        gl_log_warn ("calendar_grid_rejected", "timeframe=%s grid=%s"
                     " expected=\"an intraday timeframe and session or clock\"",
                     gl_timeframe_name (timeframe), gl_calendar_grid_name (grid));
        return -1;
    }
    self->grids [timeframe] = grid;
    return 0;
}

//  Sets grids from "TF=GRID[,TF=GRID...]", all or none.
int
gl_calendar_set_grids (gl_calendar_t *self, const char *grids)
{
    if (!self || !grids)
        return -1;
    gl_grid_t wanted [GL_TF_1W + 1];
    memcpy (wanted, self->grids, sizeof wanted);
    const char *cursor = grids;
    while (*cursor) {
        char timeframe_name [8] = "", grid_name [16] = "";
        int used = 0;
        gl_timeframe_t timeframe = GL_TF_INVALID;
        gl_grid_t grid = GL_GRID_INVALID;
        if (sscanf (cursor, "%7[^=,]=%15[^,]%n", timeframe_name, grid_name, &used) == 2) {
            timeframe = gl_timeframe_parse (timeframe_name);
            grid = gl_calendar_grid_parse (grid_name);
        }
        if (!gl_timeframe_is_intraday (timeframe) || grid == GL_GRID_INVALID) {
            gl_log_error ("calendar_grids_invalid", "grids=\"%s\""
                          " expected=\"TF=GRID[,TF=GRID...] with TF 1m..4h and GRID"
                          " session or clock\"", grids);
            return -1;
        }
        wanted [timeframe] = grid;
        cursor += used;
        if (*cursor == ',')
            cursor++;
    }
    memcpy (self->grids, wanted, sizeof wanted);
    return 0;
}

//  The grid in force for a timeframe.
gl_grid_t
gl_calendar_grid (gl_calendar_t *self, gl_timeframe_t timeframe)
{
    if (!self || !gl_timeframe_is_intraday (timeframe))
        return GL_GRID_INVALID;
    return self->grids [timeframe];
}
