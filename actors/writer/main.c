/*  gapless-writer — the writer actor: takes BARS from fetchers, stores them
    with gl_writer, and after COMMIT sends WRITTEN to the services named in
    writer/notify, and, when ops is one of them, an EVENT batch_written per
    committed batch (rows, slices, duration_ms: ops' batch duration
    histogram). Credit is returned only as held messages are let go, so
    a slow or dead PostgreSQL slows the fetchers instead of dropping bars.
*/
#include "gl_actor.h"
#include "gl_capability.h"
#include "gl_config.h"
#include "gl_settings.h"
#include "gl_log.h"
#include "gl_writer.h"

#define S_NOTIFY_MAX 8
#define S_BACKOFF_FIRST_MS 100
#define S_BACKOFF_MAX_MS 5000
#define S_STATS_MS 10000

typedef struct {
    gl_actor_t *actor;
    gl_writer_t *writer;
    char *notify [S_NOTIFY_MAX];    //  services WRITTEN goes to
    size_t notify_count;
    size_t batch_rows;
    int64_t slice_max_age_ms;
    uint32_t credit;                //  what the broker may have outstanding
    size_t unreturned;              //  deliveries whose credit is not back yet
    int64_t backoff_ms;             //  0 when the last flush worked
    int64_t retry_at_ms;
    int64_t stats_at_ms;
    int64_t max_delay_ms;
    int64_t flushed_at_ms;          //  when the last flush ended
    uint64_t written_bounced;       //  WRITTEN the broker could not deliver
    uint64_t other_bounced;         //  anything else it returned
    bool notify_ops;                //  ops is notified: batch events too
} self_t;

//  Splits "scheduler,coverage" into self->notify.
static int
s_parse_notify (self_t *self, const char *list)
{
    char *copy = strdup (list), *saveptr = NULL;
    for (char *name = strtok_r (copy, ", ", &saveptr); name; name = strtok_r (NULL, ", ", &saveptr)) {
        if (self->notify_count == S_NOTIFY_MAX) {
            free (copy);
            return -1;
        }
        self->notify [self->notify_count++] = strdup (name);
        self->notify_ops |= strcmp (name, "ops") == 0;
    }
    free (copy);
    return 0;
}

//  Gives the broker back the credit of every message no longer held.
static void
s_return_credit (self_t *self)
{
    size_t held = gl_writer_held_messages (self->writer);
    if (self->unreturned > held && gl_actor_credit (self->actor,
                                                    (uint32_t) (self->unreturned - held)) == 0)
        self->unreturned = held;
}

//  Sends each committed slice's WRITTEN to every notified service.
static void
s_send_written (self_t *self)
{
    gl_msg_t *written;
    while ((written = gl_writer_next_written (self->writer))) {
        for (size_t index = 0; index < self->notify_count; index++)
            if (gl_actor_send (self->actor, self->notify [index], written) != 0)
                gl_log_warn ("written_not_sent", "run_id=%" PRIu64 " to=%s",
                             written->written.run_id, self->notify [index]);
        gl_msg_destroy (&written);
    }
}

//  Tells ops what a committed batch held and how long it took.
static void
s_send_batch_event (self_t *self, uint64_t rows, uint64_t slices, int64_t duration_ms)
{
    gl_msg_t *event = gl_msg_new (GL_MSG_EVENT);
    if (!event)
        return;
    char values [3][24];
    snprintf (values [0], 24, "%" PRIu64, rows);
    snprintf (values [1], 24, "%" PRIu64, slices);
    snprintf (values [2], 24, "%" PRId64, duration_ms);
    snprintf (event->event.source, sizeof (event->event.source), "%s",
              gl_actor_address (self->actor));
    snprintf (event->event.name, sizeof (event->event.name), "batch_written");
    event->event.time_ms = zclock_time ();
    gl_msg_add_field (event, "rows", values [0]);
    gl_msg_add_field (event, "slices", values [1]);
    gl_msg_add_field (event, "duration_ms", values [2]);
    if (gl_actor_send (self->actor, "ops", event) != 0)
        gl_log_debug ("event_not_sent", "name=batch_written");
    gl_msg_destroy (&event);
}

