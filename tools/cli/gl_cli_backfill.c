/*  gl_cli_backfill — the gapless commands that talk to the scheduler:
    enqueue, status, cancel, pause, resume, dlq. Each parses its own
    arguments (one-line errors, exit 2), sends one request through the
    broker and prints the reply for a person, or as JSON with --json.
*/
#include "gl_cli_backfill.h"
#include "gl_cli_args.h"
#include "gl_cli_progress.h"
#include "gl_capability.h"
#include "gl_client.h"
#include "gl_log.h"
#include "gl_timeframe.h"
#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define S_TIMEOUT_MS 10000
#define S_TIME_MAX 4102444800       //  2100-01-01, the protocol's bound

//  What every scheduler command accepts.
typedef struct {
    const char *endpoint;
    const char *endpoint_from;  //  where it came from, for the error
    int64_t timeout_ms;
    bool json;
} s_common_t;

#define S_COMMON_HELP \
    "  --broker ENDPOINT  the broker (default: $GAPLESS_ACTOR_BROKER, else\n" \
    "                     tcp://127.0.0.1:5570)\n" \
    "  --timeout-ms N     how long to wait for the answer (default 10000)\n" \
    "  --json             print the answer as JSON\n" \
    "  -h, --help         show this help\n" \
    "\nExit status: 0 done, 1 refused or no answer, 2 bad arguments.\n"

#define S_COMMON_OPTIONS \
    { "broker", required_argument, NULL, 'B' }, \
    { "timeout-ms", required_argument, NULL, 'T' }, \
    { "json", no_argument, NULL, 'J' }, \
    { "help", no_argument, NULL, 'h' }

//  Prints a one-line usage error; returns the usage exit code.
static int
s_usage_error (const char *command, const char *message, const char *argument)
{
    fprintf (stderr, "gapless %s: %s%s%s\nsee: gapless %s --help\n", command, message,
             argument? " ": "", argument? argument: "", command);
    return EXIT_USAGE;
}

//  Applies a common option. Returns 0, 1 when it was not one, or -1 for a
//  bad value (reported).
static int
s_common_option (s_common_t *common, const char *command, int option, const char *value)
{
    if (option == 'B') {
        common->endpoint = value;
        common->endpoint_from = "--broker";
    }
    else
    if (option == 'T') {
        if (gl_cli_args_integer (value, 1, 3600000, &common->timeout_ms) == -1) {
            s_usage_error (command, "--timeout-ms expects 1 to 3600000, got", value);
            return -1;
        }
    }
    else
    if (option == 'J')
        common->json = true;
    else
        return 1;
    return 0;
}

//  The defaults of the common options. The runtime's registration lines
//  are noise for a person waiting for one answer: warnings and errors only.
static s_common_t
s_common_defaults (void)
{
    gl_log_set_default_level (GL_LOG_WARN);
    const char *endpoint = getenv ("GAPLESS_ACTOR_BROKER");
    bool given = endpoint && *endpoint;
    return (s_common_t) { given? endpoint: "tcp://127.0.0.1:5570",
                          given? "GAPLESS_ACTOR_BROKER": "the default", S_TIMEOUT_MS, false };
}

//  Checks an endpoint once the options are read, naming where it came
//  from. Returns -1 to go on, or the usage exit code.
static int
s_check_endpoint (const char *command, const char *from, const char *endpoint)
{
    char reason [256], message [320];
    if (gl_cli_args_endpoint (endpoint, reason, sizeof reason) == 0)
        return -1;
    snprintf (message, sizeof message, "%s %s", from, reason);
    return s_usage_error (command, message, NULL);
}

//  Matches text against a shape: '9' a digit, any other character itself.
static bool
s_shaped (const char *text, const char *shape)
{
    for (; *text && *shape; text++, shape++)
        if (*shape == '9'? !isdigit ((unsigned char) *text): *text != *shape)
            return false;
    return !*text && !*shape;
}

