/*  test_fetcher — gapless-fetcher processes against a real broker and a
    real gapless-sim; raw GLP peers play scheduler, writer and ops.

    - one provider end to end: a multi-page 1m range arrives in parts and
      holds exactly the sim's bars;
    - rate-limit sharing: 1, 2 and 4 fetchers on one key (one of the four
      killed mid-run): the sim's audit shows no request over the limit,
      peak <= limit, and utilisation >= 95%;
    - the breaker: a 5xx storm opens it (FAILED server_error, then
      breaker_open at once), half-open probes close it after the storm;
      each change reaches ops as an EVENT;
    - faults: each injected fault gives its error class; the fetcher
      exits cleanly at the end.
*/
#include "gl_msg.h"
#include "gl_process.h"
#include "gl_simbars.h"
#include "gl_simclient.h"
#include "gl_test.h"
#include "gl_wire.h"
#include <cjson/cJSON.h>
#include <czmq.h>

#define HEARTBEAT_MS 100
#define RUNS_MAX 128
#define LIMIT 10
#define WINDOW_MS 2000

static char s_broker_path [512], s_fetcher_path [512], s_endpoint [64];

//  What the peers heard about one run.
typedef struct {
    gl_bar_t *bars;
    size_t bar_count;
    uint32_t parts;
    bool last;
    char failed [16];           //  error class, "" if none
    char instance [GL_MSG_NAME_MAX + 1];
    int64_t answered_at;
} run_t;

static run_t s_runs [RUNS_MAX];
static int s_answers;
static char s_events [4096];    //  "from>to;" for each breaker change

typedef struct {
    zsock_t *socket;
} peer_t;

static peer_t s_scheduler, s_writer, s_ops;

//  Sends header + optional address + optional body.
static void
s_send (peer_t *peer, gl_wire_command_t command, const char *address, const gl_msg_t *body)
{
    zmsg_t *message = zmsg_new ();
    uint8_t header [GL_WIRE_HEADER_SIZE];
    gl_wire_header (header, command);
    zmsg_addmem (message, header, sizeof (header));
    if (address)
        zmsg_addstr (message, address);
    if (body) {
        char *data = NULL, error [GL_MSG_ERROR_MAX];
        size_t size = 0;
        gl_msg_encode (body, &data, &size, error);
        zmsg_addmem (message, data, size);
        free (data);
    }
    zmsg_send (&message, peer->socket);
}

//  Records a delivered application message.
static void
s_record (const char *sender, gl_msg_t *body)
{
    if (body->type == GL_MSG_BARS && body->bars.run_id < RUNS_MAX) {
        run_t *run = &s_runs [body->bars.run_id];
        run->bars = (gl_bar_t *) realloc (run->bars,
                                          (run->bar_count + body->bars.bar_count + 1) * sizeof (gl_bar_t));
        memcpy (run->bars + run->bar_count, body->bars.bars, body->bars.bar_count * sizeof (gl_bar_t));
        run->bar_count += body->bars.bar_count;
        run->parts++;
        if (body->bars.last) {
            run->last = true;
            run->answered_at = gl_test_now_ms ();
            snprintf (run->instance, sizeof (run->instance), "%s", strchr (sender, '/') + 1);
            s_answers++;
        }
    }
    else
    if (body->type == GL_MSG_FAILED && body->failed.run_id < RUNS_MAX) {
        run_t *run = &s_runs [body->failed.run_id];
        snprintf (run->failed, sizeof (run->failed), "%s", body->failed.error_class);
        run->answered_at = gl_test_now_ms ();
        s_answers++;
    }
    else
    if (body->type == GL_MSG_EVENT && strcmp (body->event.name, "breaker_changed") == 0) {
        const char *from = "", *to = "";
        for (size_t index = 0; index < body->event.field_count; index++) {
            if (strcmp (body->event.fields [index].key, "from") == 0)
                from = body->event.fields [index].value;
            if (strcmp (body->event.fields [index].key, "to") == 0)
                to = body->event.fields [index].value;
        }
        size_t used = strlen (s_events);
        snprintf (s_events + used, sizeof (s_events) - used, "%s>%s;", from, to);
    }
}

