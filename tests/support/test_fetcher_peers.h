/*  test_fetcher_peers — what the gapless-fetcher tests share: raw GLP
    peers registered at a real broker as scheduler, writer and ops, which
    record every BARS, FAILED and breaker EVENT a fetcher sends them, and
    helpers to start fetchers and drive a real gapless-sim.

    Header-only, for one test file each (like gl_test.h): the recorded
    state is file-local.
*/
#ifndef TEST_FETCHER_PEERS_H_INCLUDED
#define TEST_FETCHER_PEERS_H_INCLUDED

#include "gl_glp.h"
#include "gl_msg.h"
#include "gl_process.h"
#include "gl_simclient.h"
#include "gl_test.h"
#include "gl_wire.h"
#include <cjson/cJSON.h>
#include <czmq.h>

//  The broker's heartbeat; a test may define its own before including.
#ifndef PEERS_HEARTBEAT_MS
#define PEERS_HEARTBEAT_MS 100
#endif
#define PEERS_RUNS_MAX 128

//  What the peers heard about one run.
typedef struct {
    gl_bar_t *bars;
    size_t bar_count;
    uint32_t parts;
    bool last;
    char failed [16];           //  error class, "" if none
    bool retryable;
    uint64_t retry_after_ms;
    char instance [GL_MSG_NAME_MAX + 1];
    int64_t answered_at;
    uint32_t receivers;         //  bit per peer socket that got a part
    int failures;               //  FAILED answers for the run
    char last_token [GL_MSG_NAME_MAX + 1];      //  lease of the last part
} peers_run_t;

static peers_run_t peers_runs [PEERS_RUNS_MAX];
static int peers_answers;
static char peers_events [4096];    //  "from>to reason;" per breaker change
static int peers_contract_errors;   //  contract_error EVENTs
static int peers_bans_heard;        //  provider_banned EVENTs at ops
static char peers_broker_path [512], peers_fetcher_path [512], peers_endpoint [64];
#define PEERS_MAX 8
static zsock_t *peers_sockets [PEERS_MAX];  //  [0..2] scheduler, writer, ops; more by peers_join
static pid_t peers_broker;

//  The last completeness each fetcher reported in fetcher_health, by the
//  event's source ("fetcher.yahoo/e2e").
#define PEERS_HEALTH_MAX 16
static struct { char source [GL_MSG_NAME_MAX + 1]; char completeness [24], refused [24]; }
    peers_health [PEERS_HEALTH_MAX];

//  Records a fetcher_health EVENT's completeness under its source.
static inline void
peers_record_health (const gl_msg_t *body)
{
    const char *completeness = NULL, *refused = "";
    for (size_t index = 0; index < body->event.field_count; index++) {
        if (strcmp (body->event.fields [index].key, "completeness") == 0)
            completeness = body->event.fields [index].value;
        if (strcmp (body->event.fields [index].key, "refused") == 0)
            refused = body->event.fields [index].value;
    }
    for (int index = 0; completeness && index < PEERS_HEALTH_MAX; index++)
        if (!peers_health [index].source [0]
        ||  strcmp (peers_health [index].source, body->event.source) == 0) {
            snprintf (peers_health [index].source, sizeof (peers_health [index].source), "%s",
                      body->event.source);
            snprintf (peers_health [index].completeness,
                      sizeof (peers_health [index].completeness), "%s", completeness);
            snprintf (peers_health [index].refused, sizeof (peers_health [index].refused), "%s",
                      refused);
            return;
        }
}

//  The last completeness a fetcher reported, or "" if none yet.
static inline const char *
peers_completeness (const char *source)
{
    for (int index = 0; index < PEERS_HEALTH_MAX; index++)
        if (strcmp (peers_health [index].source, source) == 0)
            return peers_health [index].completeness;
    return "";
}

//  The last count of FETCH refused at the door a fetcher reported, or "".
static inline const char *
peers_refused (const char *source)
{
    for (int index = 0; index < PEERS_HEALTH_MAX; index++)
        if (strcmp (peers_health [index].source, source) == 0)
            return peers_health [index].refused;
    return "";
}

//  Appends a breaker_changed EVENT to peers_events.
static inline void
peers_record_event (const gl_msg_t *body)
{
    const char *from = "", *to = "", *reason = "";
    for (size_t index = 0; index < body->event.field_count; index++) {
        const char *key = body->event.fields [index].key;
        const char *value = body->event.fields [index].value;
        if (strcmp (key, "from") == 0)
            from = value;
        if (strcmp (key, "to") == 0)
            to = value;
        if (strcmp (key, "reason") == 0)
            reason = value;
    }
    size_t used = strlen (peers_events);
    snprintf (peers_events + used, sizeof (peers_events) - used, "%s>%s %s;", from, to, reason);
}

