/*  gl_ops_catalog — the metrics ops exports, and how each is made.  */
#include "gl_ops_catalog.h"
#include "gl_capability.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const double s_duration_buckets [] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                               5, 10 };
static const double s_publish_buckets [] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1, 0.25, 0.5, 1 };

void
gl_ops_catalog_declare (gl_ops_metrics_t *metrics)
{
    double latency [GL_OPS_LATENCY_BUCKETS];
    for (size_t index = 0; index < GL_OPS_LATENCY_BUCKETS; index++)
        latency [index] = (double) gl_ops_latency_bounds [index] / 1000;
    static const struct { const char *name; gl_ops_metric_kind_t kind; const char *help; } list [] = {
        { "gapless_provider_selections_total", GL_OPS_COUNTER, "Slices sent to a provider's fetchers (FETCH received)." },
        { "gapless_provider_requests_total", GL_OPS_COUNTER, "HTTP requests sent to a provider." },
        { "gapless_provider_errors_total", GL_OPS_COUNTER, "FAILED answers by provider, endpoint and error class." },
        { "gapless_provider_breaker_state", GL_OPS_GAUGE, "1 for the state a provider's circuit breaker is in." },
        { "gapless_provider_health_score", GL_OPS_GAUGE, "The routing health score H of a provider, 0 to 1." },
        { "gapless_provider_health_term", GL_OPS_GAUGE, "The four terms of H (breaker, latency, errors, completeness), 0 to 1." },
        { "gapless_provider_rate_limit_use_ratio", GL_OPS_GAUGE, "Requests per second lately over the tightest configured limit." },
        { "gapless_provider_rate_limit_requests_per_second", GL_OPS_GAUGE, "Requests per second a provider was sent lately, all instances." },
        { "gapless_provider_rate_limit_limit_requests_per_second", GL_OPS_GAUGE, "The tightest configured rule of a provider, in requests per second." },
        { "gapless_provider_over_limit_answers_total", GL_OPS_COUNTER, "Over-limit answers of a provider (429, or 403 with Retry-After)." },
        { "gapless_provider_bans_total", GL_OPS_COUNTER, "Bans of a provider's credential (403 with Retry-After) reported by fetchers." },
        { "gapless_provider_in_flight_requests", GL_OPS_GAUGE, "HTTP requests in flight at a provider." },
        { "gapless_provider_in_flight_slices", GL_OPS_GAUGE, "Slices running at a provider (PostgreSQL)." },
        { "gapless_provider_slow_requests_total", GL_OPS_COUNTER, "Provider calls slower than ops/slow_ms." },
        { "gapless_jobs_processed_total", GL_OPS_COUNTER, "Slices finished, by type (freshness, window, request), timeframe, provider and status (PostgreSQL; a dlq purge lowers it)." },
        { "gapless_gaps_found_total", GL_OPS_COUNTER, "Gaps the coverage tracker found, by timeframe." },
        { "gapless_ingestion_lag_seconds", GL_OPS_GAUGE, "Now minus the end of the newest slice written, by timeframe." },
        { "gapless_writer_rows_total", GL_OPS_COUNTER, "Rows the writers committed." },
        { "gapless_backfill_slices_enqueued_total", GL_OPS_COUNTER, "Slices in the queue's history by tier (PostgreSQL; a dlq purge lowers it)." },
        { "gapless_backfill_slices_completed_total", GL_OPS_COUNTER, "Slices that ended, by tier and status (succeeded, dead, cancelled)." },
        { "gapless_queue_depth", GL_OPS_GAUGE, "Slices waiting to run (queued or retrying), by priority and tier." },
        { "gapless_queue_oldest_age_seconds", GL_OPS_GAUGE, "Age of the oldest slice waiting to run, by tier." },
        { "gapless_backfills", GL_OPS_GAUGE, "Backfills ops publishes, by status." },
        { "gapless_service_instances", GL_OPS_GAUGE, "Live instances of a service (broker MEMBERSHIP)." },
        { "gapless_slo_gap_violation_rate", GL_OPS_GAUGE, "Share of sampled ranges with a gap, by tier and timeframe (coverage)." },
        { "gapless_market_open", GL_OPS_GAUGE, "1 during a regular session of the exchange calendar." },
        { "gapless_ops_subscribers", GL_OPS_GAUGE, "Subscribers connected to the ops publisher." },
        { "gapless_ops_published_messages_total", GL_OPS_COUNTER, "Messages published, by topic prefix." },
        { "gapless_ops_dropped_messages_total", GL_OPS_COUNTER, "Messages not published: a subscriber's queue was full." },
        { "gapless_ops_events_total", GL_OPS_COUNTER, "EVENTs received, by name." },
        { "gapless_ops_refused_messages_total", GL_OPS_COUNTER, "Deliveries ops refused (malformed, unknown type, bad fields)." },
        { "gapless_ops_broker_up", GL_OPS_GAUGE, "1 while ops is registered with the broker." },
        { "gapless_ops_database_up", GL_OPS_GAUGE, "1 while ops' last PostgreSQL query worked." },
    };
    for (size_t index = 0; index < sizeof list / sizeof list [0]; index++)
        gl_ops_metrics_declare (metrics, list [index].name, list [index].kind, list [index].help,
                                NULL, 0);
    gl_ops_metrics_declare (metrics, "gapless_provider_request_duration_seconds", GL_OPS_HISTOGRAM,
                            "Provider call latency.", latency, GL_OPS_LATENCY_BUCKETS);
    gl_ops_metrics_declare (metrics, "gapless_writer_batch_duration_seconds", GL_OPS_HISTOGRAM,
                            "Time a writer batch took to commit.", s_duration_buckets,
                            sizeof s_duration_buckets / sizeof s_duration_buckets [0]);
    gl_ops_metrics_declare (metrics, "gapless_ops_publish_latency_seconds", GL_OPS_HISTOGRAM,
                            "From what triggered a publication (a WRITTEN, a tick) to its send.",
                            s_publish_buckets, sizeof s_publish_buckets / sizeof s_publish_buckets [0]);
}

