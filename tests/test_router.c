/*  test_router — providers and instances for slices: routing order, pins
    and refusals, breaker and capacity as "not now", the horizon and the
    share reserved for live work, the health score,
    least-loaded instances, the slices of a departed instance, and
    answers to an earlier dispatch of a slice sent again.
*/
#include "gl_router.h"
#include "gl_test.h"
#include <math.h>
#include <string.h>

#define TOKEN "2f1c6d8e-6c1f-4a43-9a55-3c5f0d0b7e11"

typedef struct {
    uint64_t runs [16];
    size_t count;
} s_lost_t;

//  Collects lost slices.
static void
s_on_lost (uint64_t run_id, const char *token, gl_provider_t provider, const char *instance,
           void *argument)
{
    s_lost_t *lost = (s_lost_t *) argument;
    if (lost->count < 16)
        lost->runs [lost->count++] = run_id;
}

//  Collects slices whose lease wants extending.
static void
s_on_due (uint64_t run_id, const char *token, void *argument)
{
    s_on_lost (run_id, token, GL_PROVIDER_INVALID, "", argument);
}

//  Default routing, pins, refusals, an open breaker and no fetcher.
static void
s_test_routing (void)
{
    gl_router_t *router = gl_router_new (60);
    const char *polygon [] = { "p1" }, *alpaca [] = { "a1" }, *yahoo [] = { "y1" };
    GL_CHECK_INT (gl_router_members (router, GL_PROVIDER_POLYGON, polygon, 1, NULL, NULL), 0);
    GL_CHECK_INT (gl_router_members (router, GL_PROVIDER_ALPACA, alpaca, 1, NULL, NULL), 0);
    gl_provider_t provider = GL_PROVIDER_INVALID;
    char instance [GL_MSG_NAME_MAX + 1] = "";
    //  Equal health: the routing order decides (Polygon first for 1m)
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_INT (provider, GL_PROVIDER_POLYGON);
    GL_CHECK_STR (instance, "p1");
    //  Polygon refused it: Alpaca next
    const char *refused [] = { "polygon" };
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, refused, 1, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_INT (provider, GL_PROVIDER_ALPACA);
    //  Polygon's breaker is open: routed around, and back when it closes
    gl_router_breaker (router, GL_PROVIDER_POLYGON, GL_ROUTER_OPEN);
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_INT (provider, GL_PROVIDER_ALPACA);
    //  Pinned to Polygon with its breaker open: not now, never given up
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, "polygon", NULL, 0, true, &provider, instance),
                  GL_ROUTE_WAIT);
    gl_router_breaker (router, GL_PROVIDER_POLYGON, GL_ROUTER_CLOSED);
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, "polygon", NULL, 0, true, &provider, instance),
                  GL_ROUTE_OK);
    //  1d routes Yahoo first, but no Yahoo fetcher runs: Polygon serves it
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1D, NULL, NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_INT (provider, GL_PROVIDER_POLYGON);
    GL_CHECK_INT (gl_router_members (router, GL_PROVIDER_YAHOO, yahoo, 1, NULL, NULL), 0);
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1D, NULL, NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_INT (provider, GL_PROVIDER_YAHOO);
    //  Every allowed provider refused it: none left
    const char *all [] = { "polygon", "alpaca", "tradier" };
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, all, 3, true, &provider, instance), GL_ROUTE_NONE);
    //  A pin to a provider that cannot serve the timeframe: none
    GL_CHECK_INT (gl_router_choose (router, GL_TF_4H, "yahoo", NULL, 0, true, &provider, instance), GL_ROUTE_NONE);
    //  Allowed providers exist but none has a fetcher: not now
    const char *nobody [] = { NULL };
    GL_CHECK_INT (gl_router_members (router, GL_PROVIDER_POLYGON, nobody, 0, NULL, NULL), 0);
    GL_CHECK_INT (gl_router_members (router, GL_PROVIDER_ALPACA, nobody, 0, NULL, NULL), 0);
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1H, NULL, NULL, 0, true, &provider, instance), GL_ROUTE_WAIT);
    gl_router_destroy (&router);
    gl_router_destroy (&router);
    GL_CHECK (router == NULL);
}

