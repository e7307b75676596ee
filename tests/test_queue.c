/*  test_queue — the job queue functions against a real PostgreSQL:
    enqueue is idempotent, claim takes the best runnable slices with a
    fresh lease, complete/fail/extend are fenced by the lease token, fail
    backs off or dead-letters, rescue takes back expired leases, cancel,
    requeue and purge, the writer's one-transaction pattern, and two
    connections claiming at once never get the same slice.
*/
#include "gl_test.h"
#include "gl_db.h"
#include "gl_testdb.h"

#include <pthread.h>
#include <stdlib.h>

#define RACE_SLICES 400

//  Runs a query with text parameters; returns the result or NULL (printed).
static PGresult *
s_query (gl_db_t *db, const char *sql, int count, const char *const *values)
{
    PGresult *result = PQexecParams (gl_db_conn (db), sql, count, NULL, values, NULL, NULL, 0);
    if (PQresultStatus (result) != PGRES_TUPLES_OK) {
        fprintf (stderr, "query failed: %s: %s", sql, PQresultErrorMessage (result));
        PQclear (result);
        return NULL;
    }
    return result;
}

//  Returns the one value of a query, copied into buffer ("" for NULL,
//  "<error>" on failure).
static const char *
s_value (gl_db_t *db, char *buffer, size_t size, const char *sql,
         int count, const char *const *values)
{
    PGresult *result = s_query (db, sql, count, values);
    if (result && PQntuples (result) == 1)
        snprintf (buffer, size, "%s", PQgetvalue (result, 0, 0));
    else
        snprintf (buffer, size, "<error>");
    PQclear (result);
    return buffer;
}

//  Shorthand: the one value of a query without parameters.
#define VALUE(db, sql) s_value ((db), (char [256]) { 0 }, 256, (sql), 0, NULL)

//  One claimed slice.
typedef struct {
    char id [32];
    char token [64];
} lease_t;

//  Claims up to limit slices for owner; fills leases; returns how many.
static int
s_claim (gl_db_t *db, const char *owner, int limit, double lease_seconds,
         lease_t *leases)
{
    char limit_text [16], seconds_text [32];
    snprintf (limit_text, sizeof limit_text, "%d", limit);
    snprintf (seconds_text, sizeof seconds_text, "%g", lease_seconds);
    const char *values [] = { owner, limit_text, seconds_text };
    PGresult *result = s_query (db,
        "SELECT id, lease_token FROM queue_claim($1, $2, $3) ORDER BY priority DESC, id",
        3, values);
    if (!result)
        return -1;
    int count = PQntuples (result);
    for (int row = 0; row < count; row++) {
        snprintf (leases [row].id, sizeof leases [row].id, "%s", PQgetvalue (result, row, 0));
        snprintf (leases [row].token, sizeof leases [row].token, "%s", PQgetvalue (result, row, 1));
    }
    PQclear (result);
    return count;
}

//  Enqueues a 1m slice of symbol on day (1..28 Jan 2025); returns its id or "".
static const char *
s_enqueue (gl_db_t *db, char *id, const char *symbol, int day, int priority,
           int max_attempts)
{
    char from [32], to [32], priority_text [16], attempts_text [16];
    snprintf (from, sizeof from, "2025-01-%02d 14:30Z", day);
    snprintf (to, sizeof to, "2025-01-%02d 21:00Z", day);
    snprintf (priority_text, sizeof priority_text, "%d", priority);
    snprintf (attempts_text, sizeof attempts_text, "%d", max_attempts);
    const char *values [] = { symbol, from, to, priority_text, attempts_text };
    return s_value (db, id, 32,
        "SELECT queue_enqueue($1, '1m', $2, $3, $4, $5)", 5, values);
}

//  Calls a fenced function "name(id, token, ...rest)"; returns "t", "f" or "<error>".
static const char *
s_fenced (gl_db_t *db, char *answer, const char *call, const lease_t *lease)
{
    const char *values [] = { lease->id, lease->token };
    return s_value (db, answer, 16, call, 2, values);
}

