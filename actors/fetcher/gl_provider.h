/*  gl_provider — the provider adapters: pure functions that build one
    provider's HTTP request and parse its response into normalised bars.
    No I/O, no clock, no globals: the fetcher actor owns HTTP (curl multi),
    rate limits and the breaker, and calls these.

    Providers: polygon, yahoo, tradier, finnhub, alpaca (PROVIDERS.md beside
    this file describes each API and its quirks; tools/sim/README.md how
    gapless-sim renders them).

    One fetch is described by a gl_provider_query_t. Its range [from, to)
    is in UTC seconds on the gl_calendar bar-start convention (intraday:
    on the calendar's grid in force, the clock by default; 1d: session
    date 00:00 UTC; 1w: Monday 00:00 UTC). A request covers the whole range unless the provider caps
    the span (gl_capability_max_span): the fetcher splits the range into
    windows of at most that span and issues one query per window. Pages
    (Polygon next_url, Alpaca next_page_token) are followed by passing the
    previous result's continuation back in the query, with everything else
    unchanged, until the continuation is NULL.

    Normalisation, applied to every bar of every provider:
      - the provider's stamp becomes the calendar bar start: intraday
        stamps are bar starts; daily stamps become the session date
        (Polygon, Alpaca, Yahoo: the date in the exchange's time zone;
        Finnhub: the UTC date; Tradier: the date given); weekly stamps
        become the Monday of their week (a Saturday or Sunday stamp, as
        Tradier's period starts, moves to the following Monday);
      - a bar whose start is not a bar start of the calendar (extended
        hours, clock-aligned hours, a date that is not a session) is
        dropped as off_grid; one outside [from, to) as outside_range;
        a repeated start as duplicate (the first one is kept);
      - impossible bars are dropped and counted by reason: a missing or
        non-numeric field or a null (null), a non-finite or non-positive
        price (not_finite), high < low or open/close outside [low, high]
        (high_low), negative volume (negative_volume);
      - Yahoo prices are rounded to meta.priceHint decimals (float32
        noise); other providers' prices are kept as sent;
      - a bar whose period has not closed at query->now (its session's
        close for 1d, the week's last session close for 1w, start +
        length capped at the session close for intraday) is marked
        provisional: the fetcher stores it and fetches it again later.

    Errors: a response that is not usable data gets an error class (the
    FAILED message's error_class names), retryable, retry_after_ms and a
    message. Empty answers (Polygon without results, Yahoo without
    timestamps or "Data doesn't exist", Tradier null history/series,
    Finnhub no_data, Alpaca null bars) give GL_PROVIDER_NO_DATA with zero
    bars: the range holds no bars at this provider (a holiday or an
    unknown ticker look alike), not a failure of the provider.
*/
#ifndef GL_PROVIDER_H_INCLUDED
#define GL_PROVIDER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gl_calendar.h"
#include "gl_capability.h"
#include "gl_msg.h"
#include "gl_timeframe.h"

//  Error classes; the names are the FAILED message's error_class values.
typedef enum {
    GL_PROVIDER_OK = 0,             //  "ok": bars parsed (maybe zero after drops)
    GL_PROVIDER_RATE_LIMITED,       //  "rate_limited": 429, quota text; retryable
    GL_PROVIDER_AUTH,               //  "auth": 401/403, plan refusals
    GL_PROVIDER_NOT_FOUND,          //  "not_found": unknown symbol, path, range refused
    GL_PROVIDER_NO_DATA,            //  "no_data": the provider's empty form
    GL_PROVIDER_SERVER_ERROR,       //  "server_error": 5xx, faults; retryable
    GL_PROVIDER_TIMEOUT,            //  "timeout": 408 (transport timeouts are the fetcher's)
    GL_PROVIDER_PARSE_ERROR,        //  "parse_error": broken or unexpected body; retryable
} gl_provider_error_t;

//  Why a bar was dropped; counts per reason are in the result.
typedef enum {
    GL_PROVIDER_DROP_NULL = 0,          //  null or missing field, null inside arrays
    GL_PROVIDER_DROP_NOT_FINITE,        //  NaN, infinity, price <= 0
    GL_PROVIDER_DROP_HIGH_LOW,          //  high < low, open or close outside [low, high]
    GL_PROVIDER_DROP_NEGATIVE_VOLUME,
    GL_PROVIDER_DROP_OFF_GRID,          //  not a calendar bar start for the timeframe
    GL_PROVIDER_DROP_OUTSIDE_RANGE,     //  start outside [from, to)
    GL_PROVIDER_DROP_DUPLICATE,         //  a start already seen in this response
    GL_PROVIDER_DROP_TIME_MISMATCH,     //  Tradier time and timestamp disagree
    GL_PROVIDER_DROP_REASONS            //  count of reasons
} gl_provider_drop_t;

