/*  gl_store_log — logfmt lines on stderr for the store modules.  */
#include "gl_store_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

//  Writes one value, quoted and escaped when needed.
static void
s_put_value (FILE *out, const char *value)
{
    if (!s_needs_quotes (value)) {
        fputs (value, out);
        return;
    }
    fputc ('"', out);
    for (const char *cursor = value; *cursor; cursor++) {
        unsigned char c = (unsigned char) *cursor;
        if (c == '"' || c == '\\')
            fprintf (out, "\\%c", c);
        else
        if (c == '\n')
            fputs ("\\n", out);
        else
        if (c < ' ' || c == 0x7f)
            fprintf (out, "\\x%02x", c);
        else
            fputc (c, out);
    }
    fputc ('"', out);
}

//  Prints one logfmt line: level, event, then key/value string pairs.
void
gl_store_log (const char *level, const char *event, ...)
{
    char line [2048] = "";
    //  One byte held back so a truncated line still ends with a NUL
    FILE *out = fmemopen (line, sizeof line - 1, "w");
    if (!out)
        return;
    fprintf (out, "level=%s event=%s", level, event);
    va_list args;
    va_start (args, event);
    const char *key;
    while ((key = va_arg (args, const char *))) {
        const char *value = va_arg (args, const char *);
        fprintf (out, " %s=", key);
        s_put_value (out, value? value: "");
    }
    va_end (args);
    fputc ('\n', out);
    fclose (out);
    size_t length = strlen (line);
    if (length > 0 && line [length - 1] != '\n')
        line [length - 1] = '\n';
    //  One write per line, so lines from several threads never interleave
    fputs (line, stderr);
}