//  The status of run id.
static const char *
s_status (gl_db_t *db, char *status, const char *id)
{
    const char *values [] = { id };
    return s_value (db, status, 32, "SELECT status FROM job_runs WHERE id = $1", 1, values);
}

//  Enqueue is idempotent over symbol|timeframe|from|to.
static void
s_test_enqueue (gl_db_t *db)
{
    char first [32], again [32];
    s_enqueue (db, first, "AAPL", 2, 0, 5);
    GL_CHECK (atol (first) > 0);
    s_enqueue (db, again, "AAPL", 2, 9, 5);
    GL_CHECK_STR (again, "");
    GL_CHECK_STR (VALUE (db, "SELECT count(*) FROM job_runs"), "1");
    GL_CHECK_STR (VALUE (db, "SELECT idx_hash = md5('AAPL|1m|1735828200|1735851600') "
                             "FROM job_runs"), "t");
}

//  Claim: highest priority first, then oldest; a fresh lease each time.
static void
s_test_claim_order (gl_db_t *db)
{
    char low [32], high [32], newer [32];
    s_enqueue (db, low, "MSFT", 2, 0, 5);
    s_enqueue (db, high, "MSFT", 3, 7, 5);
    s_enqueue (db, newer, "MSFT", 6, 0, 5);
    lease_t leases [4];
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, leases), 1);
    GL_CHECK_STR (leases [0].id, high);
    GL_CHECK_INT (s_claim (db, "scheduler.1", 2, 60, leases), 2);
    //  The AAPL slice of s_test_enqueue is older than both MSFT ones
    GL_CHECK_STR (VALUE (db, "SELECT string_agg(symbol || ' ' || lease_owner, ',' ORDER BY id) "
                             "FROM job_runs WHERE status = 'running' AND priority = 0"),
                  "AAPL scheduler.1,MSFT scheduler.1");
    GL_CHECK_STR (VALUE (db, "SELECT bool_and(lease_expires_at > now() + interval '59 s' "
                             "AND started_at IS NOT NULL) FROM job_runs WHERE status = 'running'"),
                  "t");
    GL_CHECK_STR (VALUE (db, "SELECT count(DISTINCT lease_token) FROM job_runs"), "3");
    GL_CHECK_INT (s_claim (db, "scheduler.1", 5, 60, leases), 1);
    GL_CHECK_STR (leases [0].id, newer);
    GL_CHECK_INT (s_claim (db, "scheduler.1", 5, 60, leases), 0);
    GL_CHECK_STR (VALUE (db, "SELECT count(*) FROM queue_claim('', 1, 60)"), "<error>");
    GL_CHECK_STR (VALUE (db, "SELECT count(*) FROM queue_claim('x', 0, 60)"), "<error>");
    GL_CHECK_STR (VALUE (db, "SELECT count(*) FROM queue_claim('x', 1, 0)"), "<error>");
    GL_CHECK_INT (gl_db_exec (db, "DELETE FROM job_runs"), 0);
}

//  Complete is fenced: the live token wins once, any other changes nothing.
static void
s_test_complete (gl_db_t *db)
{
    char id [32], answer [16], status [32];
    s_enqueue (db, id, "IBM", 2, 0, 5);
    lease_t lease;
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, &lease), 1);
    lease_t forged = lease;
    snprintf (forged.token, sizeof forged.token, "00000000-0000-4000-8000-000000000000");
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_complete($1, $2, 390)", &forged), "f");
    GL_CHECK_STR (s_status (db, status, id), "running");
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_extend($1, $2, 120)", &forged), "f");
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_extend($1, $2, 120)", &lease), "t");
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_complete($1, $2, -1)", &lease), "<error>");
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_complete($1, $2, 390)", &lease), "t");
    GL_CHECK_STR (s_status (db, status, id), "succeeded");
    GL_CHECK_STR (VALUE (db, "SELECT rows_written || ' ' || (lease_token IS NULL) || ' ' "
                             "|| (finished_at IS NOT NULL) FROM job_runs"), "390 true true");
    //  A repeated delivery of the same attempt
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_complete($1, $2, 5)", &lease), "f");
    GL_CHECK_STR (s_fenced (db, answer,
        "SELECT queue_fail($1, $2, 'http_500', 'late', true)", &lease), "f");
    GL_CHECK_STR (VALUE (db, "SELECT rows_written FROM job_runs"), "390");
    GL_CHECK_INT (gl_db_exec (db, "DELETE FROM job_runs"), 0);
}

