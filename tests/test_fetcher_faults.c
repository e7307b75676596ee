/*  test_fetcher_faults — every fault the sim injects, end to end through
    real gapless-fetcher processes of every provider, a real broker and a
    real gapless-sim; raw GLP peers play scheduler, writer and ops.

    - each fault alone, for every provider at once: server_error →
      server_error, hang → timeout, slow past the timeout → timeout,
      truncate → server_error, invalid_json → parse_error, empty →
      no_data; once the faults stop, the same fetchers answer with bars;
      no fetcher crashes and each exits 0 on SIGTERM;
    - not_found: a symbol the sim answers 404 for (Yahoo, Alpaca), and a
      timeframe the provider does not serve (refused without a request);
    - auth: a wrong key, for every provider that takes one;
    - rate_limited: a sim limit far below the fetcher's configured one, so
      429s come; each job retries after Retry-After until it has been
      refused more than max_refusals times, then fails rate_limited,
      retryable with a retry-after;
    - the breaker opens on the slow-call rate alone: slow answers that
      succeed still open it, and the next FETCH is refused breaker_open;
    - auth holds: after a refused key, further FETCHes are answered auth
      at once, with no request;
    - a ban (403 with Retry-After) is "not now", not auth: the fetcher
      that sees it tells its sibling and ops (EVENT provider_banned), and
      both answer every slice rate_limited, retryable, with no request
      reaching the sim until the ban is over;
    - replaced: a second fetcher registering the same instance replaces
      the first, which exits non-zero rather than fight for the address;
    - dropped keep-alive connections: libcurl would resend the request on
      a new connection behind the rate limiter's back; with the sim's
      limit equal to the fetcher's, no request arrives over it.
*/
#include "test_fetcher_peers.h"

#define MONDAY 1710115200           //  2024-03-11 00:00 UTC
#define DAY 86400
#define PROVIDERS 5
#define NO_FAULTS "/admin/faults?provider=all&server_error=0&hang=0&slow=0&truncate=0" \
                  "&invalid_json=0&empty=0&drop=0"

static const char *s_providers [] = { "polygon", "alpaca", "finnhub", "yahoo", "tradier" };
static const char *s_keys [] = { "pk", "AKID", "fk", "", "tk" };

//  Sets GAPLESS_FETCHER_<PROVIDER>_<SETTING> to value ("breaker/window"
//  becomes BREAKER_WINDOW); NULL unsets it.
static void
s_setenv (const char *provider, const char *setting, const char *value)
{
    char name [96];
    size_t length = (size_t) snprintf (name, sizeof (name), "GAPLESS_FETCHER_%s_%s",
                                       provider, setting);
    for (size_t index = 0; index < length; index++)
        name [index] = name [index] == '/'? '_': (char) toupper ((unsigned char) name [index]);
    if (value)
        setenv (name, value, 1);
    else
        unsetenv (name);
}

//  Points every provider's fetcher at the sim with its right credential,
//  a short timeout and a breaker that does not open on a few failures.
static void
s_configure (gl_simclient_t *sim)
{
    for (size_t index = 0; index < PROVIDERS; index++) {
        s_setenv (s_providers [index], "base_url", gl_simclient_url (sim, s_providers [index]));
        s_setenv (s_providers [index], "key", s_keys [index]);
        s_setenv (s_providers [index], "secret", "SECRET");
        s_setenv (s_providers [index], "limits", "100/1s");
        s_setenv (s_providers [index], "guard_ms", "30");
        s_setenv (s_providers [index], "timeout_ms", "300");
        s_setenv (s_providers [index], "breaker/minimum_calls", "100");
        s_setenv (s_providers [index], "breaker/window", "100");
    }
}

//  Starts one fetcher per provider.
static void
s_start_all (pid_t *fetchers, const char *instance)
{
    for (size_t index = 0; index < PROVIDERS; index++)
        fetchers [index] = peers_fetcher_start (s_providers [index], instance);
}

//  Checks every fetcher still runs, then that each exits 0 on SIGTERM.
static void
s_stop_all (pid_t *fetchers)
{
    for (size_t index = 0; index < PROVIDERS; index++) {
        GL_CHECK (peers_alive (fetchers [index]));
        GL_CHECK (peers_fetcher_stop (fetchers [index]));
    }
}

