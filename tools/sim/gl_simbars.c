/*  gl_simbars — deterministic bars for gapless-sim. See gl_simbars.h.

    Each bar is drawn from a splitmix64 hash of (symbol, timeframe, start):
    a base price per symbol ($10-$500), a level per trading day (+-5 %),
    then open and close within 1 % of that level and wicks of up to 0.5 %.
    All arithmetic is in integer cents, so every consumer sees the same
    two-decimal numbers.
*/
#include "gl_simbars.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  splitmix64 finaliser.
uint64_t
gl_simbars_mix (uint64_t value)
{
    value += 0x9E3779B97F4A7C15ULL;
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
    value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
    return value ^ (value >> 31);
}

//  FNV-1a hash of the symbol, mixed.
static uint64_t
s_symbol_hash (const char *symbol)
{
    uint64_t hash = 0xCBF29CE484222325ULL;
    for (const char *c = symbol; *c; c++)
        hash = (hash ^ (unsigned char) *c) * 0x100000001B3ULL;
    return gl_simbars_mix (hash);
}

//  Hash of (symbol, timeframe, start, salt).
static uint64_t
s_bar_hash (const char *symbol, gl_timeframe_t timeframe, int64_t start, uint64_t salt)
{
    uint64_t hash = s_symbol_hash (symbol);
    hash = gl_simbars_mix (hash ^ (uint64_t) timeframe);
    hash = gl_simbars_mix (hash ^ (uint64_t) start);
    return gl_simbars_mix (hash ^ salt);
}

//  Signed fraction of value: value * (draw % (2 * span + 1) - span) / scale.
static int64_t
s_swing (int64_t value, uint64_t draw, int64_t span, int64_t scale)
{
    int64_t step = (int64_t) (draw % (uint64_t) (2 * span + 1)) - span;
    return value * step / scale;
}

//  Typical volume for one bar of the timeframe, in shares.
static int64_t
s_volume_scale (gl_timeframe_t timeframe)
{
    int64_t minutes = gl_timeframe_seconds (timeframe) / 60;
    if (timeframe == GL_TF_1D)
        minutes = 390;
    else
    if (timeframe == GL_TF_1W)
        minutes = 5 * 390;
    return 2000 * (minutes > 0? minutes: 1);
}

void
gl_simbars_bar (const char *symbol, gl_timeframe_t timeframe, int64_t start,
                gl_simbar_t *bar)
{
    uint64_t symbol_hash = s_symbol_hash (symbol);
    int64_t base = 1000 + (int64_t) (symbol_hash % 49000);
    int64_t day = start - start % 86400;
    int64_t level = base + s_swing (base, gl_simbars_mix (symbol_hash ^ (uint64_t) day), 500, 10000);
    uint64_t draw = s_bar_hash (symbol, timeframe, start, 0);

    memset (bar, 0, sizeof *bar);
    bar->start = start;
    bar->open = level + s_swing (level, draw, 100, 10000);
    draw = gl_simbars_mix (draw);
    bar->close = level + s_swing (level, draw, 100, 10000);
    draw = gl_simbars_mix (draw);
    int64_t top = bar->open > bar->close? bar->open: bar->close;
    int64_t bottom = bar->open < bar->close? bar->open: bar->close;
    bar->high = top + level * (int64_t) (draw % 51) / 10000;
    draw = gl_simbars_mix (draw);
    bar->low = bottom - level * (int64_t) (draw % 51) / 10000;
    if (bar->low < 1)
        bar->low = 1;
    bar->vwap = (bar->high + bar->low + bar->close) / 3;
    draw = gl_simbars_mix (draw);
    int64_t scale = s_volume_scale (timeframe);
    bar->volume = scale / 2 + (int64_t) (draw % (uint64_t) scale) + 1;
    bar->trades = bar->volume / 80 + 1;
}

typedef struct {
    const char *symbol;
    gl_timeframe_t timeframe;
    gl_simbar_t *bars;
    size_t count;
    size_t capacity;
} s_collector_t;

//  Calendar callback: appends the bar starting at start.
static int
s_collect (int64_t start, void *argument)
{
    s_collector_t *collector = (s_collector_t *) argument;
    if (collector->count == collector->capacity) {
        size_t capacity = collector->capacity? collector->capacity * 2: 64;
        gl_simbar_t *bars = realloc (collector->bars, capacity * sizeof (gl_simbar_t));
        if (!bars)
            return -1;
        collector->bars = bars;
        collector->capacity = capacity;
    }
    gl_simbars_bar (collector->symbol, collector->timeframe, start,
                    &collector->bars [collector->count++]);
    return 0;
}

