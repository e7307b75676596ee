/*  test_fetcher_hostile — FETCH messages and broker conditions that must
    neither crash nor wedge a real gapless-fetcher process (real broker,
    real gapless-sim, raw GLP peers as scheduler, writer and ops):

    - a range no fetcher can work (from=0, to=INT64_MAX; times outside
      1970..2100; more request windows than max_windows; from >= to is
      the codec's to refuse) is
      answered FAILED non-retryable at once, counted as refused, and the
      same fetcher then serves a good FETCH;
    - a run sent again under a new lease supersedes the older job of it;
    - a FETCH repeating a run in progress, and one for a timeframe the
      provider lacks, are answered FAILED non-retryable and counted
      (refused= in fetcher_health); the run in progress still completes;
    - a fetcher that loses the broker sends no request until it is
      registered again and has waited out a window as a new member;
    - with more fetchers than a rule's N, the one left without a share
      gives its FETCH messages back at once and keeps no credit;
    - with two writer instances every part of a run reaches one of them,
      and a run whose writer leaves mid-run is answered FAILED retryable;
    - Tradier's XML answer is a contract error: FAILED parse_error, not
      retryable, an EVENT to ops, and never fed to the breaker;
    - a BARS part the broker bounces (no writer, queue full) fails its run
      retryable to the scheduler, once; a bounced EVENT is logged.
*/
#include "test_fetcher_peers.h"

#define MONDAY 1710115200           //  2024-03-11 00:00 UTC
#define DAY 86400

//  Sets GAPLESS_FETCHER_<PROVIDER>_<SETTING> to value.
static void
s_setenv_for (const char *provider, const char *setting, const char *value)
{
    char name [96];
    size_t length = (size_t) snprintf (name, sizeof (name), "GAPLESS_FETCHER_%s_%s", provider,
                                       setting);
    for (size_t index = 0; index < length; index++)
        name [index] = name [index] == '/'? '_': (char) toupper ((unsigned char) name [index]);
    setenv (name, value, 1);
}

//  Sets GAPLESS_FETCHER_YAHOO_<SETTING> to value.
static void
s_setenv (const char *setting, const char *value)
{
    s_setenv_for ("yahoo", setting, value);
}

//  Checks run's answer is FAILED with the class, retryable or not.
static void
s_check_failed (uint64_t run, const char *error_class, bool retryable)
{
    printf ("run %" PRIu64 ": failed=%s retryable=%d\n", run, peers_runs [run].failed,
            peers_runs [run].retryable);
    GL_CHECK_STR (peers_runs [run].failed, error_class);
    GL_CHECK (peers_runs [run].retryable == retryable);
}

//  Ranges that cannot be worked are refused; the fetcher then serves.
static void
s_test_bad_ranges (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    s_setenv ("max_windows", "100");
    pid_t fetcher = peers_fetcher_start ("yahoo", "ranges");
    //  Once the codec bounds times it refuses to encode the first two.
    bool sent [4] = { false };
    sent [1] = peers_fetch ("yahoo", 1, "MSFT", "1m", 0, INT64_MAX);
    sent [2] = peers_fetch ("yahoo", 2, "MSFT", "1d", INT64_MIN, INT64_MAX);
    sent [3] = peers_fetch ("yahoo", 3, "MSFT", "1m", MONDAY, MONDAY + 101 * 7 * DAY);
    int expected = sent [1] + sent [2] + sent [3];
    GL_CHECK (sent [3]);                //  101 windows: the fetcher's own bound
    GL_CHECK (peers_wait_for (peers_answers == expected, 10000));
    for (uint64_t run = 1; run <= 3; run++)
        if (sent [run])
            s_check_failed (run, "not_found", false);
    GL_CHECK (peers_alive (fetcher));
    peers_fetch ("yahoo", 4, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == expected + 1, 10000));
    GL_CHECK_STR (peers_runs [4].failed, "");
    GL_CHECK (peers_runs [4].last && peers_runs [4].bar_count == 5);
    GL_CHECK_INT (peers_sim_audit (sim, "yahoo", "anonymous", "200").total, 1);
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
}