//  Parses a date: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z, or Unix seconds,
//  1970 to 2099 (the protocol's range).
int
gl_cli_parse_time (const char *text, int64_t *seconds)
{
    int year, month, day, hour = 0, minute = 0, second = 0;
    if (*text && strspn (text, "0123456789") == strlen (text))
        return gl_cli_args_integer (text, 0, S_TIME_MAX - 1, seconds);
    if (!s_shaped (text, "9999-99-99") && !s_shaped (text, "9999-99-99T99:99Z")
    &&  !s_shaped (text, "9999-99-99T99:99:99Z"))
        return -1;
    sscanf (text, "%4d-%2d-%2d", &year, &month, &day);
    if (text [10] == 'T')
        sscanf (text + 11, "%2d:%2d:%2d", &hour, &minute, &second);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59
    ||  second > 59 || year < 1970 || year > 2099)
        return -1;
    struct tm utc = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                      .tm_hour = hour, .tm_min = minute, .tm_sec = second };
    time_t instant = timegm (&utc);
    struct tm check;
    gmtime_r (&instant, &check);
    if (check.tm_mday != day)
        return -1;              //  February 30th and the like
    *seconds = (int64_t) instant;
    return 0;
}

//  True for a value JSON can take as a number: an optional minus and digits.
static bool
s_is_integer (const char *value)
{
    const char *cursor = value + (*value == '-');
    if (!*cursor)
        return false;
    for (; *cursor; cursor++)
        if (!isdigit ((unsigned char) *cursor))
            return false;
    return true;
}

//  Prints a string as JSON.
static void
s_json_string (const char *text)
{
    putchar ('"');
    for (const unsigned char *cursor = (const unsigned char *) text; *cursor; cursor++) {
        if (*cursor == '"' || *cursor == '\\')
            printf ("\\%c", *cursor);
        else
        if (*cursor < 0x20)
            printf ("\\u%04x", *cursor);
        else
            putchar (*cursor);
    }
    putchar ('"');
}

//  Prints a map's pairs as JSON members (no braces).
static void
s_json_members (const gl_msg_field_t *fields, size_t count, bool first)
{
    for (size_t index = 0; index < count; index++) {
        printf ("%s", first && index == 0? "": ", ");
        s_json_string (fields [index].key);
        printf (": ");
        if (s_is_integer (fields [index].value))
            printf ("%s", fields [index].value);
        else
            s_json_string (fields [index].value);
    }
}

//  Prints the whole reply as one JSON object.
void
gl_cli_print_reply (const gl_msg_t *reply)
{
    printf ("{\"ok\": %s, \"error\": ", reply->reply.ok? "true": "false");
    s_json_string (reply->reply.error);
    s_json_members (reply->reply.fields, reply->reply.field_count, false);
    printf (", \"rows\": [");
    for (size_t row = 0; row < reply->reply.row_count; row++) {
        printf ("%s{", row? ", ": "");
        s_json_members (reply->reply.rows [row].fields, reply->reply.rows [row].field_count, true);
        printf ("}");
    }
    printf ("]}\n");
}

//  A reply field, or "".
static const char *
s_field (const gl_msg_t *reply, const char *key)
{
    const char *value = gl_msg_field (reply->reply.fields, reply->reply.field_count, key);
    return value? value: "";
}

//  A row field, or "".
static const char *
s_row_field (const gl_msg_row_t *row, const char *key)
{
    const char *value = gl_msg_field (row->fields, row->field_count, key);
    return value? value: "";
}

//  Sends the request and prints the reply with print (or as JSON).
//  Returns the exit status.
static int
s_call (const char *command, const s_common_t *common, gl_msg_t **request_p,
        void (*print) (const gl_msg_t *reply))
{
    char error [256] = "";
    gl_msg_t *reply = *request_p? gl_client_request (common->endpoint, "scheduler", *request_p,
                                                     common->timeout_ms, error): NULL;
    gl_msg_destroy (request_p);
    if (!reply) {
        fprintf (stderr, "gapless %s: %s\n", command, *error? error: "out of memory");
        return EXIT_FAILED;
    }
    int status = reply->reply.ok? 0: EXIT_FAILED;
    if (common->json)
        gl_cli_print_reply (reply);
    else
    if (!reply->reply.ok)
        fprintf (stderr, "gapless %s: %s\n", command, reply->reply.error);
    else
        print (reply);
    gl_msg_destroy (&reply);
    return status;
}

