/*  gl_cli_coverage — gapless coverage SYMBOL TIMEFRAME --from --to: one
    gaps request to the coverage tracker, its reply printed for a person
    or as JSON (--json). Options and exit codes as the scheduler's
    commands (gl_cli_backfill).
*/
#include "gl_cli_coverage.h"
#include "gl_cli_args.h"
#include "gl_cli_backfill.h"
#include "gl_client.h"
#include "gl_log.h"
#include "gl_timeframe.h"
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define S_TIMEOUT_MS 10000

static const char *s_help =
    "usage: gapless coverage SYMBOL TIMEFRAME --from DATE --to DATE [--json]\n"
    "                        [--broker ENDPOINT] [--timeout-ms N]\n"
    "\n"
    "Asks the coverage tracker what is stored of SYMBOL's TIMEFRAME bars in\n"
    "[from, to): the covered ranges, the gaps against the symbol's calendar\n"
    "(weekends, holidays and time before the listing are never gaps), and\n"
    "every expected bar counted as stored, no trades (a provider answered\n"
    "and had no bar), not fetched, or provider error (its slice failed).\n"
    "At most 1000 gaps are listed; the total says how many there are.\n"
    "\n"
    "  TIMEFRAME          1m 5m 15m 30m 1h 4h 1d 1w\n"
    "  --from DATE        YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or Unix seconds (UTC)\n"
    "  --to DATE          the end, not included\n"
    "  --broker ENDPOINT  the broker (default: $GAPLESS_ACTOR_BROKER, else\n"
    "                     tcp://127.0.0.1:5570)\n"
    "  --timeout-ms N     how long to wait for the answer (default 10000)\n"
    "  --json             print the answer as JSON\n"
    "  -h, --help         show this help\n"
    "\nExit status: 0 done, 1 refused or no answer, 2 bad arguments.\n";

//  Prints a one-line usage error; returns the usage exit code.
static int
s_usage_error (const char *message, const char *argument)
{
    fprintf (stderr, "gapless coverage: %s%s%s\nsee: gapless coverage --help\n", message,
             argument? " ": "", argument? argument: "");
    return EXIT_USAGE;
}

//  A reply field, or "".
static const char *
s_field (const gl_msg_t *reply, const char *key)
{
    const char *value = gl_msg_field (reply->reply.fields, reply->reply.field_count, key);
    return value? value: "";
}

//  Prints the accounting and the gaps for a person.
static void
s_print (const gl_msg_t *reply)
{
    printf ("%s %s %s .. %s: %s expected bars, %s covered range%s, %s gap%s\n",
            s_field (reply, "symbol"), s_field (reply, "timeframe"), s_field (reply, "from"),
            s_field (reply, "to"), s_field (reply, "expected"), s_field (reply, "ranges"),
            strcmp (s_field (reply, "ranges"), "1") == 0? "": "s", s_field (reply, "gaps"),
            strcmp (s_field (reply, "gaps"), "1") == 0? "": "s");
    printf ("  stored %s, no trades %s, not fetched %s, provider error %s\n",
            s_field (reply, "stored"), s_field (reply, "no_trades"),
            s_field (reply, "not_fetched"), s_field (reply, "provider_error"));
    if (*s_field (reply, "first_covered"))
        printf ("  covered from %s to %s (with the gaps below)\n",
                s_field (reply, "first_covered"), s_field (reply, "last_covered"));
    for (size_t index = 0; index < reply->reply.row_count; index++) {
        const gl_msg_row_t *row = &reply->reply.rows [index];
        const char *from = gl_msg_field (row->fields, row->field_count, "from");
        const char *to = gl_msg_field (row->fields, row->field_count, "to");
        const char *bars = gl_msg_field (row->fields, row->field_count, "bars");
        const char *kind = gl_msg_field (row->fields, row->field_count, "kind");
        printf ("  gap %s .. %s  %s bars  %s\n", from? from: "", to? to: "", bars? bars: "",
                kind? kind: "");
    }
    if (reply->reply.row_count < (size_t) atoll (s_field (reply, "gaps")))
        printf ("  (%zu of %s gaps listed)\n", reply->reply.row_count, s_field (reply, "gaps"));
}

//  Parses --from/--to into the request; returns 0 or the usage status.
static int
s_time_option (const char *name, const char *value, int64_t *target)
{
    if (gl_cli_parse_time (value, target) == 0)
        return 0;
    char message [96];
    snprintf (message, sizeof message, "--%s expects YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or Unix"
              " seconds, got", name);
    return s_usage_error (message, value);
}

