/*  test_capability — the provider table: names, timeframes served, spans,
    page sizes and default routing, the bar policy read from the bars
    section of a configuration and the routing it allows, and that every
    provider's adapter builds a request for exactly the timeframes the
    table says it serves.
*/
#include "gl_capability.h"
#include "gl_provider.h"
#include "gl_test.h"

//  Names parse back to their provider; anything else is invalid.
static void
s_test_names (void)
{
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++)
        GL_CHECK_INT (gl_capability_parse_name (gl_capability_name ((gl_provider_t) provider)),
                      provider);
    GL_CHECK_INT (gl_capability_parse_name ("Polygon"), GL_PROVIDER_INVALID);
    GL_CHECK_INT (gl_capability_parse_name (NULL), GL_PROVIDER_INVALID);
    GL_CHECK_STR (gl_capability_name (GL_PROVIDER_INVALID), "invalid");
    GL_CHECK_STR (gl_capability_name ((gl_provider_t) 99), "invalid");
}

//  The documented facts of each provider.
static void
s_test_facts (void)
{
    GL_CHECK (gl_capability_supports (GL_PROVIDER_POLYGON, GL_TF_4H));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_YAHOO, GL_TF_4H));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_FINNHUB, GL_TF_4H));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_TRADIER, GL_TF_30M));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_TRADIER, GL_TF_1H));
    GL_CHECK (gl_capability_supports (GL_PROVIDER_TRADIER, GL_TF_1W));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_POLYGON, GL_TF_INVALID));
    //  1h and 4h are routed only to providers that stamp the grid in force:
    //  Yahoo's session-aligned hours never fill a clock grid, and back.
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_YAHOO, GL_TF_1H));
    GL_CHECK (gl_capability_serves (GL_PROVIDER_FINNHUB, GL_TF_1H, GL_GRID_CLOCK, GL_ADJUSTMENT_RAW));
    GL_CHECK (gl_capability_serves (GL_PROVIDER_YAHOO, GL_TF_1H, GL_GRID_SESSION, GL_ADJUSTMENT_SPLIT));
    GL_CHECK (!gl_capability_serves (GL_PROVIDER_POLYGON, GL_TF_1H, GL_GRID_SESSION, GL_ADJUSTMENT_SPLIT));
    GL_CHECK (!gl_capability_serves (GL_PROVIDER_ALPACA, GL_TF_4H, GL_GRID_SESSION, GL_ADJUSTMENT_SPLIT));
    GL_CHECK (gl_capability_serves (GL_PROVIDER_POLYGON, GL_TF_4H, GL_GRID_CLOCK, GL_ADJUSTMENT_SPLIT));
    GL_CHECK (gl_capability_serves (GL_PROVIDER_YAHOO, GL_TF_30M, GL_GRID_CLOCK, GL_ADJUSTMENT_SPLIT));
    GL_CHECK (gl_capability_serves (GL_PROVIDER_YAHOO, GL_TF_1D, GL_GRID_INVALID, GL_ADJUSTMENT_SPLIT));
    GL_CHECK (!gl_capability_serves (GL_PROVIDER_YAHOO, GL_TF_1H, GL_GRID_INVALID, GL_ADJUSTMENT_SPLIT));
    //  One price basis, split-adjusted by default: a provider that cannot
    //  serve it is not routed (Tradier timesales and Finnhub intraday are
    //  raw; Yahoo is split-adjusted only).
    GL_CHECK (!gl_capability_routable (GL_PROVIDER_TRADIER, GL_TF_1M));
    GL_CHECK (gl_capability_routable (GL_PROVIDER_TRADIER, GL_TF_1D));
    GL_CHECK (!gl_capability_routable (GL_PROVIDER_FINNHUB, GL_TF_5M));
    GL_CHECK (gl_capability_routable (GL_PROVIDER_FINNHUB, GL_TF_1D));
    GL_CHECK (gl_capability_routable (GL_PROVIDER_POLYGON, GL_TF_1M));
    //  A fetcher still fetches what its provider has, and names its basis.
    GL_CHECK (gl_capability_supports (GL_PROVIDER_FINNHUB, GL_TF_5M));
    GL_CHECK_INT (gl_capability_adjustment (GL_PROVIDER_FINNHUB, GL_TF_5M, GL_ADJUSTMENT_SPLIT),
                  GL_ADJUSTMENT_RAW);
    GL_CHECK_INT (gl_capability_adjustment (GL_PROVIDER_FINNHUB, GL_TF_1D, GL_ADJUSTMENT_SPLIT),
                  GL_ADJUSTMENT_SPLIT);
    GL_CHECK_INT (gl_capability_adjustment (GL_PROVIDER_YAHOO, GL_TF_1D, GL_ADJUSTMENT_RAW),
                  GL_ADJUSTMENT_SPLIT);
    GL_CHECK_INT (gl_capability_adjustment (GL_PROVIDER_ALPACA, GL_TF_1M, GL_ADJUSTMENT_RAW),
                  GL_ADJUSTMENT_RAW);
    GL_CHECK_INT (gl_capability_adjustment (GL_PROVIDER_TRADIER, GL_TF_1H, GL_ADJUSTMENT_SPLIT),
                  GL_ADJUSTMENT_INVALID);
    GL_CHECK (gl_capability_serves (GL_PROVIDER_FINNHUB, GL_TF_5M, GL_GRID_CLOCK, GL_ADJUSTMENT_RAW));
    GL_CHECK (gl_capability_serves (GL_PROVIDER_TRADIER, GL_TF_1M, GL_GRID_CLOCK, GL_ADJUSTMENT_RAW));
    GL_CHECK (!gl_capability_serves (GL_PROVIDER_YAHOO, GL_TF_1D, GL_GRID_INVALID, GL_ADJUSTMENT_RAW));
    GL_CHECK (!gl_capability_serves (GL_PROVIDER_TRADIER, GL_TF_1D, GL_GRID_INVALID, GL_ADJUSTMENT_RAW));
    GL_CHECK (gl_capability_serves (GL_PROVIDER_POLYGON, GL_TF_1D, GL_GRID_INVALID, GL_ADJUSTMENT_RAW));
    GL_CHECK (gl_capability_serves (GL_PROVIDER_ALPACA, GL_TF_1M, GL_GRID_CLOCK, GL_ADJUSTMENT_RAW));
    GL_CHECK (!gl_capability_serves (GL_PROVIDER_POLYGON, GL_TF_1D, GL_GRID_INVALID,
                                     GL_ADJUSTMENT_INVALID));
    GL_CHECK_INT (gl_capability_adjustment_parse ("split"), GL_ADJUSTMENT_SPLIT);
    GL_CHECK_INT (gl_capability_adjustment_parse ("all"), GL_ADJUSTMENT_INVALID);
    GL_CHECK_STR (gl_capability_adjustment_name (GL_ADJUSTMENT_RAW), "raw");
    GL_CHECK_INT (gl_capability_grid (GL_PROVIDER_YAHOO), GL_GRID_SESSION);
    GL_CHECK_INT (gl_capability_grid (GL_PROVIDER_POLYGON), GL_GRID_CLOCK);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_YAHOO, GL_TF_1M), 7 * 86400);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_YAHOO, GL_TF_1D), 0);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_FINNHUB, GL_TF_15M), 30 * 86400);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_FINNHUB, GL_TF_1D), 0);
    GL_CHECK_INT (gl_capability_max_span (GL_PROVIDER_POLYGON, GL_TF_1M), 0);
    GL_CHECK_INT (gl_capability_page_max (GL_PROVIDER_POLYGON), 50000);
    GL_CHECK_INT (gl_capability_page_max (GL_PROVIDER_ALPACA), 10000);
    GL_CHECK_INT (gl_capability_page_max (GL_PROVIDER_YAHOO), 0);
}

