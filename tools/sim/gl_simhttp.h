/*  gl_simhttp — what the sim's server and its provider renderers share:
    the request and response of one exchange, the provider interface, and
    the parsing and formatting helpers every renderer needs.

    Renderers never see libmicrohttpd: a request reads its query arguments
    and headers through two lookups, and a response is a status, a content
    type, a body and a few headers the server sends.
*/
#ifndef GL_SIMHTTP_H_INCLUDED
#define GL_SIMHTTP_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "gl_calendar.h"
#include "gl_simbars.h"
#include "gl_simlimit.h"
#include "gl_simtext.h"

#define GL_SIMHTTP_HEADERS 8

typedef const char *(gl_simhttp_lookup_fn) (void *connection, const char *name);

typedef struct {
    const char *path;               //  decoded URL path
    gl_simhttp_lookup_fn *query;    //  decoded query argument, or NULL
    gl_simhttp_lookup_fn *header;   //  request header (any case), or NULL
    void *connection;
    const char *base_url;           //  "http://127.0.0.1:<port>" of this listener
    gl_calendar_t *calendar;
    zconfig_t *options;             //  the provider's config section (may be NULL)
} gl_simrequest_t;

typedef struct {
    int status;
    const char *content_type;
    gl_simtext_t *body;
    size_t header_count;
    char header_names [GL_SIMHTTP_HEADERS][40];
    char header_values [GL_SIMHTTP_HEADERS][160];
} gl_simresponse_t;

typedef enum {
    GL_SIMHTTP_MISSING_KEY,         //  no credential presented: 401
    GL_SIMHTTP_UNKNOWN_KEY,         //  a credential the sim does not know: 401
    GL_SIMHTTP_FORBIDDEN_KEY,       //  a known key without access: 403
    GL_SIMHTTP_OVER_LIMIT,          //  429
    GL_SIMHTTP_BANNED,              //  403, temporarily
} gl_simhttp_refusal_t;

//  One simulated provider. Every function renders into the response.
typedef struct {
    const char *name;
    //  Copies the credential the request presents into buffer, "" if none.
    void (*credential) (gl_simrequest_t *request, char *buffer, size_t size);
    //  The data answer (200, or the provider's error for bad parameters);
    //  empty renders the provider's empty form.
    void (*answer) (gl_simrequest_t *request, bool empty, gl_simresponse_t *response);
    //  An authentication or rate-limit refusal.
    void (*refuse) (gl_simrequest_t *request, gl_simhttp_refusal_t refusal,
                    gl_simresponse_t *response);
    //  Adds the provider's rate-limit headers (NULL: it sends none).
    void (*decorate) (const gl_simlimit_status_t *status, gl_simresponse_t *response);
} gl_simprovider_t;

//  Which bars a request asks for: the provider stamp and UTC-date bounds,
//  all inclusive; unset bounds are INT64_MIN / INT64_MAX.
typedef struct {
    int64_t first_day;              //  UTC midnight of the first date
    int64_t last_day;
    int64_t first_stamp;            //  provider stamps, seconds
    int64_t last_stamp;
    int64_t after_stamp;            //  stamps strictly after (page tokens)
} gl_simwindow_t;

//  Sets status, content type and body text in one go.
void gl_simresponse_set (gl_simresponse_t *response, int status, const char *content_type,
                         const char *body);

//  Adds a response header (silently dropped past GL_SIMHTTP_HEADERS).
void gl_simresponse_header (gl_simresponse_t *response, const char *name,
                            const char *format, ...) __attribute__ ((format (printf, 3, 4)));

//  Adds X-Ratelimit-Limit / -Remaining / -Reset (epoch seconds), as
//  Finnhub and Alpaca send them; nothing without rules.
void gl_simresponse_limit_headers (const gl_simlimit_status_t *status,
                                   gl_simresponse_t *response);

//  A query argument or header, or NULL.
const char *gl_simrequest_query (gl_simrequest_t *request, const char *name);
const char *gl_simrequest_header (gl_simrequest_t *request, const char *name);

//  A provider option from its config section, or fallback.
const char *gl_simrequest_option (gl_simrequest_t *request, const char *name,
                                  const char *fallback);

//  Opens every bound of the window.
void gl_simwindow_init (gl_simwindow_t *window);

//  Generates the bars in the window, stamped by convention, in order;
//  caller frees *bars_p. Returns 0, or -1 if the window is unbounded or
//  spans more than 500000 bars.
int gl_simwindow_bars (gl_simwindow_t *window, gl_simrequest_t *request, const char *symbol,
                       gl_timeframe_t timeframe, gl_simbars_stamp_t convention,
                       gl_simbar_t **bars_p, size_t *count_p);

//  Parses "YYYY-MM-DD" into the UTC midnight of that date. Returns 0 or -1.
int gl_simhttp_parse_date (const char *text, int64_t *utc);

//  Parses RFC 3339 ("2022-02-01T05:00:00Z", fractions and +hh:mm offsets
//  accepted) into UTC seconds. Returns 0 or -1.
int gl_simhttp_parse_rfc3339 (const char *text, int64_t *utc);

//  Parses a whole decimal integer. Returns 0 or -1.
int gl_simhttp_parse_integer (const char *text, int64_t *value);

//  Formats UTC seconds as "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM:SS" (no zone).
void gl_simhttp_format_date (int64_t utc, char *buffer, size_t size);
void gl_simhttp_format_time (int64_t utc, char *buffer, size_t size);

//  Writes 32 hex digits hashing text: stable request ids.
void gl_simhttp_hash_hex (const char *text, char *buffer, size_t size);

//  Base64 of the bytes (url_safe: '-' '_' and no padding). Returns 0, or
//  -1 if the buffer is too small.
int gl_simhttp_base64_encode (const char *text, bool url_safe, char *buffer, size_t size);

//  Decodes either base64 alphabet, padding optional. Returns 0 or -1.
int gl_simhttp_base64_decode (const char *text, char *buffer, size_t size);

#endif