//  A repeat of a run in progress and an unsupported timeframe are refused;
//  the run in progress completes, and the refusals are counted.
static void
s_test_refusals (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    s_setenv ("health_ms", "200");
    pid_t fetcher = peers_fetcher_start ("yahoo", "refusals");
    //  Two 7-day windows at 1 request a second: in progress for a second.
    peers_fetch ("yahoo", 1, "MSFT", "1m", MONDAY, MONDAY + 10 * DAY);
    peers_fetch ("yahoo", 1, "MSFT", "1m", MONDAY, MONDAY + 10 * DAY);
    peers_fetch ("yahoo", 2, "MSFT", "4h", MONDAY, MONDAY + 10 * DAY);
    GL_CHECK (peers_wait_for (peers_runs [1].failed [0] && peers_runs [2].failed [0], 10000));
    s_check_failed (1, "not_found", false);
    s_check_failed (2, "not_found", false);
    GL_CHECK (peers_wait_for (peers_runs [1].last, 15000));
    GL_CHECK (peers_runs [1].bar_count > 0);
    GL_CHECK_INT (peers_runs [1].failures, 1);
    GL_CHECK (peers_wait_for (strcmp (peers_refused ("fetcher.yahoo/refusals"), "2") == 0, 5000));
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
    s_setenv ("health_ms", "5000");
}

//  The run sent again under a new lease while the older one is worked
//  (the scheduler took it back, as after a departure): the new lease is
//  worked to the end and the older one given up retryable. Before, the
//  new one was refused as a repeat (not_found: "this provider cannot"),
//  and the scheduler never sent the slice to this provider again.
static void
s_test_new_lease (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    pid_t fetcher = peers_fetcher_start ("yahoo", "leases");
    char first [GL_MSG_NAME_MAX + 1], second [GL_MSG_NAME_MAX + 1];
    peers_token (3, 1, first, sizeof first);
    peers_token (3, 2, second, sizeof second);
    //  Two 7-day windows at 1 request a second: in progress for a second.
    peers_fetch_leased ("yahoo", 3, first, "MSFT", "1m", MONDAY, MONDAY + 10 * DAY);
    peers_fetch_leased ("yahoo", 3, second, "MSFT", "1m", MONDAY, MONDAY + 10 * DAY);
    GL_CHECK (peers_wait_for (peers_runs [3].last, 15000));
    GL_CHECK_STR (peers_runs [3].last_token, second);
    GL_CHECK_INT (peers_runs [3].failures, 1);
    s_check_failed (3, "server_error", true);
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
}

//  With no writer and a broker queue of 4, the fifth part of a run is
//  bounced: the scheduler hears FAILED retryable for the run, once. Then
//  without ops, an EVENT bounced for the full queue is logged. Runs its
//  own broker.
static void
s_test_bounced_bars (gl_simclient_t *sim)
{
    peers_stop ();
    setenv ("GAPLESS_BROKER_QUEUE_LIMIT", "4", 1);
    peers_start ();
    unsetenv ("GAPLESS_BROKER_QUEUE_LIMIT");
    peers_leave (1);
    peers_sim_admin (sim, "/admin/reset");
    s_setenv ("part_bars", "1");
    s_setenv ("health_ms", "200");
    const char *log = "fetcher-bounce.log";
    pid_t fetcher = peers_fetcher_start_logged ("yahoo", "bounce", log);
    peers_fetch ("yahoo", 1, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);     //  5 parts
    GL_CHECK (peers_wait_for (peers_answers == 1, 10000));
    s_check_failed (1, "server_error", true);
    peers_leave (2);            //  no ops either: the next health EVENT finds the queue full
    GL_CHECK (peers_wait_for (peers_log_count (log, "type=event code=queue_full") > 0, 5000));
    GL_CHECK (peers_log_count (log, "type=bars code=queue_full") >= 1);
    GL_CHECK_INT (peers_runs [1].failures, 1);
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
    s_setenv ("part_bars", "10000");
    s_setenv ("health_ms", "5000");
}

