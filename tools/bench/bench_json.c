/*  bench_json — why the provider adapters use cJSON: parse a ~50 KB
    Polygon aggregates body (540 one-minute bars: a session and 150
    minutes of the next, in gapless-sim's layout) N times with cJSON and with jansson, walking every bar's fields,
    and once more through the whole Polygon adapter (gl_provider_parse:
    parse, validation, calendar normalisation) for scale.

    build/tools/bench/bench_json [iterations] [--rows]   (built when jansson is found)
    --rows: jansson and the adapter beside cJSON as rows of bench_rows.h.
*/
#include "bench_rows.h"
#include "gl_provider.h"
#include "gl_simbars.h"
#include <cjson/cJSON.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  A session and 150 minutes of the next (16:00Z): about 50 KB of Polygon.
#define S_SPAN (86400 + 16 * 3600)

//  Seconds on the monotonic clock.
static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

//  Renders a Polygon body of the 1m bars in [day, day + S_SPAN); caller frees.
static char *
s_polygon_body (gl_calendar_t *calendar, int64_t day, size_t *size_p)
{
    gl_simbar_t *bars;
    size_t count;
    if (gl_simbars_generate (calendar, "MSFT", GL_TF_1M, day, day + S_SPAN, &bars, &count))
        return NULL;
    size_t capacity = 256 + count * 160;
    char *body = malloc (capacity);
    size_t size = (size_t) snprintf (body, capacity, "{\"ticker\":\"MSFT\",\"queryCount\":%zu,"
        "\"resultsCount\":%zu,\"adjusted\":true,\"results\":[", count, count);
    for (size_t index = 0; index < count; index++) {
        const gl_simbar_t *bar = &bars [index];
        size += (size_t) snprintf (body + size, capacity - size,
            "%s{\"v\":%lld,\"vw\":%.2f,\"o\":%.2f,\"c\":%.2f,\"h\":%.2f,\"l\":%.2f,"
            "\"t\":%lld,\"n\":%lld}", index? ",": "", (long long) bar->volume,
            bar->vwap / 100.0, bar->open / 100.0, bar->close / 100.0, bar->high / 100.0,
            bar->low / 100.0, (long long) bar->start * 1000, (long long) bar->trades);
    }
    size += (size_t) snprintf (body + size, capacity - size,
        "],\"status\":\"OK\",\"request_id\":\"0123456789abcdef\",\"count\":%zu}", count);
    free (bars);
    *size_p = size;
    return body;
}

//  Parses with cJSON and sums every bar's fields; returns the sum.
static double
s_cjson (const char *body, size_t size)
{
    cJSON *root = cJSON_ParseWithLength (body, size);
    double sum = 0;
    const cJSON *bar;
    cJSON_ArrayForEach (bar, cJSON_GetObjectItemCaseSensitive (root, "results")) {
        static const char *names [] = { "t", "o", "h", "l", "c", "v", "vw", "n" };
        for (int field = 0; field < 8; field++)
            sum += cJSON_GetNumberValue (cJSON_GetObjectItemCaseSensitive (bar, names [field]));
    }
    cJSON_Delete (root);
    return sum;
}

//  Parses with jansson and sums every bar's fields; returns the sum.
static double
s_jansson (const char *body, size_t size)
{
    json_error_t error;
    json_t *root = json_loadb (body, size, 0, &error);
    double sum = 0;
    json_t *results = json_object_get (root, "results");
    for (size_t index = 0; index < json_array_size (results); index++) {
        json_t *bar = json_array_get (results, index);
        static const char *names [] = { "t", "o", "h", "l", "c", "v", "vw", "n" };
        for (int field = 0; field < 8; field++)
            sum += json_number_value (json_object_get (bar, names [field]));
    }
    json_decref (root);
    return sum;
}

//  The whole adapter: parse, validate, normalise; returns the bar count.
static double
s_adapter (gl_calendar_t *calendar, int64_t day, const char *body, size_t size)
{
    gl_provider_query_t query = {
        .provider = GL_PROVIDER_POLYGON, .symbol = "MSFT", .timeframe = GL_TF_1M,
        .from = day, .to = day + S_SPAN, .calendar = calendar, .now = day + 10 * 86400,
    };
    gl_provider_result_t *result = gl_provider_parse (&query, 200, NULL, body, size);
    double count = result? (double) result->bar_count: -1;
    gl_provider_result_destroy (&result);
    return count;
}

int
main (int argc, char *argv [])
{
    bool rows = bench_rows_requested (&argc, argv);
    int iterations = argc > 1? atoi (argv [1]): 2000;
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    int64_t day = 1710115200;           //  2024-03-11
    size_t size = 0;
    char *body = calendar? s_polygon_body (calendar, day, &size): NULL;
    if (!body || iterations < 1) {
        fprintf (stderr, "bench_json: expected a calendar and a positive iteration count\n");
        return 1;
    }
    const char *names [] = { "cJSON", "jansson", "gl_provider_parse (cJSON + normalise)" };
    double seconds [3], checks [3] = { 0, 0, 0 };
    for (int method = 0; method < 3; method++) {
        double start = s_now ();
        for (int index = 0; index < iterations; index++)
            checks [method] += method == 0? s_cjson (body, size)
                             : method == 1? s_jansson (body, size)
                             : s_adapter (calendar, day, body, size);
        seconds [method] = s_now () - start;
    }
    if (rows)
        for (int method = 1; method < 3; method++) {
            char name [96], measured [64], baseline [64];
            snprintf (name, sizeof name, "parse a %zu-byte Polygon body: %s", size, names [method]);
            snprintf (measured, sizeof measured, "%.1f us per body",
                      seconds [method] / iterations * 1e6);
            snprintf (baseline, sizeof baseline, "cJSON %.1f us", seconds [0] / iterations * 1e6);
            bench_rows_print (name, measured, baseline, seconds [method] / seconds [0], NULL, 0);
        }
    else {
        printf ("body: %zu bytes, %.0f bars; %d iterations\n", size, checks [2] / iterations,
                iterations);
        printf ("| parser | us per body | MB/s | vs cJSON |\n|---|---|---|---|\n");
        for (int method = 0; method < 3; method++)
            printf ("| %s | %.1f | %.0f | %.2fx |\n", names [method],
                    seconds [method] / iterations * 1e6, size * iterations / seconds [method] / 1e6,
                    seconds [method] / seconds [0]);
    }
    if (checks [0] != checks [1])
        fprintf (stderr, "warning: cJSON and jansson sums differ (%f, %f)\n", checks [0], checks [1]);
    free (body);
    gl_calendar_destroy (&calendar);
    return 0;
}