//  --------------------------------------------------------------------------
//  enqueue

static const char *s_enqueue_help =
    "usage: gapless enqueue SYMBOL[,SYMBOL...]... | --tier T0|T1|T2\n"
    "                       --timeframe TF --from DATE --to DATE\n"
    "                       [--priority high|normal|low|N] [--provider NAME] [--plan]\n"
    "                       [--refresh] [--wait [--no-progress] [--ops ENDPOINT]]\n"
    "\n"
    "Asks the scheduler to backfill the bars of the symbols (or of every active\n"
    "symbol of a tier) in [from, to). What is stored already is not fetched\n"
    "again; the same request twice changes nothing. With --plan, says what it\n"
    "would do (slices, bars, requests, time) and enqueues nothing. One request\n"
    "makes at most 5000000 slices, counted as symbols times the days (1m),\n"
    "weeks (5m-30m), months (1h, 4h) or years (1d, 1w) of the range, as the\n"
    "scheduler slices them: it refuses a larger one, to be split.\n"
    "\n"
    "  --timeframe TF     1m 5m 15m 30m 1h 4h 1d 1w\n"
    "  --from DATE        YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or Unix seconds (UTC)\n"
    "  --to DATE          the end, not included\n"
    "  --priority P       high (10), normal (0, the default), low (-10), or a number\n"
    "                     from -100 to 100; 30 and up is live work, served from the\n"
    "                     share of each provider kept for it (scheduler/live_priority)\n"
    "  --provider NAME    only this provider (polygon yahoo tradier finnhub alpaca)\n"
    "  --plan             answer without enqueueing\n"
    "  --refresh          fetch again what is stored already (a refill, or newer\n"
    "                     versions of provisional bars), from --provider if given\n"
    "  --wait             follow it to the end on the ops publication: a live\n"
    "                     progress line on a terminal, a plain line every 5 s\n"
    "                     otherwise, then a summary; exit 0 only when every\n"
    "                     slice succeeded (with --json: the last progress)\n"
    "  --no-progress      with --wait: plain lines even on a terminal\n"
    "  --ops ENDPOINT     ops' publisher (default: $GAPLESS_OPS_PUBLISH, else\n"
    "                     tcp://127.0.0.1:5571)\n"
    S_COMMON_HELP;

//  Prints what an enqueue did (or would do).
static void
s_print_enqueued (const gl_msg_t *reply)
{
    bool plan = strcmp (s_field (reply, "backfill_id"), "0") == 0;
    printf ("%s%s: %s new slices, %s shared with earlier requests, %s already stored,"
            " %s fetched again\n",
            plan? "plan": "backfill ", plan? "": s_field (reply, "backfill_id"),
            s_field (reply, "slices_new"), s_field (reply, "slices_shared"),
            s_field (reply, "slices_stored"), s_field (reply, "slices_refreshed"));
    const char *eta = s_field (reply, "eta_s");
    printf ("%s bars expected, %s requests to %s, %s fetcher service%s live, ETA %s%s\n",
            s_field (reply, "bars_expected"), s_field (reply, "requests"),
            s_field (reply, "provider"), s_field (reply, "fetchers"),
            strcmp (s_field (reply, "fetchers"), "1") == 0? "": "s", eta,
            s_is_integer (eta)? " s": "");
}

//  Sends the enqueue and follows the backfill on the ops publication.
//  Returns the exit status.
static int
s_enqueue_wait (const s_common_t *common, gl_msg_t **request_p,
                gl_cli_progress_options_t *progress)
{
    char error [256] = "";
    gl_msg_t *reply = gl_client_request (common->endpoint, "scheduler", *request_p,
                                         common->timeout_ms, error);
    gl_msg_destroy (request_p);
    if (!reply || !reply->reply.ok) {
        fprintf (stderr, "gapless enqueue: %s\n", reply? reply->reply.error: error);
        gl_msg_destroy (&reply);
        return EXIT_FAILED;
    }
    uint64_t backfill = strtoull (s_field (reply, "backfill_id"), NULL, 10);
    if (!common->json || !backfill)
        (common->json? gl_cli_print_reply: s_print_enqueued) (reply);
    gl_msg_destroy (&reply);
    progress->json = common->json;
    return backfill? gl_cli_progress_wait (backfill, progress): 0;
}