//  One week of daily bars from every provider as runs first..first+4;
//  waits for all five answers.
static bool
s_fetch_all (uint64_t first)
{
    int expected = peers_answers + PROVIDERS;
    for (size_t index = 0; index < PROVIDERS; index++)
        peers_fetch (s_providers [index], first + index, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    return peers_wait_for (peers_answers == expected, 15000);
}

//  Each fault alone gives its class at every provider; without faults,
//  the same fetchers then deliver bars.
static void
s_test_fault_classes (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    pid_t fetchers [PROVIDERS];
    s_start_all (fetchers, "faults");
    struct { const char *setting, *expected; } faults [] = {
        { "server_error=1", "server_error" }, { "hang=1&hang_ms=1500", "timeout" },
        { "slow=1&slow_ms=1500", "timeout" }, { "truncate=1", "server_error" },
        { "invalid_json=1", "parse_error" }, { "empty=1", "no_data" },
    };
    uint64_t run = 1;
    for (size_t fault = 0; fault < sizeof (faults) / sizeof (faults [0]); fault++) {
        char path [256];
        snprintf (path, sizeof (path), NO_FAULTS "&%s", faults [fault].setting);
        peers_sim_admin (sim, path);
        GL_CHECK (s_fetch_all (run));
        for (size_t index = 0; index < PROVIDERS; index++, run++) {
            printf ("fault: %s provider=%s class=%s\n", faults [fault].setting,
                    s_providers [index], peers_runs [run].failed);
            GL_CHECK_STR (peers_runs [run].failed, faults [fault].expected);
        }
    }
    peers_sim_admin (sim, NO_FAULTS);
    GL_CHECK (s_fetch_all (run));
    for (size_t index = 0; index < PROVIDERS; index++, run++) {
        GL_CHECK_STR (peers_runs [run].failed, "");
        GL_CHECK (peers_runs [run].last && peers_runs [run].bar_count == 5);
    }
    s_stop_all (fetchers);
}

//  A symbol the sim does not know is a 404, not_found and not retryable;
//  a timeframe the provider lacks is refused without a request.
static void
s_test_not_found (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    pid_t yahoo = peers_fetcher_start ("yahoo", "missing");
    pid_t alpaca = peers_fetcher_start ("alpaca", "missing");
    const char *unknown = "NOSUCHSYMBOLATALLHERE";     //  longer than the sim accepts
    peers_fetch ("yahoo", 1, unknown, "1d", MONDAY, MONDAY + 7 * DAY);
    peers_fetch ("alpaca", 2, unknown, "1d", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 2, 10000));
    peers_audit_t before = peers_sim_audit (sim, "yahoo", "anonymous", "404");
    printf ("not_found: yahoo total=%ld 404=%ld\n", before.total, before.with_status);
    GL_CHECK_INT (before.with_status, 1);
    peers_fetch ("yahoo", 3, "MSFT", "4h", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 3, 10000));
    peers_audit_t after = peers_sim_audit (sim, "yahoo", "anonymous", "404");
    for (uint64_t run = 1; run <= 3; run++) {
        GL_CHECK_STR (peers_runs [run].failed, "not_found");
        GL_CHECK (!peers_runs [run].retryable);
    }
    GL_CHECK_INT (after.total, before.total);
    GL_CHECK (peers_alive (yahoo) && peers_alive (alpaca));
    GL_CHECK (peers_fetcher_stop (yahoo));
    GL_CHECK (peers_fetcher_stop (alpaca));
}

//  A wrong key is auth at every provider that takes a key.
static void
s_test_auth (gl_simclient_t *sim)
{
    peers_runs_clear ();
    pid_t fetchers [PROVIDERS];
    for (size_t index = 0; index < PROVIDERS; index++)
        s_setenv (s_providers [index], "key", "wrong-key");
    s_start_all (fetchers, "badkey");
    GL_CHECK (s_fetch_all (1));
    peers_audit_t before = peers_sim_audit (sim, "polygon", "unknown", "401");
    //  Within the hold, the same fetchers answer auth without a request.
    GL_CHECK (s_fetch_all (1 + PROVIDERS));
    peers_audit_t after = peers_sim_audit (sim, "polygon", "unknown", "401");
    printf ("auth: polygon requests before=%ld after=%ld\n", before.total, after.total);
    GL_CHECK (before.total >= 1);
    GL_CHECK_INT (after.total, before.total);
    for (size_t index = 0; index < PROVIDERS; index++) {
        if (strcmp (s_providers [index], "yahoo") != 0) {
            GL_CHECK_STR (peers_runs [index + 1].failed, "auth");
            GL_CHECK_STR (peers_runs [index + 1 + PROVIDERS].failed, "auth");
            GL_CHECK (!peers_runs [index + 1 + PROVIDERS].retryable);
        }
        s_setenv (s_providers [index], "key", s_keys [index]);
    }
    s_stop_all (fetchers);
}

