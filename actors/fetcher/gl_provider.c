/*  gl_provider — what every adapter shares: names, dispatch, request
    building, rate-limit headers, classification and bar normalisation.
    See gl_provider.h for the contract, gl_provider_adapter.h for the
    adapters' side.
*/
#include "gl_provider_adapter.h"
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_DAY 86400
#define S_WEEK (7 * S_DAY)
#define S_REDACTED "REDACTED"

static const gl_provider_adapter_t *s_adapters [GL_PROVIDER_COUNT + 1] = {
    NULL, &gl_provider_polygon, &gl_provider_yahoo, &gl_provider_tradier,
    &gl_provider_finnhub, &gl_provider_alpaca,
};

static const char *s_error_names [] = {
    "ok", "rate_limited", "auth", "not_found", "no_data", "server_error", "timeout",
    "parse_error",
};

static const char *s_drop_names [GL_PROVIDER_DROP_REASONS] = {
    "null", "not_finite", "high_low", "negative_volume", "off_grid", "outside_range",
    "duplicate", "time_mismatch",
};

//  The adapter of a provider, or NULL.
static const gl_provider_adapter_t *
s_adapter (gl_provider_t provider)
{
    if (provider <= GL_PROVIDER_INVALID || provider > GL_PROVIDER_COUNT)
        return NULL;
    return s_adapters [provider];
}

//  The error class name.
const char *
gl_provider_error_name (gl_provider_error_t error)
{
    if (error < GL_PROVIDER_OK || error > GL_PROVIDER_PARSE_ERROR)
        return "ok";
    return s_error_names [error];
}

//  The drop reason's name.
const char *
gl_provider_drop_name (gl_provider_drop_t reason)
{
    if (reason < 0 || reason >= GL_PROVIDER_DROP_REASONS)
        return "invalid";
    return s_drop_names [reason];
}

//  Appends formatted text, growing the buffer.
void
gl_provider_text_add (gl_provider_text_t *self, const char *format, ...)
{
    if (self->failed)
        return;
    va_list arguments;
    va_start (arguments, format);
    int length = vsnprintf (NULL, 0, format, arguments);
    va_end (arguments);
    if (length < 0 || self->size + (size_t) length + 1 > self->capacity) {
        size_t capacity = (self->capacity + (size_t) (length > 0? length: 0) + 1) * 2;
        char *data = length < 0? NULL: realloc (self->data, capacity);
        if (!data) {
            self->failed = true;
            return;
        }
        self->data = data;
        self->capacity = capacity;
    }
    va_start (arguments, format);
    vsnprintf (self->data + self->size, self->capacity - self->size, format, arguments);
    va_end (arguments);
    self->size += (size_t) length;
}

//  Appends value percent-encoded.
void
gl_provider_text_escape (gl_provider_text_t *self, const char *value)
{
    for (const unsigned char *c = (const unsigned char *) value; *c; c++) {
        if (isalnum (*c) || strchr ("-._~", *c))
            gl_provider_text_add (self, "%c", *c);
        else
            gl_provider_text_add (self, "%%%02X", *c);
    }
}

//  Adds a "Name: value" header.
int
gl_provider_request_header (gl_provider_request_t *request, char *error,
                            const char *format, ...)
{
    if (request->header_count >= GL_PROVIDER_HEADERS_MAX) {
        snprintf (error, 256, "at most %d request headers", GL_PROVIDER_HEADERS_MAX);
        return -1;
    }
    va_list arguments;
    va_start (arguments, format);
    int rc = vasprintf (&request->headers [request->header_count], format, arguments);
    va_end (arguments);
    if (rc < 0) {
        request->headers [request->header_count] = NULL;
        snprintf (error, 256, "out of memory building a header");
        return -1;
    }
    request->header_count++;
    return 0;
}

