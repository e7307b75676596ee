/*  gl_simhttp — shared exchange types and helpers. See gl_simhttp.h.  */
#include "gl_simhttp.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BARS_MAX 500000

void
gl_simresponse_set (gl_simresponse_t *response, int status, const char *content_type,
                    const char *body)
{
    response->status = status;
    response->content_type = content_type;
    gl_simtext_clear (response->body);
    gl_simtext_append (response->body, body);
}

void
gl_simresponse_header (gl_simresponse_t *response, const char *name, const char *format, ...)
{
    if (response->header_count == GL_SIMHTTP_HEADERS)
        return;
    size_t index = response->header_count++;
    snprintf (response->header_names [index], sizeof response->header_names [index], "%s", name);
    va_list arguments;
    va_start (arguments, format);
    vsnprintf (response->header_values [index], sizeof response->header_values [index],
               format, arguments);
    va_end (arguments);
}

void
gl_simresponse_limit_headers (const gl_simlimit_status_t *status, gl_simresponse_t *response)
{
    if (status->allowed == 0)
        return;
    gl_simresponse_header (response, "X-Ratelimit-Limit", "%lld", (long long) status->allowed);
    gl_simresponse_header (response, "X-Ratelimit-Remaining", "%lld", (long long) status->available);
    gl_simresponse_header (response, "X-Ratelimit-Reset", "%lld",
                           (long long) ((status->reset_ms + 999) / 1000));
}

const char *
gl_simrequest_query (gl_simrequest_t *request, const char *name)
{
    return request->query? request->query (request->connection, name): NULL;
}

const char *
gl_simrequest_header (gl_simrequest_t *request, const char *name)
{
    return request->header? request->header (request->connection, name): NULL;
}

const char *
gl_simrequest_option (gl_simrequest_t *request, const char *name, const char *fallback)
{
    return request->options? zconfig_get (request->options, name, fallback): fallback;
}

void
gl_simwindow_init (gl_simwindow_t *window)
{
    window->first_day = INT64_MIN;
    window->last_day = INT64_MAX;
    window->first_stamp = INT64_MIN;
    window->last_stamp = INT64_MAX;
    window->after_stamp = INT64_MIN;
}

//  UTC midnight of the day holding instant.
static int64_t
s_midnight (int64_t instant)
{
    return instant - ((instant % 86400) + 86400) % 86400;
}

//  True if the bar lies inside every bound of the window.
static bool
s_window_holds (gl_simwindow_t *window, int64_t start, int64_t stamp)
{
    int64_t day = s_midnight (start);
    return day >= window->first_day && day <= window->last_day
        && stamp >= window->first_stamp && stamp <= window->last_stamp
        && stamp > window->after_stamp;
}

int
gl_simwindow_bars (gl_simwindow_t *window, gl_simrequest_t *request, const char *symbol,
                   gl_timeframe_t timeframe, gl_simbars_stamp_t convention,
                   gl_simbar_t **bars_p, size_t *count_p)
{
    *bars_p = NULL;
    *count_p = 0;
    int64_t lower = window->first_day > window->first_stamp? window->first_day: window->first_stamp;
    if (window->after_stamp > lower)
        lower = window->after_stamp;
    int64_t last_second = window->last_day == INT64_MAX? INT64_MAX: window->last_day + 86399;
    int64_t upper = last_second < window->last_stamp? last_second: window->last_stamp;
    if (lower == INT64_MIN || upper == INT64_MAX)
        return -1;
    if (upper < lower)
        return 0;
    //  A stamp lies on its bar's UTC date, except weekly ones, which may
    //  fall later in the bar's week: widen by a day, or by a week.
    int64_t margin = timeframe == GL_TF_1W? 7 * 86400: 86400;
    int64_t from = s_midnight (lower) - margin;
    int64_t to = s_midnight (upper) + 2 * 86400;
    int64_t expected = gl_calendar_count_bars (request->calendar, timeframe, from, to);
    if (expected < 0 || expected > BARS_MAX)
        return -1;
    gl_simbar_t *bars;
    size_t count;
    if (gl_simbars_generate_on (request->calendar, gl_simbars_grid (convention), symbol,
                                timeframe, from, to, &bars, &count) != 0)
        return -1;
    size_t kept = 0;
    for (size_t index = 0; index < count; index++) {
        int64_t stamp = gl_simbars_stamp (request->calendar, convention, timeframe,
                                          bars [index].start);
        if (s_window_holds (window, bars [index].start, stamp))
            bars [kept++] = bars [index];
    }
    *bars_p = bars;
    *count_p = kept;
    return 0;
}