//  Adds each comma-separated ticker of text to the request, every one
//  checked (an empty one between two commas too). Returns -1 to go on, or
//  the usage exit code.
static int
s_add_symbols (gl_msg_t *request, const char *text)
{
    char ticker [GL_MSG_SYMBOL_MAX + 2], reason [160], message [256];
    for (const char *start = text; start; ) {
        const char *comma = strchr (start, ',');
        size_t length = comma? (size_t) (comma - start): strlen (start);
        snprintf (ticker, sizeof ticker, "%.*s", (int) (length < sizeof ticker? length
                                                        : sizeof ticker - 1), start);
        if (gl_cli_args_symbol (ticker, reason, sizeof reason) == -1) {
            snprintf (message, sizeof message, "%s, in '%.64s%s'", reason, text,
                      strlen (text) > 64? "...": "");
            return s_usage_error ("enqueue", message, NULL);
        }
        if (gl_msg_add_symbol (request, ticker) == -1)
            return s_usage_error ("enqueue", request->enqueue.symbol_count >= GL_MSG_MAX_SYMBOLS
                                  ? "more than 10000 symbols in one request; give a --tier or"
                                    " split it": "out of memory", NULL);
        start = comma? comma + 1: NULL;
    }
    return -1;
}

//  gapless enqueue
int
gl_cli_enqueue (int argc, char **argv)
{
    static const struct option options [] = {
        S_COMMON_OPTIONS,
        { "tier", required_argument, NULL, 'r' },
        { "timeframe", required_argument, NULL, 't' },
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 'u' },
        { "priority", required_argument, NULL, 'p' },
        { "provider", required_argument, NULL, 'P' },
        { "plan", no_argument, NULL, 'n' },
        { "wait", no_argument, NULL, 'w' },
        { "no-progress", no_argument, NULL, 'N' },
        { "ops", required_argument, NULL, 'o' },
        { "refresh", no_argument, NULL, 'R' },
        { NULL, 0, NULL, 0 }
    };
    s_common_t common = s_common_defaults ();
    gl_cli_progress_options_t progress = gl_cli_progress_defaults ();
    bool wait = false;
    const char *ops_from = "GAPLESS_OPS_PUBLISH";
    gl_msg_t *request = gl_msg_new (GL_MSG_ENQUEUE);
    if (!request)
        return EXIT_FAILED;
    bool has_from = false, has_to = false;
    int option, status = -1;
    opterr = 0;
    while (status == -1 && (option = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        int common_rc = s_common_option (&common, "enqueue", option, optarg);
        if (common_rc == -1)
            status = EXIT_USAGE;
        else
        if (common_rc == 0)
            continue;
        else
        if (option == 'h') {
            fputs (s_enqueue_help, stdout);
            status = 0;
        }
        else
        if (option == 'r') {
            if (strcmp (optarg, "T0") && strcmp (optarg, "T1") && strcmp (optarg, "T2"))
                status = s_usage_error ("enqueue", "--tier expects T0, T1 or T2, got", optarg);
            else
                snprintf (request->enqueue.tier, sizeof request->enqueue.tier, "%s", optarg);
        }
        else
        if (option == 't') {
            if (gl_timeframe_parse (optarg) == GL_TF_INVALID)
                status = s_usage_error ("enqueue", "--timeframe expects 1m 5m 15m 30m 1h 4h 1d"
                                        " or 1w, got", optarg);
            else
                snprintf (request->enqueue.timeframe, sizeof request->enqueue.timeframe, "%s",
                          optarg);
        }
        else
        if (option == 'f' || option == 'u') {
            int64_t *target = option == 'f'? &request->enqueue.from: &request->enqueue.to;
            if (gl_cli_parse_time (optarg, target) == -1)
                status = s_usage_error ("enqueue", option == 'f'
                    ? "--from expects YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or Unix seconds, got"
                    : "--to expects YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or Unix seconds, got",
                    optarg);
            *(option == 'f'? &has_from: &has_to) = true;
        }
        else
        if (option == 'p') {
            int64_t number = 0;
            if (strcmp (optarg, "high") == 0)
                request->enqueue.priority = 10;
            else
            if (strcmp (optarg, "low") == 0)
                request->enqueue.priority = -10;
            else
            if (gl_cli_args_integer (optarg, -100, 100, &number) == 0)
                request->enqueue.priority = number;
            else
            if (strcmp (optarg, "normal") != 0)
                status = s_usage_error ("enqueue", "--priority expects high, normal, low or"
                                        " -100..100, got", optarg);
        }
        else
        if (option == 'P') {
            if (gl_capability_parse_name (optarg) == GL_PROVIDER_INVALID)
                status = s_usage_error ("enqueue", "--provider expects polygon, yahoo, tradier,"
                                        " finnhub or alpaca, got", optarg);
            else
                snprintf (request->enqueue.provider, sizeof request->enqueue.provider, "%s",
                          optarg);
        }
        else
        if (option == 'n')
            request->enqueue.plan = true;
        else
        if (option == 'w' || option == 'N' || option == 'o') {
            wait |= option == 'w';
            progress.progress &= option != 'N';
            progress.endpoint = option == 'o'? optarg: progress.endpoint;
            ops_from = option == 'o'? "--ops": ops_from;
        }
        else
        if (option == 'R')
            request->enqueue.refresh = true;
        else
        if (option == ':')
            status = s_usage_error ("enqueue", "missing value for", argv [optind - 1]);
        else
            status = s_usage_error ("enqueue", "unknown option", argv [optind - 1]);
    }
    for (int index = optind; status == -1 && index < argc; index++)
        status = s_add_symbols (request, argv [index]);
    if (status == -1)
        status = s_check_endpoint ("enqueue", common.endpoint_from, common.endpoint);
    if (status == -1 && wait)
        status = s_check_endpoint ("enqueue", ops_from, progress.endpoint);
    char error [GL_MSG_ERROR_MAX] = "";
    if (status == -1) {
        if (!*request->enqueue.timeframe)
            status = s_usage_error ("enqueue", "--timeframe is required", NULL);
        else
        if (!has_from || !has_to)
            status = s_usage_error ("enqueue", "--from and --to are required", NULL);
        else
        if (request->enqueue.from >= request->enqueue.to)
            status = s_usage_error ("enqueue", "--from must be before --to", NULL);
        else
        if (!*request->enqueue.tier && request->enqueue.symbol_count == 0)
            status = s_usage_error ("enqueue", "give symbols (AAPL,MSFT) or --tier", NULL);
        else
        if (*request->enqueue.tier && request->enqueue.symbol_count > 0)
            status = s_usage_error ("enqueue", "give symbols or --tier, not both", NULL);
        else
        if (gl_msg_validate (request, error) == -1)
            status = s_usage_error ("enqueue", error, NULL);
    }
    if (status != -1) {
        gl_msg_destroy (&request);
        return status;
    }
    if (wait)
        return s_enqueue_wait (&common, &request, &progress);
    return s_call ("enqueue", &common, &request, s_print_enqueued);
}

