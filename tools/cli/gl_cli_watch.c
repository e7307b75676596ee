/*  gl_cli_watch — the live dashboard, drawn with ncurses.

    ncurses rather than escape codes of our own: it knows every terminal
    (terminfo), redraws only what changed (cheap over ssh), follows window
    resizes, and restores the terminal on exit.
*/
#include "gl_cli_watch.h"
#include "gl_cli_providers.h"
#include "gl_cli_subscribe.h"
#include <curses.h>
#include <czmq.h>
#include <time.h>
#include <unistd.h>

#define S_BACKFILLS_MAX 64
#define S_BACKFILL_ROWS 8

//  One backfill's last progress.
typedef struct {
    int64_t id, succeeded, total, bars, eta, failing;
    double rate;
    char status [16], timeframe [4];
    bool done;
} s_backfill_t;

typedef struct {
    const char *endpoint;
    s_backfill_t backfills [S_BACKFILLS_MAX];
    size_t backfill_count;
    gl_cli_provider_t providers [8];
    size_t provider_count;
    char queue [160], instances [512];
    int64_t heard_ms;               //  monotonic: the last message, 0: none yet
} s_board_t;

//  Takes a progress message; a full board drops its oldest finished row.
static void
s_take_progress (s_board_t *board, const msgpack_object *map)
{
    int64_t id = gl_cli_int (map, "backfill_id", 0);
    size_t index = 0;
    while (index < board->backfill_count && board->backfills [index].id != id)
        index++;
    if (index == S_BACKFILLS_MAX) {
        size_t oldest = 0;
        for (size_t row = 0; row < board->backfill_count; row++)
            if (board->backfills [row].done
            &&  (!board->backfills [oldest].done || board->backfills [row].id < board->backfills [oldest].id))
                oldest = row;
        index = oldest;
    }
    else
        board->backfill_count += index == board->backfill_count;
    s_backfill_t *backfill = &board->backfills [index];
    *backfill = (s_backfill_t) {
        .id = id, .succeeded = gl_cli_int (map, "slices_succeeded", 0),
        .total = gl_cli_int (map, "slices_total", 0), .bars = gl_cli_int (map, "bars_written", 0),
        .eta = gl_cli_int (map, "eta_s", -1), .rate = gl_cli_float (map, "bars_per_s", 0),
        .failing = gl_cli_int (map, "slices_dead", 0) + gl_cli_int (map, "slices_retrying", 0),
        .done = gl_cli_bool (map, "done", false),
    };
    gl_cli_str (map, "status", backfill->status, sizeof backfill->status);
    gl_cli_str (map, "timeframe", backfill->timeframe, sizeof backfill->timeframe);
}

