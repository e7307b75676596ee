/*  gl_cli_progress — a backfill's live progress from the ops publication.  */
#include "gl_cli_progress.h"
#include "gl_cli_subscribe.h"
#include <czmq.h>
#include <sys/ioctl.h>
#include <unistd.h>

gl_cli_progress_options_t
gl_cli_progress_defaults (void)
{
    return (gl_cli_progress_options_t) { .endpoint = gl_cli_subscribe_default_endpoint (),
                                         .progress = true, .silence_ms = 15000,
                                         .interval_ms = 5000 };
}

//  The terminal's width, 80 when unknown.
static int
s_width (void)
{
    struct winsize size;
    if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 40)
        return size.ws_col > 200? 200: size.ws_col;
    return 80;
}

//  "12 s", "3 min 4 s", "unknown" for an ETA.
static void
s_duration (int64_t seconds, char *buffer, size_t size)
{
    if (seconds < 0)
        snprintf (buffer, size, "unknown");
    else
    if (seconds < 120)
        snprintf (buffer, size, "%" PRId64 " s", seconds);
    else
    if (seconds < 7200)
        snprintf (buffer, size, "%" PRId64 " min %" PRId64 " s", seconds / 60, seconds % 60);
    else
        snprintf (buffer, size, "%" PRId64 " h %" PRId64 " min", seconds / 3600, seconds / 60 % 60);
}

//  The facts of one progress line.
static void
s_facts (const msgpack_object *progress, char *buffer, size_t size)
{
    char eta [32], status [16], failing [40] = "";
    s_duration (gl_cli_int (progress, "eta_s", -1), eta, sizeof eta);
    int64_t failed = gl_cli_int (progress, "slices_dead", 0)
                   + gl_cli_int (progress, "slices_retrying", 0);
    if (failed)
        snprintf (failing, sizeof failing, ", %" PRId64 " failing", failed);
    snprintf (buffer, size, "%" PRId64 "/%" PRId64 " slices, %" PRId64 " bars, %.0f bars/s,"
              " ETA %s%s, %s", gl_cli_int (progress, "slices_succeeded", 0),
              gl_cli_int (progress, "slices_total", 0), gl_cli_int (progress, "bars_written", 0),
              gl_cli_float (progress, "bars_per_s", 0), eta, failing,
              gl_cli_str (progress, "status", status, sizeof status));
}

//  Redraws the terminal line: a bar and the facts.
static void
s_draw_bar (const msgpack_object *progress)
{
    int64_t total = gl_cli_int (progress, "slices_total", 0);
    int64_t done = gl_cli_int (progress, "slices_succeeded", 0) + gl_cli_int (progress, "slices_dead", 0)
                 + gl_cli_int (progress, "slices_cancelled", 0);
    char facts [256], line [320];
    s_facts (progress, facts, sizeof facts);
    int width = s_width () - 1, bar = 20;
    int filled = total > 0? (int) (done * bar / total): 0;
    char cells [32];
    for (int cell = 0; cell < bar; cell++)
        cells [cell] = cell < filled? '#': '.';
    cells [bar] = '\0';
    snprintf (line, sizeof line, "[%s] %3d%% %s", cells,
              total > 0? (int) (done * 100 / total): 0, facts);
    //  \r and the line padded to the width: no escape codes needed
    printf ("\r%-*.*s", width, width, line);
    fflush (stdout);
}

//  Prints the final summary.
static void
s_summary (uint64_t backfill_id, const msgpack_object *progress, double wall_s)
{
    char status [16], providers [256] = "";
    const msgpack_object *bars = gl_cli_value (progress, "bars_by_provider");
    for (uint32_t index = 0; bars && bars->type == MSGPACK_OBJECT_MAP && index < bars->via.map.size;
         index++) {
        const msgpack_object *key = &bars->via.map.ptr [index].key;
        const msgpack_object *value = &bars->via.map.ptr [index].val;
        size_t used = strlen (providers);
        if (key->type == MSGPACK_OBJECT_STR && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            snprintf (providers + used, sizeof providers - used, "%s%.*s %" PRIu64, used? ", ": "",
                      (int) key->via.str.size, key->via.str.ptr, value->via.u64);
    }
    printf ("backfill %" PRIu64 " %s: %" PRId64 "/%" PRId64 " slices succeeded, %" PRId64
            " bars stored%s%s%s, %" PRId64 " retries, %" PRId64 " dead letters, wall time %.1f s\n",
            backfill_id, gl_cli_str (progress, "status", status, sizeof status),
            gl_cli_int (progress, "slices_succeeded", 0), gl_cli_int (progress, "slices_total", 0),
            gl_cli_int (progress, "bars_written", 0), *providers? " (": "", providers,
            *providers? ")": "", gl_cli_int (progress, "retries", 0),
            gl_cli_int (progress, "dead_letters", 0), wall_s);
}

int
gl_cli_progress_wait (uint64_t backfill_id, const gl_cli_progress_options_t *options)
{
    char prefix [48], topic [256];
    snprintf (prefix, sizeof prefix, "progress.%" PRIu64, backfill_id);
    const char *topics [] = { prefix, NULL };
    gl_cli_subscribe_t *subscribe = gl_cli_subscribe_new (options->endpoint, topics);
    if (!subscribe)
        return 1;
    bool tty = options->progress && !options->json && isatty (STDOUT_FILENO);
    int64_t started = zclock_mono (), heard = started, printed = 0;
    int status = 1;
    const msgpack_object *progress = NULL;
    int rc;
    while ((rc = gl_cli_subscribe_recv (subscribe, 250, topic, sizeof topic, &progress)) >= 0) {
        int64_t now = zclock_mono ();
        if (rc == 0 || strcmp (topic, prefix) != 0) {      //  progress.1 matches progress.12
            if (now - heard < options->silence_ms)
                continue;
            fprintf (stderr, "%sgapless enqueue: no progress of backfill %" PRIu64 " from ops at"
                     " %s for %" PRId64 " s (is gapless-ops running there?); the backfill goes"
                     " on: gapless status %" PRIu64 "\n", tty? "\n": "", backfill_id,
                     options->endpoint, options->silence_ms / 1000, backfill_id);
            break;
        }
        heard = now;
        bool done = gl_cli_bool (progress, "done", false);
        if (tty)
            s_draw_bar (progress);
        else
        if (!options->json && (done || now - printed >= options->interval_ms)) {
            char facts [256];
            s_facts (progress, facts, sizeof facts);
            printf ("backfill %" PRIu64 ": %s\n", backfill_id, facts);
            fflush (stdout);
            printed = now;
        }
        if (!done)
            continue;
        char text [16];
        status = strcmp (gl_cli_str (progress, "status", text, sizeof text), "succeeded") == 0? 0: 1;
        if (tty)
            printf ("\n");
        if (options->json) {
            gl_cli_print_json (stdout, progress);
            printf ("\n");
        }
        else
            s_summary (backfill_id, progress, (double) (zclock_mono () - started) / 1000);
        break;
    }
    if (rc < 0)
        fprintf (stderr, "%sgapless enqueue: interrupted; backfill %" PRIu64 " goes on"
                 " (gapless status %" PRIu64 ")\n", tty? "\n": "", backfill_id, backfill_id);
    gl_cli_subscribe_destroy (&subscribe);
    return status;
}