//  Splits UTC seconds into civil date and time of day.
static void
s_civil (int64_t utc, int *year, int *month, int *day, int *seconds)
{
    int64_t days = utc >= 0? utc / S_DAY: -((-utc + S_DAY - 1) / S_DAY);
    *seconds = (int) (utc - days * S_DAY);
    //  Howard Hinnant's civil_from_days.
    days += 719468;
    int64_t era = (days >= 0? days: days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524
                           - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    *day = (int) (day_of_year - (153 * month_index + 2) / 5 + 1);
    *month = (int) (month_index < 10? month_index + 3: month_index - 9);
    *year = (int) (year_of_era + era * 400 + (*month <= 2));
}

//  Days since the epoch of a civil date (Hinnant's days_from_civil).
static int64_t
s_days_from_civil (int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0? year: year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month > 2? month - 3: month + 9) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

//  Formats "YYYY-MM-DD".
void
gl_provider_format_date (int64_t utc, char *buffer, size_t size)
{
    int year, month, day, seconds;
    s_civil (utc, &year, &month, &day, &seconds);
    snprintf (buffer, size, "%04d-%02d-%02d", year, month, day);
}

//  Formats "YYYY-MM-DDTHH:MM:SSZ".
void
gl_provider_format_rfc3339 (int64_t utc, char *buffer, size_t size)
{
    int year, month, day, seconds;
    s_civil (utc, &year, &month, &day, &seconds);
    snprintf (buffer, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day,
              seconds / 3600, seconds / 60 % 60, seconds % 60);
}

//  Formats "YYYY-MM-DD HH:MM" of utc + offset.
void
gl_provider_format_local_minute (int64_t utc, int64_t offset, char *buffer, size_t size)
{
    int year, month, day, seconds;
    s_civil (utc + offset, &year, &month, &day, &seconds);
    snprintf (buffer, size, "%04d-%02d-%02d %02d:%02d", year, month, day,
              seconds / 3600, seconds / 60 % 60);
}

//  Reads exactly digits decimal digits from *text; -1 if any is missing.
static int
s_digits (const char **text, int digits)
{
    int value = 0;
    for (int index = 0; index < digits; index++, (*text)++) {
        if (!isdigit ((unsigned char) **text))
            return -1;
        value = value * 10 + (**text - '0');
    }
    return value;
}

//  Parses a date, a zone-less date-time or RFC 3339.
int
gl_provider_parse_time (const char *text, int64_t *utc)
{
    if (!text)
        return -1;
    const char *c = text;
    int year = s_digits (&c, 4);
    int month = *c++ == '-'? s_digits (&c, 2): -1;
    int day = month > 0 && *c++ == '-'? s_digits (&c, 2): -1;
    if (year < 1900 || month < 1 || month > 12 || day < 1 || day > 31)
        return -1;
    int64_t seconds = s_days_from_civil (year, month, day) * S_DAY;
    if (*c == 0) {
        *utc = seconds;
        return 0;
    }
    if (*c != 'T' && *c != ' ')
        return -1;
    c++;
    int hour = s_digits (&c, 2);
    int minute = *c++ == ':'? s_digits (&c, 2): -1;
    int second = *c == ':'? (c++, s_digits (&c, 2)): 0;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
        return -1;
    seconds += hour * 3600 + minute * 60 + second;
    if (*c == '.')
        for (c++; isdigit ((unsigned char) *c); c++)
            ;
    if (*c == 'Z' && c [1] == 0) {
        *utc = seconds;
        return 0;
    }
    if (*c == '+' || *c == '-') {
        int sign = *c++ == '+'? 1: -1;
        int offset_hours = s_digits (&c, 2);
        int offset_minutes = *c++ == ':'? s_digits (&c, 2): -1;
        if (offset_hours < 0 || offset_minutes < 0 || *c)
            return -1;
        *utc = seconds - sign * (offset_hours * 3600 + offset_minutes * 60);
        return 0;
    }
    if (*c)
        return -1;
    *utc = seconds;
    return 0;
}

//  The exchange's UTC offset on the date of instant. XNYS sessions open
//  at 09:30 local, so the first session opening on or after the date's
//  midnight tells the offset of that date (and the next session's, for a
//  date without one); 24x7 sessions open at 00:00 UTC: offset 0.
int64_t
gl_provider_exchange_offset (gl_calendar_t *calendar, int64_t instant)
{
    int64_t midnight = instant - ((instant % S_DAY) + S_DAY) % S_DAY;
    int64_t open, close;
    if (gl_calendar_next_session (calendar, midnight - 1, &open, &close) != 0)
        return 0;
    int64_t open_of_day = ((open % S_DAY) + S_DAY) % S_DAY;
    if (open_of_day == 0)
        return 0;
    return 34200 - open_of_day;
}

//  Frees every string of a request.
void
gl_provider_request_destroy (gl_provider_request_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_provider_request_t *self = *self_p;
    free (self->url);
    free (self->redacted_url);
    for (size_t index = 0; index < self->header_count; index++)
        free (self->headers [index]);
    free (self);
    *self_p = NULL;
}

//  The basis asked for; when none is named, the policy's if the provider
//  serves it, else the one basis it has.
gl_adjustment_t
gl_provider_query_adjustment (const gl_provider_query_t *query)
{
    if (query->adjustment)
        return query->adjustment;
    return gl_capability_adjustment (query->provider, query->timeframe,
                                     gl_capability_policy_adjustment ());
}

//  Checks what every request needs. Returns 0, or -1 with a message.
static int
s_check_query (const gl_provider_query_t *query, const gl_provider_adapter_t *adapter,
               char *error)
{
    if (!adapter) {
        snprintf (error, 256, "expected a provider (polygon yahoo tradier finnhub alpaca)");
        return -1;
    }
    gl_grid_t grid = query->calendar? gl_calendar_grid (query->calendar, query->timeframe)
                                    : gl_capability_policy_grid (query->timeframe);
    gl_adjustment_t adjustment = gl_provider_query_adjustment (query);
    if (!gl_capability_serves (query->provider, query->timeframe, grid, adjustment)) {
        snprintf (error, 256, "%s does not serve timeframe %s%s%s with %s prices",
                  adapter->name, gl_timeframe_name (query->timeframe),
                  grid? " on the grid ": "", grid? gl_calendar_grid_name (grid): "",
                  gl_capability_adjustment_name (adjustment));
        return -1;
    }
    if (!query->base_url || !*query->base_url || !query->symbol || !*query->symbol) {
        snprintf (error, 256, "expected a base URL and a symbol");
        return -1;
    }
    if (query->from < GL_PROVIDER_TIME_MIN || query->from > GL_PROVIDER_TIME_MAX
    ||  query->to < GL_PROVIDER_TIME_MIN || query->to > GL_PROVIDER_TIME_MAX) {
        snprintf (error, 256, "expected times in [%d, %lld] (1970 to 2100), got [%lld, %lld)",
                  GL_PROVIDER_TIME_MIN, (long long) GL_PROVIDER_TIME_MAX,
                  (long long) query->from, (long long) query->to);
        return -1;
    }
    if (query->from >= query->to) {
        snprintf (error, 256, "expected from < to, got [%lld, %lld)",
                  (long long) query->from, (long long) query->to);
        return -1;
    }
    int64_t span = gl_capability_max_span (query->provider, query->timeframe);
    if (span && query->to - query->from > span) {
        snprintf (error, 256, "%s %s requests span at most %lld s, got %lld s: split the range",
                  adapter->name, gl_timeframe_name (query->timeframe),
                  (long long) span, (long long) (query->to - query->from));
        return -1;
    }
    return 0;
}

//  Builds the request for a query.
gl_provider_request_t *
gl_provider_request_new (const gl_provider_query_t *query, char *error)
{
    const gl_provider_adapter_t *adapter = query? s_adapter (query->provider): NULL;
    if (!query || s_check_query (query, adapter, error))
        return NULL;
    gl_provider_request_t *self = calloc (1, sizeof (gl_provider_request_t));
    gl_provider_text_t url = { 0 }, redacted = { 0 };
    if (!self) {
        snprintf (error, 256, "out of memory building a request");
        return NULL;
    }
    if (adapter->url (query, query->key, &url, error)
    ||  adapter->url (query, S_REDACTED, &redacted, error)
    ||  adapter->headers (query, self, error)) {
        free (url.data);
        free (redacted.data);
        gl_provider_request_destroy (&self);
        return NULL;
    }
    self->url = url.data;
    self->redacted_url = redacted.data;
    if (url.failed || redacted.failed || !self->url || !self->redacted_url) {
        snprintf (error, 256, "out of memory building a request");
        gl_provider_request_destroy (&self);
    }
    return self;
}

//  Frees a result.
void
gl_provider_result_destroy (gl_provider_result_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gl_provider_result_t *self = *self_p;
    free (self->bars);
    free (self->continuation);
    free (self);
    *self_p = NULL;
}

//  Total bars dropped.
size_t
gl_provider_result_dropped (const gl_provider_result_t *self)
{
    size_t total = 0;
    for (int reason = 0; reason < GL_PROVIDER_DROP_REASONS; reason++)
        total += self->dropped [reason];
    return total;
}

//  Finds the value of the last header called name (any case) in a raw
//  header block; copies it trimmed into buffer. Returns true if found.
static bool
s_header (const char *headers, const char *name, char *buffer, size_t size)
{
    bool found = false;
    size_t name_length = strlen (name);
    for (const char *line = headers; line && *line; ) {
        const char *end = strchr (line, '\n');
        size_t length = end? (size_t) (end - line): strlen (line);
        if (length > name_length && strncasecmp (line, name, name_length) == 0
        &&  line [name_length] == ':') {
            const char *value = line + name_length + 1;
            const char *stop = line + length;
            while (value < stop && (*value == ' ' || *value == '\t'))
                value++;
            while (stop > value && isspace ((unsigned char) stop [-1]))
                stop--;
            size_t value_length = (size_t) (stop - value);
            if (value_length >= size)
                value_length = size - 1;
            memcpy (buffer, value, value_length);
            buffer [value_length] = 0;
            found = true;
        }
        line = end? end + 1: NULL;
    }
    return found;
}

//  Reads a whole decimal header value; -1 if absent or not a number.
static int64_t
s_header_integer (const char *headers, const char *name)
{
    char text [64];
    if (!s_header (headers, name, text, sizeof text))
        return -1;
    char *end;
    double value = strtod (text, &end);
    if (end == text || *end || !isfinite (value) || value < 0 || value > 9e15)
        return -1;
    return (int64_t) value;
}

//  An instant or a delay as epoch ms, by magnitude: from 1e11 epoch ms,
//  from 1e9 epoch seconds, below that seconds from now.
static int64_t
s_instant_ms (int64_t value, int64_t now)
{
    if (value >= 100000000000LL)
        return value;
    if (value >= 1000000000LL)
        return value * 1000;
    return (now + value) * 1000;
}

//  Reads rate-limit headers: X-Ratelimit-Limit/Remaining/Reset (Finnhub,
//  Alpaca) and Tradier's X-Ratelimit-Allowed/Available/Expiry.
static void
s_read_limit (const char *headers, int64_t now, gl_provider_limit_t *limit)
{
    limit->limit = s_header_integer (headers, "X-Ratelimit-Limit");
    if (limit->limit < 0)
        limit->limit = s_header_integer (headers, "X-Ratelimit-Allowed");
    limit->remaining = s_header_integer (headers, "X-Ratelimit-Remaining");
    if (limit->remaining < 0)
        limit->remaining = s_header_integer (headers, "X-Ratelimit-Available");
    int64_t reset = s_header_integer (headers, "X-Ratelimit-Reset");
    if (reset < 0)
        reset = s_header_integer (headers, "X-Ratelimit-Expiry");
    limit->reset_ms = reset < 0? -1: s_instant_ms (reset, now);
    limit->known = limit->limit >= 0 || limit->remaining >= 0 || limit->reset_ms >= 0;
}

//  Fails the parse with a class and message.
void
gl_provider_fail (gl_provider_parse_t *parse, gl_provider_error_t error,
                  const char *format, ...)
{
    gl_provider_result_t *result = parse->result;
    result->error = error;
    result->retryable = error == GL_PROVIDER_RATE_LIMITED || error == GL_PROVIDER_SERVER_ERROR
                     || error == GL_PROVIDER_TIMEOUT || error == GL_PROVIDER_PARSE_ERROR;
    va_list arguments;
    va_start (arguments, format);
    vsnprintf (result->message, sizeof result->message, format, arguments);
    va_end (arguments);
    //  Keep messages one printable line: they end up in logs and FAILED.
    for (char *c = result->message; *c; c++)
        if (!isprint ((unsigned char) *c))
            *c = ' ';
}

//  Fails the parse by HTTP status.
void
gl_provider_fail_status (gl_provider_parse_t *parse, long status, const char *text)
{
    text = text? text: "";
    if (strstr (text, "TooBigBody")) {
        gl_provider_fail (parse, GL_PROVIDER_SERVER_ERROR,
                          "HTTP %ld: range too big for one response: %s", status, text);
        parse->result->split_range = true;
    }
    else
    if (status == 429 || strstr (text, "Quota Violation"))
        gl_provider_fail (parse, GL_PROVIDER_RATE_LIMITED, "HTTP %ld: %s", status, text);
    else
    if (status == 401 || status == 403)
        gl_provider_fail (parse, GL_PROVIDER_AUTH, "HTTP %ld: %s", status, text);
    else
    if (status == 404)
        gl_provider_fail (parse, GL_PROVIDER_NOT_FOUND, "HTTP %ld: %s", status, text);
    else
    if (status == 408)
        gl_provider_fail (parse, GL_PROVIDER_TIMEOUT, "HTTP %ld: %s", status, text);
    else
    if (status >= 500 && status <= 599)
        gl_provider_fail (parse, GL_PROVIDER_SERVER_ERROR, "HTTP %ld: %s", status, text);
    else
    if (status >= 200 && status <= 299)
        gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR,
                          "HTTP %ld: expected a JSON body of bars: %s", status, text);
    else
        gl_provider_fail (parse, GL_PROVIDER_NOT_FOUND, "HTTP %ld: %s", status, text);
}