//  Flushes unless a failed attempt's backoff is still running.
static void
s_flush (self_t *self, bool force)
{
    if (zclock_mono () < self->retry_at_ms)
        return;
    const gl_writer_stats_t *stats = gl_writer_stats (self->writer);
    uint64_t rows = stats->rows, slices = stats->slices;
    int64_t started_ms = zclock_mono ();
    if (gl_writer_flush (self->writer, force) == 0) {
        self->backoff_ms = 0;
        if (self->notify_ops && (stats->rows > rows || stats->slices > slices))
            s_send_batch_event (self, stats->rows - rows, stats->slices - slices,
                                zclock_mono () - started_ms);
        s_send_written (self);
    }
    else {
        self->backoff_ms = self->backoff_ms? self->backoff_ms * 2: S_BACKOFF_FIRST_MS;
        if (self->backoff_ms > S_BACKOFF_MAX_MS)
            self->backoff_ms = S_BACKOFF_MAX_MS;
        self->retry_at_ms = zclock_mono () + self->backoff_ms;
    }
    self->flushed_at_ms = zclock_mono ();
    s_return_credit (self);
}

//  Flushes when a batch is full, or when every credit is held: then, if
//  no slice is complete, the unfinished slices' parts are written too so
//  the fetchers can send the parts that complete them.
static void
s_flush_if_full (self_t *self)
{
    if (gl_writer_ready_rows (self->writer) >= self->batch_rows)
        s_flush (self, false);
    else
    if (gl_writer_held_messages (self->writer) >= self->credit)
        s_flush (self, gl_writer_ready_slices (self->writer) == 0);
}

//  Takes a bars message into the writer.
static int
s_handle_bars (gl_actor_t *actor, const char *sender, gl_msg_t **message_p, void *argument)
{
    self_t *self = (self_t *) argument;
    self->unreturned++;
    gl_writer_add (self->writer, message_p);
    s_flush_if_full (self);
    s_return_credit (self);
    return 0;
}

//  Counts and logs a message the broker returned. A bounced WRITTEN loses
//  nothing: the slice's rows and its completion are committed, and the
//  scheduler and coverage read the truth from the database; so the writer
//  only says so and goes on.
static void
s_handle_bounce (gl_actor_t *actor, const char *destination, gl_msg_t *message,
                 const char *code, const char *text, void *argument)
{
    self_t *self = (self_t *) argument;
    if (message && message->type == GL_MSG_WRITTEN) {
        self->written_bounced++;
        gl_log_warn ("written_bounced", "run_id=%" PRIu64 " destination=%s code=%s text=\"%s\"",
                     message->written.run_id, destination, code, text);
    }
    else {
        self->other_bounced++;
        gl_log_warn ("message_bounced", "destination=%s code=%s text=\"%s\"", destination,
                     code, text);
    }
}

//  Logs the counters.
static void
s_log_stats (self_t *self)
{
    const gl_writer_stats_t *stats = gl_writer_stats (self->writer);
    gl_log_info ("writer_stats", "messages=%" PRIu64 " refused=%" PRIu64 " slices=%" PRIu64
                 " stale=%" PRIu64 " mismatched=%" PRIu64 " outside_rows=%" PRIu64
                 " rows=%" PRIu64 " inserted=%" PRIu64 " updated=%" PRIu64
                 " revisions=%" PRIu64 " bad_rows=%" PRIu64 " expired=%" PRIu64
                 " failures=%" PRIu64 " reconnects=%" PRIu64 " written_bounced=%" PRIu64
                 " other_bounced=%" PRIu64, stats->messages, stats->refused,
                 stats->slices, stats->stale, stats->mismatched, stats->outside_rows,
                 stats->rows, stats->inserted, stats->updated, stats->revisions,
                 stats->bad_rows, stats->expired, stats->failures, stats->reconnects,
                 self->written_bounced, self->other_bounced);
}

//  The batch timer: writes what is ready, empty slices too (which
//  complete with 0 rows), once max_delay_ms have passed since the last
//  flush ended: at most twice that late.
static int
s_on_timer (zloop_t *loop, int timer_id, void *argument)
{
    self_t *self = (self_t *) argument;
    //  Not right after a flush: what arrived during it is read first, so
    //  a flush that takes longer than the interval does not make every
    //  next one a batch of one or two slices.
    if (gl_writer_ready_slices (self->writer) > 0
    &&  zclock_mono () - self->flushed_at_ms >= self->max_delay_ms)
        s_flush (self, false);
    else
        s_flush_if_full (self);
    if (gl_writer_expire (self->writer) > 0)
        s_return_credit (self);
    if (zclock_mono () >= self->stats_at_ms) {
        s_log_stats (self);
        self->stats_at_ms = zclock_mono () + S_STATS_MS;
    }
    return 0;
}

