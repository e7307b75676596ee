/*  gapless-simdump — the bars gapless-sim serves, as ground truth for
    whole-system tests written in any language.

        gapless-simdump SYMBOL TIMEFRAME FROM TO

    Prints one CSV line per bar the XNYS calendar expects with start in
    [FROM, TO) (dates YYYY-MM-DD, 00:00 UTC), in order, on the grid gapless
    keeps by default (the clock's, which is the sim's for every provider
    but Yahoo):

        symbol,start,open,high,low,close,volume,vwap,trades

    start in UTC seconds, prices as exact decimals of whole cents. Exits 0,
    or 2 with a one-line error for bad arguments.
*/
#include "gl_calendar.h"
#include "gl_simbars.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

//  Parses YYYY-MM-DD into UTC seconds at 00:00; returns 0, or -1.
static int
s_date (const char *text, int64_t *instant)
{
    int year, month, day;
    char extra;
    if (sscanf (text, "%4d-%2d-%2d%c", &year, &month, &day, &extra) != 3
    ||  month < 1 || month > 12 || day < 1 || day > 31 || year < 1970)
        return -1;
    *instant = gl_calendar_date_utc (year, month, day);
    return 0;
}

//  Prints cents as an exact decimal (-5 is -0.05).
static void
s_cents (int64_t cents)
{
    int64_t whole = cents / 100, part = cents % 100;
    printf (",%s%" PRId64 ".%02" PRId64, cents < 0 && whole == 0? "-": "",
            whole, part < 0? -part: part);
}

int
main (int argc, char *argv [])
{
    int64_t from = 0, to = 0;
    gl_timeframe_t timeframe = argc == 5? gl_timeframe_parse (argv [2]): GL_TF_INVALID;
    if (argc != 5 || !gl_simbars_symbol_valid (argv [1]) || timeframe == GL_TF_INVALID
    ||  s_date (argv [3], &from) != 0 || s_date (argv [4], &to) != 0 || from >= to) {
        fprintf (stderr, "usage: gapless-simdump SYMBOL TIMEFRAME FROM TO"
                 " (a sim symbol, 1m..1w, dates YYYY-MM-DD, FROM before TO)\n");
        return 2;
    }
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    gl_simbar_t *bars = NULL;
    size_t count = 0;
    if (!calendar
    ||  gl_simbars_generate (calendar, argv [1], timeframe, from, to, &bars, &count) != 0) {
        fprintf (stderr, "gapless-simdump: cannot generate %s %s bars\n", argv [1], argv [2]);
        gl_calendar_destroy (&calendar);
        return 2;
    }
    for (size_t index = 0; index < count; index++) {
        const gl_simbar_t *bar = &bars [index];
        printf ("%s,%" PRId64, argv [1], bar->start);
        s_cents (bar->open);
        s_cents (bar->high);
        s_cents (bar->low);
        s_cents (bar->close);
        printf (",%" PRId64, bar->volume);
        s_cents (bar->vwap);
        printf (",%" PRId64 "\n", bar->trades);
    }
    free (bars);
    gl_calendar_destroy (&calendar);
    return fflush (stdout) == 0? 0: 2;
}