//  The sim's count of Yahoo requests so far.
static long
s_requests (gl_simclient_t *sim)
{
    return peers_sim_audit (sim, "yahoo", "anonymous", "200").total;
}

//  A fetcher cut off from the broker (SIGSTOP) drops its share to 0: the
//  sim sees no request from it after its share_dropped line, for two and
//  a half windows; once the broker runs again the fetcher registers, waits
//  out one window as a new member, and answers all the work it held: a
//  run whose parts went out before the loss FAILED retryable (they may be
//  lost with the broker), every other run complete.
static void
s_test_broker_lost (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    s_setenv ("limits", "2/1s");
    s_setenv ("part_bars", "1000");     //  parts go out after a run's first window
    const char *log = "fetcher-lost.log";
    pid_t fetcher = peers_fetcher_start_logged ("yahoo", "lost", log);
    enum { runs = 6 };              //  two requests each: six windows of work
    for (uint64_t run = 1; run <= runs; run++)
        peers_fetch ("yahoo", run, "MSFT", "1m", MONDAY, MONDAY + 10 * DAY);
    GL_CHECK (peers_wait_for (s_requests (sim) >= 2 && peers_runs [1].parts > 0, 10000));
    kill (peers_broker, SIGSTOP);
    uint32_t parts_before [runs + 1];
    for (uint64_t run = 1; run <= runs; run++)
        parts_before [run] = peers_runs [run].parts;
    GL_CHECK (peers_wait_for (peers_log_count (log, "event=share_dropped reason=broker_lost") == 1,
                              5000));
    long at_loss = s_requests (sim);
    printf ("broker lost: requests=%ld\n", at_loss);
    GL_CHECK (!peers_wait_for (s_requests (sim) > at_loss, 2500));
    GL_CHECK_INT (s_requests (sim), at_loss);
    //  The broker, running again, finds the raw peers silent too: they
    //  register again as the runtime would, before the fetcher does (held
    //  meanwhile), else its FAILED answers could reach the peers' stale
    //  registrations before the broker has swept them.
    kill (fetcher, SIGSTOP);
    kill (peers_broker, SIGCONT);
    peers_join (0, "scheduler", "test");
    peers_join (1, "writer", "test");
    peers_join (2, "ops", "test");
    (void) peers_wait_for (false, 300);     //  their READYs handled, heartbeating
    kill (fetcher, SIGCONT);
    GL_CHECK (peers_wait_for (peers_log_count (log, "event=broker_registered") >= 2, 10000));
    GL_CHECK (peers_wait_for (peers_answers == (int) runs, 20000));
    int failed = 0;
    for (uint64_t run = 1; run <= runs; run++) {
        peers_run_t *answer = &peers_runs [run];
        printf ("run %" PRIu64 ": parts_before=%u last=%d bars=%zu failed=%s\n", run,
                parts_before [run], answer->last, answer->bar_count, answer->failed);
        if (answer->failed [0]) {
            s_check_failed (run, "server_error", true);
            failed++;
        }
        else
            GL_CHECK (answer->last && answer->bar_count == 3120);
        if (parts_before [run] > 0)
            GL_CHECK (answer->failed [0] && !answer->last);
    }
    GL_CHECK (failed >= 1);
    printf ("broker back: requests=%ld\n", s_requests (sim));
    GL_CHECK (s_requests (sim) >= at_loss + 2 * (runs - failed));
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
    s_setenv ("limits", "1/1s");
    s_setenv ("part_bars", "10000");
}

#define CROWD 6
#define CROWD_RUNS 30