//  Fail: retryable backs off (with jitter, or retry-after); fatal or
//  out of attempts is dead, visible in dead_letters.
static void
s_test_fail (gl_db_t *db)
{
    char retried [32], fatal [32], answer [16], status [32];
    s_enqueue (db, retried, "TSLA", 2, 0, 2);
    lease_t lease;
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, &lease), 1);
    GL_CHECK_STR (s_fenced (db, answer,
        "SELECT queue_fail($1, $2, 'http_503', 'unavailable', true)", &lease), "t");
    GL_CHECK_STR (s_status (db, status, retried), "failed_will_retry");
    //  First retry waits 10 s times a jitter factor in [0.5, 1)
    GL_CHECK_STR (VALUE (db, "SELECT attempt || ' ' || (next_attempt_at - updated_at >= interval '5 s') "
                             "|| ' ' || (next_attempt_at - updated_at < interval '10 s') FROM job_runs"),
                  "1 true true");
    lease_t none [1];
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, none), 0);
    //  Time passes: the retry is due
    GL_CHECK_INT (gl_db_exec (db, "UPDATE job_runs SET next_attempt_at = now() - interval '1 s'"), 0);
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, &lease), 1);
    GL_CHECK_STR (lease.id, retried);
    GL_CHECK_STR (s_fenced (db, answer,
        "SELECT queue_fail($1, $2, 'http_503', 'still unavailable', true)", &lease), "t");
    GL_CHECK_STR (s_status (db, status, retried), "dead");
    GL_CHECK_STR (VALUE (db, "SELECT attempt || ' ' || error_class || ' ' || error_message "
                             "FROM dead_letters"), "2 http_503 still unavailable");

    s_enqueue (db, fatal, "TSLA", 3, 0, 5);
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, &lease), 1);
    GL_CHECK_STR (s_fenced (db, answer,
        "SELECT queue_fail($1, $2, 'bad_symbol', 'unknown ticker', false)", &lease), "t");
    GL_CHECK_STR (s_status (db, status, fatal), "dead");

    char delayed [32];
    s_enqueue (db, delayed, "TSLA", 6, 0, 5);
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, &lease), 1);
    GL_CHECK_STR (s_fenced (db, answer,
        "SELECT queue_fail($1, $2, 'rate_limited', '429', true, 600)", &lease), "t");
    GL_CHECK_STR (VALUE (db, "SELECT next_attempt_at - updated_at >= interval '600 s' "
                             "FROM job_runs WHERE status = 'failed_will_retry'"), "t");
    GL_CHECK_STR (VALUE (db, "SELECT count(*) FROM dead_letters"), "2");
    GL_CHECK_INT (gl_db_exec (db, "DELETE FROM job_runs"), 0);
}

//  Backoff doubles per attempt up to an hour, always with jitter below it.
static void
s_test_backoff (gl_db_t *db)
{
    GL_CHECK_STR (VALUE (db, "SELECT bool_and(queue_backoff(n) >= make_interval(secs => "
                             "least(3600, 10 * 2 ^ (n - 1)) / 2) AND queue_backoff(n) < "
                             "make_interval(secs => least(3600, 10 * 2 ^ (n - 1)))) "
                             "FROM generate_series(1, 30) AS n, generate_series(1, 20)"), "t");
}