//  Polls the three peers for up to timeout_ms, handling what comes and
//  heartbeating; gives the credit back for each delivery.
static void
s_poll (int timeout_ms)
{
    static int64_t last_beat;
    peer_t *peers [] = { &s_scheduler, &s_writer, &s_ops };
    if (gl_test_now_ms () - last_beat >= HEARTBEAT_MS / 2) {
        last_beat = gl_test_now_ms ();
        for (int index = 0; index < 3; index++)
            s_send (peers [index], GL_WIRE_HEARTBEAT, NULL, NULL);
    }
    zpoller_t *poller = zpoller_new (s_scheduler.socket, s_writer.socket, s_ops.socket, NULL);
    zsock_t *ready = (zsock_t *) zpoller_wait (poller, timeout_ms);
    zpoller_destroy (&poller);
    if (!ready)
        return;
    zmsg_t *message = zmsg_recv (ready);
    zframe_t *header = zmsg_pop (message);
    gl_wire_command_t command;
    if (gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) == 0
    &&  command == GL_WIRE_DELIVER) {
        char *sender = zmsg_popstr (message);
        zframe_t *frame = zmsg_pop (message);
        char error [GL_MSG_ERROR_MAX];
        gl_msg_t *body = gl_msg_decode (zframe_data (frame), zframe_size (frame), error);
        if (body)
            s_record (sender, body);
        gl_msg_destroy (&body);
        zframe_destroy (&frame);
        free (sender);
        for (int index = 0; index < 3; index++)
            if (peers [index]->socket == ready) {
                gl_msg_t *credit = gl_msg_new (GL_MSG_CREDIT);
                credit->credit.credit = 1;
                s_send (peers [index], GL_WIRE_CREDIT, NULL, credit);
                gl_msg_destroy (&credit);
            }
    }
    zframe_destroy (&header);
    zmsg_destroy (&message);
}

//  Polls until the condition holds or timeout_ms passes; yields it.
#define s_wait_for(condition, timeout_ms) ({ \
    int64_t deadline_ = gl_test_now_ms () + (timeout_ms); \
    while (!(condition) && gl_test_now_ms () < deadline_) \
        s_poll (10); \
    (condition); \
})

//  Connects a peer and registers it as service/instance.
static void
s_peer_start (peer_t *peer, const char *service)
{
    peer->socket = zsock_new_dealer (s_endpoint);
    zsock_set_linger (peer->socket, 0);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof (ready->ready.service), "%s", service);
    snprintf (ready->ready.instance, sizeof (ready->ready.instance), "test");
    ready->ready.credit = 10000;
    s_send (peer, GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
}

//  Forgets every run.
static void
s_runs_clear (void)
{
    for (int index = 0; index < RUNS_MAX; index++)
        free (s_runs [index].bars);
    memset (s_runs, 0, sizeof (s_runs));
    s_answers = 0;
    s_events [0] = 0;
}

//  Sends FETCH run_id for symbol/timeframe/[from, to) to fetcher.polygon.
static void
s_fetch (uint64_t run_id, const char *symbol, const char *timeframe, int64_t from, int64_t to)
{
    gl_msg_t *fetch = gl_msg_new (GL_MSG_FETCH);
    fetch->fetch.run_id = run_id;
    snprintf (fetch->fetch.lease_token, sizeof (fetch->fetch.lease_token), "lease-%" PRIu64, run_id);
    snprintf (fetch->fetch.symbol, sizeof (fetch->fetch.symbol), "%s", symbol);
    snprintf (fetch->fetch.timeframe, sizeof (fetch->fetch.timeframe), "%s", timeframe);
    fetch->fetch.from = from;
    fetch->fetch.to = to;
    fetch->fetch.attempt = 1;
    s_send (&s_scheduler, GL_WIRE_SEND, "fetcher.polygon", fetch);
    gl_msg_destroy (&fetch);
}

//  Starts a fetcher for polygon on the sim.
static pid_t
s_fetcher_start (const char *instance)
{
    char *argv [] = { s_fetcher_path, "--provider", "polygon", "--broker", s_endpoint,
                      "--instance", (char *) instance, NULL };
    return gl_process_start (argv, "fetcher.log");
}

//  POSTs an admin request to the sim.
static void
s_admin (gl_simclient_t *sim, const char *path)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("POST", gl_simclient_url (sim, "admin"), path, NULL, 5000, &reply);
    GL_CHECK_INT (reply.status, 200);
    gl_simclient_reply_free (&reply);
}

