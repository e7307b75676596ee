/*  gl_timeframe — the bar timeframes gapless knows, and their names.

    A timeframe travels on the wire and is stored in PostgreSQL by its
    name ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w").
*/
#ifndef GL_TIMEFRAME_H_INCLUDED
#define GL_TIMEFRAME_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    GL_TF_INVALID = 0,
    GL_TF_1M,
    GL_TF_5M,
    GL_TF_15M,
    GL_TF_30M,
    GL_TF_1H,
    GL_TF_4H,
    GL_TF_1D,
    GL_TF_1W,
} gl_timeframe_t;

//  Parses a name ("1h"); returns GL_TF_INVALID for anything else.
gl_timeframe_t gl_timeframe_parse (const char *name);

//  Returns the canonical name, or "invalid".
const char *gl_timeframe_name (gl_timeframe_t timeframe);

//  Returns the bar length in seconds (a day is 86400, a week 604800), or 0.
int64_t gl_timeframe_seconds (gl_timeframe_t timeframe);

//  True for bars shorter than a day.
bool gl_timeframe_is_intraday (gl_timeframe_t timeframe);

#endif