//  Marks the provider's empty answer.
void
gl_provider_no_data (gl_provider_parse_t *parse, const char *why)
{
    gl_provider_fail (parse, GL_PROVIDER_NO_DATA, "%s", why);
}

//  Reads a number field.
bool
gl_provider_number (const cJSON *object, const char *name, double *value)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (object, name);
    if (!cJSON_IsNumber (item))
        return false;
    *value = item->valuedouble;
    return true;
}

//  Reads a string field.
const char *
gl_provider_string (const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (object, name);
    return cJSON_IsString (item)? item->valuestring: NULL;
}

//  Counts a dropped bar.
void
gl_provider_drop (gl_provider_parse_t *parse, gl_provider_drop_t reason)
{
    parse->result->dropped [reason]++;
}

//  Stores the continuation.
void
gl_provider_continue (gl_provider_parse_t *parse, const char *continuation)
{
    free (parse->result->continuation);
    parse->result->continuation = NULL;
    if (continuation && *continuation) {
        parse->result->continuation = strdup (continuation);
        if (!parse->result->continuation)
            parse->out_of_memory = true;
    }
}

//  Floors to the UTC midnight.
static int64_t
s_midnight (int64_t instant)
{
    return instant - ((instant % S_DAY) + S_DAY) % S_DAY;
}