//  Jobs sharing a fetcher whose configured limit is 100 times the sim's:
//  429s come, each job is retried after Retry-After until refused more
//  than max_refusals times, then fails rate_limited with a retry-after.
static void
s_test_rate_limited (void)
{
    peers_runs_clear ();
    gl_simclient_t *sim = gl_simclient_new (
        "sim\n    polygon\n        limits = \"1/1s\"\n        abuse = \"1000/60s\"\n"
        "        keys\n            default = \"pk\"\n", NULL);
    GL_CHECK (sim != NULL);
    if (!sim)
        return;
    s_setenv ("polygon", "base_url", gl_simclient_url (sim, "polygon"));
    s_setenv ("polygon", "concurrency", "4");
    s_setenv ("polygon", "max_refusals", "1");
    pid_t fetcher = peers_fetcher_start ("polygon", "limited");
    for (uint64_t run = 1; run <= 4; run++)
        peers_fetch ("polygon", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 4, 20000));
    int delivered = 0, limited = 0;
    for (uint64_t run = 1; run <= 4; run++) {
        peers_run_t *result = &peers_runs [run];
        delivered += result->last && result->bar_count == 5;
        if (strcmp (result->failed, "rate_limited") == 0) {
            limited++;
            GL_CHECK (result->retryable);
            GL_CHECK (result->retry_after_ms >= 1000);
        }
    }
    peers_audit_t audit = peers_sim_audit (sim, "polygon", "default", "429");
    printf ("rate_limited: delivered=%d limited=%d requests=%ld refused=%ld\n", delivered,
            limited, audit.total, audit.with_status);
    GL_CHECK_INT (delivered + limited, 4);
    GL_CHECK (limited >= 1);
    //  Each failed job was refused max_refusals + 1 times.
    GL_CHECK (audit.with_status >= 2 * limited);
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
    GL_CHECK_INT (gl_simclient_stop (sim), 0);
    gl_simclient_destroy (&sim);
    s_setenv ("polygon", "concurrency", NULL);
    s_setenv ("polygon", "max_refusals", NULL);
}

//  Slow answers that succeed open the breaker by the slow-call rate; the
//  next FETCH is refused at once.
static void
s_test_slow_calls (gl_simclient_t *sim)
{
    peers_runs_clear ();
    peers_sim_admin (sim, "/admin/reset");
    s_setenv ("polygon", "base_url", gl_simclient_url (sim, "polygon"));
    s_setenv ("polygon", "timeout_ms", "5000");
    s_setenv ("polygon", "breaker/window", "4");
    s_setenv ("polygon", "breaker/minimum_calls", "4");
    s_setenv ("polygon", "breaker/slow_call_ms", "200");
    s_setenv ("polygon", "breaker/slow_rate", "50");
    s_setenv ("polygon", "breaker/open_ms", "60000");
    pid_t fetcher = peers_fetcher_start ("polygon", "slow");
    peers_sim_admin (sim, NO_FAULTS "&slow=1&slow_ms=400");
    for (uint64_t run = 1; run <= 4; run++)
        peers_fetch ("polygon", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 4, 10000));
    for (uint64_t run = 1; run <= 4; run++)
        GL_CHECK (peers_runs [run].last && peers_runs [run].bar_count == 5);
    GL_CHECK (peers_wait_for (strstr (peers_events, "closed>open slow_rate") != NULL, 5000));
    printf ("slow: events=%s\n", peers_events);
    peers_fetch ("polygon", 5, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 5, 5000));
    GL_CHECK_STR (peers_runs [5].failed, "breaker_open");
    peers_sim_admin (sim, NO_FAULTS);
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
}