//  The polygon "default" key's audit: total, over_limit and the peak of
//  the first rule.
static void
s_audit (gl_simclient_t *sim, long *total, long *over_limit, long *peak)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("GET", gl_simclient_url (sim, "admin"), "/admin/audit", NULL, 5000, &reply);
    cJSON *document = cJSON_Parse (reply.body);
    gl_simclient_reply_free (&reply);
    cJSON *providers = cJSON_GetObjectItem (document, "providers");
    cJSON *keys = cJSON_GetObjectItem (cJSON_GetObjectItem (providers, "polygon"), "keys");
    cJSON *key = cJSON_GetObjectItem (keys, "default");
    cJSON *item = cJSON_GetObjectItem (key, "total");
    *total = cJSON_IsNumber (item)? (long) item->valuedouble: -1;
    item = cJSON_GetObjectItem (key, "over_limit");
    *over_limit = cJSON_IsNumber (item)? (long) item->valuedouble: -1;
    item = cJSON_GetObjectItem (cJSON_GetArrayItem (cJSON_GetObjectItem (key, "peaks"), 0), "peak");
    *peak = cJSON_IsNumber (item)? (long) item->valuedouble: -1;
    cJSON_Delete (document);
}

#define MONDAY 1710115200           //  2024-03-11 00:00 UTC
#define DAY 86400