//  Default routing: intraday Polygon, Alpaca, Tradier; daily Yahoo,
//  Polygon, Tradier; only providers that serve the timeframe.
static void
s_test_routes (void)
{
    gl_provider_t route [GL_PROVIDER_COUNT];
    //  Tradier's timesales are raw, so not routed for split-adjusted bars.
    GL_CHECK_INT (gl_capability_route (GL_TF_1M, route, GL_PROVIDER_COUNT), 2);
    GL_CHECK (route [0] == GL_PROVIDER_POLYGON && route [1] == GL_PROVIDER_ALPACA);
    GL_CHECK_INT (gl_capability_route (GL_TF_1H, route, GL_PROVIDER_COUNT), 2);
    GL_CHECK (route [0] == GL_PROVIDER_POLYGON && route [1] == GL_PROVIDER_ALPACA);
    GL_CHECK_INT (gl_capability_route (GL_TF_1D, route, GL_PROVIDER_COUNT), 3);
    GL_CHECK (route [0] == GL_PROVIDER_YAHOO && route [1] == GL_PROVIDER_POLYGON
           && route [2] == GL_PROVIDER_TRADIER);
    GL_CHECK_INT (gl_capability_route (GL_TF_1W, route, 1), 1);
    GL_CHECK (route [0] == GL_PROVIDER_YAHOO);
    GL_CHECK_INT (gl_capability_route (GL_TF_INVALID, route, GL_PROVIDER_COUNT), 0);
}