//  The calendar bar start a provider's stamp stands for. Weekly: the
//  Monday of the date's week; a weekend date moves to the next Monday.
static int64_t
s_bar_start (gl_provider_parse_t *parse, int64_t stamp, gl_provider_stamp_t kind)
{
    gl_timeframe_t timeframe = parse->query->timeframe;
    if (gl_timeframe_is_intraday (timeframe))
        return stamp;
    int64_t offset = kind == GL_PROVIDER_STAMP_EXCHANGE_DATE
                   ? gl_provider_exchange_offset (parse->query->calendar, stamp): 0;
    int64_t day = s_midnight (stamp + offset);
    if (timeframe == GL_TF_1D)
        return day;
    //  1970-01-01 was a Thursday: weekday 0 = Monday.
    int64_t weekday = (((day / S_DAY) + 3) % 7 + 7) % 7;
    return weekday >= 5? day + (7 - weekday) * S_DAY: day - weekday * S_DAY;
}

//  True if the bar's period has not closed at now.
static bool
s_is_provisional (gl_provider_parse_t *parse, int64_t start)
{
    const gl_provider_query_t *query = parse->query;
    int64_t length = gl_timeframe_seconds (query->timeframe);
    if (query->now <= start || query->now >= start + length + S_WEEK)
        return query->now > 0 && query->now <= start;
    int64_t open, close, end;
    if (gl_timeframe_is_intraday (query->timeframe)) {
        if (gl_calendar_previous_session (query->calendar, start + 1, &open, &close) != 0)
            return false;
        end = start + length < close? start + length: close;
    }
    else
    if (query->timeframe == GL_TF_1D) {
        if (gl_calendar_next_session (query->calendar, start - 1, &open, &close) != 0)
            return false;
        end = close;
    }
    else {
        if (gl_calendar_previous_session (query->calendar, start + S_WEEK, &open, &close) != 0)
            return false;
        end = close;
    }
    return query->now < end;
}