//  Two fetchers share a key whose sim limit is a tenth of theirs: 429s,
//  then a ban (403 with Retry-After). The fetcher that sees it tells its
//  sibling and ops; every slice is answered retryable (rate_limited
//  while banned, no attempt spent), and during the ban FETCHes to either
//  fetcher send nothing to the sim.
static void
s_test_ban (void)
{
    peers_runs_clear ();
    gl_simclient_t *sim = gl_simclient_new (
        "sim\n    polygon\n        limits = \"2/1s\"\n        abuse = \"1/60s\"\n"
        "        ban_s = 30\n        keys\n            default = \"pk\"\n", NULL);
    GL_CHECK (sim != NULL);
    if (!sim)
        return;
    s_setenv ("polygon", "base_url", gl_simclient_url (sim, "polygon"));
    s_setenv ("polygon", "limits", "20/1s");
    s_setenv ("polygon", "concurrency", "1");
    s_setenv ("polygon", "breaker/window", "100");
    s_setenv ("polygon", "breaker/minimum_calls", "100");
    pid_t first = peers_fetcher_start_logged ("polygon", "ban-a", "fetcher_ban_a.log");
    pid_t second = peers_fetcher_start_logged ("polygon", "ban-b", "fetcher_ban_b.log");
    //  Both members, so each knows the other before work comes.
    GL_CHECK (peers_wait_for (peers_log_count ("fetcher_ban_a.log", "members=2") > 0
                           && peers_log_count ("fetcher_ban_b.log", "members=2") > 0, 10000));
    int runs = 10;
    for (uint64_t run = 1; run <= (uint64_t) runs; run++)
        peers_fetch ("polygon", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == runs && peers_bans_heard > 0, 20000));
    peers_audit_t banned = peers_sim_audit (sim, "polygon", "default", "403");
    //  During the ban: slices to the service reach both fetchers.
    for (uint64_t run = (uint64_t) runs + 1; run <= (uint64_t) (2 * runs); run++)
        peers_fetch ("polygon", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == 2 * runs, 10000));
    peers_audit_t after = peers_sim_audit (sim, "polygon", "default", "403");
    int delivered = 0, limited = 0, lasting = 0, by_second = 0;
    for (int run = 1; run <= 2 * runs; run++) {
        peers_run_t *result = &peers_runs [run];
        delivered += result->last;
        if (result->failed [0]) {
            GL_CHECK_STR (result->failed, "rate_limited");
            GL_CHECK (result->retryable);
            limited++;
        }
        if (run > runs) {
            lasting += result->retry_after_ms >= 20000;
            by_second += strcmp (result->instance, "ban-b") == 0;
        }
    }
    int heard = peers_log_count ("fetcher_ban_a.log", "event=ban_heard")
              + peers_log_count ("fetcher_ban_b.log", "event=ban_heard");
    printf ("ban: delivered=%d limited=%d requests=%ld 403=%ld during_ban=%ld bans_heard=%d "
            "siblings_heard=%d lasting=%d by_second=%d\n", delivered, limited, banned.total,
            banned.with_status, after.total - banned.total, peers_bans_heard, heard, lasting,
            by_second);
    GL_CHECK_INT (delivered + limited, 2 * runs);
    //  At most the one request each fetcher had in flight met the ban.
    GL_CHECK (banned.with_status >= 1 && banned.with_status <= 2);
    GL_CHECK_INT (after.total, banned.total);
    GL_CHECK_INT (lasting, runs);
    GL_CHECK (heard >= 1);
    GL_CHECK (by_second >= 1 && by_second < runs);
    GL_CHECK (peers_alive (first) && peers_alive (second));
    GL_CHECK (peers_fetcher_stop (first));
    GL_CHECK (peers_fetcher_stop (second));
    GL_CHECK_INT (gl_simclient_stop (sim), 0);
    gl_simclient_destroy (&sim);
    s_setenv ("polygon", "limits", "100/1s");
    s_setenv ("polygon", "concurrency", NULL);
}