//  Records a delivered application message, received by peer socket
//  receiver.
static inline void
peers_record (const char *sender, const gl_msg_t *body, int receiver)
{
    if (body->type == GL_MSG_BARS && body->bars.run_id < PEERS_RUNS_MAX) {
        peers_run_t *run = &peers_runs [body->bars.run_id];
        run->receivers |= 1u << receiver;
        run->bars = (gl_bar_t *) realloc (run->bars, (run->bar_count + body->bars.bar_count + 1)
                                                     * sizeof (gl_bar_t));
        memcpy (run->bars + run->bar_count, body->bars.bars,
                body->bars.bar_count * sizeof (gl_bar_t));
        run->bar_count += body->bars.bar_count;
        run->parts++;
        if (body->bars.last) {
            run->last = true;
            snprintf (run->last_token, sizeof (run->last_token), "%s", body->bars.lease_token);
            run->answered_at = gl_test_now_ms ();
            const char *slash = strchr (sender, '/');
            snprintf (run->instance, sizeof (run->instance), "%s", slash? slash + 1: sender);
            peers_answers++;
        }
    }
    else
    if (body->type == GL_MSG_FAILED && body->failed.run_id < PEERS_RUNS_MAX) {
        peers_run_t *run = &peers_runs [body->failed.run_id];
        snprintf (run->failed, sizeof (run->failed), "%s", body->failed.error_class);
        run->retryable = body->failed.retryable;
        run->retry_after_ms = body->failed.retry_after_ms;
        run->answered_at = gl_test_now_ms ();
        const char *slash = strchr (sender, '/');
        snprintf (run->instance, sizeof (run->instance), "%s", slash? slash + 1: sender);
        run->failures++;
        peers_answers++;
    }
    else
    if (body->type == GL_MSG_EVENT && receiver != 2)
        ;                       //  the scheduler's copy of an event: counted once, at ops
    else
    if (body->type == GL_MSG_EVENT && strcmp (body->event.name, "breaker_changed") == 0)
        peers_record_event (body);
    else
    if (body->type == GL_MSG_EVENT && strcmp (body->event.name, "fetcher_health") == 0)
        peers_record_health (body);
    else
    if (body->type == GL_MSG_EVENT && strcmp (body->event.name, "contract_error") == 0)
        peers_contract_errors++;
    else
    if (body->type == GL_MSG_EVENT && strcmp (body->event.name, "provider_banned") == 0)
        peers_bans_heard++;
}

//  Polls the three peers for up to timeout_ms, handling what comes and
//  heartbeating; gives the credit back for each delivery.
static inline void
peers_poll (int timeout_ms)
{
    static int64_t last_beat;
    if (gl_test_now_ms () - last_beat >= PEERS_HEARTBEAT_MS / 2) {
        last_beat = gl_test_now_ms ();
        for (int index = 0; index < PEERS_MAX; index++)
            if (peers_sockets [index])
                gl_glp_send (peers_sockets [index], GL_WIRE_HEARTBEAT, NULL, NULL);
    }
    zpoller_t *poller = zpoller_new (NULL);
    for (int index = 0; index < PEERS_MAX; index++)
        if (peers_sockets [index])
            zpoller_add (poller, peers_sockets [index]);
    zsock_t *ready = (zsock_t *) zpoller_wait (poller, timeout_ms);
    zpoller_destroy (&poller);
    int receiver = 0;
    while (ready && receiver < PEERS_MAX && peers_sockets [receiver] != ready)
        receiver++;
    if (!ready || receiver == PEERS_MAX)
        return;
    zmsg_t *message = zmsg_recv (ready);
    zframe_t *header = zmsg_pop (message);
    gl_wire_command_t command;
    if (header && gl_wire_header_parse (zframe_data (header), zframe_size (header), &command) == 0
    &&  command == GL_WIRE_DELIVER) {
        char *sender = zmsg_popstr (message);
        zframe_t *frame = zmsg_pop (message);
        char error [GL_MSG_ERROR_MAX];
        gl_msg_t *body = frame? gl_msg_decode (zframe_data (frame), zframe_size (frame), error): NULL;
        if (body && sender)
            peers_record (sender, body, receiver);
        gl_msg_destroy (&body);
        zframe_destroy (&frame);
        free (sender);
        gl_msg_t *credit = gl_msg_new (GL_MSG_CREDIT);
        credit->credit.credit = 1;
        gl_glp_send (ready, GL_WIRE_CREDIT, NULL, credit);
        gl_msg_destroy (&credit);
    }
    zframe_destroy (&header);
    zmsg_destroy (&message);
}