//  --------------------------------------------------------------------------
//  status, cancel, pause, resume, dlq

//  Prints one backfill's status and its recent errors.
static void
s_print_backfill (const gl_msg_t *reply)
{
    printf ("backfill %s: %s, %s %s .. %s, priority %s%s%s\n", s_field (reply, "id"),
            s_field (reply, "status"), s_field (reply, "timeframe"),
            s_field (reply, "range_from"), s_field (reply, "range_to"),
            s_field (reply, "priority"), *s_field (reply, "provider")? ", provider ": "",
            s_field (reply, "provider"));
    printf ("  slices %s/%s succeeded, %s queued, %s running, %s retrying, %s dead, %s cancelled,"
            " %s paused\n", s_field (reply, "slices_succeeded"), s_field (reply, "slices_total"),
            s_field (reply, "slices_queued"), s_field (reply, "slices_running"),
            s_field (reply, "slices_retrying"), s_field (reply, "slices_dead"),
            s_field (reply, "slices_cancelled"), s_field (reply, "slices_paused"));
    printf ("  bars written %s, %s bars/s over the last minute, ETA %s%s",
            s_field (reply, "bars_written"), s_field (reply, "bars_per_s"),
            s_field (reply, "eta_s"), s_is_integer (s_field (reply, "eta_s"))? " s": "");
    if (*s_field (reply, "oldest_queued_s"))
        printf (", oldest queued %s s", s_field (reply, "oldest_queued_s"));
    printf ("\n");
    for (size_t row = 0; row < reply->reply.row_count; row++)
        printf ("  error slice %s %s: %s %s\n", s_row_field (&reply->reply.rows [row], "run_id"),
                s_row_field (&reply->reply.rows [row], "symbol"),
                s_row_field (&reply->reply.rows [row], "error_class"),
                s_row_field (&reply->reply.rows [row], "error_message"));
}