//  Rounds to decimals places.
static double
s_round (double value, int decimals)
{
    double scale = pow (10, decimals);
    return round (value * scale) / scale;
}

//  Checks a bar's numbers; returns the drop reason or -1 if it is sound.
static int
s_check_numbers (const gl_bar_t *bar)
{
    double values [] = { bar->open, bar->high, bar->low, bar->close, bar->volume,
                         bar->has_vwap? bar->vwap: 1 };
    for (size_t index = 0; index < sizeof values / sizeof values [0]; index++)
        if (!isfinite (values [index]))
            return GL_PROVIDER_DROP_NOT_FINITE;
    if (bar->open <= 0 || bar->high <= 0 || bar->low <= 0 || bar->close <= 0)
        return GL_PROVIDER_DROP_NOT_FINITE;
    if (bar->high < bar->low || bar->open > bar->high || bar->open < bar->low
    ||  bar->close > bar->high || bar->close < bar->low)
        return GL_PROVIDER_DROP_HIGH_LOW;
    if (bar->volume < 0)
        return GL_PROVIDER_DROP_NEGATIVE_VOLUME;
    return -1;
}

//  Inserts the bar in start order; a start already held is a duplicate.
//  Returns 0, or -1 on out of memory.
static int
s_insert (gl_provider_parse_t *parse, const gl_bar_t *bar)
{
    gl_provider_result_t *result = parse->result;
    size_t low = 0, high = result->bar_count;
    if (high > 0 && result->bars [high - 1].ts < bar->ts)
        low = high;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (result->bars [middle].ts < bar->ts)
            low = middle + 1;
        else
            high = middle;
    }
    if (low < result->bar_count && result->bars [low].ts == bar->ts) {
        gl_provider_drop (parse, GL_PROVIDER_DROP_DUPLICATE);
        return 0;
    }
    if (result->bar_count == parse->capacity) {
        size_t capacity = parse->capacity? parse->capacity * 2: 256;
        gl_bar_t *bars = realloc (result->bars, capacity * sizeof (gl_bar_t));
        if (!bars) {
            parse->out_of_memory = true;
            return -1;
        }
        result->bars = bars;
        parse->capacity = capacity;
    }
    memmove (result->bars + low + 1, result->bars + low,
             (result->bar_count - low) * sizeof (gl_bar_t));
    result->bars [low] = *bar;
    result->bar_count++;
    return 0;
}