//  H = 0.45 breaker + 0.25 (1 - latency) + 0.20 (1 - errors) + 0.10 (1 - incompleteness)
static void
s_test_score (void)
{
    gl_router_t *router = gl_router_new (60);
    GL_CHECK (gl_router_score (router, GL_PROVIDER_ALPACA) > 0.999);
    gl_router_sample (router, GL_PROVIDER_ALPACA, GL_ROUTER_SLOW_MS / 2, 0.5, 0.0);
    GL_CHECK (fabs (gl_router_score (router, GL_PROVIDER_ALPACA)
                    - (0.45 + 0.25 * 0.5 + 0.20 * 0.5 + 0.10)) < 1e-9);
    gl_router_breaker (router, GL_PROVIDER_ALPACA, GL_ROUTER_HALF_OPEN);
    GL_CHECK (fabs (gl_router_score (router, GL_PROVIDER_ALPACA)
                    - (0.225 + 0.125 + 0.10 + 0.10)) < 1e-9);
    //  The window keeps the last samples only: 60 healthy ones wash it out
    for (int index = 0; index < GL_ROUTER_SAMPLES; index++)
        gl_router_sample (router, GL_PROVIDER_ALPACA, 0, 0, 0);
    gl_router_breaker (router, GL_PROVIDER_ALPACA, GL_ROUTER_CLOSED);
    GL_CHECK (gl_router_score (router, GL_PROVIDER_ALPACA) > 0.999);
    //  Out-of-range samples are clamped, NaN counts as the worst
    gl_router_sample (router, GL_PROVIDER_POLYGON, 1e9, NAN, -3);
    double score = gl_router_score (router, GL_PROVIDER_POLYGON);
    GL_CHECK (fabs (score - (0.45 + 0 + 0 + 0.10)) < 1e-9);
    //  A healthier second choice wins over the first in routing order
    const char *polygon [] = { "p1" }, *alpaca [] = { "a1" };
    gl_router_members (router, GL_PROVIDER_POLYGON, polygon, 1, NULL, NULL);
    gl_router_members (router, GL_PROVIDER_ALPACA, alpaca, 1, NULL, NULL);
    gl_provider_t provider;
    char instance [GL_MSG_NAME_MAX + 1];
    GL_CHECK_INT (gl_router_choose (router, GL_TF_5M, NULL, NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_INT (provider, GL_PROVIDER_ALPACA);
    gl_router_destroy (&router);
}

//  A 5/min provider with a 60 s lease holds 2 slices; the rest wait.
static void
s_test_capacity (void)
{
    gl_router_t *router = gl_router_new (60);
    gl_router_set_rate (router, GL_PROVIDER_TRADIER, 5.0 / 60);
    const char *tradier [] = { "t1", "t2" };
    gl_router_members (router, GL_PROVIDER_TRADIER, tradier, 2, NULL, NULL);
    GL_CHECK_INT (gl_router_capacity (router, GL_PROVIDER_TRADIER), 2);
    gl_provider_t provider;
    char instance [GL_MSG_NAME_MAX + 1];
    char first [GL_MSG_NAME_MAX + 1];
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1D, "tradier", NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_INT (gl_router_assign (router, 1, TOKEN, provider, instance, true, 100), 0);
    snprintf (first, sizeof first, "%s", instance);
    GL_CHECK_INT (gl_router_assign (router, 1, TOKEN, provider, instance, true, 100), -1);     //  already assigned
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1D, "tradier", NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK (strcmp (instance, first) != 0);                               //  least loaded
    GL_CHECK_INT (gl_router_assign (router, 2, TOKEN, provider, instance, true, 100), 0);
    GL_CHECK_INT (gl_router_in_flight (router, GL_PROVIDER_TRADIER), 2);
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1D, "tradier", NULL, 0, true, &provider, instance), GL_ROUTE_WAIT);
    GL_CHECK (gl_router_forget (router, 1));
    GL_CHECK (!gl_router_forget (router, 1));
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1D, "tradier", NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_STR (instance, first);
    GL_CHECK_INT (gl_router_assign (router, 3, TOKEN, provider, "nobody", true, 100), -1);
    //  Unlimited: 64 per instance
    gl_router_set_rate (router, GL_PROVIDER_TRADIER, 0);
    GL_CHECK_INT (gl_router_capacity (router, GL_PROVIDER_TRADIER), 2 * GL_ROUTER_INSTANCE_MAX);
    gl_router_destroy (&router);
}

