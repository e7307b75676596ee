/*  test_simbars — the sim's bars are a pure, sane function of (symbol,
    timeframe, start) on the trading calendar, and the provider stamps map
    as tools/sim/README.md says.
*/
#include "gl_simbars.h"
#include "gl_test.h"
#include <stdlib.h>

//  UTC seconds of a civil date at hh:mm.
static int64_t
s_utc (int year, int month, int day, int hour, int minute)
{
    struct tm civil = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                        .tm_hour = hour, .tm_min = minute };
    return (int64_t) timegm (&civil);
}

//  A configured split: raw bars before its date are RATIO times the
//  price and 1/RATIO the volume; other symbols and later bars unchanged;
//  a malformed setting changes nothing.
static void
s_test_unsplit (void)
{
    gl_simbar_t bars [3] = {
        { .start = s_utc (2024, 6, 7, 13, 30), .open = 100, .high = 110, .low = 90,
          .close = 105, .vwap = 101, .volume = 4001 },
        { .start = s_utc (2024, 6, 10, 0, 0), .open = 26, .high = 28, .low = 24,
          .close = 27, .vwap = 26, .volume = 16000 },
    };
    bars [2] = bars [0];
    GL_CHECK_INT (gl_simbars_unsplit ("XYZ:2024-06-10:2,SPLT:2024-06-10:4", "SPLT", bars, 2), 0);
    GL_CHECK_INT (bars [0].close, 420);
    GL_CHECK_INT (bars [0].high, 440);
    GL_CHECK_INT (bars [0].vwap, 404);
    GL_CHECK_INT (bars [0].volume, 1000);
    GL_CHECK_INT (bars [1].close, 27);
    GL_CHECK_INT (bars [1].volume, 16000);
    GL_CHECK_INT (gl_simbars_unsplit ("", "SPLT", bars + 2, 1), 0);
    GL_CHECK_INT (gl_simbars_unsplit (NULL, "SPLT", bars + 2, 1), 0);
    GL_CHECK_INT (gl_simbars_unsplit ("SPLT:2024-06-10:4,", "OTHER", bars + 2, 1), 0);
    GL_CHECK_INT (gl_simbars_unsplit ("SPLT:2024-06-10:4;X", "SPLT", bars + 2, 1), -1);
    GL_CHECK_INT (gl_simbars_unsplit ("SPLT:2024-13-10:4", "SPLT", bars + 2, 1), -1);
    GL_CHECK_INT (gl_simbars_unsplit ("SPLT:2024-06-10:0", "SPLT", bars + 2, 1), -1);
    GL_CHECK_INT (gl_simbars_unsplit ("SPLT:2024-06-10:4,bad", "SPLT", bars + 2, 1), -1);
    GL_CHECK_INT (bars [2].close, 105);
}

int
main (void)
{
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar);
    s_test_unsplit ();

    //  One 1m session day: 390 bars from the open, every bar sane.
    gl_simbar_t *bars;
    size_t count;
    int64_t day = s_utc (2024, 3, 12, 0, 0);
    GL_CHECK_INT (gl_simbars_generate (calendar, "AAPL", GL_TF_1M, day, day + 86400, &bars, &count), 0);
    GL_CHECK_INT (count, 390);
    GL_CHECK_INT (bars [0].start, s_utc (2024, 3, 12, 13, 30));
    int insane = 0;
    for (size_t index = 0; index < count; index++) {
        gl_simbar_t *bar = &bars [index];
        if (!(bar->low <= bar->open && bar->low <= bar->close && bar->open <= bar->high
              && bar->close <= bar->high && bar->low > 0 && bar->volume > 0
              && bar->vwap >= bar->low && bar->vwap <= bar->high))
            insane++;
        gl_simbar_t again;
        gl_simbars_bar ("AAPL", GL_TF_1M, bar->start, &again);
        if (memcmp (&again, bar, sizeof again) != 0)
            insane++;
    }
    GL_CHECK_INT (insane, 0);
    gl_simbar_t other;
    gl_simbars_bar ("MSFT", GL_TF_1M, bars [0].start, &other);
    GL_CHECK (other.open != bars [0].open || other.volume != bars [0].volume);
    free (bars);

    //  Weekends and holidays hold no bars.
    GL_CHECK_INT (gl_simbars_generate (calendar, "AAPL", GL_TF_1M, s_utc (2024, 3, 9, 0, 0),
                                       s_utc (2024, 3, 11, 0, 0), &bars, &count), 0);
    GL_CHECK_INT (count, 0);
    free (bars);
    GL_CHECK_INT (gl_simbars_generate (calendar, "AAPL", GL_TF_1D, s_utc (2024, 12, 25, 0, 0),
                                       s_utc (2024, 12, 26, 0, 0), &bars, &count), 0);
    GL_CHECK_INT (count, 0);
    free (bars);

    //  Stamps: daily bars at New York midnight (EST and EDT) and at the open.
    int64_t winter = s_utc (2024, 3, 8, 0, 0), summer = s_utc (2024, 3, 11, 0, 0);
    GL_CHECK_INT (gl_simbars_stamp (calendar, GL_SIMBARS_NEW_YORK_MIDNIGHT, GL_TF_1D, winter),
                  s_utc (2024, 3, 8, 5, 0));
    GL_CHECK_INT (gl_simbars_stamp (calendar, GL_SIMBARS_NEW_YORK_MIDNIGHT, GL_TF_1D, summer),
                  s_utc (2024, 3, 11, 4, 0));
    GL_CHECK_INT (gl_simbars_stamp (calendar, GL_SIMBARS_SESSION_OPEN, GL_TF_1D, summer),
                  s_utc (2024, 3, 11, 13, 30));
    GL_CHECK_INT (gl_simbars_stamp (calendar, GL_SIMBARS_CALENDAR, GL_TF_1D, summer), summer);
    GL_CHECK_INT (gl_simbars_new_york_offset (calendar, winter), -18000);
    GL_CHECK_INT (gl_simbars_new_york_offset (calendar, summer), -14400);

    //  The per-bar coin is deterministic and spread over [0, 1).
    double sum = 0;
    for (int index = 0; index < 1000; index++)
        sum += gl_simbars_chance ("AAPL", GL_TF_1M, index * 60, GL_SIMBARS_SALT_YAHOO_NULL);
    GL_CHECK (sum > 400 && sum < 600);
    GL_CHECK (gl_simbars_chance ("AAPL", GL_TF_1M, 60, 1) == gl_simbars_chance ("AAPL", GL_TF_1M, 60, 1));
    GL_CHECK (gl_simbars_symbol_valid ("BRK.B"));
    GL_CHECK (!gl_simbars_symbol_valid ("A\"B"));
    GL_CHECK (!gl_simbars_symbol_valid (""));

    gl_calendar_destroy (&calendar);
    gl_calendar_destroy (&calendar);
    return gl_test_done ("test_simbars");
}