//  Prints every backfill, one line each.
static void
s_print_backfills (const gl_msg_t *reply)
{
    if (reply->reply.row_count == 0) {
        printf ("no backfills\n");
        return;
    }
    printf ("%-6s %-10s %-4s %-10s %-10s %9s %9s %6s %12s\n", "ID", "STATUS", "TF", "FROM", "TO",
            "DONE", "TOTAL", "DEAD", "BARS");
    for (size_t index = 0; index < reply->reply.row_count; index++) {
        const gl_msg_row_t *row = &reply->reply.rows [index];
        printf ("%-6s %-10s %-4s %-10.10s %-10.10s %9s %9s %6s %12s\n", s_row_field (row, "id"),
                s_row_field (row, "status"), s_row_field (row, "timeframe"),
                s_row_field (row, "range_from"), s_row_field (row, "range_to"),
                s_row_field (row, "slices_succeeded"), s_row_field (row, "slices_total"),
                s_row_field (row, "slices_dead"), s_row_field (row, "bars_written"));
    }
}

//  Prints what an action changed.
static void
s_print_done (const gl_msg_t *reply)
{
    printf ("done: %s slices\n", s_field (reply, "slices"));
}

//  Prints the dead letters.
static void
s_print_dead (const gl_msg_t *reply)
{
    if (reply->reply.row_count == 0) {
        printf ("no dead slices\n");
        return;
    }
    for (size_t index = 0; index < reply->reply.row_count; index++) {
        const gl_msg_row_t *row = &reply->reply.rows [index];
        printf ("%s %s %s %s..%s attempts %s %s: %s\n", s_row_field (row, "id"),
                s_row_field (row, "symbol"), s_row_field (row, "timeframe"),
                s_row_field (row, "slice_from"), s_row_field (row, "slice_to"),
                s_row_field (row, "attempt"), s_row_field (row, "error_class"),
                s_row_field (row, "error_message"));
    }
    if (strcmp (s_field (reply, "rows_total"), "") != 0
    &&  (size_t) atoll (s_field (reply, "rows_total")) > reply->reply.row_count)
        printf ("(%s dead slices in all; the newest %zu shown)\n", s_field (reply, "rows_total"),
                reply->reply.row_count);
}

//  Parses an id argument: a positive integer that fits the database's
//  bigint. Returns 0 or -1.
static int
s_parse_id (const char *text, uint64_t *id)
{
    int64_t value = 0;
    if (gl_cli_args_integer (text, 1, INT64_MAX, &value) == -1)
        return -1;
    *id = (uint64_t) value;
    return 0;
}