//  Configures the policy from "key=value" pairs (NULL-terminated).
//  Returns what gl_capability_configure did, with its error.
static int
s_configure (const char *const *settings, char *error)
{
    gl_config_t *config = gl_config_load (NULL, error);
    GL_CHECK (config != NULL);
    for (size_t index = 0; config && settings [index]; index += 2)
        gl_config_set (config, settings [index], settings [index + 1]);
    int rc = gl_capability_configure (config, error);
    gl_config_destroy (&config);
    return rc;
}

//  The bar policy: read from bars/, in force for routing, fetching and
//  calendars; a bad value or one no provider serves names its key and
//  leaves the policy in force as it was.
static void
s_test_policy (void)
{
    char error [GL_CONFIG_ERROR_MAX] = "";
    const char *none [] = { NULL };
    GL_CHECK_INT (s_configure (none, error), 0);
    GL_CHECK_INT (gl_capability_policy_grid (GL_TF_1H), GL_GRID_CLOCK);
    GL_CHECK_INT (gl_capability_policy_grid (GL_TF_1D), GL_GRID_INVALID);
    GL_CHECK_INT (gl_capability_policy_adjustment (), GL_ADJUSTMENT_SPLIT);

    //  Hours from the open: Yahoo alone is routed and fetched for 1h;
    //  4h and the shorter timeframes are untouched.
    const char *session [] = { "bars/grid_1h", "session", NULL };
    GL_CHECK_INT (s_configure (session, error), 0);
    GL_CHECK_INT (gl_capability_policy_grid (GL_TF_1H), GL_GRID_SESSION);
    GL_CHECK_INT (gl_capability_policy_grid (GL_TF_4H), GL_GRID_CLOCK);
    gl_provider_t route [GL_PROVIDER_COUNT];
    GL_CHECK_INT (gl_capability_route (GL_TF_1H, route, GL_PROVIDER_COUNT), 1);
    GL_CHECK_INT (route [0], GL_PROVIDER_YAHOO);
    GL_CHECK (gl_capability_routable (GL_PROVIDER_YAHOO, GL_TF_1H));
    GL_CHECK (!gl_capability_routable (GL_PROVIDER_POLYGON, GL_TF_1H));
    GL_CHECK (!gl_capability_supports (GL_PROVIDER_ALPACA, GL_TF_1H));
    GL_CHECK_INT (gl_capability_route (GL_TF_4H, route, GL_PROVIDER_COUNT), 2);
    GL_CHECK_INT (route [0], GL_PROVIDER_POLYGON);
    GL_CHECK_INT (gl_capability_route (GL_TF_1M, route, GL_PROVIDER_COUNT), 2);
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar != NULL);
    gl_capability_policy_apply (calendar);
    GL_CHECK_INT (gl_calendar_grid (calendar, GL_TF_1H), GL_GRID_SESSION);
    GL_CHECK_INT (gl_calendar_grid (calendar, GL_TF_4H), GL_GRID_CLOCK);
    gl_calendar_destroy (&calendar);

    //  Raw prices: Yahoo (split only) leaves the daily route, Tradier's
    //  raw timesales join the intraday one.
    const char *raw [] = { "bars/adjustment", "raw", NULL };
    GL_CHECK_INT (s_configure (raw, error), 0);
    GL_CHECK_INT (gl_capability_policy_adjustment (), GL_ADJUSTMENT_RAW);
    GL_CHECK_INT (gl_capability_policy_grid (GL_TF_1H), GL_GRID_CLOCK);
    GL_CHECK_INT (gl_capability_route (GL_TF_1D, route, GL_PROVIDER_COUNT), 1);
    GL_CHECK_INT (route [0], GL_PROVIDER_POLYGON);
    GL_CHECK_INT (gl_capability_route (GL_TF_1M, route, GL_PROVIDER_COUNT), 3);
    GL_CHECK_INT (route [2], GL_PROVIDER_TRADIER);

    //  Refused, naming the key; the raw policy stays in force.
    const char *hourly [] = { "bars/grid_1h", "hourly", NULL };
    GL_CHECK_INT (s_configure (hourly, error), -1);
    GL_CHECK_STR (error, "config: bars/grid_1h = 'hourly': expected clock or session");
    const char *adjusted [] = { "bars/adjustment", "adjusted", NULL };
    GL_CHECK_INT (s_configure (adjusted, error), -1);
    GL_CHECK_STR (error, "config: bars/adjustment = 'adjusted': expected split or raw");
    const char *four [] = { "bars/grid_4h", "session", NULL };
    GL_CHECK_INT (s_configure (four, error), -1);
    GL_CHECK_STR (error, "config: bars/grid_4h = 'session' with bars/adjustment = 'split': no"
                         " provider serves 4h bars on the session grid with split prices");
    const char *raw_session [] = { "bars/grid_1h", "session", "bars/adjustment", "raw", NULL };
    GL_CHECK_INT (s_configure (raw_session, error), -1);
    GL_CHECK (strstr (error, "bars/grid_1h = 'session' with bars/adjustment = 'raw'") != NULL);
    GL_CHECK_INT (gl_capability_policy_adjustment (), GL_ADJUSTMENT_RAW);
    GL_CHECK_INT (gl_capability_policy_grid (GL_TF_1H), GL_GRID_CLOCK);
    GL_CHECK_INT (s_configure (none, error), 0);
}