//  The horizon bounds what a provider holds; the reserve keeps a share of
//  it for live work while some waits or runs, and only then.
static void
s_test_horizon_and_reserve (void)
{
    gl_router_t *router = gl_router_new (120);
    gl_router_set_rate (router, GL_PROVIDER_POLYGON, 2);
    const char *polygon [] = { "p1" };
    gl_router_members (router, GL_PROVIDER_POLYGON, polygon, 1, NULL, NULL);
    GL_CHECK_INT (gl_router_capacity (router, GL_PROVIDER_POLYGON), 64);   //  half a lease: 120 s
    gl_router_set_horizon (router, 5);
    GL_CHECK_INT (gl_router_capacity (router, GL_PROVIDER_POLYGON), 10);
    gl_router_set_horizon (router, 1000);                                   //  cut at half a lease
    GL_CHECK_INT (gl_router_capacity (router, GL_PROVIDER_POLYGON), 64);
    gl_router_set_horizon (router, 5);
    gl_router_set_reserve (router, 0.2);
    //  No live work: bulk may use it all
    GL_CHECK_INT (gl_router_bulk_capacity (router, GL_PROVIDER_POLYGON), 10);
    gl_provider_t provider;
    char instance [GL_MSG_NAME_MAX + 1];
    uint64_t run = 1;
    for (; run <= 10; run++) {
        GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, false, &provider, instance),
                      GL_ROUTE_OK);
        GL_CHECK_INT (gl_router_assign (router, run, TOKEN, provider, instance, false, 100), 0);
    }
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, false, &provider, instance),
                  GL_ROUTE_WAIT);
    //  Live work waits: bulk is held to 8 of 10 from now on
    gl_router_set_live_waiting (router, true);
    GL_CHECK_INT (gl_router_bulk_capacity (router, GL_PROVIDER_POLYGON), 8);
    GL_CHECK (gl_router_forget (router, 1));
    GL_CHECK (gl_router_forget (router, 2));
    GL_CHECK (gl_router_forget (router, 3));
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, false, &provider, instance),
                  GL_ROUTE_OK);                         //  7 bulk held: one more
    GL_CHECK_INT (gl_router_assign (router, run++, TOKEN, provider, instance, false, 100), 0);
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, false, &provider, instance),
                  GL_ROUTE_WAIT);                       //  8: the rest is live work's
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, true, &provider, instance),
                  GL_ROUTE_OK);
    GL_CHECK_INT (gl_router_assign (router, 100, TOKEN, provider, instance, true, 100), 0);
    gl_router_set_live_waiting (router, false);
    //  Live work in flight keeps the reserve
    GL_CHECK (gl_router_forget (router, 4));
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, false, &provider, instance),
                  GL_ROUTE_OK);
    GL_CHECK_INT (gl_router_assign (router, run++, TOKEN, provider, instance, false, 100), 0);
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, false, &provider, instance),
                  GL_ROUTE_WAIT);
    //  The live slice answered, nothing waits: bulk may fill the capacity
    GL_CHECK (gl_router_forget (router, 100));
    GL_CHECK_INT (gl_router_bulk_capacity (router, GL_PROVIDER_POLYGON), 10);
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1M, NULL, NULL, 0, false, &provider, instance),
                  GL_ROUTE_OK);
    gl_router_destroy (&router);
}

//  An instance that leaves hands back exactly the slices it held.
static void
s_test_departure (void)
{
    gl_router_t *router = gl_router_new (60);
    const char *both [] = { "p1", "p2" }, *survivor [] = { "p2" };
    gl_router_members (router, GL_PROVIDER_POLYGON, both, 2, NULL, NULL);
    for (uint64_t run = 1; run <= 6; run++)
        GL_CHECK_INT (gl_router_assign (router, run, TOKEN, GL_PROVIDER_POLYGON, run % 2? "p1": "p2", true, 100), 0);
    s_lost_t lost = { .count = 0 };
    GL_CHECK_INT (gl_router_members (router, GL_PROVIDER_POLYGON, survivor, 1, s_on_lost, &lost), 0);
    GL_CHECK_INT (lost.count, 3);
    uint64_t sum = 0;
    for (size_t index = 0; index < lost.count; index++)
        sum += lost.runs [index];
    GL_CHECK_INT (sum, 1 + 3 + 5);
    GL_CHECK_INT (gl_router_in_flight (router, GL_PROVIDER_POLYGON), 3);
    GL_CHECK (!gl_router_forget (router, 1));
    GL_CHECK (gl_router_forget (router, 2));
    GL_CHECK_STR (gl_router_token (router, 4), TOKEN);
    GL_CHECK (gl_router_token (router, 2) == NULL);
    gl_router_destroy (&router);
}

