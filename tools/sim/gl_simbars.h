/*  gl_simbars — the bars gapless-sim serves, as a pure function of
    (symbol, timeframe, bar start) on the trading calendar.

    Any test can compute exactly which bars a provider rendered by the sim
    holds, and so exactly what must end up in PostgreSQL. Bar starts follow
    the gl_calendar convention (intraday: on a grid, the clock or the
    session open, see gl_calendar.h; 1d: the session date at 00:00 UTC;
    1w: the Monday at 00:00 UTC). Each provider is served on its own grid
    (gl_simbars_grid), whatever grid gapless has in force. Prices are
    whole cents (two decimals), low <= open, close <= high, volume > 0.
    The server's seed does not change bars; it only drives faults.
*/
#ifndef GL_SIMBARS_H_INCLUDED
#define GL_SIMBARS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gl_calendar.h"
#include "gl_timeframe.h"

typedef struct {
    int64_t start;              //  bar start, UTC seconds, calendar convention
    int64_t open;               //  prices in cents
    int64_t high;
    int64_t low;
    int64_t close;
    int64_t vwap;
    int64_t volume;             //  shares
    int64_t trades;
} gl_simbar_t;

//  Longest symbol the sim accepts, in characters.
#define GL_SIMBARS_SYMBOL_MAX 16

//  Fills bar with the deterministic bar of symbol and timeframe starting at
//  start. Does not check that start is on the calendar.
void gl_simbars_bar (const char *symbol, gl_timeframe_t timeframe, int64_t start,
                     gl_simbar_t *bar);

//  Generates every calendar bar with start in [from_utc, to_utc), in order.
//  Stores a heap array the caller frees in *bars_p and its length in
//  *count_p. Returns 0, or -1 for a bad timeframe or range.
int gl_simbars_generate (gl_calendar_t *calendar, const char *symbol,
                         gl_timeframe_t timeframe, int64_t from_utc, int64_t to_utc,
                         gl_simbar_t **bars_p, size_t *count_p);

//  As gl_simbars_generate, on the given grid rather than the one in force.
int gl_simbars_generate_on (gl_calendar_t *calendar, gl_grid_t grid, const char *symbol,
                            gl_timeframe_t timeframe, int64_t from_utc, int64_t to_utc,
                            gl_simbar_t **bars_p, size_t *count_p);

//  Splits the sim serves, from a provider section's "splits" setting:
//  "SYMBOL:YYYY-MM-DD:RATIO[,...]" (RATIO new shares for one old, in
//  effect from that date's session). The generated bars are the
//  split-adjusted series (continuous across a split); raw bars before the
//  split date have prices times RATIO and volume divided by RATIO (whole
//  shares, rounded down), so raw prices jump at the split and adjusted
//  ones do not. Turns bars [0, count) of symbol into raw bars for every
//  split of symbol in splits (NULL or "": none). Returns 0, or -1 for a
//  malformed splits text (bars unchanged).
int gl_simbars_unsplit (const char *splits, const char *symbol, gl_simbar_t *bars, size_t count);

//  Salt of the coin that decides which Yahoo bars come as nulls.
#define GL_SIMBARS_SALT_YAHOO_NULL 0x59414844ULL

//  A uniform number in [0, 1) derived from (symbol, timeframe, start, salt):
//  the sim's deterministic coin for per-bar quirks (Yahoo nulls).
double gl_simbars_chance (const char *symbol, gl_timeframe_t timeframe, int64_t start,
                          uint64_t salt);

//  America/New_York's offset from UTC in seconds (-18000 or -14400) on the
//  civil date holding instant, read off the first session opening at or
//  after that date's midnight UTC. Exact on session days and on the Monday
//  of a week that trades.
int64_t gl_simbars_new_york_offset (gl_calendar_t *calendar, int64_t instant);

//  The instant of 00:00 America/New_York on the UTC civil date of instant.
int64_t gl_simbars_new_york_midnight (gl_calendar_t *calendar, int64_t instant);

//  How a provider stamps a daily or weekly bar (intraday bars are always
//  stamped at their start).
typedef enum {
    GL_SIMBARS_CALENDAR = 0,        //  as the calendar: date at 00:00 UTC (Finnhub, Tradier dates)
    GL_SIMBARS_NEW_YORK_MIDNIGHT,   //  00:00 America/New_York of that date (Polygon, Alpaca)
    GL_SIMBARS_SESSION_OPEN,        //  the first session's open in the bar (Yahoo)
} gl_simbars_stamp_t;

//  The intraday grid of a provider stamping by convention: the session for
//  Yahoo (GL_SIMBARS_SESSION_OPEN), the clock for every other.
gl_grid_t gl_simbars_grid (gl_simbars_stamp_t convention);

//  The instant a provider with the given convention stamps the bar with.
int64_t gl_simbars_stamp (gl_calendar_t *calendar, gl_simbars_stamp_t convention,
                          gl_timeframe_t timeframe, int64_t start);

//  True if the symbol has 1-16 characters from A-Z a-z 0-9 . - ^ = _
bool gl_simbars_symbol_valid (const char *symbol);

//  splitmix64: the mixing step every sim hash and PRNG uses.
uint64_t gl_simbars_mix (uint64_t value);

#endif