//  An adapter builds a request exactly for the timeframes it serves.
static void
s_test_adapters_agree (void)
{
    gl_calendar_t *calendar = gl_calendar_new (GL_CALENDAR_XNYS);
    GL_CHECK (calendar != NULL);
    for (int provider = 1; calendar && provider <= GL_PROVIDER_COUNT; provider++)
        for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++) {
            gl_provider_query_t query = {
                .provider = (gl_provider_t) provider, .base_url = "http://127.0.0.1:1",
                .key = "key", .secret = "secret", .symbol = "AAPL",
                .timeframe = (gl_timeframe_t) timeframe,
                .from = 1711373400, .to = 1711396800,       //  2024-03-25 session
                .calendar = calendar, .now = 1711400000,
            };
            char error [256] = "";
            gl_provider_request_t *request = gl_provider_request_new (&query, error);
            bool serves = gl_capability_supports ((gl_provider_t) provider,
                                                  (gl_timeframe_t) timeframe);
            if ((request != NULL) != serves)
                fprintf (stderr, "provider=%s timeframe=%s serves=%d error=%s\n",
                         gl_capability_name ((gl_provider_t) provider),
                         gl_timeframe_name ((gl_timeframe_t) timeframe), serves, error);
            GL_CHECK ((request != NULL) == serves);
            gl_provider_request_destroy (&request);
        }
    gl_calendar_destroy (&calendar);
}

int
main (void)
{
    s_test_names ();
    s_test_facts ();
    s_test_routes ();
    s_test_policy ();
    s_test_adapters_agree ();
    return gl_test_done ("test_capability");
}