//  Six fetchers on a 5/1s limit: the sixth in sort order has no share. It
//  gives each FETCH it holds back at once (FAILED rate_limited, retryable,
//  with a retry_after_ms) and keeps back the credit, so after at most its
//  credit (8) it holds none and the broker sends it no more. Answered
//  FAILED runs are sent again, as the scheduler would: every run ends
//  with its bars within a bounded number of windows, none sits unanswered,
//  and the sim never sees the limit exceeded.
static void
s_test_crowd (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    s_setenv ("limits", "5/1s");
    pid_t fetchers [CROWD];
    char logs [CROWD][32];
    for (int index = 0; index < CROWD; index++) {
        char instance [8];
        snprintf (instance, sizeof (instance), "h%d", index + 1);
        snprintf (logs [index], sizeof (logs [index]), "fetcher-crowd-%d.log", index + 1);
        fetchers [index] = peers_fetcher_start_logged ("yahoo", instance, logs [index]);
    }
    for (int index = 0; index < CROWD; index++)
        GL_CHECK (peers_wait_for (peers_log_count (logs [index], "members=6 ") > 0, 10000));
    for (uint64_t run = 1; run <= CROWD_RUNS; run++)
        peers_fetch ("yahoo", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    int resent = 0, given_back = 0;
    int64_t deadline = gl_test_now_ms () + 30000;
    int done = 0;
    while (done < CROWD_RUNS && gl_test_now_ms () < deadline) {
        peers_poll (10);
        done = 0;
        for (uint64_t run = 1; run <= CROWD_RUNS; run++) {
            peers_run_t *answer = &peers_runs [run];
            done += answer->last;
            if (!answer->failed [0])
                continue;
            GL_CHECK_STR (answer->failed, "rate_limited");
            GL_CHECK (answer->retryable && answer->retry_after_ms > 0);
            given_back++;
            answer->failed [0] = 0;
            peers_fetch ("yahoo", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
            resent++;
        }
    }
    printf ("crowd: done=%d given_back=%d\n", done, given_back);
    GL_CHECK_INT (done, CROWD_RUNS);
    int sixth = peers_log_count (logs [CROWD - 1], "class=rate_limited");
    GL_CHECK (sixth <= 8);
    GL_CHECK_INT (sixth, given_back);
    peers_audit_t audit = peers_sim_audit (sim, "yahoo", "anonymous", "200");
    printf ("crowd: requests=%ld over_limit=%ld peak=%ld\n", audit.total, audit.over_limit,
            audit.peak);
    GL_CHECK_INT (audit.total, CROWD_RUNS);
    GL_CHECK_INT (audit.over_limit, 0);
    for (int index = 0; index < CROWD; index++) {
        GL_CHECK (peers_alive (fetchers [index]));
        GL_CHECK (peers_fetcher_stop (fetchers [index]));
    }
    s_setenv ("limits", "1/1s");
}

#define ROUTED_RUNS 10

//  Bits set in a receivers mask.
static int
s_bits (uint32_t mask)
{
    return __builtin_popcount (mask);
}

//  Two writer instances, writer/a (peer 1) and writer/b (peer 3): every
//  part of a run reaches one of them, and the runs use both. When the
//  writer of a run in progress leaves, the run is answered FAILED
//  retryable. Needs the broker to send writer MEMBERSHIP to the fetcher
//  (READY follow); until it does, the fetcher sends to the service and
//  this test says SKIP.
static void
s_test_two_writers (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    peers_leave (1);
    peers_join (1, "writer", "a");
    peers_join (3, "writer", "b");
    s_setenv ("part_bars", "2");
    s_setenv ("limits", "5/1s");
    const char *log = "fetcher-writers.log";
    pid_t fetcher = peers_fetcher_start_logged ("yahoo", "writers", log);
    if (!peers_wait_for (peers_log_count (log, "event=writers_changed") > 0
                      && peers_log_count (log, "writers=2") > 0, 5000))
        printf ("SKIP two_writers: the fetcher heard no writer MEMBERSHIP (the broker does "
                "not yet send it to followers)\n");
    else {
        for (uint64_t run = 1; run <= ROUTED_RUNS; run++)
            peers_fetch ("yahoo", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);   //  3 parts
        GL_CHECK (peers_wait_for (peers_answers == ROUTED_RUNS, 15000));
        uint32_t used = 0;
        for (uint64_t run = 1; run <= ROUTED_RUNS; run++) {
            GL_CHECK (peers_runs [run].last && peers_runs [run].parts == 3);
            GL_CHECK_INT (s_bits (peers_runs [run].receivers), 1);
            used |= peers_runs [run].receivers;
        }
        GL_CHECK (used == ((1u << 1) | (1u << 3)));
        //  A run of two windows a second apart: its writer leaves between.
        s_setenv ("limits", "1/1s");
        uint64_t run = ROUTED_RUNS + 1;
        peers_fetch ("yahoo", run, "MSFT", "1m", MONDAY, MONDAY + 10 * DAY);
        GL_CHECK (peers_wait_for (peers_runs [run].parts > 0, 10000));
        int writer = peers_runs [run].receivers & (1u << 1)? 1: 3;
        peers_leave (writer);
        GL_CHECK (peers_wait_for (peers_runs [run].failed [0], 10000));
        s_check_failed (run, "server_error", true);
        GL_CHECK (!peers_runs [run].last);
    }
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
    peers_leave (1);
    peers_leave (3);
    peers_join (1, "writer", "test");
    s_setenv ("part_bars", "10000");
    s_setenv ("limits", "1/1s");
}

#define XML_RUNS 6

//  A sim whose Tradier answers XML whatever Accept says: every FETCH is
//  answered FAILED parse_error, not retryable, ops hears a contract_error
//  for each, and the breaker (4 calls at 50 %) is not fed them: it stays
//  closed, so the last FETCH still gets the provider's answer, not
//  breaker_open.
static void
s_test_tradier_xml (void)
{
    peers_runs_clear ();
    gl_simclient_t *sim = gl_simclient_new (
        "sim\n    tradier\n        xml_only = 1\n        keys\n            default = \"tk\"\n",
        NULL);
    GL_CHECK (sim != NULL);
    if (!sim)
        return;
    s_setenv_for ("tradier", "base_url", gl_simclient_url (sim, "tradier"));
    s_setenv_for ("tradier", "key", "tk");
    s_setenv_for ("tradier", "limits", "100/1s");
    s_setenv_for ("tradier", "guard_ms", "30");
    s_setenv_for ("tradier", "breaker/window", "4");
    s_setenv_for ("tradier", "breaker/minimum_calls", "4");
    s_setenv_for ("tradier", "breaker/failure_rate", "50");
    pid_t fetcher = peers_fetcher_start ("tradier", "xml");
    for (uint64_t run = 1; run <= XML_RUNS; run++) {
        peers_fetch ("tradier", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
        GL_CHECK (peers_wait_for (peers_answers == (int) run, 10000));
        s_check_failed (run, "parse_error", false);
    }
    GL_CHECK (peers_wait_for (peers_contract_errors == XML_RUNS, 5000));
    printf ("tradier xml: events=\"%s\"\n", peers_events);
    GL_CHECK_STR (peers_events, "");
    GL_CHECK_INT (peers_sim_audit (sim, "tradier", "default", "200").total, XML_RUNS);
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
    GL_CHECK_INT (gl_simclient_stop (sim), 0);
    gl_simclient_destroy (&sim);
}

int
main (void)
{
    peers_start ();
    gl_simclient_t *sim = gl_simclient_new ("sim\n    yahoo\n        null_rate = 0\n"
                                             "        limits = \"5/1s\"\n", NULL);
    GL_CHECK (sim != NULL);
    if (sim) {
        s_setenv ("base_url", gl_simclient_url (sim, "yahoo"));
        s_setenv ("limits", "1/1s");
        s_setenv ("guard_ms", "30");
        s_test_bad_ranges (sim);
        s_test_refusals (sim);
        s_test_new_lease (sim);
        s_test_broker_lost (sim);
        s_test_crowd (sim);
        s_test_two_writers (sim);
        s_test_tradier_xml ();
        s_test_bounced_bars (sim);
        GL_CHECK_INT (gl_simclient_stop (sim), 0);
        gl_simclient_destroy (&sim);
    }
    peers_stop ();
    return gl_test_done ("test_fetcher_hostile");
}