//  Normalises and adds one bar, or drops it with its reason.
int
gl_provider_add_bar (gl_provider_parse_t *parse, int64_t stamp, gl_provider_stamp_t stamp_kind,
                     const gl_bar_t *bar_in, bool missing)
{
    const gl_provider_query_t *query = parse->query;
    parse->result->received++;
    if (missing) {
        gl_provider_drop (parse, GL_PROVIDER_DROP_NULL);
        return 0;
    }
    gl_bar_t bar = *bar_in;
    if (parse->price_decimals >= 0) {
        bar.open = s_round (bar.open, parse->price_decimals);
        bar.high = s_round (bar.high, parse->price_decimals);
        bar.low = s_round (bar.low, parse->price_decimals);
        bar.close = s_round (bar.close, parse->price_decimals);
    }
    int reason = s_check_numbers (&bar);
    if (reason >= 0) {
        gl_provider_drop (parse, (gl_provider_drop_t) reason);
        return 0;
    }
    int64_t start = s_bar_start (parse, stamp, stamp_kind);
    if (start < query->from || start >= query->to) {
        gl_provider_drop (parse, GL_PROVIDER_DROP_OUTSIDE_RANGE);
        return 0;
    }
    if (gl_calendar_count_bars (query->calendar, query->timeframe, start, start + 1) != 1) {
        gl_provider_drop (parse, GL_PROVIDER_DROP_OFF_GRID);
        return 0;
    }
    bar.ts = start;
    bar.provisional = s_is_provisional (parse, start);
    return s_insert (parse, &bar);
}