//  "name n, name n" from a map of counts.
static void
s_counts (const msgpack_object *map, char *buffer, size_t size)
{
    buffer [0] = '\0';
    for (uint32_t index = 0; map && map->type == MSGPACK_OBJECT_MAP && index < map->via.map.size;
         index++) {
        const msgpack_object *key = &map->via.map.ptr [index].key;
        const msgpack_object *value = &map->via.map.ptr [index].val;
        size_t used = strlen (buffer);
        if (key->type == MSGPACK_OBJECT_STR && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            snprintf (buffer + used, size - used, "%s%.*s %" PRIu64, used? "  ": "",
                      (int) key->via.str.size, key->via.str.ptr, value->via.u64);
    }
}

//  Takes a stats message: the queue line and the instances line.
static void
s_take_stats (s_board_t *board, const msgpack_object *map)
{
    char tiers [96];
    s_counts (gl_cli_value (map, "queue_depth_by_tier"), tiers, sizeof tiers);
    char oldest [32] = "-";
    if (gl_cli_int (map, "oldest_queued_s", -1) >= 0)
        snprintf (oldest, sizeof oldest, "%" PRId64 " s", gl_cli_int (map, "oldest_queued_s", 0));
    snprintf (board->queue, sizeof board->queue, "depth %" PRId64 "%s%s%s   oldest %s",
              gl_cli_int (map, "queue_depth", 0), *tiers? " (": "", tiers, *tiers? ")": "", oldest);
    s_counts (gl_cli_value (map, "instances"), board->instances, sizeof board->instances);
}

//  Takes one message.
static void
s_take (s_board_t *board, const char *topic, const msgpack_object *map)
{
    board->heard_ms = zclock_mono ();
    if (strncmp (topic, "progress.", 9) == 0)
        s_take_progress (board, map);
    else
    if (strcmp (topic, "stats") == 0)
        s_take_stats (board, map);
    else
    if (strncmp (topic, "provider.", 9) == 0) {
        gl_cli_provider_t provider;
        gl_cli_provider_read (map, &provider);
        size_t index = 0;
        while (index < board->provider_count && strcmp (board->providers [index].name, provider.name))
            index++;
        if (index < 8) {
            board->provider_count += index == board->provider_count;
            board->providers [index] = provider;
        }
    }
}

//  Orders backfills: unfinished first, then newest first.
static int
s_compare (const void *left, const void *right)
{
    const s_backfill_t *one = (const s_backfill_t *) left, *other = (const s_backfill_t *) right;
    if (one->done != other->done)
        return one->done? 1: -1;
    return one->id < other->id? 1: one->id > other->id? -1: 0;
}

//  A line, cut at the screen's width.
static void
s_line (int row, int attributes, const char *text)
{
    if (row >= LINES)
        return;
    attron (attributes);
    mvaddnstr (row, 0, text, COLS);
    attroff (attributes);
}

//  One backfill's row: a bar, slices, bars, rate, ETA.
static void
s_backfill_line (const s_backfill_t *backfill, char *buffer, size_t size)
{
    char bar [11], eta [24];
    int filled = backfill->total? (int) (backfill->succeeded * 10 / backfill->total): 0;
    for (int cell = 0; cell < 10; cell++)
        bar [cell] = cell < filled? '#': '.';
    bar [10] = '\0';
    if (backfill->eta < 0)
        snprintf (eta, sizeof eta, "?");
    else
        snprintf (eta, sizeof eta, "%" PRId64 "s", backfill->eta);
    snprintf (buffer, size, "%6" PRId64 " %-10.10s %-3s [%s] %6" PRId64 "/%-6" PRId64 " %9" PRId64
              " %8.0f %6s %4" PRId64, backfill->id, backfill->status, backfill->timeframe, bar,
              backfill->succeeded, backfill->total, backfill->bars, backfill->rate, eta,
              backfill->failing);
}

//  Draws the whole board.
static void
s_draw (s_board_t *board)
{
    char line [640], clock [16];
    time_t now = time (NULL);
    struct tm utc;
    gmtime_r (&now, &utc);
    strftime (clock, sizeof clock, "%H:%M:%S", &utc);
    erase ();
    snprintf (line, sizeof line, "gapless watch  %-40.40s %s UTC  q: quit", board->endpoint, clock);
    s_line (0, A_REVERSE, line);
    qsort (board->backfills, board->backfill_count, sizeof (s_backfill_t), s_compare);
    size_t active = 0;
    for (size_t index = 0; index < board->backfill_count; index++)
        active += !board->backfills [index].done;
    snprintf (line, sizeof line, "BACKFILLS  %zu active, %zu shown", active,
              board->backfill_count < S_BACKFILL_ROWS? board->backfill_count: S_BACKFILL_ROWS);
    s_line (2, A_BOLD, line);
    s_line (3, A_UNDERLINE, "    ID STATUS     TF  PROGRESS            SLICES      BARS   BARS/S    ETA FAIL");
    for (size_t index = 0; index < board->backfill_count && index < S_BACKFILL_ROWS; index++) {
        s_backfill_line (&board->backfills [index], line, sizeof line);
        s_line (4 + (int) index, 0, line);
    }
    s_line (13, A_BOLD, "PROVIDERS");
    s_line (14, A_UNDERLINE, gl_cli_provider_header ());
    for (size_t index = 0; index < board->provider_count && index < 5; index++) {
        gl_cli_provider_line (&board->providers [index], line, sizeof line);
        s_line (15 + (int) index, strcmp (board->providers [index].breaker, "closed")? A_BOLD: 0, line);
    }
    snprintf (line, sizeof line, "QUEUE      %s", *board->queue? board->queue: "-");
    s_line (21, 0, line);
    snprintf (line, sizeof line, "INSTANCES  %s", *board->instances? board->instances: "-");
    s_line (22, 0, line);
    if (board->heard_ms == 0)
        snprintf (line, sizeof line, "waiting for ops at %s ...", board->endpoint);
    else
        snprintf (line, sizeof line, "last message %.1f s ago",
                  (double) (zclock_mono () - board->heard_ms) / 1000);
    s_line (23, A_DIM, line);
    refresh ();
}

//  The dashboard until q or Ctrl-C.
static int
s_run (const char *endpoint)
{
    const char *topics [] = { "progress.", "provider.", "stats", NULL };
    gl_cli_subscribe_t *subscribe = gl_cli_subscribe_new (endpoint, topics);
    if (!subscribe)
        return 1;
    s_board_t *board = (s_board_t *) calloc (1, sizeof (s_board_t));
    if (!board) {
        gl_cli_subscribe_destroy (&subscribe);
        return 1;
    }
    board->endpoint = endpoint;
    initscr ();
    cbreak ();
    noecho ();
    curs_set (0);
    nodelay (stdscr, TRUE);
    keypad (stdscr, TRUE);
    s_draw (board);
    int64_t drawn = zclock_mono ();
    char topic [256];
    const msgpack_object *map = NULL;
    int rc = 0, key = ERR;
    while (rc >= 0) {
        while ((key = getch ()) != ERR && key != 'q' && key != 'Q')
            ;
        if (key == 'q' || key == 'Q')
            break;
        rc = gl_cli_subscribe_recv (subscribe, 100, topic, sizeof topic, &map);
        if (rc == 1)
            s_take (board, topic, map);
        if (zclock_mono () - drawn >= 250) {
            s_draw (board);
            drawn = zclock_mono ();
        }
    }
    endwin ();
    free (board);
    gl_cli_subscribe_destroy (&subscribe);
    return 0;
}

static const char *s_help =
    "usage: gapless watch [--ops ENDPOINT] [--json [--timeout-ms N]]\n"
    "\n"
    "A live dashboard of what ops publishes: backfills (progress, bars, rate,\n"
    "ETA, failing slices), providers (health, breaker, rate-limit use, in\n"
    "flight) and the queue (depth, oldest, live instances). Redraws in place;\n"
    "q or Ctrl-C quits. Needs a terminal of 80x24 or more.\n"
    "\n"
    "  --ops ENDPOINT     ops' publisher (default: $GAPLESS_OPS_PUBLISH, else\n"
    "                     tcp://127.0.0.1:5571)\n"
    "  --json             print one snapshot as JSON and exit\n"
    "  --timeout-ms N     with --json: how long to wait for ops (default 5000)\n"
    "  -h, --help         show this help\n"
    "\nExit status: 0 done, 1 no answer from ops (--json), 2 bad arguments or\n"
    "no terminal.\n";

int
gl_cli_watch (int argc, char **argv)
{
    const char *endpoint = NULL;
    int64_t timeout_ms = 0;
    bool json = false;
    int status = gl_cli_subscribe_options ("watch", s_help, argc, argv, &endpoint, &timeout_ms,
                                           &json);
    if (status != -1)
        return status;
    if (json) {
        gl_cli_snapshot_t snapshot;
        if (gl_cli_snapshot_read ("watch", endpoint, timeout_ms, true, &snapshot) != 0)
            return 1;
        gl_cli_snapshot_print_json (&snapshot, true);
        gl_cli_snapshot_free (&snapshot);
        return 0;
    }
    if (!isatty (STDIN_FILENO) || !isatty (STDOUT_FILENO)) {
        fprintf (stderr, "gapless watch: needs a terminal (try --json for one snapshot)\n");
        return 2;
    }
    return s_run (endpoint);
}
