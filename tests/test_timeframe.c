/*  test_timeframe — names and lengths of the bar timeframes. */
#include "gl_timeframe.h"
#include "gl_test.h"

int
main (void)
{
    const char *names [] = { "1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w" };
    for (size_t index = 0; index < sizeof (names) / sizeof (names [0]); index++) {
        gl_timeframe_t timeframe = gl_timeframe_parse (names [index]);
        GL_CHECK (timeframe != GL_TF_INVALID);
        GL_CHECK_STR (gl_timeframe_name (timeframe), names [index]);
    }
    GL_CHECK (gl_timeframe_parse ("2m") == GL_TF_INVALID);
    GL_CHECK (gl_timeframe_parse ("") == GL_TF_INVALID);
    GL_CHECK (gl_timeframe_parse (NULL) == GL_TF_INVALID);
    GL_CHECK (gl_timeframe_seconds (GL_TF_1H) == 3600);
    GL_CHECK (gl_timeframe_seconds (GL_TF_INVALID) == 0);
    GL_CHECK (gl_timeframe_is_intraday (GL_TF_4H));
    GL_CHECK (!gl_timeframe_is_intraday (GL_TF_1D));
    GL_CHECK_STR (gl_timeframe_name (GL_TF_INVALID), "invalid");
    return gl_test_done ("test_timeframe");
}