//  A slice lost with its instance and sent again elsewhere: an answer to
//  the first dispatch (a bounce of the FETCH the departed instance never
//  took, a late FAILED) leaves the second in flight, so its lease is still
//  extended and its new instance's departure still hands it back.
static void
s_test_stale_answer (void)
{
    const char *earlier = "0b6f7a52-2d1e-4c8b-8f3a-5e9d1c2b4a60";
    gl_router_t *router = gl_router_new (60);
    const char *both [] = { "p1", "p2" }, *second [] = { "p2" }, *none [] = { NULL };
    gl_router_members (router, GL_PROVIDER_POLYGON, both, 2, NULL, NULL);
    GL_CHECK_INT (gl_router_assign (router, 7, earlier, GL_PROVIDER_POLYGON, "p1", false, 100), 0);
    s_lost_t lost = { .count = 0 };
    gl_router_members (router, GL_PROVIDER_POLYGON, second, 1, s_on_lost, &lost);
    GL_CHECK_INT (lost.count, 1);
    GL_CHECK_INT (gl_router_assign (router, 7, TOKEN, GL_PROVIDER_POLYGON, "p2", false, 100), 0);
    GL_CHECK (!gl_router_forget_sent (router, 7, earlier));
    GL_CHECK (!gl_router_forget_sent (router, 7, NULL));
    GL_CHECK (!gl_router_forget_sent (router, 8, TOKEN));
    GL_CHECK_STR (gl_router_token (router, 7), TOKEN);
    GL_CHECK_INT (gl_router_in_flight (router, GL_PROVIDER_POLYGON), 1);
    s_lost_t due = { .count = 0 };
    GL_CHECK_INT (gl_router_extend (router, 200, 300, s_on_due, &due), 1);
    GL_CHECK_INT (due.runs [0], 7);
    lost.count = 0;
    gl_router_members (router, GL_PROVIDER_POLYGON, none, 0, s_on_lost, &lost);
    GL_CHECK_INT (lost.count, 1);
    GL_CHECK_INT (lost.runs [0], 7);
    //  The answer to the current dispatch forgets it
    gl_router_members (router, GL_PROVIDER_POLYGON, second, 1, NULL, NULL);
    GL_CHECK_INT (gl_router_assign (router, 7, TOKEN, GL_PROVIDER_POLYGON, "p2", false, 100), 0);
    GL_CHECK (gl_router_forget_sent (router, 7, TOKEN));
    GL_CHECK (gl_router_token (router, 7) == NULL);
    GL_CHECK_INT (gl_router_in_flight (router, GL_PROVIDER_POLYGON), 0);
    gl_router_destroy (&router);
}

//  Slices found running at start count in flight, survive departures, and
//  expire with their lease like every other.
static void
s_test_adopt_and_expire (void)
{
    gl_router_t *router = gl_router_new (60);
    const char *one [] = { "p1" }, *none [] = { NULL };
    gl_router_members (router, GL_PROVIDER_POLYGON, one, 1, NULL, NULL);
    GL_CHECK_INT (gl_router_adopt (router, 7, TOKEN, GL_PROVIDER_POLYGON, 50), 0);
    GL_CHECK_INT (gl_router_adopt (router, 7, TOKEN, GL_PROVIDER_POLYGON, 50), -1);
    GL_CHECK_INT (gl_router_adopt (router, 8, "not a token, far too long to be one at all", GL_PROVIDER_POLYGON, 50), -1);
    GL_CHECK_INT (gl_router_assign (router, 9, TOKEN, GL_PROVIDER_POLYGON, "p1", true, 200), 0);
    s_lost_t lost = { .count = 0 };
    GL_CHECK_INT (gl_router_members (router, GL_PROVIDER_POLYGON, none, 0, s_on_lost, &lost), 0);
    GL_CHECK_INT (lost.count, 1);                       //  9 left with p1; 7 stays
    GL_CHECK_INT (lost.runs [0], 9);
    GL_CHECK_INT (gl_router_in_flight (router, GL_PROVIDER_POLYGON), 1);
    lost.count = 0;
    GL_CHECK_INT (gl_router_expire (router, 49, s_on_lost, &lost), 0);
    GL_CHECK_INT (gl_router_expire (router, 51, s_on_lost, &lost), 1);
    GL_CHECK_INT (lost.runs [0], 7);
    GL_CHECK_INT (gl_router_in_flight (router, GL_PROVIDER_POLYGON), 0);
    gl_router_destroy (&router);
}