//  Rescue: expired leases go back to queued with attempt + 1, or dead;
//  the old token is then stale.
static void
s_test_rescue (gl_db_t *db)
{
    char expired [32], live [32], last [32], answer [16], status [32];
    s_enqueue (db, expired, "NVDA", 2, 0, 5);
    s_enqueue (db, live, "NVDA", 3, 0, 5);
    s_enqueue (db, last, "NVDA", 6, 0, 1);
    lease_t leases [3];
    GL_CHECK_INT (s_claim (db, "fetcher.polygon.1", 3, 60, leases), 3);
    GL_CHECK_STR (VALUE (db, "SELECT queue_rescue()"), "0");
    //  The leases of two slices run out
    const char *values [] = { expired, last };
    PQclear (s_query (db, "UPDATE job_runs SET lease_expires_at = now() - interval '1 s' "
                          "WHERE id IN ($1, $2) RETURNING id", 2, values));
    GL_CHECK_STR (VALUE (db, "SELECT queue_rescue()"), "2");
    GL_CHECK_STR (s_status (db, status, expired), "queued");
    GL_CHECK_STR (s_status (db, status, live), "running");
    GL_CHECK_STR (s_status (db, status, last), "dead");
    GL_CHECK_STR (VALUE (db, "SELECT attempt || ' ' || error_class || ' ' || (lease_token IS NULL) "
                             "FROM job_runs WHERE symbol = 'NVDA' AND status = 'queued'"),
                  "1 lease_expired true");
    GL_CHECK_STR (VALUE (db, "SELECT error_message LIKE 'lease of fetcher.polygon.1 expired%' "
                             "FROM dead_letters"), "t");
    //  The late fetcher of the rescued attempt is fenced off
    for (int index = 0; index < 3; index++) {
        if (strcmp (leases [index].id, expired) == 0) {
            GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_complete($1, $2, 1)",
                                    &leases [index]), "f");
            GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_extend($1, $2, 60)",
                                    &leases [index]), "f");
        }
    }
    GL_CHECK_STR (s_status (db, status, expired), "queued");
    GL_CHECK_INT (gl_db_exec (db, "DELETE FROM job_runs"), 0);
}

//  A rescue while a writer's transaction holds the slice skips it, and
//  the writer's commit stands, even though the lease had run out.
static void
s_test_rescue_during_write (gl_db_t *db)
{
    char id [32], answer [16], status [32];
    s_enqueue (db, id, "QQQ", 2, 0, 5);
    lease_t lease;
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, &lease), 1);
    GL_CHECK_INT (gl_db_exec (db, "UPDATE job_runs SET lease_expires_at = now() - interval '1 s'"), 0);
    gl_db_t *writer = gl_db_new (NULL, gl_db_schema (db));
    GL_CHECK (writer != NULL);
    if (!writer)
        return;
    GL_CHECK_INT (gl_db_exec (writer, "BEGIN"), 0);
    GL_CHECK_STR (s_fenced (writer, answer, "SELECT queue_complete($1, $2, 390)", &lease), "t");
    GL_CHECK_STR (VALUE (db, "SELECT queue_rescue()"), "0");
    GL_CHECK_INT (gl_db_exec (writer, "COMMIT"), 0);
    GL_CHECK_STR (s_status (db, status, id), "succeeded");
    GL_CHECK_STR (VALUE (db, "SELECT queue_rescue()"), "0");
    gl_db_destroy (&writer);
    GL_CHECK_INT (gl_db_exec (db, "DELETE FROM job_runs"), 0);
}

