/*  gl_provider_adapter — what gl_provider.c shares with the per-provider
    adapters (gl_provider_<name>.c); not for other modules.

    An adapter builds its provider's URL and headers and walks its JSON;
    everything common lives in gl_provider.c: text building, URL escaping,
    rate-limit headers, classification by status, and the normalisation of
    every bar (gl_provider_add_bar).
*/
#ifndef GL_PROVIDER_ADAPTER_H_INCLUDED
#define GL_PROVIDER_ADAPTER_H_INCLUDED

#include <cjson/cJSON.h>
#include "gl_provider.h"

//  A growable NUL-terminated string; failed is set on out of memory.
typedef struct {
    char *data;
    size_t size;
    size_t capacity;
    bool failed;
} gl_provider_text_t;

//  The state of one parse, handed to the adapter.
typedef struct {
    const gl_provider_query_t *query;
    gl_provider_result_t *result;
    size_t capacity;            //  of result->bars
    int price_decimals;         //  round prices to this many decimals, -1: keep
    bool out_of_memory;
} gl_provider_parse_t;

//  How a provider stamps daily and weekly bars (intraday stamps are starts).
typedef enum {
    GL_PROVIDER_STAMP_UTC_DATE,         //  the UTC date of the stamp (Finnhub, Tradier)
    GL_PROVIDER_STAMP_EXCHANGE_DATE,    //  the date in the exchange's zone (Polygon, Alpaca, Yahoo)
} gl_provider_stamp_t;

//  One provider's adapter.
typedef struct {
    gl_provider_t provider;
    const char *name;
    //  Appends the URL, with key as the credential where the URL carries
    //  one. Returns 0, or -1 with a message in error.
    int (*url) (const gl_provider_query_t *query, const char *key, gl_provider_text_t *url,
                char *error);
    //  Adds the request headers. Returns 0, or -1 with a message in error.
    int (*headers) (const gl_provider_query_t *query, gl_provider_request_t *request,
                    char *error);
    //  Reads a JSON body of any status into the parse.
    void (*parse) (gl_provider_parse_t *parse, long status, const cJSON *root);
} gl_provider_adapter_t;

extern const gl_provider_adapter_t gl_provider_polygon;
extern const gl_provider_adapter_t gl_provider_yahoo;
extern const gl_provider_adapter_t gl_provider_tradier;
extern const gl_provider_adapter_t gl_provider_finnhub;
extern const gl_provider_adapter_t gl_provider_alpaca;

//  Appends formatted text.
void gl_provider_text_add (gl_provider_text_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Appends value percent-encoded (everything but A-Z a-z 0-9 - . _ ~).
void gl_provider_text_escape (gl_provider_text_t *self, const char *value);

//  Adds a "Name: value" header to the request. Returns 0, or -1 on out of
//  memory or too many headers (message in error).
int gl_provider_request_header (gl_provider_request_t *request, char *error,
                                const char *format, ...) __attribute__ ((format (printf, 3, 4)));

//  Formats UTC seconds as "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or, after
//  adding offset seconds, "YYYY-MM-DD HH:MM".
void gl_provider_format_date (int64_t utc, char *buffer, size_t size);
void gl_provider_format_rfc3339 (int64_t utc, char *buffer, size_t size);
void gl_provider_format_local_minute (int64_t utc, int64_t offset, char *buffer, size_t size);

//  Parses "YYYY-MM-DD" (as 00:00 UTC), "YYYY-MM-DDTHH:MM:SS" (no zone,
//  as UTC) or RFC 3339 with Z / +hh:mm and fractions. Returns 0 or -1.
int gl_provider_parse_time (const char *text, int64_t *utc);

//  The exchange's offset from UTC in seconds on the civil date of instant
//  (XNYS: -14400 or -18000, read off the session open at 09:30 local;
//  a calendar whose sessions open at 00:00 UTC: 0).
int64_t gl_provider_exchange_offset (gl_calendar_t *calendar, int64_t instant);

//  Fails the parse with an error class, retryable flag and message.
void gl_provider_fail (gl_provider_parse_t *parse, gl_provider_error_t error,
                       const char *format, ...) __attribute__ ((format (printf, 3, 4)));

//  Fails the parse by HTTP status (401/403 auth, 404 not_found, 408
//  timeout, 429 rate_limited, 5xx server_error, else parse_error), with
//  text as the provider's message; "Quota Violation" and "TooBigBody" in
//  text are recognised whatever the status.
void gl_provider_fail_status (gl_provider_parse_t *parse, long status, const char *text);

//  Marks the parse as the provider's empty answer.
void gl_provider_no_data (gl_provider_parse_t *parse, const char *why);

//  Reads a JSON number field; false if missing, null or not a number.
bool gl_provider_number (const cJSON *object, const char *name, double *value);

//  Reads a JSON string field, or NULL.
const char *gl_provider_string (const cJSON *object, const char *name);

//  Normalises and adds one bar the provider stamped at stamp (UTC
//  seconds) or drops it, counting the reason. missing says a field was
//  null or absent. Returns 0, or -1 on out of memory.
int gl_provider_add_bar (gl_provider_parse_t *parse, int64_t stamp, gl_provider_stamp_t stamp_kind,
                         const gl_bar_t *bar, bool missing);

//  Adds count bars from parallel arrays (Finnhub, Yahoo): cells[0] is the
//  first stamp (seconds), cells[1..5] the first open, high, low, close and
//  volume; each advances along its array. A bar with a null or non-number
//  cell, or a stamp out of range, is added as missing (dropped, counted).
//  The arrays must hold count cells each. Returns 0, or -1 on out of memory.
int gl_provider_add_columns (gl_provider_parse_t *parse, const cJSON *cells [6], int count,
                             gl_provider_stamp_t stamp_kind);

//  Counts one bar dropped for reason.
void gl_provider_drop (gl_provider_parse_t *parse, gl_provider_drop_t reason);

//  Copies the continuation for the next page (NULL or "" leaves none).
void gl_provider_continue (gl_provider_parse_t *parse, const char *continuation);

#endif
