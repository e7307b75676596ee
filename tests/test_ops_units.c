/*  test_ops_units — the ops actor's bookkeeping without processes:

    - gl_ops_map encodes what msgpack-c decodes back, nested maps and
      event text included;
    - gl_ops_metrics renders the Prometheus text format: help and type
      lines, escaped labels, cumulative histogram buckets with sum and
      count, series forgotten on reset;
    - gl_ops_health scores H with the router's weights, keeps totals of
      instances that left, and refuses fields that do not parse without
      losing the ones that do.
*/
#include "gl_ops_catalog.h"
#include "gl_ops_health.h"
#include "gl_ops_map.h"
#include "gl_ops_metrics.h"
#include "gl_test.h"
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>

//  The value of a key in a decoded map, or NULL.
static const msgpack_object *
s_value (const msgpack_object *map, const char *key)
{
    for (uint32_t index = 0; map->type == MSGPACK_OBJECT_MAP && index < map->via.map.size; index++) {
        const msgpack_object *name = &map->via.map.ptr [index].key;
        if (name->type == MSGPACK_OBJECT_STR && name->via.str.size == strlen (key)
        &&  memcmp (name->via.str.ptr, key, name->via.str.size) == 0)
            return &map->via.map.ptr [index].val;
    }
    return NULL;
}