//  Cancel drops the lease; requeue revives dead and cancelled; purge
//  deletes dead letters so their range can be enqueued afresh.
static void
s_test_cancel_requeue_purge (gl_db_t *db)
{
    char running [32], dead [32], answer [16], status [32];
    s_enqueue (db, running, "AMD", 2, 5, 5);
    s_enqueue (db, dead, "AMD", 3, 0, 5);
    lease_t leases [2];
    GL_CHECK_INT (s_claim (db, "scheduler.1", 2, 60, leases), 2);
    GL_CHECK_STR (leases [0].id, running);
    const char *values [] = { running };
    GL_CHECK_STR (s_value (db, answer, 16, "SELECT queue_cancel($1)", 1, values), "t");
    GL_CHECK_STR (s_value (db, answer, 16, "SELECT queue_cancel($1)", 1, values), "f");
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_complete($1, $2, 1)", &leases [0]), "f");
    GL_CHECK_STR (s_status (db, status, running), "cancelled");
    GL_CHECK_STR (s_fenced (db, answer,
        "SELECT queue_fail($1, $2, 'parse', 'garbage', false)", &leases [1]), "t");

    const char *dead_values [] = { dead };
    GL_CHECK_STR (s_value (db, answer, 16, "SELECT queue_requeue($1)", 1, dead_values), "t");
    GL_CHECK_STR (s_value (db, answer, 16, "SELECT queue_requeue($1)", 1, dead_values), "f");
    GL_CHECK_STR (VALUE (db, "SELECT status || ' ' || attempt || ' ' || error_class "
                             "FROM job_runs WHERE symbol = 'AMD' AND slice_from::date = '2025-01-03'"),
                  "queued 0 parse");
    GL_CHECK_STR (s_value (db, answer, 16, "SELECT queue_requeue($1)", 1, values), "t");

    //  Kill both again, then purge one and the rest
    GL_CHECK_INT (s_claim (db, "scheduler.1", 2, 60, leases), 2);
    for (int index = 0; index < 2; index++)
        GL_CHECK_STR (s_fenced (db, answer,
            "SELECT queue_fail($1, $2, 'parse', 'garbage', false)", &leases [index]), "t");
    GL_CHECK_STR (VALUE (db, "SELECT count(*) FROM dead_letters"), "2");
    GL_CHECK_STR (s_value (db, answer, 16, "SELECT queue_purge($1)", 1, dead_values), "1");
    GL_CHECK_STR (VALUE (db, "SELECT queue_purge()"), "1");
    GL_CHECK_STR (VALUE (db, "SELECT count(*) FROM job_runs"), "0");
    char again [32];
    s_enqueue (db, again, "AMD", 3, 0, 5);
    GL_CHECK (atol (again) > 0);
    GL_CHECK_INT (gl_db_exec (db, "DELETE FROM job_runs"), 0);
}

//  The writer's pattern: complete and bars in one transaction; a stale
//  token rolls the bars back with it.
static void
s_test_writer_transaction (gl_db_t *db)
{
    char id [32], answer [16];
    s_enqueue (db, id, "SPY", 2, 0, 5);
    lease_t lease;
    GL_CHECK_INT (s_claim (db, "scheduler.1", 1, 60, &lease), 1);
    lease_t stale = lease;
    snprintf (stale.token, sizeof stale.token, "11111111-1111-4111-8111-111111111111");
    const char *insert =
        "INSERT INTO ohlc_bars (symbol, timeframe, ts, provider, open, high, low, close, volume) "
        "VALUES ('SPY', '1m', '2025-01-02 14:30Z', 'polygon', 10, 11, 9, 10.5, 100)";
    GL_CHECK_INT (gl_db_exec (db, "BEGIN"), 0);
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_complete($1, $2, 1)", &stale), "f");
    GL_CHECK_INT (gl_db_exec (db, "ROLLBACK"), 0);
    GL_CHECK_INT (gl_db_exec (db, "BEGIN"), 0);
    GL_CHECK_STR (s_fenced (db, answer, "SELECT queue_complete($1, $2, 1)", &lease), "t");
    GL_CHECK_INT (gl_db_exec (db, insert), 0);
    GL_CHECK_INT (gl_db_exec (db, "COMMIT"), 0);
    GL_CHECK_STR (VALUE (db, "SELECT count(*) || ' ' || min(status) FROM ohlc_bars, job_runs"),
                  "1 succeeded");
    GL_CHECK_INT (gl_db_exec (db, "DELETE FROM job_runs; DELETE FROM ohlc_bars"), 0);
}