//  Prints the command-line help.
static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "Usage: gapless-writer [OPTIONS]\n"
        "Stores bars from fetchers in PostgreSQL and tells the scheduler and coverage.\n\n"
        "  -c, --config FILE      ZPL configuration (keys under actor/, bars/, writer/)\n"
        "  -e, --broker ENDPOINT  broker endpoint (default tcp://127.0.0.1:5570)\n"
        "  -i, --instance ID      instance id (default host:pid)\n"
        "  -d, --database URL     PostgreSQL connection (default: as gapless finds it)\n"
        "      --schema NAME      schema (default gapless)\n"
        "      --credit N         messages held at once (default 32)\n"
        "  -h, --help             this help\n\n"
        "Config: writer/batch_rows (50000), writer/max_delay_ms (100),\n"
        "writer/slice_max_age_ms (600000), writer/credit (32),\n"
        "writer/notify (\"scheduler,coverage,ops\"), writer/database, writer/schema; the bar\n"
        "policy bars/grid_1h, bars/grid_4h (clock), bars/adjustment (split).\n"
        "Environment: GAPLESS_<KEY>, DATABASE_URL.\n");
}

//  Reads the writer's settings into self and options.
static int
s_configure (self_t *self, gl_config_t *config, gl_actor_options_t *options,
             int64_t *max_delay_ms, char *error)
{
    int64_t credit, heartbeat_ms, batch_rows, slice_max_age_ms;
    if (gl_config_int (config, "writer/credit", 32, 1, 10000, &credit, error)
    ||  gl_config_int (config, "writer/batch_rows", 50000, 1, 10000000, &batch_rows, error)
    ||  gl_config_int (config, "writer/max_delay_ms", 100, 1, 60000, max_delay_ms, error)
    ||  gl_config_int (config, "writer/slice_max_age_ms", 600000, 1, 86400000,
                       &slice_max_age_ms, error)
    ||  gl_config_int (config, "broker/heartbeat_ms", 1000, 10, 600000, &heartbeat_ms, error)
    ||  gl_capability_configure (config, error))
        return -1;
    if (s_parse_notify (self, gl_config_get (config, "writer/notify", "scheduler,coverage,ops"))) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: writer/notify: expected at most %d services",
                  S_NOTIFY_MAX);
        return -1;
    }
    if (gl_actor_options_configure (options, config, error) != 0)
        return -1;
    options->credit = (uint32_t) credit;
    options->heartbeat_ms = (uint32_t) heartbeat_ms;
    options->manual_credit = true;
    self->credit = (uint32_t) credit;
    self->batch_rows = (size_t) batch_rows;
    self->slice_max_age_ms = slice_max_age_ms;
    return 0;
}

//  Parses flags and configuration, then runs the actor until SIGTERM.
int
main (int argc, char **argv)
{
    static const gl_actor_flag_t extra [] = { { "credit", "writer/credit" }, { NULL, NULL } };
    gl_actor_options_t options = { .service = "writer" };
    int status = 2;
    gl_config_t *config = gl_actor_command_line (argc, argv, "writer", extra, s_usage, &options,
                                                 &status);
    if (!config)
        return status;
    if (gl_settings_check_start (config, "writer") != 0) {
        gl_config_destroy (&config);
        return 2;
    }
    char error [GL_CONFIG_ERROR_MAX];
    self_t self = { 0 };
    int64_t max_delay_ms = 0;
    if (s_configure (&self, config, &options, &max_delay_ms, error) == -1)
        fprintf (stderr, "gapless-writer: %s\n", error);
    else {
        gl_writer_options_t writer_options = { .batch_rows = self.batch_rows,
                                               .slice_max_age_ms = self.slice_max_age_ms };
        self.writer = gl_writer_new (gl_config_get (config, "writer/database", NULL),
                                     gl_config_get (config, "writer/schema", NULL),
                                     &writer_options);
        if (self.writer && gl_writer_check_policy (self.writer, error) == -1)
            fprintf (stderr, "gapless-writer: %s\n", error);
        else
            self.actor = self.writer? gl_actor_new (&options): NULL;
    }
    if (self.actor) {
        self.stats_at_ms = zclock_mono () + S_STATS_MS;
        gl_actor_on (self.actor, GL_MSG_BARS, s_handle_bars, &self);
        gl_actor_on_bounce (self.actor, s_handle_bounce, &self);
        gl_actor_on_reload (self.actor, gl_settings_on_reload, config);
        self.max_delay_ms = max_delay_ms;
        zloop_timer (gl_actor_loop (self.actor), (size_t) max_delay_ms, 0, s_on_timer, &self);
        //  -1: another connection took this instance's address
        int run = gl_actor_run (self.actor);
        //  What is complete still lands; the rest was never acknowledged.
        if (gl_writer_flush (self.writer, false) == 0)
            s_send_written (&self);
        s_log_stats (&self);
        status = run == 0? 0: 1;
    }
    gl_actor_destroy (&self.actor);
    gl_writer_destroy (&self.writer);
    for (size_t index = 0; index < self.notify_count; index++)
        free (self.notify [index]);
    gl_config_destroy (&config);
    return status;
}
