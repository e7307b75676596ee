/*  fuzz_provider — the body of every fuzz_provider_<name> libFuzzer
    target: the input is a response body, parsed as a daily and as an
    intraday answer, at 200 and at 429, over a wide range so bars reach
    the normalisation. Nothing may crash, leak or read out of bounds.
*/
#ifndef FUZZ_PROVIDER_H_INCLUDED
#define FUZZ_PROVIDER_H_INCLUDED

#include <stdint.h>
#include <stdlib.h>
#include "gl_provider.h"

//  Parses data as provider's body in four ways.
static inline int
fuzz_provider_run (gl_provider_t provider, const uint8_t *data, size_t size)
{
    static gl_calendar_t *calendar;
    if (!calendar && !(calendar = gl_calendar_new (GL_CALENDAR_XNYS)))
        abort ();
    static const gl_timeframe_t timeframes [] = { GL_TF_1D, GL_TF_15M };
    static const long statuses [] = { 200, 429 };
    for (int timeframe = 0; timeframe < 2; timeframe++)
        for (int status = 0; status < 2; status++) {
            gl_provider_query_t query = {
                .provider = provider, .base_url = "https://example.test", .key = "KEY",
                .secret = "SECRET", .symbol = "AAPL", .timeframe = timeframes [timeframe],
                .from = 631152000, .to = 2208988800, .calendar = calendar,
                .now = 1700000000,
            };
            gl_provider_result_t *result = gl_provider_parse (&query, statuses [status],
                "Retry-After: 3\r\nX-Ratelimit-Reset: 1700000060\r\n",
                (const char *) data, size);
            if (!result)
                abort ();
            gl_provider_result_destroy (&result);
        }
    return 0;
}

#endif