//  Parses the common options and at most one id (required when asked).
//  Returns -1 to go on, or the exit status.
static int
s_parse_target (const char *command, const char *help, int argc, char **argv,
                s_common_t *common, uint64_t *target, bool required)
{
    static const struct option options [] = { S_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
    int option;
    opterr = 0;
    while ((option = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        int rc = s_common_option (common, command, option, optarg);
        if (rc == -1)
            return EXIT_USAGE;
        if (rc == 0)
            continue;
        if (option == 'h') {
            fputs (help, stdout);
            return 0;
        }
        if (option == ':')
            return s_usage_error (command, "missing value for", argv [optind - 1]);
        return s_usage_error (command, "unknown option", argv [optind - 1]);
    }
    if (optind < argc && s_parse_id (argv [optind], target) == -1)
        return s_usage_error (command, "ID expects a whole number from 1 to 9223372036854775807,"
                              " got", *argv [optind]? argv [optind]: "''");
    if (optind + 1 < argc)
        return s_usage_error (command, "unexpected argument", argv [optind + 1]);
    if (required && *target == 0)
        return s_usage_error (command, "needs an id", NULL);
    return s_check_endpoint (command, common->endpoint_from, common->endpoint);
}

//  Builds a command request.
static gl_msg_t *
s_command (const char *action, uint64_t target)
{
    gl_msg_t *request = gl_msg_new (GL_MSG_COMMAND);
    if (request) {
        snprintf (request->command.action, sizeof request->command.action, "%s", action);
        request->command.target = target;
    }
    return request;
}

static const char *s_status_help =
    "usage: gapless status [ID] [--json]\n"
    "\n"
    "Without ID: every backfill, one line each. With ID: that backfill's\n"
    "slices by state, bars written, the oldest queued slice's age and its\n"
    "recent errors.\n\n"
    S_COMMON_HELP;

//  gapless status
int
gl_cli_status (int argc, char **argv)
{
    s_common_t common = s_common_defaults ();
    uint64_t target = 0;
    int status = s_parse_target ("status", s_status_help, argc, argv, &common, &target, false);
    if (status != -1)
        return status;
    gl_msg_t *request = s_command ("status", target);
    return s_call ("status", &common, &request, target? s_print_backfill: s_print_backfills);
}

static const char *s_control_help =
    "usage: gapless cancel|pause|resume ID [--json]\n"
    "\n"
    "cancel: the backfill's unfinished slices are cancelled (a running one's\n"
    "late results are refused), except those another active backfill needs.\n"
    "pause: its waiting slices wait out of reach until resume.\n\n"
    S_COMMON_HELP;

//  gapless cancel|pause|resume ID
int
gl_cli_control (int argc, char **argv)
{
    s_common_t common = s_common_defaults ();
    uint64_t target = 0;
    int status = s_parse_target (argv [0], s_control_help, argc, argv, &common, &target, true);
    if (status != -1)
        return status;
    gl_msg_t *request = s_command (argv [0], target);
    return s_call (argv [0], &common, &request, s_print_done);
}

static const char *s_dlq_help =
    "usage: gapless dlq list | requeue [ID] | purge [ID] [--json]\n"
    "\n"
    "list: the dead slices, newest first, with their last error.\n"
    "requeue: puts one dead slice (or all, without ID) back in the queue.\n"
    "purge: deletes one dead slice (or all); its range may be enqueued again.\n\n"
    S_COMMON_HELP;

//  gapless dlq list|requeue|purge [ID]
int
gl_cli_dlq (int argc, char **argv)
{
    if (argc < 2 || strcmp (argv [1], "-h") == 0 || strcmp (argv [1], "--help") == 0) {
        fputs (s_dlq_help, argc < 2? stderr: stdout);
        return argc < 2? EXIT_USAGE: 0;
    }
    const char *verb = argv [1];
    if (strcmp (verb, "list") && strcmp (verb, "requeue") && strcmp (verb, "purge"))
        return s_usage_error ("dlq", "expects list, requeue or purge, got", verb);
    s_common_t common = s_common_defaults ();
    uint64_t target = 0;
    int status = s_parse_target ("dlq", s_dlq_help, argc - 1, argv + 1, &common, &target, false);
    if (status != -1)
        return status;
    if (strcmp (verb, "list") == 0 && target)
        return s_usage_error ("dlq", "list takes no id", NULL);
    char action [16];
    snprintf (action, sizeof action, "dlq_%s", verb);
    gl_msg_t *request = s_command (action, target);
    return s_call ("dlq", &common, &request,
                   strcmp (verb, "list") == 0? s_print_dead: s_print_done);
}