//  Copies up to 200 bytes of a non-JSON body as text for the message.
static void
s_body_text (const char *body, size_t size, char *text, size_t text_size)
{
    size_t length = size < text_size - 1? size: text_size - 1;
    if (length > 200)
        length = 200;
    for (size_t index = 0; index < length; index++)
        text [index] = isprint ((unsigned char) body [index])? body [index]: ' ';
    text [length] = 0;
    if (length == 0)
        snprintf (text, text_size, "(empty body)");
}

//  Sets the retry hint: Retry-After first, then the reset instant when
//  the provider refused for rate.
static void
s_retry_after (gl_provider_result_t *result, const char *headers, int64_t now)
{
    int64_t retry_after = s_header_integer (headers, "Retry-After");
    if (retry_after >= 0)
        result->retry_after_ms = (uint64_t) retry_after * 1000;
    else
    if (result->error == GL_PROVIDER_RATE_LIMITED && result->limit.reset_ms > now * 1000)
        result->retry_after_ms = (uint64_t) (result->limit.reset_ms - now * 1000);
}
//  True if the answer is XML: its Content-Type says so, or the body
//  opens with an XML declaration.
static bool
s_is_xml (const char *headers, const char *body, size_t size)
{
    if (headers) {
        for (const char *line = headers; line && *line; line = strchr (line, '\n')) {
            line += *line == '\n';
            if (strncasecmp (line, "Content-Type:", 13) == 0) {
                const char *end = strchr (line, '\n');
                size_t length = end? (size_t) (end - line): strlen (line);
                for (size_t at = 13; at + 3 <= length; at++)
                    if (strncasecmp (line + at, "xml", 3) == 0)
                        return true;
            }
        }
    }
    size_t at = 0;
    while (body && at < size && isspace ((unsigned char) body [at]))
        at++;
    return body && size - at >= 5 && memcmp (body + at, "<?xml", 5) == 0;
}

//  Fails the parse as a contract error: the request itself is wrong for
//  this provider (a retry gets the same answer), so it is not retryable.
static void
s_fail_contract (gl_provider_parse_t *parse, long status, const char *why)
{
    gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR, "HTTP %ld: %s", status, why);
    parse->result->retryable = false;
}

//  Fails a page whose bars were all refused (off grid, out of range,
//  impossible prices...; nulls alone are only an empty page): the
//  provider's answer and our contract disagree, a retry gets the same.
static void
s_fail_unusable (gl_provider_parse_t *parse, long status)
{
    gl_provider_result_t *result = parse->result;
    char counts [160] = "";
    for (int reason = 0; reason < GL_PROVIDER_DROP_REASONS; reason++) {
        size_t used = strlen (counts);
        if (result->dropped [reason] && used < sizeof counts)
            snprintf (counts + used, sizeof counts - used, "%s%s=%zu", used? " ": "",
                      gl_provider_drop_name ((gl_provider_drop_t) reason),
                      result->dropped [reason]);
    }
    gl_provider_fail (parse, GL_PROVIDER_PARSE_ERROR, "HTTP %ld: provider returned %zu bars, "
                      "none usable: %s", status, result->received, counts);
    result->retryable = false;
}


//  --------------------------------------------------------------------------
//  The tree of one body

//  cJSON allocates every node and string of a body on its own: a page of
//  540 bars is about 5,000 of them, and malloc and free were a quarter of
//  the parse. The tree of one body is instead carved out of a few large
//  blocks and dropped whole once the adapter has read it. The blocks hold
//  what malloc would have (the body's nodes, no more); one block is kept
//  between bodies. cJSON's hooks are the process's, so the arena is too:
//  gl_provider_parse is for one thread at a time, as the fetcher runs it.

#define S_BLOCK_SIZE (256 * 1024)

typedef struct s_block_t {
    struct s_block_t *next;
    size_t size, used;
    max_align_t data [];
} s_block_t;

static s_block_t *s_blocks;         //  the newest first

//  cJSON's malloc while a body is parsed: the newest block's next bytes.
static void *
s_tree_allocate (size_t size)
{
    size_t aligned = (size + sizeof (max_align_t) - 1) / sizeof (max_align_t)
                   * sizeof (max_align_t);
    if (aligned < size)
        return NULL;
    if (!s_blocks || s_blocks->size - s_blocks->used < aligned) {
        size_t capacity = aligned > S_BLOCK_SIZE? aligned: S_BLOCK_SIZE;
        s_block_t *block = capacity <= SIZE_MAX - sizeof (s_block_t)
                         ? malloc (sizeof (s_block_t) + capacity): NULL;
        if (!block)
            return NULL;
        block->next = s_blocks;
        block->size = capacity;
        block->used = 0;
        s_blocks = block;
    }
    void *pointer = (char *) s_blocks->data + s_blocks->used;
    s_blocks->used += aligned;
    return pointer;
}

