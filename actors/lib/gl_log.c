/*  gl_log — structured log lines (logfmt) on stderr. */
#include "gl_log.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char s_name [64] = "gapless";
static int s_threshold = -1;
static int s_default_threshold = GL_LOG_INFO;

void
gl_log_set_name (const char *name)
{
    snprintf (s_name, sizeof (s_name), "%s", name);
}

void
gl_log_set_default_level (gl_log_level_t level)
{
    s_default_threshold = level;
    s_threshold = -1;
}

int
gl_log_set_default_level_name (const char *name)
{
    const char *names [] = { "debug", "info", "warn", "error" };
    for (int level = GL_LOG_DEBUG; name && level <= GL_LOG_ERROR; level++)
        if (strcmp (name, names [level]) == 0) {
            gl_log_set_default_level ((gl_log_level_t) level);
            return 0;
        }
    return -1;
}

//  Reads the threshold from the environment once.
static int
s_threshold_level (void)
{
    if (s_threshold < 0) {
        const char *names [] = { "debug", "info", "warn", "error" };
        const char *wanted = getenv ("GAPLESS_LOG_LEVEL");
        s_threshold = s_default_threshold;
        for (int level = GL_LOG_DEBUG; wanted && level <= GL_LOG_ERROR; level++)
            if (strcmp (wanted, names [level]) == 0)
                s_threshold = level;
    }
    return s_threshold;
}

void
gl_log (gl_log_level_t level, const char *event, const char *format, ...)
{
    static const char *level_names [] = { "debug", "info", "warn", "error" };
    if ((int) level < s_threshold_level ())
        return;

    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r (&now.tv_sec, &utc);
    char line [2048];
    int size = snprintf (line, sizeof (line),
        "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s proc=%s event=%s",
        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
        utc.tm_sec, now.tv_nsec / 1000000, level_names [level], s_name, event);
    if (format && size > 0 && (size_t) size < sizeof (line) - 1) {
        va_list arguments;
        va_start (arguments, format);
        int added = vsnprintf (line + size + 1, sizeof (line) - (size_t) size - 1, format, arguments);
        va_end (arguments);
        if (added > 0)
            line [size] = ' ';      //  join the pairs only when there are some
    }
    //  One write per line keeps lines whole when several threads log.
    fprintf (stderr, "%s\n", line);
}

//  True if the value must be quoted to stay one logfmt token.
static bool
s_needs_quotes (const char *value)
{
    if (*value == '\0')
        return true;
    for (const char *cursor = value; *cursor; cursor++) {
        unsigned char c = (unsigned char) *cursor;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            return true;
    }
    return false;
}

//  Writes value as one logfmt value into buffer.
const char *
gl_log_value (const char *value, char *buffer, size_t size)
{
    if (size == 0)
        return buffer;
    value = value? value: "";
    if (!s_needs_quotes (value)) {
        snprintf (buffer, size, "%s", value);
        return buffer;
    }
    //  Room for the closing quote and the NUL is kept at every step.
    size_t used = 0;
    if (size >= 3)
        buffer [used++] = '"';
    for (const char *cursor = value; *cursor && used + 6 < size; cursor++) {
        unsigned char c = (unsigned char) *cursor;
        if (c == '"' || c == '\\')
            used += (size_t) snprintf (buffer + used, size - used, "\\%c", c);
        else
        if (c == '\n')
            used += (size_t) snprintf (buffer + used, size - used, "\\n");
        else
        if (c < ' ' || c == 0x7f)
            used += (size_t) snprintf (buffer + used, size - used, "\\x%02x", c);
        else
            buffer [used++] = (char) c;
    }
    if (used > 0 && used + 1 < size)
        buffer [used++] = '"';
    buffer [used] = '\0';
    return buffer;
}
