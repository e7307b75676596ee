/*  gl_log — structured log lines (logfmt) on stderr.

    Each line: time, level, the process's name, a stable event name, then
    the caller's key=value pairs:
      ts=2026-11-22T05:01:02.345Z level=warn proc=broker event=frame_rejected peer=... reason=...
    The level threshold comes from GAPLESS_LOG_LEVEL (debug, info, warn,
    error; default info). Never pass a secret.
*/
#ifndef GL_LOG_H_INCLUDED
#define GL_LOG_H_INCLUDED

typedef enum {
    GL_LOG_DEBUG = 0,
    GL_LOG_INFO,
    GL_LOG_WARN,
    GL_LOG_ERROR,
} gl_log_level_t;

//  Names the process in every line ("broker", "fetcher.polygon").
void gl_log_set_name (const char *name);

//  Writes one line if level is at or above the threshold. format/... are
//  the key=value pairs, printf style, e.g. "peer=%s reason=%s".
void gl_log (gl_log_level_t level, const char *event, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

#define gl_log_debug(event, ...) gl_log (GL_LOG_DEBUG, event, __VA_ARGS__)
#define gl_log_info(event, ...)  gl_log (GL_LOG_INFO, event, __VA_ARGS__)
#define gl_log_warn(event, ...)  gl_log (GL_LOG_WARN, event, __VA_ARGS__)
#define gl_log_error(event, ...) gl_log (GL_LOG_ERROR, event, __VA_ARGS__)

#endif