void
gl_ops_catalog_provider (gl_ops_metrics_t *metrics, const gl_ops_provider_view_t *view,
                         int64_t in_flight_slices)
{
    const char *labels [] = { "provider", view->provider, NULL };
    gl_ops_metrics_set (metrics, "gapless_provider_selections_total", labels, (double) view->fetches);
    gl_ops_metrics_set (metrics, "gapless_provider_requests_total", labels, (double) view->requests);
    gl_ops_metrics_set (metrics, "gapless_provider_over_limit_answers_total", labels,
                        (double) view->over_limit);
    gl_ops_metrics_set (metrics, "gapless_provider_slow_requests_total", labels, (double) view->slow);
    gl_ops_metrics_set (metrics, "gapless_provider_health_score", labels, view->score);
    gl_ops_metrics_set (metrics, "gapless_provider_in_flight_requests", labels,
                        (double) view->in_flight);
    gl_ops_metrics_set (metrics, "gapless_provider_rate_limit_requests_per_second", labels,
                        view->used_per_s);
    gl_ops_metrics_set (metrics, "gapless_provider_rate_limit_limit_requests_per_second", labels,
                        view->limit_per_s);
    gl_ops_metrics_set (metrics, "gapless_provider_rate_limit_use_ratio", labels,
                        view->limit_per_s > 0? view->used_per_s / view->limit_per_s: 0);
    gl_ops_metrics_set (metrics, "gapless_provider_in_flight_slices", labels,
                        (double) (in_flight_slices > 0? in_flight_slices: 0));
    gl_ops_metrics_set_histogram (metrics, "gapless_provider_request_duration_seconds", labels,
                                  view->latency, (double) view->latency_sum_ms / 1000);
    //  One series per endpoint the provider serves through: the intraday
    //  one, and the daily one where it is another (Tradier's history)
    gl_provider_t provider = gl_capability_parse_name (view->provider);
    const char *endpoints [2] = { gl_capability_endpoint (provider, GL_TF_1M),
                                  gl_capability_endpoint (provider, GL_TF_1D) };
    bool apart = strcmp (endpoints [0], endpoints [1]) != 0;
    for (int endpoint = 0; endpoint < (apart? 2: 1); endpoint++)
        for (size_t index = 0; index < GL_OPS_ERROR_CLASSES; index++) {
            const char *error_labels [] = { "provider", view->provider, "endpoint",
                                            endpoints [endpoint], "class",
                                            gl_ops_error_classes [index], NULL };
            uint64_t count = apart? view->endpoint_errors [endpoint][index]: view->errors [index];
            gl_ops_metrics_set (metrics, "gapless_provider_errors_total", error_labels,
                                (double) count);
        }
    static const char *states [] = { "closed", "half_open", "open" };
    for (size_t index = 0; index < 3; index++) {
        const char *state_labels [] = { "provider", view->provider, "state", states [index], NULL };
        gl_ops_metrics_set (metrics, "gapless_provider_breaker_state", state_labels,
                            strcmp (view->breaker, states [index]) == 0);
    }
    const struct { const char *name; double value; } terms [] = {
        { "breaker", view->breaker_term }, { "latency", view->latency_term },
        { "errors", view->error_term }, { "completeness", view->completeness_term } };
    for (size_t index = 0; index < 4; index++) {
        const char *term_labels [] = { "provider", view->provider, "term", terms [index].name, NULL };
        gl_ops_metrics_set (metrics, "gapless_provider_health_term", term_labels, terms [index].value);
    }
}