//  A slice is extended while its fetcher lives, but not for ever.
static void
s_test_extensions_bounded (void)
{
    gl_router_t *router = gl_router_new (60);
    const char *one [] = { "p1" };
    gl_router_members (router, GL_PROVIDER_POLYGON, one, 1, NULL, NULL);
    GL_CHECK_INT (gl_router_assign (router, 9, TOKEN, GL_PROVIDER_POLYGON, "p1", false, 100), 0);
    s_lost_t due = { .count = 0 };
    for (int round = 0; round < GL_ROUTER_EXTENSIONS_MAX; round++)
        GL_CHECK_INT (gl_router_extend (router, 1000 + round * 100, 1000 + round * 100, s_on_due,
                                        &due), 1);
    GL_CHECK_INT (gl_router_extend (router, 100000, 100000, s_on_due, &due), 0);
    s_lost_t lost = { .count = 0 };
    GL_CHECK_INT (gl_router_expire (router, 100000, s_on_lost, &lost), 1);
    GL_CHECK_INT (lost.count, 1);
    gl_router_destroy (&router);
}

//  After the broker was lost no fetcher is known to hold a slice: none is
//  extended, none is lost with a departure, each expires with its lease.
static void
s_test_disown (void)
{
    gl_router_t *router = gl_router_new (60);
    const char *one [] = { "p1" }, *none [] = { NULL };
    gl_router_members (router, GL_PROVIDER_POLYGON, one, 1, NULL, NULL);
    GL_CHECK_INT (gl_router_assign (router, 9, TOKEN, GL_PROVIDER_POLYGON, "p1", false, 100), 0);
    GL_CHECK_INT (gl_router_adopt (router, 7, TOKEN, GL_PROVIDER_POLYGON, 100), 0);
    GL_CHECK_INT (gl_router_disown (router), 1);
    GL_CHECK_INT (gl_router_disown (router), 0);
    s_lost_t lost = { .count = 0 };
    GL_CHECK_INT (gl_router_extend (router, 1000, 2000, s_on_due, &lost), 0);
    GL_CHECK_INT (gl_router_members (router, GL_PROVIDER_POLYGON, none, 0, s_on_lost, &lost), 0);
    GL_CHECK_INT (lost.count, 0);
    GL_CHECK_INT (gl_router_in_flight (router, GL_PROVIDER_POLYGON), 2);
    GL_CHECK_INT (gl_router_expire (router, 101, s_on_lost, &lost), 2);
    GL_CHECK_INT (gl_router_in_flight (router, GL_PROVIDER_POLYGON), 0);
    gl_router_destroy (&router);
}

//  A configured routing order replaces the default; bad ones are refused.
static void
s_test_configured_route (void)
{
    gl_router_t *router = gl_router_new (60);
    char error [256];
    gl_provider_t route [GL_PROVIDER_COUNT];
    GL_CHECK_INT (gl_router_set_route (router, GL_TF_1H, "alpaca, polygon", error), 0);
    GL_CHECK_INT (gl_router_route (router, GL_TF_1H, route, GL_PROVIDER_COUNT), 2);
    GL_CHECK (route [0] == GL_PROVIDER_ALPACA && route [1] == GL_PROVIDER_POLYGON);
    GL_CHECK_INT (gl_router_route (router, GL_TF_1M, route, GL_PROVIDER_COUNT), 2);
    GL_CHECK (route [0] == GL_PROVIDER_POLYGON);
    GL_CHECK_INT (gl_router_set_route (router, GL_TF_1H, "tradier", error), -1);
    GL_CHECK (strstr (error, "tradier") != NULL);
    GL_CHECK_INT (gl_router_set_route (router, GL_TF_1H, "alpaca,alpaca", error), -1);
    GL_CHECK_INT (gl_router_set_route (router, GL_TF_1H, "nasdaq", error), -1);
    GL_CHECK_INT (gl_router_set_route (router, GL_TF_1H, "", error), -1);
    //  The route in force is the one routing uses
    const char *alpaca [] = { "a1" }, *polygon [] = { "p1" };
    gl_router_members (router, GL_PROVIDER_ALPACA, alpaca, 1, NULL, NULL);
    gl_router_members (router, GL_PROVIDER_POLYGON, polygon, 1, NULL, NULL);
    gl_provider_t provider;
    char instance [GL_MSG_NAME_MAX + 1];
    GL_CHECK_INT (gl_router_choose (router, GL_TF_1H, NULL, NULL, 0, true, &provider, instance), GL_ROUTE_OK);
    GL_CHECK_INT (provider, GL_PROVIDER_ALPACA);
    gl_router_destroy (&router);
}

int
main (void)
{
    s_test_configured_route ();
    s_test_routing ();
    s_test_score ();
    s_test_capacity ();
    s_test_horizon_and_reserve ();
    s_test_departure ();
    s_test_stale_answer ();
    s_test_adopt_and_expire ();
    s_test_disown ();
    s_test_extensions_bounded ();
    return gl_test_done ("test_router");
}