//  The times a request may name: [0, 2100-01-01 00:00 UTC], the bounds
//  the codec will hold FETCH times to. Inside them every URL builder's
//  arithmetic (Polygon's milliseconds, spans as to - from) fits in int64.
#define GL_PROVIDER_TIME_MIN 0
#define GL_PROVIDER_TIME_MAX 4102444800

//  One fetch: who to ask, for what. Strings are borrowed, not copied.
typedef struct {
    gl_provider_t provider;
    const char *base_url;       //  "https://api.polygon.io", no trailing slash
    const char *key;            //  Polygon apiKey, Finnhub token, Tradier token,
                                //  Alpaca key id; NULL or "" for Yahoo
    const char *secret;         //  Alpaca secret key; NULL for the others
    const char *symbol;         //  "AAPL"; escaped into the URL as needed
    gl_timeframe_t timeframe;
    int64_t from, to;           //  [from, to), UTC seconds, calendar convention,
                                //  within GL_PROVIDER_TIME_MIN/MAX
    const char *continuation;   //  previous result's continuation, or NULL
    gl_calendar_t *calendar;    //  the symbol's calendar; required to parse
    int64_t now;                //  UTC seconds, for provisional marks and
                                //  retry delays from reset instants
    uint32_t page_limit;        //  Polygon/Alpaca limit parameter; 0: the
                                //  provider's maximum (gl_capability_page_max)
    gl_adjustment_t adjustment; //  the price basis asked for; 0: see
                                //  gl_provider_query_adjustment
} gl_provider_query_t;

#define GL_PROVIDER_HEADERS_MAX 4

//  A request to send: GET url with the given headers.
typedef struct {
    char *url;                  //  with credentials in the query where the
                                //  provider needs them (Polygon, Finnhub)
    char *redacted_url;         //  the same with every credential as "REDACTED":
                                //  the only form to log
    char *headers [GL_PROVIDER_HEADERS_MAX + 1];    //  "Name: value", NULL-terminated
    size_t header_count;
} gl_provider_request_t;

//  What the provider said about its rate limit, when it said anything.
typedef struct {
    bool known;                 //  any rate-limit header was present
    int64_t limit;              //  requests per window, -1 if not sent
    int64_t remaining;          //  requests left in the window, -1 if not sent
    int64_t reset_ms;           //  epoch ms the window resets, -1 if not sent
} gl_provider_limit_t;

//  The outcome of one response.
typedef struct {
    gl_provider_error_t error;
    bool retryable;
    uint64_t retry_after_ms;    //  0: no hint from the provider
    bool split_range;           //  the provider refused the range as too big
                                //  (Tradier TooBigBody): bisect and retry
    char message [256];         //  why it failed, for FAILED and logs
    gl_bar_t *bars;             //  normalised, ascending starts
    size_t bar_count;
    size_t received;            //  bars the provider sent, before drops
    size_t dropped [GL_PROVIDER_DROP_REASONS];
    char *continuation;         //  pass back as query->continuation, or NULL: done
    gl_provider_limit_t limit;
} gl_provider_result_t;

//  The error class name ("rate_limited"), or "ok".
const char *gl_provider_error_name (gl_provider_error_t error);

//  The drop reason's name ("high_low"), or "invalid".
const char *gl_provider_drop_name (gl_provider_drop_t reason);

//  Builds the request for a query (the continuation, if any, picks the
//  next page). Returns NULL and a message in error (256 bytes) naming
//  what was expected, for an unsupported timeframe, an empty range, a
//  missing credential, or a Polygon next_url outside base_url (the key
//  is never sent to another host). Caller owns return value.
gl_provider_request_t *gl_provider_request_new (const gl_provider_query_t *query, char *error);

//  The price basis the query asks for: its adjustment or, when it names
//  none, the policy's (gl_capability_policy_adjustment) where the
//  provider serves it and its one basis where not (Finnhub intraday,
//  Tradier timesales: raw).
gl_adjustment_t gl_provider_query_adjustment (const gl_provider_query_t *query);

//  Destroys a request and nulls the caller's pointer. Safe twice.
void gl_provider_request_destroy (gl_provider_request_t **self_p);

//  Parses one response: HTTP status, the raw response header block
//  ("Name: value" lines as curl delivers them, or NULL) and the body
//  (any bytes, not NUL-terminated, may be empty). Never fails on input:
//  every problem becomes an error class. Returns NULL only on out of
//  memory or a query without calendar. Caller owns return value.
gl_provider_result_t *gl_provider_parse (const gl_provider_query_t *query, long status,
                                         const char *headers, const char *body, size_t size);

//  Destroys a result and nulls the caller's pointer. Safe twice.
void gl_provider_result_destroy (gl_provider_result_t **self_p);

//  Total bars dropped, over every reason.
size_t gl_provider_result_dropped (const gl_provider_result_t *self);

#endif
