/*  gl_capability — what each market-data provider can serve, as data:
    the providers gapless knows, which timeframes each serves, the longest
    range one request may cover, how many bars one page holds, and the
    bar grid and price basis of each, and the default routing order per
    timeframe (intraday history: Polygon, then Alpaca, then Tradier
    timesales; daily and weekly: Yahoo, then Polygon, then Tradier
    history; 1h on the session grid: Yahoo), of which only the providers
    routable for the grid and basis in force are used (Tradier timesales
    are raw, so not routed).

    The bar policy: what gapless stores, the one thing here that is
    configured rather than known. Every process reads it at start, before
    any thread, from the configuration's bars section
    (gl_capability_configure):
        bars/grid_1h, bars/grid_4h   clock (default) or session: where
                                     1h and 4h bars start (gl_calendar.h;
                                     1m..30m bars are the same on both)
        bars/adjustment              split (default) or raw
    and checks it against what the database stores
    (gl_capability_policy_adopt). Until then the defaults are in force.

    The scheduler slices and routes with it, the fetcher's adapters build
    requests with it, the writer records the policy: one table, so they
    never disagree.
*/
#ifndef GL_CAPABILITY_H_INCLUDED
#define GL_CAPABILITY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "gl_calendar.h"
#include "gl_config.h"
#include "gl_timeframe.h"

typedef enum {
    GL_PROVIDER_INVALID = 0,
    GL_PROVIDER_POLYGON,
    GL_PROVIDER_YAHOO,
    GL_PROVIDER_TRADIER,
    GL_PROVIDER_FINNHUB,
    GL_PROVIDER_ALPACA,
} gl_provider_t;

#define GL_PROVIDER_COUNT 5

//  Parses "polygon" .. "alpaca"; GL_PROVIDER_INVALID for anything else.
gl_provider_t gl_capability_parse_name (const char *name);

//  The provider's name, or "invalid".
const char *gl_capability_name (gl_provider_t provider);

//  The price basis of bars: raw (as traded) or split-adjusted (prices
//  divided, volumes multiplied by every later split; dividends not
//  applied). gapless stores one basis, the policy's (by default
//  GL_ADJUSTMENT_DEFAULT, split: the one basis every provider can serve
//  for daily bars, and Polygon and Alpaca for intraday), and asks each
//  provider for it.
typedef enum {
    GL_ADJUSTMENT_INVALID = 0,
    GL_ADJUSTMENT_RAW = 1,
    GL_ADJUSTMENT_SPLIT = 2,
} gl_adjustment_t;

#define GL_ADJUSTMENT_DEFAULT GL_ADJUSTMENT_SPLIT

//  Parses "raw" / "split"; GL_ADJUSTMENT_INVALID for anything else.
gl_adjustment_t gl_capability_adjustment_parse (const char *name);

//  The provider's API endpoint serving a timeframe, as a short stable name
//  for labels ("aggs", "chart", "timesales", "history", "candle", "bars"),
//  or "invalid".
const char *gl_capability_endpoint (gl_provider_t provider, gl_timeframe_t timeframe);

//  A provider's health score H (ARCHITECTURE.md) from its four terms, each
//  in [0, 1] with 1 the best: H = 0.45 breaker + 0.25 latency + 0.20
//  errors + 0.10 completeness. The scheduler routes by it, ops publishes
//  it: one formula.
double gl_capability_health_score (double breaker, double latency, double errors,
                                   double completeness);

//  The basis's name, or "invalid".
const char *gl_capability_adjustment_name (gl_adjustment_t adjustment);

//  Reads the bar policy from the bars section of config and puts it in
//  force for this process. A value that is not a grid or a basis, or a
//  policy no provider can serve for some timeframe (4h on the session
//  grid: Yahoo has no 4h; 1h on the session grid with raw prices: Yahoo's
//  are split-adjusted), is refused. Returns 0, or -1 with "config:
//  bars/grid_1h = 'hourly': expected clock or session" in error (the
//  policy in force then stays).
int gl_capability_configure (gl_config_t *config, char *error);