//  Polls until the condition holds or timeout_ms passes; yields it.
#define peers_wait_for(condition, timeout_ms) ({ \
    int64_t deadline_ = gl_test_now_ms () + (timeout_ms); \
    while (!(condition) && gl_test_now_ms () < deadline_) \
        peers_poll (10); \
    (condition); \
})

//  Forgets every run and event.
static inline void
peers_runs_clear (void)
{
    for (int index = 0; index < PEERS_RUNS_MAX; index++)
        free (peers_runs [index].bars);
    memset (peers_runs, 0, sizeof (peers_runs));
    peers_answers = 0;
    peers_events [0] = 0;
    peers_contract_errors = 0;
}

//  Registers peer socket index as service/instance (a fresh DEALER).
static inline void
peers_join (int index, const char *service, const char *instance)
{
    zsock_destroy (&peers_sockets [index]);
    peers_sockets [index] = zsock_new_dealer (peers_endpoint);
    zsock_set_linger (peers_sockets [index], 0);
    gl_msg_t *ready = gl_msg_new (GL_MSG_READY);
    snprintf (ready->ready.service, sizeof (ready->ready.service), "%s", service);
    snprintf (ready->ready.instance, sizeof (ready->ready.instance), "%s", instance);
    ready->ready.credit = 10000;
    gl_glp_send (peers_sockets [index], GL_WIRE_READY, NULL, ready);
    gl_msg_destroy (&ready);
}

//  Unregisters peer socket index (DISCONNECT) and closes it.
static inline void
peers_leave (int index)
{
    if (peers_sockets [index])
        gl_glp_send (peers_sockets [index], GL_WIRE_DISCONNECT, NULL, NULL);
    zsock_destroy (&peers_sockets [index]);
}

//  Starts a broker on a free port and registers the three peers at it.
static inline void
peers_start (void)
{
    gl_process_binary ("broker/gapless-broker", peers_broker_path, sizeof (peers_broker_path));
    gl_process_binary ("actors/fetcher/gapless-fetcher", peers_fetcher_path,
                       sizeof (peers_fetcher_path));
    snprintf (peers_endpoint, sizeof (peers_endpoint), "tcp://127.0.0.1:%d",
              gl_process_free_port ());
    char heartbeat [16];
    snprintf (heartbeat, sizeof (heartbeat), "%d", PEERS_HEARTBEAT_MS);
    char *argv [] = { peers_broker_path, "--bind", peers_endpoint, "--heartbeat-ms", heartbeat,
                      NULL };
    peers_broker = gl_process_start (argv, "broker.log");
    setenv ("GAPLESS_BROKER_HEARTBEAT_MS", heartbeat, 1);
    peers_join (0, "scheduler", "test");
    peers_join (1, "writer", "test");
    peers_join (2, "ops", "test");
}

//  Closes the peers, stops the broker and forgets every run.
static inline void
peers_stop (void)
{
    for (int index = 0; index < PEERS_MAX; index++)
        zsock_destroy (&peers_sockets [index]);
    gl_process_stop (peers_broker, SIGTERM);
    peers_runs_clear ();
}

//  Sends FETCH run_id under lease_token for symbol/timeframe/[from, to)
//  to fetcher.<provider>. Returns false, sending nothing, if the codec
//  refuses to encode it (a codec that bounds times refuses what older
//  ones let through).
static inline bool
peers_fetch_leased (const char *provider, uint64_t run_id, const char *lease_token,
                    const char *symbol, const char *timeframe, int64_t from, int64_t to)
{
    gl_msg_t *fetch = gl_msg_new (GL_MSG_FETCH);
    fetch->fetch.run_id = run_id;
    snprintf (fetch->fetch.lease_token, sizeof (fetch->fetch.lease_token), "%s", lease_token);
    snprintf (fetch->fetch.symbol, sizeof (fetch->fetch.symbol), "%s", symbol);
    snprintf (fetch->fetch.timeframe, sizeof (fetch->fetch.timeframe), "%s", timeframe);
    fetch->fetch.from = from;
    fetch->fetch.to = to;
    fetch->fetch.attempt = 1;
    char service [GL_MSG_NAME_MAX + 1], *data = NULL, error [GL_MSG_ERROR_MAX];
    snprintf (service, sizeof (service), "fetcher.%s", provider);
    size_t size = 0;
    bool valid = gl_msg_encode (fetch, &data, &size, error) == 0;
    free (data);
    if (valid)
        gl_glp_send (peers_sockets [0], GL_WIRE_SEND, service, fetch);
    else
        printf ("peers_fetch: run %" PRIu64 " not sent, the codec refuses it: %s\n", run_id,
                error);
    gl_msg_destroy (&fetch);
    return valid;
}