int
gl_simbars_generate_on (gl_calendar_t *calendar, gl_grid_t grid, const char *symbol,
                        gl_timeframe_t timeframe, int64_t from_utc, int64_t to_utc,
                        gl_simbar_t **bars_p, size_t *count_p)
{
    s_collector_t collector = { symbol, timeframe, NULL, 0, 0 };
    *bars_p = NULL;
    *count_p = 0;
    if (from_utc >= to_utc)
        return from_utc == to_utc? 0: -1;
    if (gl_calendar_each_bar_on (calendar, timeframe, grid, from_utc, to_utc,
                                 s_collect, &collector) != 0) {
        free (collector.bars);
        return -1;
    }
    *bars_p = collector.bars;
    *count_p = collector.count;
    return 0;
}

int
gl_simbars_generate (gl_calendar_t *calendar, const char *symbol,
                     gl_timeframe_t timeframe, int64_t from_utc, int64_t to_utc,
                     gl_simbar_t **bars_p, size_t *count_p)
{
    return gl_simbars_generate_on (calendar, gl_calendar_grid (calendar, timeframe), symbol,
                                   timeframe, from_utc, to_utc, bars_p, count_p);
}

gl_grid_t
gl_simbars_grid (gl_simbars_stamp_t convention)
{
    return convention == GL_SIMBARS_SESSION_OPEN? GL_GRID_SESSION: GL_GRID_CLOCK;
}

//  Parses one "SYMBOL:YYYY-MM-DD:RATIO" at text; returns the position after
//  it or NULL. Stores the symbol, the split date (00:00 UTC) and ratio.
static const char *
s_parse_split (const char *text, char *symbol, int64_t *date, int64_t *ratio)
{
    int year, month, day, used = 0;
    long long parsed_ratio;
    if (sscanf (text, "%16[^:,]:%4d-%2d-%2d:%lld%n", symbol, &year, &month, &day,
                &parsed_ratio, &used) != 5 || parsed_ratio < 1 || parsed_ratio > 1000
    ||  month < 1 || month > 12 || day < 1 || day > 31)
        return NULL;
    *date = gl_calendar_date_utc (year, month, day);
    *ratio = parsed_ratio;
    return text + used;
}

int
gl_simbars_unsplit (const char *splits, const char *symbol, gl_simbar_t *bars, size_t count)
{
    //  Validate everything first, so a bad text changes nothing.
    for (int pass = 0; pass < 2; pass++) {
        const char *cursor = splits? splits: "";
        while (*cursor) {
            char split_symbol [GL_SIMBARS_SYMBOL_MAX + 1] = "";
            int64_t date, ratio;
            cursor = s_parse_split (cursor, split_symbol, &date, &ratio);
            if (!cursor || (*cursor && *cursor != ','))
                return -1;
            if (*cursor == ',')
                cursor++;
            if (pass == 0 || strcmp (split_symbol, symbol) != 0)
                continue;
            for (size_t index = 0; index < count; index++)
                if (bars [index].start < date) {
                    bars [index].open *= ratio;
                    bars [index].high *= ratio;
                    bars [index].low *= ratio;
                    bars [index].close *= ratio;
                    bars [index].vwap *= ratio;
                    bars [index].volume /= ratio;
                }
        }
    }
    return 0;
}

double
gl_simbars_chance (const char *symbol, gl_timeframe_t timeframe, int64_t start, uint64_t salt)
{
    return (double) (s_bar_hash (symbol, timeframe, start, salt) >> 11) / 9007199254740992.0;
}

int64_t
gl_simbars_new_york_offset (gl_calendar_t *calendar, int64_t instant)
{
    int64_t midnight = instant - ((instant % 86400) + 86400) % 86400;
    int64_t open, close;
    if (gl_calendar_next_session (calendar, midnight - 1, &open, &close) != 0)
        return -18000;
    int64_t open_date = open - open % 86400;
    return open_date + 34200 - open;
}

int64_t
gl_simbars_new_york_midnight (gl_calendar_t *calendar, int64_t instant)
{
    int64_t midnight = instant - ((instant % 86400) + 86400) % 86400;
    return midnight - gl_simbars_new_york_offset (calendar, instant);
}

int64_t
gl_simbars_stamp (gl_calendar_t *calendar, gl_simbars_stamp_t convention,
                  gl_timeframe_t timeframe, int64_t start)
{
    if (gl_timeframe_is_intraday (timeframe) || convention == GL_SIMBARS_CALENDAR)
        return start;
    if (convention == GL_SIMBARS_NEW_YORK_MIDNIGHT)
        return gl_simbars_new_york_midnight (calendar, start);
    int64_t open, close;
    if (gl_calendar_next_session (calendar, start - 1, &open, &close) != 0)
        return start;
    return open;
}

bool
gl_simbars_symbol_valid (const char *symbol)
{
    size_t length = symbol? strlen (symbol): 0;
    if (length == 0 || length > GL_SIMBARS_SYMBOL_MAX)
        return false;
    for (const char *c = symbol; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
              || strchr (".-^=_", *c)))
            return false;
    return true;
}