//  A second fetcher with the same instance id replaces the first at the
//  broker: the first exits 1, the second goes on.
static void
s_test_replaced (gl_simclient_t *sim)
{
    s_setenv ("polygon", "base_url", gl_simclient_url (sim, "polygon"));
    pid_t first = peers_fetcher_start_logged ("polygon", "twin", "fetcher_twin_1.log");
    GL_CHECK (peers_wait_for (peers_log_count ("fetcher_twin_1.log", "members=1") > 0, 10000));
    pid_t second = peers_fetcher_start_logged ("polygon", "twin", "fetcher_twin_2.log");
    int status = -1;
    pid_t reaped = 0;           //  waitpid reaps once: remember it
    GL_CHECK (peers_wait_for (reaped == first
                           || (reaped = waitpid (first, &status, WNOHANG)) == first, 10000));
    printf ("replaced: first exited=%d code=%d\n", WIFEXITED (status),
            WIFEXITED (status)? WEXITSTATUS (status): -1);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 1);
    GL_CHECK (peers_alive (second));
    GL_CHECK (peers_fetcher_stop (second));
}

//  The sim drops a third of the answers' connections, at a limit equal
//  to the fetcher's own: every request that reaches it was counted by the
//  fetcher's limiter first (libcurl's resend on a new connection is
//  refused and paced again), so none arrives over the limit.
static void
s_test_dropped_connections (void)
{
    peers_runs_clear ();
    gl_simclient_t *sim = gl_simclient_new (
        "sim\n    polygon\n        limits = \"4/1s\"\n        abuse = \"1000/60s\"\n"
        "        keys\n            default = \"pk\"\n"
        "        faults\n            drop = 0.3\n", NULL);
    GL_CHECK (sim != NULL);
    if (!sim)
        return;
    s_setenv ("polygon", "base_url", gl_simclient_url (sim, "polygon"));
    s_setenv ("polygon", "limits", "4/1s");
    s_setenv ("polygon", "concurrency", "2");
    s_setenv ("polygon", "breaker/window", "100");
    s_setenv ("polygon", "breaker/minimum_calls", "100");
    pid_t fetcher = peers_fetcher_start ("polygon", "dropped");
    int runs = 24;
    for (uint64_t run = 1; run <= (uint64_t) runs; run++)
        peers_fetch ("polygon", run, "MSFT", "1d", MONDAY, MONDAY + 7 * DAY);
    GL_CHECK (peers_wait_for (peers_answers == runs, 60000));
    int delivered = 0, failed = 0;
    for (int run = 1; run <= runs; run++) {
        delivered += peers_runs [run].last && peers_runs [run].bar_count == 5;
        failed += peers_runs [run].failed [0] != 0;
        if (peers_runs [run].failed [0])
            GL_CHECK (peers_runs [run].retryable);
    }
    peers_audit_t audit = peers_sim_audit (sim, "polygon", "default", "0");
    printf ("dropped: delivered=%d failed=%d requests=%ld dropped=%ld over_limit=%ld "
            "peak=%ld\n", delivered, failed, audit.total, audit.with_status,
            audit.over_limit, audit.peak);
    GL_CHECK_INT (delivered + failed, runs);
    GL_CHECK (audit.with_status >= 4);
    GL_CHECK_INT (audit.over_limit, 0);
    GL_CHECK (audit.peak <= 4);
    GL_CHECK (peers_alive (fetcher));
    GL_CHECK (peers_fetcher_stop (fetcher));
    GL_CHECK_INT (gl_simclient_stop (sim), 0);
    gl_simclient_destroy (&sim);
    s_setenv ("polygon", "limits", "100/1s");
    s_setenv ("polygon", "concurrency", NULL);
}

int
main (void)
{
    peers_start ();
    gl_simclient_t *sim = gl_simclient_new (
        "sim\n"
        "    yahoo\n        null_rate = 0\n"
        "    polygon\n        keys\n            default = \"pk\"\n"
        "    tradier\n        keys\n            default = \"tk\"\n"
        "    finnhub\n        keys\n            default = \"fk\"\n"
        "    alpaca\n        keys\n            default = \"AKID:SECRET\"\n", NULL);
    GL_CHECK (sim != NULL);
    if (sim) {
        s_configure (sim);
        //  First: late answers to requests that timed out in the fault
        //  phase can land in the sim's audit after its reset.
        s_test_not_found (sim);
        s_test_fault_classes (sim);
        s_test_auth (sim);
        s_test_rate_limited ();
        s_test_slow_calls (sim);
        s_test_replaced (sim);
        s_test_dropped_connections ();
        s_test_ban ();
        GL_CHECK_INT (gl_simclient_stop (sim), 0);
        gl_simclient_destroy (&sim);
    }
    peers_stop ();
    return gl_test_done ("test_fetcher_faults");
}