//  The lease token peers_fetch sends run_id with: a canonical lowercase
//  UUID, as the codec requires.
static inline void
peers_token (uint64_t run_id, unsigned lease, char *token, size_t size)
{
    snprintf (token, size, "00000000-0000-4000-8%03u-%012" PRIu64, lease % 1000,
              run_id % UINT64_C (1000000000000));
}

//  Sends FETCH run_id (its first lease) for symbol/timeframe/[from, to)
//  to fetcher.<provider>; see peers_fetch_leased.
static inline bool
peers_fetch (const char *provider, uint64_t run_id, const char *symbol, const char *timeframe,
             int64_t from, int64_t to)
{
    char token [GL_MSG_NAME_MAX + 1];
    peers_token (run_id, 0, token, sizeof token);
    return peers_fetch_leased (provider, run_id, token, symbol, timeframe, from, to);
}

//  Starts a fetcher for provider, configured by the environment.
static inline pid_t
peers_fetcher_start (const char *provider, const char *instance)
{
    char *argv [] = { peers_fetcher_path, "--provider", (char *) provider,
                      "--broker", peers_endpoint, "--instance", (char *) instance, NULL };
    return gl_process_start (argv, "fetcher.log");
}

//  Starts a fetcher for provider with its own log file (truncated first).
static inline pid_t
peers_fetcher_start_logged (const char *provider, const char *instance, const char *log_path)
{
    FILE *log = fopen (log_path, "w");
    if (log)
        fclose (log);
    char *argv [] = { peers_fetcher_path, "--provider", (char *) provider,
                      "--broker", peers_endpoint, "--instance", (char *) instance, NULL };
    return gl_process_start (argv, log_path);
}

//  How many lines of the file contain text.
static inline int
peers_log_count (const char *log_path, const char *text)
{
    FILE *log = fopen (log_path, "r");
    if (!log)
        return 0;
    char line [4096];
    int count = 0;
    while (fgets (line, sizeof (line), log))
        count += strstr (line, text) != NULL;
    fclose (log);
    return count;
}

//  True if the process is still running (it did not crash).
static inline bool
peers_alive (pid_t pid)
{
    return waitpid (pid, NULL, WNOHANG) == 0;
}

//  Stops a fetcher with SIGTERM; true if it exited 0. The peers go on
//  heartbeating while it exits, so the broker does not find them silent.
static inline bool
peers_fetcher_stop (pid_t pid)
{
    int status = 0;
    if (pid <= 0)
        return false;
    kill (pid, SIGTERM);
    while (waitpid (pid, &status, WNOHANG) == 0)
        peers_poll (10);
    return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

//  POSTs an admin request to the sim and checks it was accepted.
static inline void
peers_sim_admin (gl_simclient_t *sim, const char *path)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("POST", gl_simclient_url (sim, "admin"), path, NULL, 5000, &reply);
    GL_CHECK_INT (reply.status, 200);
    gl_simclient_reply_free (&reply);
}

//  A key's audit in the sim: total requests, over_limit, the peak of the
//  first rule and the count of answers with the given status (-1 where
//  absent).
typedef struct {
    long total, over_limit, peak, with_status;
} peers_audit_t;

//  Reads provider/key's audit from the sim, counting answers of status.
static inline peers_audit_t
peers_sim_audit (gl_simclient_t *sim, const char *provider, const char *key, const char *status)
{
    gl_simclient_reply_t reply;
    gl_simclient_request ("GET", gl_simclient_url (sim, "admin"), "/admin/audit", NULL, 5000,
                          &reply);
    cJSON *document = cJSON_Parse (reply.body);
    gl_simclient_reply_free (&reply);
    cJSON *providers = cJSON_GetObjectItem (document, "providers");
    cJSON *keys = cJSON_GetObjectItem (cJSON_GetObjectItem (providers, provider), "keys");
    cJSON *entry = cJSON_GetObjectItem (keys, key);
    cJSON *total = cJSON_GetObjectItem (entry, "total");
    cJSON *over = cJSON_GetObjectItem (entry, "over_limit");
    cJSON *peak = cJSON_GetObjectItem (cJSON_GetArrayItem (cJSON_GetObjectItem (entry, "peaks"),
                                                           0), "peak");
    cJSON *counted = cJSON_GetObjectItem (cJSON_GetObjectItem (entry, "requests"), status);
    peers_audit_t audit = {
        .total = cJSON_IsNumber (total)? (long) total->valuedouble: -1,
        .over_limit = cJSON_IsNumber (over)? (long) over->valuedouble: -1,
        .peak = cJSON_IsNumber (peak)? (long) peak->valuedouble: -1,
        .with_status = cJSON_IsNumber (counted)? (long) counted->valuedouble: -1,
    };
    cJSON_Delete (document);
    return audit;
}

#endif