//  The same check, without putting the policy in force (gapless config
//  check, SIGHUP). Returns 0, or -1 with the reason in error.
int gl_capability_check (gl_config_t *config, char *error);

//  The grid in force for a timeframe (GL_GRID_INVALID for 1d, 1w).
gl_grid_t gl_capability_policy_grid (gl_timeframe_t timeframe);

//  The basis gapless stores.
gl_adjustment_t gl_capability_policy_adjustment (void);

//  Sets the policy's grids in force on a calendar (the expected bars then
//  lie where the stored bars do).
void gl_capability_policy_apply (gl_calendar_t *calendar);

//  Checks the policy against what the database on conn stores
//  (bar_grids, bar_adjustments: migrations/0011_bar_policy.sql) and
//  records it for every timeframe that holds no bar of another grid or
//  basis. Returns 0; -1 with the reason in error (GL_CONFIG_ERROR_MAX
//  bytes) and *contradicted true when stored bars contradict the policy
//  (a configuration error: "config: bars/adjustment = 'raw' but 1d bars
//  are stored with split prices ..."), false when the database failed.
int gl_capability_policy_adopt (PGconn *conn, bool *contradicted, char *error);

//  True if the provider has bars of this timeframe on the grid in force,
//  in any basis: what a fetcher can fetch at all (it then names the basis
//  it got, see gl_capability_adjustment).
bool gl_capability_supports (gl_provider_t provider, gl_timeframe_t timeframe);

//  True if the provider may be routed for this timeframe: it serves it on
//  the grid in force and in the basis gapless stores.
bool gl_capability_routable (gl_provider_t provider, gl_timeframe_t timeframe);

//  The basis the provider delivers for the timeframe (on any grid) when
//  asked for wanted: wanted if it serves that, else the one basis it has
//  (Finnhub intraday and Tradier timesales: raw), GL_ADJUSTMENT_INVALID
//  if it has no bars of the timeframe.
gl_adjustment_t gl_capability_adjustment (gl_provider_t provider, gl_timeframe_t timeframe,
                                          gl_adjustment_t wanted);

//  True if the provider serves bars of this timeframe on this grid (for
//  1d and 1w the grid is GL_GRID_INVALID and ignored) and basis. Tradier:
//  1m 5m 15m by timesales, 1d 1w by history; Yahoo and Finnhub: no 4h.
//  Polygon, Alpaca and Finnhub stamp intraday bars on the clock, Yahoo
//  from the session open; a provider is never asked for the other grid's
//  1h or 4h (its bars would all be off the grid, and gapless does not
//  re-aggregate). Polygon (adjusted=) and Alpaca (adjustment=) serve
//  either basis; Yahoo only split-adjusted; Tradier history and Finnhub
//  daily split-adjusted, their intraday bars raw.
bool gl_capability_serves (gl_provider_t provider, gl_timeframe_t timeframe, gl_grid_t grid,
                           gl_adjustment_t adjustment);

//  The grid the provider's intraday bars are stamped on.
gl_grid_t gl_capability_grid (gl_provider_t provider);

//  The longest range one request may cover, in seconds, or 0 for no limit
//  (Yahoo 1m: 7 days; Finnhub intraday: 30 days).
int64_t gl_capability_max_span (gl_provider_t provider, gl_timeframe_t timeframe);

//  The most bars one page holds (Polygon 50000, Alpaca 10000; the fetcher
//  follows further pages), or 0 where the whole range comes in one answer.
uint32_t gl_capability_page_max (gl_provider_t provider);

//  Writes the default routing order for timeframe into providers (at most
//  size entries, only providers that are routable for it under the
//  policy: Yahoo is the one for 1h on the session grid).
//  Returns how many.
size_t gl_capability_route (gl_timeframe_t timeframe, gl_provider_t *providers, size_t size);

#endif