//  Three sessions of 1m bars (1170) in pages of 500: exactly the sim's.
static void
s_test_end_to_end (void)
{
    s_runs_clear ();
    setenv ("GAPLESS_FETCHER_POLYGON_PAGE_LIMIT", "500", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_PART_BARS", "400", 1);
    pid_t fetcher = s_fetcher_start ("e2e");
    s_fetch (1, "MSFT", "1m", MONDAY, MONDAY + 3 * DAY);
    GL_CHECK (s_wait_for (s_answers == 1, 20000));
    run_t *run = &s_runs [1];
    GL_CHECK (run->last);
    GL_CHECK_STR (run->failed, "");
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    gl_simbar_t *expected = NULL;
    size_t expected_count = 0;
    gl_simbars_generate (calendar, "MSFT", GL_TF_1M, MONDAY, MONDAY + 3 * DAY, &expected,
                         &expected_count);
    GL_CHECK_INT (expected_count, 1170);
    GL_CHECK_INT (run->bar_count, expected_count);
    GL_CHECK (run->parts >= 3);
    size_t same = 0;
    for (size_t index = 0; index < run->bar_count && index < expected_count; index++)
        same += run->bars [index].ts == expected [index].start
             && (int64_t) (run->bars [index].close * 100 + 0.5) == expected [index].close
             && (int64_t) (run->bars [index].high * 100 + 0.5) == expected [index].high
             && (int64_t) (run->bars [index].volume + 0.5) == expected [index].volume;
    GL_CHECK_INT (same, expected_count);
    free (expected);
    gl_calendar_destroy (&calendar);
    int status = gl_process_stop (fetcher, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    unsetenv ("GAPLESS_FETCHER_POLYGON_PAGE_LIMIT");
    unsetenv ("GAPLESS_FETCHER_POLYGON_PART_BARS");
}

//  Utilisation between first and last: the mean, over every window of
//  WINDOW_MS that starts in [first, last - WINDOW_MS], of the answers in
//  it, divided by the limit. Steady use at the limit gives 1 whatever the
//  phases of the fetchers; edge bursts do not inflate it.
static double
s_utilisation (int64_t first, int64_t last, int jobs)
{
    if (last - first <= WINDOW_MS)
        return 0;
    double sum = 0;
    for (int64_t start = first; start <= last - WINDOW_MS; start++)
        for (int index = 1; index <= jobs; index++)
            sum += s_runs [index].answered_at >= start
                && s_runs [index].answered_at < start + WINDOW_MS;
    return sum / (double) (last - WINDOW_MS - first + 1) / LIMIT;
}

//  `fetchers` fetchers share "10/2s" over `jobs` one-request jobs; with
//  kill, the last one is killed after a third of the answers.
static void
s_test_sharing (gl_simclient_t *sim, int fetchers, int jobs, bool kill_one)
{
    s_runs_clear ();
    s_admin (sim, "/admin/reset");
    setenv ("GAPLESS_FETCHER_POLYGON_CREDIT", "1", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY", "1", 1);
    pid_t pids [4];
    for (int index = 0; index < fetchers; index++) {
        char instance [16];
        snprintf (instance, sizeof (instance), "share%d", index);
        pids [index] = s_fetcher_start (instance);
    }
    for (int index = 0; index < jobs; index++)
        s_fetch ((uint64_t) index + 1, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    //  With a kill, utilisation counts from when the dead fetcher's share
    //  is reclaimed: 3 missed heartbeats (5 at most, with the sweep), one
    //  window and the guard later.
    int64_t counted_from = 0;
    if (kill_one) {
        GL_CHECK (s_wait_for (s_answers >= jobs / 3, 30000));
        gl_process_stop (pids [fetchers - 1], SIGKILL);
        pids [fetchers - 1] = 0;
        counted_from = gl_test_now_ms () + 5 * HEARTBEAT_MS + WINDOW_MS + 100;
    }
    //  A killed fetcher may take one job (its credit) with it.
    int expected = kill_one? jobs - 1: jobs;
    GL_CHECK (s_wait_for (s_answers >= expected, 60000));
    long total, over_limit, peak;
    s_audit (sim, &total, &over_limit, &peak);
    GL_CHECK_INT (over_limit, 0);
    GL_CHECK (peak >= 1 && peak <= LIMIT);
    //  Utilisation: after the first window's burst, requests per window
    //  over the time between the first and last answers.
    int64_t first = INT64_MAX, last = 0;
    int answered = 0, bars_ok = 0;
    for (int index = 1; index <= jobs; index++) {
        run_t *run = &s_runs [index];
        if (!run->answered_at)
            continue;
        answered++;
        bars_ok += run->last && run->bar_count == 5;
        if (run->answered_at < counted_from)
            continue;
        first = run->answered_at < first? run->answered_at: first;
        last = run->answered_at > last? run->answered_at: last;
    }
    GL_CHECK_INT (bars_ok, answered);
    //  Work is queued until fewer than a window's worth of jobs remain:
    //  the last LIMIT answers are the drain, not counted.
    int later = 0;
    do {
        later = 0;
        for (int index = 1; index <= jobs; index++)
            later += s_runs [index].answered_at >= last;
        if (later <= LIMIT)
            last--;
    } while (later <= LIMIT && last > first);
    double utilisation = s_utilisation (first, last, jobs);
    printf ("sharing: fetchers=%d kill=%d requests=%ld answered=%d peak=%ld over_limit=%ld "
            "span_ms=%lld utilisation=%.3f\n", fetchers, kill_one, total, answered,
            peak, over_limit, (long long) (last - first), utilisation);
    GL_CHECK (utilisation >= 0.95);
    for (int index = 0; index < fetchers; index++)
        if (pids [index]) {
            int status = gl_process_stop (pids [index], SIGTERM);
            GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
        }
    unsetenv ("GAPLESS_FETCHER_POLYGON_CREDIT");
    unsetenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY");
}

//  A 5xx storm opens the breaker; FETCH is then refused at once; after
//  the storm, half-open probes close it. Ops hears every change.
static void
s_test_breaker (gl_simclient_t *sim)
{
    s_runs_clear ();
    s_admin (sim, "/admin/reset");
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_WINDOW", "6", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_MINIMUM_CALLS", "4", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_OPEN_MS", "1500", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_HALF_OPEN_CALLS", "2", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY", "1", 1);
    pid_t fetcher = s_fetcher_start ("breaker");
    s_admin (sim, "/admin/faults?provider=polygon&server_error=1");
    for (int index = 1; index <= 4; index++)
        s_fetch ((uint64_t) index, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (s_wait_for (s_answers == 4, 20000));
    for (int index = 1; index <= 4; index++)
        GL_CHECK_STR (s_runs [index].failed, "server_error");
    GL_CHECK (s_wait_for (strstr (s_events, "closed>open;") != NULL, 5000));
    //  Open: refused at once, without a request.
    long before, over_limit, peak, after;
    s_audit (sim, &before, &over_limit, &peak);
    s_fetch (5, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (s_wait_for (s_answers == 5, 5000));
    GL_CHECK_STR (s_runs [5].failed, "breaker_open");
    s_audit (sim, &after, &over_limit, &peak);
    GL_CHECK_INT (after, before);
    //  The storm ends; half-open lets probes through, which succeed.
    s_admin (sim, "/admin/faults?provider=polygon&server_error=0");
    GL_CHECK (s_wait_for (strstr (s_events, "open>half_open;") != NULL, 5000));
    s_fetch (6, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    s_fetch (7, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (s_wait_for (s_answers == 7, 10000));
    GL_CHECK (s_runs [6].last && s_runs [7].last);
    GL_CHECK (s_wait_for (strstr (s_events, "half_open>closed;") != NULL, 5000));
    int status = gl_process_stop (fetcher, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_WINDOW");
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_MINIMUM_CALLS");
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_OPEN_MS");
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_HALF_OPEN_CALLS");
    unsetenv ("GAPLESS_FETCHER_POLYGON_CONCURRENCY");
}

//  Each fault alone gives its class: hang → timeout, invalid_json →
//  parse_error, empty → no_data, truncate → server_error; a wrong key →
//  auth.
static void
s_test_faults (gl_simclient_t *sim)
{
    s_runs_clear ();
    s_admin (sim, "/admin/reset");
    setenv ("GAPLESS_FETCHER_POLYGON_TIMEOUT_MS", "300", 1);
    setenv ("GAPLESS_FETCHER_POLYGON_BREAKER_MINIMUM_CALLS", "20", 1);
    pid_t fetcher = s_fetcher_start ("faults");
    struct { const char *setting, *expected; } faults [] = {
        { "hang=1&hang_ms=5000", "timeout" }, { "invalid_json=1", "parse_error" },
        { "empty=1", "no_data" }, { "truncate=1", "server_error" },
    };
    for (size_t index = 0; index < 4; index++) {
        char path [128];
        snprintf (path, sizeof (path), "/admin/faults?provider=polygon&hang=0&invalid_json=0"
                  "&empty=0&truncate=0&%s", faults [index].setting);
        s_admin (sim, path);
        s_fetch (index + 1, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
        GL_CHECK (s_wait_for (s_answers == (int) index + 1, 10000));
        GL_CHECK_STR (s_runs [index + 1].failed, faults [index].expected);
    }
    s_admin (sim, "/admin/faults?provider=polygon&hang=0&invalid_json=0&empty=0&truncate=0");
    int status = gl_process_stop (fetcher, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    unsetenv ("GAPLESS_FETCHER_POLYGON_TIMEOUT_MS");

    setenv ("GAPLESS_FETCHER_POLYGON_KEY", "wrong-key", 1);
    fetcher = s_fetcher_start ("badkey");
    s_fetch (10, "AAPL", "1d", MONDAY, MONDAY + 5 * DAY);
    GL_CHECK (s_wait_for (s_answers == 5, 10000));
    GL_CHECK_STR (s_runs [10].failed, "auth");
    status = gl_process_stop (fetcher, SIGTERM);
    GL_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    setenv ("GAPLESS_FETCHER_POLYGON_KEY", "pk", 1);
    unsetenv ("GAPLESS_FETCHER_POLYGON_BREAKER_MINIMUM_CALLS");
}

int
main (void)
{
    gl_process_binary ("broker/gapless-broker", s_broker_path, sizeof (s_broker_path));
    gl_process_binary ("actors/fetcher/gapless-fetcher", s_fetcher_path, sizeof (s_fetcher_path));
    snprintf (s_endpoint, sizeof (s_endpoint), "tcp://127.0.0.1:%d", gl_process_free_port ());
    char heartbeat [16];
    snprintf (heartbeat, sizeof (heartbeat), "%d", HEARTBEAT_MS);
    char *argv [] = { s_broker_path, "--bind", s_endpoint, "--heartbeat-ms", heartbeat, NULL };
    pid_t broker = gl_process_start (argv, "broker.log");
    gl_simclient_t *sim = gl_simclient_new (
        "sim\n    polygon\n        limits = \"10/2s\"\n        abuse = \"1000/60s\"\n"
        "        keys\n            default = \"pk\"\n", NULL);
    GL_CHECK (sim != NULL);
    if (sim) {
        setenv ("GAPLESS_BROKER_HEARTBEAT_MS", heartbeat, 1);
        setenv ("GAPLESS_FETCHER_POLYGON_BASE_URL", gl_simclient_url (sim, "polygon"), 1);
        setenv ("GAPLESS_FETCHER_POLYGON_KEY", "pk", 1);
        setenv ("GAPLESS_FETCHER_POLYGON_LIMITS", "10/2s", 1);
        setenv ("GAPLESS_FETCHER_POLYGON_HEALTH_MS", "500", 1);
        setenv ("GAPLESS_FETCHER_POLYGON_GUARD_MS", "30", 1);
        s_peer_start (&s_scheduler, "scheduler");
        s_peer_start (&s_writer, "writer");
        s_peer_start (&s_ops, "ops");
        s_test_end_to_end ();
        s_test_breaker (sim);
        s_test_faults (sim);
        s_test_sharing (sim, 1, 40, false);
        s_test_sharing (sim, 2, 40, false);
        s_test_sharing (sim, 4, 100, true);
        zsock_destroy (&s_scheduler.socket);
        zsock_destroy (&s_writer.socket);
        zsock_destroy (&s_ops.socket);
        GL_CHECK_INT (gl_simclient_stop (sim), 0);
        gl_simclient_destroy (&sim);
    }
    gl_process_stop (broker, SIGTERM);
    s_runs_clear ();
    return gl_test_done ("test_fetcher");
}
