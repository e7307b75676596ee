/*  bench_sim — how many requests per second gapless-sim answers.

    Starts a real gapless-sim (no keys, no limits, no faults) and, with 1,
    2 and 4 parallel libcurl clients over keep-alive, measures requests/s
    for a 390-bar Polygon response (one 1m session day) and, as the
    baseline, for the tiny GET /admin/ping on the same listener. Prints a
    table. Run by hand: build/tools/bench/bench_sim [seconds per cell] [--rows]
    (--rows: one row of bench_rows.h per client count, no target).
*/
#include "bench_rows.h"
#include "gl_simclient.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_PATH "/v2/aggs/ticker/AAPL/range/1/minute/2024-03-12/2024-03-12"

typedef struct {
    const char *url;
    double seconds;
    long requests;
    long failures;
    double bytes;
} s_client_t;

//  Seconds on the monotonic clock.
static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

//  libcurl write callback: counts the bytes.
static size_t
s_count_bytes (char *data, size_t size, size_t count, void *argument)
{
    *(double *) argument += (double) (size * count);
    return size * count;
}

//  One client: the same URL over one keep-alive connection until time is up.
static void *
s_client_run (void *argument)
{
    s_client_t *client = (s_client_t *) argument;
    CURL *curl = curl_easy_init ();
    if (!curl)
        return NULL;
    curl_easy_setopt (curl, CURLOPT_URL, client->url);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_count_bytes);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &client->bytes);
    double deadline = s_now () + client->seconds;
    while (s_now () < deadline) {
        long status = 0;
        if (curl_easy_perform (curl) == CURLE_OK
            && curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK
            && status == 200)
            client->requests++;
        else
            client->failures++;
    }
    curl_easy_cleanup (curl);
    return NULL;
}

//  Runs count clients in parallel; returns requests/s, adds bytes/s.
static double
s_measure (const char *url, int count, double seconds, double *bytes_per_second, long *failures)
{
    pthread_t threads [8];
    s_client_t clients [8];
    double started = s_now ();
    for (int index = 0; index < count; index++) {
        clients [index] = (s_client_t) { url, seconds, 0, 0, 0 };
        pthread_create (&threads [index], NULL, s_client_run, &clients [index]);
    }
    long requests = 0;
    double bytes = 0;
    for (int index = 0; index < count; index++) {
        pthread_join (threads [index], NULL);
        requests += clients [index].requests;
        *failures += clients [index].failures;
        bytes += clients [index].bytes;
    }
    double elapsed = s_now () - started;
    *bytes_per_second = bytes / elapsed;
    return (double) requests / elapsed;
}

int
main (int argc, char *argv [])
{
    bool rows = bench_rows_requested (&argc, argv);
    double seconds = argc > 1? atof (argv [1]): 3.0;
    if (seconds <= 0) {
        fprintf (stderr, "usage: bench_sim [seconds per cell > 0]\n");
        return 2;
    }
    curl_global_init (CURL_GLOBAL_ALL);
    gl_simclient_t *sim = gl_simclient_new (NULL, NULL);
    if (!sim) {
        fprintf (stderr, "bench_sim: cannot start gapless-sim (set GL_SIM_BINARY or run from the build dir)\n");
        return 1;
    }
    char ping_url [256], day_url [256];
    snprintf (ping_url, sizeof ping_url, "%s/admin/ping", gl_simclient_url (sim, "polygon"));
    snprintf (day_url, sizeof day_url, "%s%s", gl_simclient_url (sim, "polygon"), DAY_PATH);
    if (!rows) {
        printf ("gapless-sim throughput, %.1f s per cell, keep-alive libcurl clients\n", seconds);
        printf ("%-8s %14s %16s %8s %12s\n", "clients", "ping req/s", "390-bar req/s", "ratio",
                "390-bar MB/s");
    }
    int counts [3] = { 1, 2, 4 };
    long failures = 0;
    for (int index = 0; index < 3; index++) {
        double ping_bytes, day_bytes;
        double ping = s_measure (ping_url, counts [index], seconds, &ping_bytes, &failures);
        double day = s_measure (day_url, counts [index], seconds, &day_bytes, &failures);
        if (rows) {
            char name [64], measured [64], baseline [64];
            snprintf (name, sizeof name, "sim 390-bar responses, %d client%s", counts [index],
                      counts [index] > 1? "s": "");
            snprintf (measured, sizeof measured, "%.0f req/s", day);
            snprintf (baseline, sizeof baseline, "GET /admin/ping %.0f req/s", ping);
            bench_rows_print (name, measured, baseline, ping > 0? day / ping: 0, NULL, 0);
        }
        else
            printf ("%-8d %14.0f %16.0f %8.2f %12.1f\n", counts [index], ping, day,
                    ping > 0? day / ping: 0, day_bytes / 1e6);
    }
    if (failures)
        fprintf (rows? stderr: stdout, "failed requests: %ld\n", failures);
    gl_simclient_destroy (&sim);
    curl_global_cleanup ();
    return failures? 1: 0;
}