void
gl_ops_catalog_queue (gl_ops_metrics_t *metrics, const gl_ops_stats_t *stats)
{
    static const char *families [] = { "gapless_queue_depth", "gapless_queue_oldest_age_seconds",
        "gapless_backfill_slices_enqueued_total", "gapless_backfill_slices_completed_total",
        "gapless_jobs_processed_total", NULL };
    for (size_t index = 0; families [index]; index++)
        gl_ops_metrics_reset (metrics, families [index]);
    static const char *tiers [] = { "T0", "T1", "T2" };
    for (size_t index = 0; index < 3; index++) {
        const char *labels [] = { "tier", tiers [index], NULL };
        gl_ops_metrics_set (metrics, "gapless_backfill_slices_enqueued_total", labels, 0);
    }
    for (size_t row = 0; row < stats->queue_count; row++) {
        const char *status = stats->queue [row].status, *tier = stats->queue [row].tier;
        double count = (double) stats->queue [row].count;
        const char *labels [] = { "tier", tier, NULL };
        gl_ops_metrics_add (metrics, "gapless_backfill_slices_enqueued_total", labels, count);
        if (gl_ops_slice_waiting (status)) {
            char priority [24];
            snprintf (priority, sizeof priority, "%" PRId64, stats->queue [row].priority);
            const char *depth_labels [] = { "priority", priority, "tier", tier, NULL };
            gl_ops_metrics_add (metrics, "gapless_queue_depth", depth_labels, count);
        }
        if (strcmp (status, "succeeded") == 0 || strcmp (status, "dead") == 0
        ||  strcmp (status, "cancelled") == 0) {
            const char *done_labels [] = { "tier", tier, "status", status, NULL };
            gl_ops_metrics_add (metrics, "gapless_backfill_slices_completed_total", done_labels, count);
        }
    }
    int64_t oldest [3] = { 0, 0, 0 };
    for (size_t row = 0; row < stats->queue_count; row++)
        for (size_t index = 0; index < 3; index++)
            if (strcmp (stats->queue [row].tier, tiers [index]) == 0
            &&  gl_ops_slice_waiting (stats->queue [row].status)
            &&  stats->queue [row].oldest_s > oldest [index])
                oldest [index] = stats->queue [row].oldest_s;
    for (size_t index = 0; index < 3; index++) {
        const char *labels [] = { "tier", tiers [index], NULL };
        gl_ops_metrics_set (metrics, "gapless_queue_oldest_age_seconds", labels, (double) oldest [index]);
    }
    for (size_t row = 0; row < stats->job_count; row++) {
        if (strcmp (stats->jobs [row].status, "running") == 0)
            continue;
        const char *labels [] = { "type", stats->jobs [row].type,
                                  "timeframe", stats->jobs [row].timeframe,
                                  "provider", *stats->jobs [row].provider
                                              ? stats->jobs [row].provider: "none",
                                  "status", stats->jobs [row].status, NULL };
        gl_ops_metrics_add (metrics, "gapless_jobs_processed_total", labels,
                            (double) stats->jobs [row].count);
    }
}

