/*  gl_log — structured log lines (logfmt) on stderr.

    Each line: time, level, the process's name, a stable event name, then
    the caller's key=value pairs:
      ts=2026-11-22T05:01:02.345Z level=warn proc=broker event=frame_rejected peer=... reason=...
    The level threshold comes from GAPLESS_LOG_LEVEL (debug, info, warn,
    error; default info). Free text (an error from libpq, a provider's
    message) goes through GL_LOG_VALUE so it stays one token. Never pass a
    secret. Every gapless process and library logs through this module.
*/
#ifndef GL_LOG_H_INCLUDED
#define GL_LOG_H_INCLUDED

#include <stddef.h>

typedef enum {
    GL_LOG_DEBUG = 0,
    GL_LOG_INFO,
    GL_LOG_WARN,
    GL_LOG_ERROR,
} gl_log_level_t;

//  Names the process in every line ("broker", "fetcher.polygon").
void gl_log_set_name (const char *name);

//  Sets the threshold a process uses when GAPLESS_LOG_LEVEL does not say
//  (a command-line tool keeps its output for warnings and errors).
void gl_log_set_default_level (gl_log_level_t level);

//  Sets that threshold by name ("debug" "info" "warn" "error"). Returns 0,
//  or -1 for another name (nothing changes).
int gl_log_set_default_level_name (const char *name);

//  Writes one line if level is at or above the threshold. format/... are
//  the key=value pairs, printf style, e.g. "peer=%s reason=%s".
void gl_log (gl_log_level_t level, const char *event, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Writes value into buffer as one logfmt value: bare when it can be,
//  otherwise quoted, with quotes, backslashes and control characters
//  escaped (a newline becomes \n); NULL is "". Cut to fit size. Returns
//  buffer.
const char *gl_log_value (const char *value, char *buffer, size_t size);

//  gl_log_value into a buffer that lives until the end of the caller's
//  block, e.g. gl_log_warn ("db_notice", "message=%s", GL_LOG_VALUE (text)).
#define GL_LOG_VALUE(value) gl_log_value ((value), (char [512]) { 0 }, 512)

#define gl_log_debug(event, ...) gl_log (GL_LOG_DEBUG, event, __VA_ARGS__)
#define gl_log_info(event, ...)  gl_log (GL_LOG_INFO, event, __VA_ARGS__)
#define gl_log_warn(event, ...)  gl_log (GL_LOG_WARN, event, __VA_ARGS__)
#define gl_log_error(event, ...) gl_log (GL_LOG_ERROR, event, __VA_ARGS__)

#endif