//  cJSON's free while a body is parsed (a failed parse frees what it
//  built): nothing, the tree goes whole.
static void
s_tree_release (void *pointer)
{
    (void) pointer;
}

//  Parses a body into a tree in the arena, or NULL.
static cJSON *
s_tree_parse (const char *body, size_t size)
{
    cJSON_Hooks hooks = { s_tree_allocate, s_tree_release };
    cJSON_InitHooks (&hooks);
    cJSON *root = cJSON_ParseWithLength (body, size);
    cJSON_InitHooks (NULL);
    return root;
}

//  Drops the tree of the last body, keeping one block of the usual size
//  for the next (a block made for one large string goes).
static void
s_tree_drop (void)
{
    s_block_t *kept = NULL;
    while (s_blocks) {
        s_block_t *next = s_blocks->next;
        if (!kept && s_blocks->size == S_BLOCK_SIZE) {
            kept = s_blocks;
            kept->next = NULL;
            kept->used = 0;
        }
        else
            free (s_blocks);
        s_blocks = next;
    }
    s_blocks = kept;
}

//  Parses one response.
gl_provider_result_t *
gl_provider_parse (const gl_provider_query_t *query, long status,
                   const char *headers, const char *body, size_t size)
{
    const gl_provider_adapter_t *adapter = query? s_adapter (query->provider): NULL;
    if (!adapter || !query->calendar || gl_timeframe_seconds (query->timeframe) == 0)
        return NULL;
    gl_provider_result_t *result = calloc (1, sizeof (gl_provider_result_t));
    if (!result)
        return NULL;
    gl_provider_parse_t parse = { query, result, 0, -1, false };
    s_read_limit (headers, query->now, &result->limit);
    cJSON *root = size > 0 && body? s_tree_parse (body, size): NULL;
    if (root)
        adapter->parse (&parse, status, root);
    else
    if (status >= 200 && status <= 299 && s_is_xml (headers, body, size))
        s_fail_contract (&parse, status, "the provider answered XML, not JSON: the request "
                         "must ask for it (Accept: application/json)");
    else {
        char text [256];
        s_body_text (body? body: "", body? size: 0, text, sizeof text);
        gl_provider_fail_status (&parse, status, text);
    }
    s_tree_drop ();
    if (result->error == GL_PROVIDER_OK && (status < 200 || status > 299))
        gl_provider_fail_status (&parse, status, "unexpected body for this status");
    if (result->error == GL_PROVIDER_OK && result->bar_count == 0
    &&  result->received > result->dropped [GL_PROVIDER_DROP_NULL])
        s_fail_unusable (&parse, status);
    if (result->error != GL_PROVIDER_OK) {
        free (result->bars);
        result->bars = NULL;
        result->bar_count = 0;
        gl_provider_continue (&parse, NULL);
        s_retry_after (result, headers, query->now);
    }
    if (parse.out_of_memory)
        gl_provider_result_destroy (&result);
    return result;
}

//  Adds the bars of parallel arrays, one per index (Finnhub, Yahoo).
int
gl_provider_add_columns (gl_provider_parse_t *parse, const cJSON *cells [6], int count,
                         gl_provider_stamp_t stamp_kind)
{
    for (int index = 0; index < count; index++) {
        double values [6];
        bool complete = true;
        for (int column = 0; column < 6; column++) {
            complete = complete && cJSON_IsNumber (cells [column]);
            values [column] = complete? cells [column]->valuedouble: 0;
            cells [column] = cells [column]->next;
        }
        if (complete && !(values [0] > -1e13 && values [0] < 1e13))
            complete = false;
        int64_t stamp = complete? (int64_t) values [0]: 0;
        gl_bar_t bar = { .open = values [1], .high = values [2], .low = values [3],
                         .close = values [4], .volume = values [5] };
        if (gl_provider_add_bar (parse, stamp, stamp_kind, &bar, !complete))
            return -1;
    }
    return 0;
}