//  A map with every kind of value decodes to the same values.
static void
s_test_map (void)
{
    gl_ops_map_t *map = gl_ops_map_new (), *child = gl_ops_map_new ();
    gl_ops_map_int (child, "polygon", 427);
    gl_ops_map_str (map, "type", "progress");
    gl_ops_map_int (map, "backfill_id", -3);
    gl_ops_map_float (map, "bars_per_s", 12.5);
    gl_ops_map_bool (map, "done", true);
    gl_ops_map_map (map, "bars_by_provider", child);
    gl_ops_map_text (map, "count", "42");
    gl_ops_map_text (map, "rate", "0.25");
    gl_ops_map_text (map, "huge", "123456789012345678901234");
    GL_CHECK_INT (gl_ops_map_size (map), 8);
    char *data = NULL;
    size_t size = 0;
    GL_CHECK_INT (gl_ops_map_encode (map, &data, &size), 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    GL_CHECK (msgpack_unpack_next (&unpacked, data, size, &offset) == MSGPACK_UNPACK_SUCCESS);
    GL_CHECK_INT (offset, size);
    const msgpack_object *root = &unpacked.data;
    GL_CHECK_INT (root->via.map.size, 8);
    GL_CHECK (s_value (root, "backfill_id") && s_value (root, "backfill_id")->via.i64 == -3);
    GL_CHECK (s_value (root, "bars_per_s") && s_value (root, "bars_per_s")->via.f64 == 12.5);
    GL_CHECK (s_value (root, "done") && s_value (root, "done")->via.boolean);
    const msgpack_object *nested = s_value (root, "bars_by_provider");
    GL_CHECK (nested && s_value (nested, "polygon") && s_value (nested, "polygon")->via.u64 == 427);
    GL_CHECK (s_value (root, "count") && s_value (root, "count")->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    GL_CHECK (s_value (root, "rate") && s_value (root, "rate")->type == MSGPACK_OBJECT_STR);
    GL_CHECK (s_value (root, "huge") && s_value (root, "huge")->type == MSGPACK_OBJECT_STR);
    msgpack_unpacked_destroy (&unpacked);
    free (data);
    gl_ops_map_destroy (&child);
    gl_ops_map_destroy (&map);
    gl_ops_map_destroy (&map);
    GL_CHECK (map == NULL);
}

//  The text format, line by line.
static void
s_test_metrics (void)
{
    gl_ops_metrics_t *metrics = gl_ops_metrics_new ();
    static const double bounds [] = { 0.1, 1 };
    GL_CHECK_INT (gl_ops_metrics_declare (metrics, "gapless_x_total", GL_OPS_COUNTER, "X.", NULL, 0), 0);
    GL_CHECK_INT (gl_ops_metrics_declare (metrics, "gapless_x_total", GL_OPS_COUNTER, "X.", NULL, 0), -1);
    GL_CHECK_INT (gl_ops_metrics_declare (metrics, "gapless_y_seconds", GL_OPS_HISTOGRAM, "Y.",
                                          bounds, 2), 0);
    GL_CHECK_INT (gl_ops_metrics_declare (metrics, "gapless_z", GL_OPS_GAUGE, "Z.", NULL, 0), 0);
    const char *labels [] = { "provider", "a\"b\\c\nd", NULL };
    gl_ops_metrics_add (metrics, "gapless_x_total", labels, 2);
    gl_ops_metrics_add (metrics, "gapless_x_total", labels, 3);
    gl_ops_metrics_observe (metrics, "gapless_y_seconds", NULL, 0.05);
    gl_ops_metrics_observe (metrics, "gapless_y_seconds", NULL, 0.5);
    gl_ops_metrics_observe (metrics, "gapless_y_seconds", NULL, 7);
    gl_ops_metrics_set (metrics, "gapless_z", NULL, 1);
    gl_ops_metrics_reset (metrics, "gapless_z");
    gl_ops_metrics_set (metrics, "gapless_unknown", NULL, 1);     //  logged, nothing made
    char *text = gl_ops_metrics_render (metrics);
    GL_CHECK (text != NULL);
    if (text) {
        GL_CHECK (strstr (text, "# HELP gapless_x_total X.\n# TYPE gapless_x_total counter\n"));
        GL_CHECK (strstr (text, "gapless_x_total{provider=\"a\\\"b\\\\c\\nd\"} 5\n"));
        GL_CHECK (strstr (text, "gapless_y_seconds_bucket{le=\"0.1\"} 1\n"));
        GL_CHECK (strstr (text, "gapless_y_seconds_bucket{le=\"1\"} 2\n"));
        GL_CHECK (strstr (text, "gapless_y_seconds_bucket{le=\"+Inf\"} 3\n"));
        GL_CHECK (strstr (text, "gapless_y_seconds_sum 7.55\n"));
        GL_CHECK (strstr (text, "gapless_y_seconds_count 3\n"));
        GL_CHECK (strstr (text, "# TYPE gapless_z gauge\n") && !strstr (text, "gapless_z 1"));
        GL_CHECK (!strstr (text, "gapless_unknown"));
    }
    free (text);
    gl_ops_metrics_destroy (&metrics);
    GL_CHECK (metrics == NULL);
}

//  Builds fetcher_health fields from key, value pairs.
static size_t
s_fields (gl_msg_field_t *fields, const char *const *pairs)
{
    size_t count = 0;
    for (; pairs [count * 2]; count++)
        fields [count] = (gl_msg_field_t) { (char *) pairs [count * 2], (char *) pairs [count * 2 + 1] };
    return count;
}

//  H and its terms; totals across departures; hostile fields.
static void
s_test_health (void)
{
    gl_ops_health_t *health = gl_ops_health_new ();
    gl_msg_field_t fields [32];
    char refused [GL_MSG_NAME_MAX + 1];
    size_t count;
    const char *unknown_rate [] = { "failure_rate", "-1", NULL };
    count = s_fields (fields, unknown_rate);
    GL_CHECK_INT (gl_ops_health_sample (health, GL_PROVIDER_YAHOO, "y1", fields, count, 0, refused), 0);
    const char *sample [] = { "breaker", "closed", "requests", "100", "failures", "10",
        "rate_limited", "2", "fetches", "40", "bars", "5000", "failure_rate", "10",
        "in_flight", "3", "completeness", "0.9", "latency_le_ms", "50,100,250,500,1000,5000,inf",
        "latency_counts", "0,0,100,0,0,0,0", "latency_sum_ms", "20000",
        "errors", "rate_limited:2,timeout:8,bogus:3", NULL };
    count = s_fields (fields, sample);
    GL_CHECK_INT (gl_ops_health_sample (health, GL_PROVIDER_POLYGON, "f1", fields, count, 1000, refused), 0);
    gl_ops_provider_view_t view = gl_ops_health_view (health, GL_PROVIDER_POLYGON);
    //  latency median 250 ms of 5000: 0.05; errors 0.1; incompleteness 0.1
    double expected = 0.45 * 1 + 0.25 * (1 - 0.05) + 0.20 * (1 - 0.1) + 0.10 * (1 - 0.1);
    GL_CHECK (fabs (view.score - expected) < 1e-9);
    GL_CHECK (fabs (view.latency_term - 0.95) < 1e-9);
    GL_CHECK_INT (view.requests, 100);
    GL_CHECK_INT (view.errors [5], 8);          //  timeout
    GL_CHECK_INT (view.latency [2], 100);
    GL_CHECK_INT (view.in_flight, 3);
    //  A second instance; the first leaves: its totals stay.
    const char *other [] = { "requests", "50", "breaker", "open", NULL };
    count = s_fields (fields, other);
    GL_CHECK_INT (gl_ops_health_sample (health, GL_PROVIDER_POLYGON, "f2", fields, count, 1000, refused), 0);
    char *members [] = { "f2" };
    gl_ops_health_members (health, GL_PROVIDER_POLYGON, members, 1);
    view = gl_ops_health_view (health, GL_PROVIDER_POLYGON);
    GL_CHECK_INT (view.instances, 1);
    GL_CHECK_INT (view.requests, 150);
    GL_CHECK_INT (view.errors [5], 8);
    GL_CHECK_STR (view.breaker, "open");
    GL_CHECK (view.breaker_term == 0);
    //  Requests per second between two samples of one instance
    const char *later [] = { "requests", "70", NULL };
    count = s_fields (fields, later);
    GL_CHECK_INT (gl_ops_health_sample (health, GL_PROVIDER_POLYGON, "f2", fields, count, 3000, refused), 0);
    view = gl_ops_health_view (health, GL_PROVIDER_POLYGON);
    GL_CHECK (fabs (view.used_per_s - 10) < 1e-9);
    //  Hostile values: refused, counted as -1, the good ones taken
    const char *hostile [] = { "requests", "-5", "failures", "12abc", "latency_counts", "1,2",
        "latency_le_ms", "50,100,250,500,1000,5000,inf", "errors", "timeout", "bars", "99", NULL };
    count = s_fields (fields, hostile);
    GL_CHECK_INT (gl_ops_health_sample (health, GL_PROVIDER_POLYGON, "f2", fields, count, 4000, refused), -1);
    GL_CHECK_STR (refused, "requests");
    view = gl_ops_health_view (health, GL_PROVIDER_POLYGON);
    GL_CHECK_INT (view.requests, 170);
    GL_CHECK_INT (view.bars, 5000 + 99);
    GL_CHECK_INT (gl_ops_health_sample (health, GL_PROVIDER_INVALID, "x", fields, 0, 0, refused), -1);
    gl_ops_health_ban (health, GL_PROVIDER_POLYGON, 5000);
    gl_ops_health_ban (health, GL_PROVIDER_POLYGON, 4000);
    view = gl_ops_health_view (health, GL_PROVIDER_POLYGON);
    GL_CHECK_INT (view.bans, 2);
    GL_CHECK_INT (view.banned_until_ms, 5000);
    gl_ops_health_destroy (&health);
    GL_CHECK (health == NULL);
}

//  Errors by endpoint: Tradier's intraday (timesales) and daily (history)
//  are two series; Polygon's one endpoint is one.
static void
s_test_endpoints (void)
{
    gl_ops_health_t *health = gl_ops_health_new ();
    gl_msg_field_t fields [8];
    char refused [GL_MSG_NAME_MAX + 1];
    const char *sample [] = { "errors", "server_error:2,timeout:1", "errors_daily", "auth:3", NULL };
    size_t count = s_fields (fields, sample);
    GL_CHECK_INT (gl_ops_health_sample (health, GL_PROVIDER_TRADIER, "t1", fields, count, 0, refused), 0);
    GL_CHECK_INT (gl_ops_health_sample (health, GL_PROVIDER_POLYGON, "p1", fields, count, 0, refused), 0);
    gl_ops_metrics_t *metrics = gl_ops_metrics_new ();
    gl_ops_catalog_declare (metrics);
    gl_ops_provider_view_t view = gl_ops_health_view (health, GL_PROVIDER_TRADIER);
    GL_CHECK_INT (view.endpoint_errors [0][4], 2);          //  server_error, timesales
    GL_CHECK_INT (view.endpoint_errors [1][1], 3);          //  auth, history
    GL_CHECK_INT (view.errors [1], 3);
    gl_ops_catalog_provider (metrics, &view, 0);
    view = gl_ops_health_view (health, GL_PROVIDER_POLYGON);
    gl_ops_catalog_provider (metrics, &view, 0);
    char *text = gl_ops_metrics_render (metrics);
    GL_CHECK (text && strstr (text, "gapless_provider_errors_total{provider=\"tradier\","
                              "endpoint=\"timesales\",class=\"server_error\"} 2"));
    GL_CHECK (text && strstr (text, "gapless_provider_errors_total{provider=\"tradier\","
                              "endpoint=\"history\",class=\"auth\"} 3"));
    GL_CHECK (text && strstr (text, "gapless_provider_errors_total{provider=\"polygon\","
                              "endpoint=\"aggs\",class=\"auth\"} 3"));
    GL_CHECK (text && !strstr (text, "endpoint=\"history\",class=\"auth\"} 0"));
    free (text);
    gl_ops_metrics_destroy (&metrics);
    gl_ops_health_destroy (&health);
}

int
main (void)
{
    s_test_map ();
    s_test_metrics ();
    s_test_health ();
    s_test_endpoints ();
    return gl_test_done ("test_ops_units");
}