//  Parses --timeout-ms; returns 0 or the usage status.
static int
s_timeout_option (const char *value, int64_t *timeout_ms)
{
    if (gl_cli_args_integer (value, 1, 3600000, timeout_ms) == -1)
        return s_usage_error ("--timeout-ms expects 1 to 3600000, got", value);
    return 0;
}

//  Checks the positional arguments into the request; returns 0 or the
//  usage status.
static int
s_positionals (gl_msg_t *request, int count, char **arguments)
{
    if (count != 2)
        return s_usage_error (count < 2? "expected SYMBOL and TIMEFRAME"
                                       : "unexpected argument", count > 2? arguments [2]: NULL);
    char reason [160];
    if (gl_cli_args_symbol (arguments [0], reason, sizeof reason) == -1)
        return s_usage_error (reason, NULL);
    if (gl_timeframe_parse (arguments [1]) == GL_TF_INVALID)
        return s_usage_error ("TIMEFRAME expects 1m 5m 15m 30m 1h 4h 1d or 1w, got",
                              arguments [1]);
    snprintf (request->gaps.symbol, sizeof request->gaps.symbol, "%s", arguments [0]);
    snprintf (request->gaps.timeframe, sizeof request->gaps.timeframe, "%s", arguments [1]);
    return 0;
}

//  Sends the request and prints the reply; returns the exit status.
static int
s_call (const char *endpoint, int64_t timeout_ms, bool json, gl_msg_t **request_p)
{
    char error [256] = "";
    gl_msg_t *reply = gl_client_request (endpoint, "coverage", *request_p, timeout_ms, error);
    gl_msg_destroy (request_p);
    if (!reply) {
        fprintf (stderr, "gapless coverage: %s\n", *error? error: "out of memory");
        return EXIT_FAILED;
    }
    int status = reply->reply.ok? 0: EXIT_FAILED;
    if (json)
        gl_cli_print_reply (reply);
    else
    if (!reply->reply.ok)
        fprintf (stderr, "gapless coverage: %s\n", reply->reply.error);
    else
        s_print (reply);
    gl_msg_destroy (&reply);
    return status;
}

//  gapless coverage
int
gl_cli_coverage (int argc, char **argv)
{
    static const struct option options [] = {
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 'u' },
        { "broker", required_argument, NULL, 'B' },
        { "timeout-ms", required_argument, NULL, 'T' },
        { "json", no_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    gl_log_set_default_level (GL_LOG_WARN);
    const char *endpoint = getenv ("GAPLESS_ACTOR_BROKER");
    const char *endpoint_from = "GAPLESS_ACTOR_BROKER";
    if (!endpoint || !*endpoint)
        endpoint = "tcp://127.0.0.1:5570";
    int64_t timeout_ms = S_TIMEOUT_MS;
    bool json = false, has_from = false, has_to = false;
    gl_msg_t *request = gl_msg_new (GL_MSG_GAPS);
    if (!request)
        return EXIT_FAILED;
    int option, status = 0;
    opterr = 0;
    while (status == 0 && (option = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        if (option == 'h') {
            fputs (s_help, stdout);
            gl_msg_destroy (&request);
            return 0;
        }
        if (option == 'f' || option == 'u') {
            status = s_time_option (option == 'f'? "from": "to", optarg,
                                    option == 'f'? &request->gaps.from: &request->gaps.to);
            *(option == 'f'? &has_from: &has_to) = true;
        }
        else
        if (option == 'B') {
            endpoint = optarg;
            endpoint_from = "--broker";
        }
        else
        if (option == 'T')
            status = s_timeout_option (optarg, &timeout_ms);
        else
        if (option == 'J')
            json = true;
        else
        if (option == ':')
            status = s_usage_error ("missing value for", argv [optind - 1]);
        else
            status = s_usage_error ("unknown option", argv [optind - 1]);
    }
    if (status == 0)
        status = s_positionals (request, argc - optind, argv + optind);
    if (status == 0 && (!has_from || !has_to))
        status = s_usage_error ("--from and --to are required", NULL);
    if (status == 0 && request->gaps.from >= request->gaps.to)
        status = s_usage_error ("--from must be before --to", NULL);
    char reason [256];
    if (status == 0 && gl_cli_args_endpoint (endpoint, reason, sizeof reason) == -1)
        status = s_usage_error (endpoint_from, reason);
    if (status) {
        gl_msg_destroy (&request);
        return status;
    }
    return s_call (endpoint, timeout_ms, json, &request);
}
