/*  gl_timeframe — the bar timeframes gapless knows, and their names. */
#include "gl_timeframe.h"
#include <string.h>

static const struct {
    gl_timeframe_t timeframe;
    const char *name;
    int64_t seconds;
} s_timeframes [] = {
    { GL_TF_1M, "1m", 60 },
    { GL_TF_5M, "5m", 300 },
    { GL_TF_15M, "15m", 900 },
    { GL_TF_30M, "30m", 1800 },
    { GL_TF_1H, "1h", 3600 },
    { GL_TF_4H, "4h", 14400 },
    { GL_TF_1D, "1d", 86400 },
    { GL_TF_1W, "1w", 604800 },
};
#define S_TIMEFRAME_COUNT (sizeof (s_timeframes) / sizeof (s_timeframes [0]))

gl_timeframe_t
gl_timeframe_parse (const char *name)
{
    if (!name)
        return GL_TF_INVALID;
    for (size_t index = 0; index < S_TIMEFRAME_COUNT; index++)
        if (strcmp (s_timeframes [index].name, name) == 0)
            return s_timeframes [index].timeframe;
    return GL_TF_INVALID;
}

const char *
gl_timeframe_name (gl_timeframe_t timeframe)
{
    for (size_t index = 0; index < S_TIMEFRAME_COUNT; index++)
        if (s_timeframes [index].timeframe == timeframe)
            return s_timeframes [index].name;
    return "invalid";
}

int64_t
gl_timeframe_seconds (gl_timeframe_t timeframe)
{
    for (size_t index = 0; index < S_TIMEFRAME_COUNT; index++)
        if (s_timeframes [index].timeframe == timeframe)
            return s_timeframes [index].seconds;
    return 0;
}

bool
gl_timeframe_is_intraday (gl_timeframe_t timeframe)
{
    int64_t seconds = gl_timeframe_seconds (timeframe);
    return seconds > 0 && seconds < 86400;
}