//  Days from 1970-01-01 to a civil date (proleptic Gregorian).
static int64_t
s_days_from_civil (int64_t year, int64_t month, int64_t day)
{
    year -= month <= 2;
    int64_t era = (year >= 0? year: year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2? -3: 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

//  True if the civil date exists.
static bool
s_date_valid (int year, int month, int day)
{
    static const int lengths [12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= (month == 2 && !leap? 28: lengths [month - 1]);
}

int
gl_simhttp_parse_date (const char *text, int64_t *utc)
{
    int year, month, day, used = 0;
    if (!text || sscanf (text, "%4d-%2d-%2d%n", &year, &month, &day, &used) != 3
        || used != 10 || text [used] || !s_date_valid (year, month, day))
        return -1;
    *utc = s_days_from_civil (year, month, day) * 86400;
    return 0;
}

int
gl_simhttp_parse_rfc3339 (const char *text, int64_t *utc)
{
    int year, month, day, hour, minute, second, used = 0;
    if (!text || sscanf (text, "%4d-%2d-%2dT%2d:%2d:%2d%n",
                         &year, &month, &day, &hour, &minute, &second, &used) != 6
        || used != 19 || !s_date_valid (year, month, day)
        || hour > 23 || minute > 59 || second > 60)
        return -1;
    const char *rest = text + used;
    if (*rest == '.') {
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    int64_t offset = 0;
    if (*rest == 'Z' || *rest == 'z')
        rest++;
    else {
        int offset_hours, offset_minutes, offset_used = 0;
        if ((*rest != '+' && *rest != '-')
            || sscanf (rest + 1, "%2d:%2d%n", &offset_hours, &offset_minutes, &offset_used) != 2
            || offset_used != 5)
            return -1;
        offset = (offset_hours * 3600 + offset_minutes * 60) * (*rest == '-'? -1: 1);
        rest += 6;
    }
    if (*rest)
        return -1;
    *utc = s_days_from_civil (year, month, day) * 86400 + hour * 3600 + minute * 60 + second
         - offset;
    return 0;
}

int
gl_simhttp_parse_integer (const char *text, int64_t *value)
{
    if (!text || !*text)
        return -1;
    char *end = NULL;
    long long parsed = strtoll (text, &end, 10);
    if (*end)
        return -1;
    *value = parsed;
    return 0;
}

void
gl_simhttp_format_date (int64_t utc, char *buffer, size_t size)
{
    time_t seconds = (time_t) utc;
    struct tm civil;
    gmtime_r (&seconds, &civil);
    strftime (buffer, size, "%Y-%m-%d", &civil);
}

void
gl_simhttp_format_time (int64_t utc, char *buffer, size_t size)
{
    time_t seconds = (time_t) utc;
    struct tm civil;
    gmtime_r (&seconds, &civil);
    strftime (buffer, size, "%Y-%m-%dT%H:%M:%S", &civil);
}

void
gl_simhttp_hash_hex (const char *text, char *buffer, size_t size)
{
    uint64_t hash = 0xCBF29CE484222325ULL;
    for (const char *c = text; *c; c++)
        hash = (hash ^ (unsigned char) *c) * 0x100000001B3ULL;
    uint64_t first = gl_simbars_mix (hash);
    snprintf (buffer, size, "%016llx%016llx", (unsigned long long) first,
              (unsigned long long) gl_simbars_mix (first));
}

static const char s_alphabet [] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
gl_simhttp_base64_encode (const char *text, bool url_safe, char *buffer, size_t size)
{
    size_t length = strlen (text);
    if ((length + 2) / 3 * 4 + 1 > size)
        return -1;
    size_t out = 0;
    for (size_t index = 0; index < length; index += 3) {
        uint32_t chunk = (uint32_t) (unsigned char) text [index] << 16;
        if (index + 1 < length)
            chunk |= (uint32_t) (unsigned char) text [index + 1] << 8;
        if (index + 2 < length)
            chunk |= (unsigned char) text [index + 2];
        size_t digits = length - index >= 3? 4: length - index + 1;
        for (size_t digit = 0; digit < 4; digit++) {
            char symbol = digit < digits? s_alphabet [(chunk >> (18 - 6 * digit)) & 63]: '=';
            if (url_safe && symbol == '+')
                symbol = '-';
            else
            if (url_safe && symbol == '/')
                symbol = '_';
            if (!(url_safe && symbol == '='))
                buffer [out++] = symbol;
        }
    }
    buffer [out] = 0;
    return 0;
}

//  The 6-bit value of a base64 digit in either alphabet, or -1.
static int
s_base64_value (char symbol)
{
    if (symbol == '-')
        return 62;
    if (symbol == '_')
        return 63;
    const char *found = symbol? strchr (s_alphabet, symbol): NULL;
    return found? (int) (found - s_alphabet): -1;
}

int
gl_simhttp_base64_decode (const char *text, char *buffer, size_t size)
{
    uint32_t chunk = 0;
    int bits = 0;
    size_t out = 0;
    for (const char *c = text; *c && *c != '='; c++) {
        int value = s_base64_value (*c);
        if (value < 0)
            return -1;
        chunk = (chunk << 6) | (uint32_t) value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out + 1 >= size)
                return -1;
            buffer [out++] = (char) ((chunk >> bits) & 0xFF);
        }
    }
    buffer [out] = 0;
    return 0;
}