typedef struct {
    const char *schema;
    const char *owner;
    long base;                  //  Smallest slice id
    int claimed;
    int completed;
    int errors;
    unsigned char *seen;        //  Shared: times each slice id was claimed
    pthread_mutex_t *lock;
} claimer_t;

//  One scheduler: claims small batches on its own connection until the
//  queue is empty, completing each slice with its token.
static void *
s_claimer (void *arg)
{
    claimer_t *self = (claimer_t *) arg;
    gl_db_t *db = gl_db_new (NULL, self->schema);
    if (!db) {
        self->errors++;
        return NULL;
    }
    lease_t leases [7];
    int count;
    while ((count = s_claim (db, self->owner, 7, 60, leases)) > 0) {
        for (int index = 0; index < count; index++) {
            long slot = atol (leases [index].id) - self->base;
            pthread_mutex_lock (self->lock);
            if (slot >= 0 && slot < RACE_SLICES)
                self->seen [slot]++;
            else
                self->errors++;
            pthread_mutex_unlock (self->lock);
            char answer [16];
            if (strcmp (s_fenced (db, answer, "SELECT queue_complete($1, $2, 1)",
                                  &leases [index]), "t") == 0)
                self->completed++;
        }
        self->claimed += count;
    }
    if (count == -1)
        self->errors++;
    gl_db_destroy (&db);
    return NULL;
}

//  Two connections claiming in a loop never get the same slice.
static void
s_test_concurrent_claims (gl_db_t *db)
{
    GL_CHECK_STR (VALUE (db,
        "SELECT count(queue_enqueue('RACE' || n, '5m', '2025-01-06 14:30Z', "
        "'2025-01-11 21:00Z', n % 3)) FROM generate_series(1, 400) AS n"), "400");
    GL_CHECK_STR (VALUE (db, "SELECT max(id) - min(id) FROM job_runs"), "399");
    long base = atol (VALUE (db, "SELECT min(id) FROM job_runs"));
    unsigned char seen [RACE_SLICES] = { 0 };
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    claimer_t claimers [2] = {
        { gl_db_schema (db), "scheduler.a", base, 0, 0, 0, seen, &lock },
        { gl_db_schema (db), "scheduler.b", base, 0, 0, 0, seen, &lock },
    };
    pthread_t threads [2];
    for (int index = 0; index < 2; index++)
        GL_CHECK_INT (pthread_create (&threads [index], NULL, s_claimer, &claimers [index]), 0);
    for (int index = 0; index < 2; index++)
        pthread_join (threads [index], NULL);
    GL_CHECK_INT (claimers [0].errors + claimers [1].errors, 0);
    GL_CHECK_INT (claimers [0].claimed + claimers [1].claimed, RACE_SLICES);
    GL_CHECK_INT (claimers [0].completed + claimers [1].completed, RACE_SLICES);
    int once = 0;
    for (int index = 0; index < RACE_SLICES; index++)
        once += seen [index] == 1;
    GL_CHECK_INT (once, RACE_SLICES);
    GL_CHECK_STR (VALUE (db, "SELECT count(*) FROM job_runs WHERE status = 'succeeded'"), "400");
    printf ("claims: scheduler.a %d, scheduler.b %d\n", claimers [0].claimed, claimers [1].claimed);
}

int
main (void)
{
    gl_db_t *db = gl_testdb_new ("queue");
    GL_CHECK (db != NULL);
    if (!db)
        return gl_test_done ("test_queue");
    s_test_enqueue (db);
    s_test_claim_order (db);
    s_test_complete (db);
    s_test_fail (db);
    s_test_backoff (db);
    s_test_rescue (db);
    s_test_rescue_during_write (db);
    s_test_cancel_requeue_purge (db);
    s_test_writer_transaction (db);
    s_test_concurrent_claims (db);
    gl_db_destroy (&db);
    return gl_test_done ("test_queue");
}
