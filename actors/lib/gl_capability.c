/*  gl_capability — what each provider can serve, as one table.  */
#include "gl_capability.h"
#include <stdio.h>
#include <string.h>

#define S_ALL_TIMEFRAMES ((1u << (GL_TF_1W + 1)) - 2)
#define S_TIMEFRAME(timeframe) (1u << (timeframe))
#define S_RAW (1u << GL_ADJUSTMENT_RAW)
#define S_SPLIT (1u << GL_ADJUSTMENT_SPLIT)

typedef struct {
    const char *name;
    uint32_t timeframes;        //  bit (1 << gl_timeframe_t) per timeframe served
    int64_t max_span_1m;        //  longest request span for 1m, 0: none
    int64_t max_span_intraday;  //  for every intraday timeframe, 0: none
    uint32_t page_max;
    gl_grid_t grid;             //  where its intraday bars start
    uint32_t intraday_bases;    //  bit (1 << gl_adjustment_t) per basis served
    uint32_t daily_bases;       //  for 1d and 1w
} s_capability_t;

static const s_capability_t s_capabilities [GL_PROVIDER_COUNT + 1] = {
    [GL_PROVIDER_POLYGON] = { "polygon", S_ALL_TIMEFRAMES, 0, 0, 50000, GL_GRID_CLOCK,
                            S_RAW | S_SPLIT, S_RAW | S_SPLIT },
    [GL_PROVIDER_YAHOO] = { "yahoo", S_ALL_TIMEFRAMES & ~S_TIMEFRAME (GL_TF_4H),
                            7 * 86400, 0, 0, GL_GRID_SESSION, S_SPLIT, S_SPLIT },
    [GL_PROVIDER_TRADIER] = { "tradier", S_TIMEFRAME (GL_TF_1M) | S_TIMEFRAME (GL_TF_5M)
                              | S_TIMEFRAME (GL_TF_15M) | S_TIMEFRAME (GL_TF_1D)
                              | S_TIMEFRAME (GL_TF_1W), 0, 0, 0, GL_GRID_CLOCK,
                              S_RAW, S_SPLIT },
    [GL_PROVIDER_FINNHUB] = { "finnhub", S_ALL_TIMEFRAMES & ~S_TIMEFRAME (GL_TF_4H),
                              0, 30 * 86400, 0, GL_GRID_CLOCK, S_RAW, S_SPLIT },
    [GL_PROVIDER_ALPACA] = { "alpaca", S_ALL_TIMEFRAMES, 0, 0, 10000, GL_GRID_CLOCK,
                           S_RAW | S_SPLIT, S_RAW | S_SPLIT },
};

//  The default routing orders: intraday history, then daily and weekly.
static const gl_provider_t s_route_intraday [] = {
    GL_PROVIDER_POLYGON, GL_PROVIDER_ALPACA, GL_PROVIDER_TRADIER
};
static const gl_provider_t s_route_daily [] = {
    GL_PROVIDER_YAHOO, GL_PROVIDER_POLYGON, GL_PROVIDER_TRADIER
};
//  Hours from the session open are Yahoo's alone.
static const gl_provider_t s_route_session [] = { GL_PROVIDER_YAHOO };

//  The bar policy in force: written at start (gl_capability_configure)
//  before any thread, read-only after.
typedef struct {
    gl_grid_t grids [GL_TF_1W + 1];
    gl_adjustment_t adjustment;
} s_policy_t;

static s_policy_t s_policy = {
    .grids = { [GL_TF_1M] = GL_GRID_CLOCK, [GL_TF_5M] = GL_GRID_CLOCK,
               [GL_TF_15M] = GL_GRID_CLOCK, [GL_TF_30M] = GL_GRID_CLOCK,
               [GL_TF_1H] = GL_GRID_CLOCK, [GL_TF_4H] = GL_GRID_CLOCK },
    .adjustment = GL_ADJUSTMENT_DEFAULT
};

//  The timeframes whose grid is configured: the others' bars are the
//  same on both grids.
static const gl_timeframe_t s_gridded [] = { GL_TF_1H, GL_TF_4H };

//  The table entry of a provider, or NULL.
static const s_capability_t *
s_capability (gl_provider_t provider)
{
    if (provider <= GL_PROVIDER_INVALID || provider > GL_PROVIDER_COUNT)
        return NULL;
    return &s_capabilities [provider];
}

//  Parses a provider name.
gl_provider_t
gl_capability_parse_name (const char *name)
{
    for (int provider = 1; name && provider <= GL_PROVIDER_COUNT; provider++)
        if (strcmp (s_capabilities [provider].name, name) == 0)
            return (gl_provider_t) provider;
    return GL_PROVIDER_INVALID;
}

//  The provider's name.
const char *
gl_capability_name (gl_provider_t provider)
{
    const s_capability_t *capability = s_capability (provider);
    return capability? capability->name: "invalid";
}

//  The endpoint of a provider for a timeframe.
const char *
gl_capability_endpoint (gl_provider_t provider, gl_timeframe_t timeframe)
{
    bool intraday = gl_timeframe_is_intraday (timeframe);
    switch (provider) {
        case GL_PROVIDER_POLYGON: return "aggs";
        case GL_PROVIDER_YAHOO:   return "chart";
        case GL_PROVIDER_TRADIER: return intraday? "timesales": "history";
        case GL_PROVIDER_FINNHUB: return "candle";
        case GL_PROVIDER_ALPACA:  return "bars";
        default:                  return "invalid";
    }
}

//  The health score from its four terms.
double
gl_capability_health_score (double breaker, double latency, double errors, double completeness)
{
    return 0.45 * breaker + 0.25 * latency + 0.20 * errors + 0.10 * completeness;
}

//  Names of the bases, by gl_adjustment_t.
static const char *s_adjustment_names [] = { "invalid", "raw", "split" };

//  Parses a basis name.
gl_adjustment_t
gl_capability_adjustment_parse (const char *name)
{
    for (int adjustment = GL_ADJUSTMENT_RAW; name && adjustment <= GL_ADJUSTMENT_SPLIT; adjustment++)
        if (strcmp (s_adjustment_names [adjustment], name) == 0)
            return (gl_adjustment_t) adjustment;
    return GL_ADJUSTMENT_INVALID;
}

//  The basis's name.
const char *
gl_capability_adjustment_name (gl_adjustment_t adjustment)
{
    return adjustment >= GL_ADJUSTMENT_RAW && adjustment <= GL_ADJUSTMENT_SPLIT
         ? s_adjustment_names [adjustment]: "invalid";
}

//  True if the provider serves the timeframe on the grid and basis.
bool
gl_capability_serves (gl_provider_t provider, gl_timeframe_t timeframe, gl_grid_t grid,
                      gl_adjustment_t adjustment)
{
    const s_capability_t *capability = s_capability (provider);
    if (!capability || gl_timeframe_seconds (timeframe) <= 0
    || (capability->timeframes & S_TIMEFRAME (timeframe)) == 0
    || adjustment < GL_ADJUSTMENT_RAW || adjustment > GL_ADJUSTMENT_SPLIT)
        return false;
    bool intraday = gl_timeframe_is_intraday (timeframe);
    uint32_t bases = intraday? capability->intraday_bases: capability->daily_bases;
    if ((bases & (1u << adjustment)) == 0)
        return false;
    return !intraday || gl_calendar_grids_agree (timeframe, capability->grid, grid);
}

//  The basis delivered when wanted is asked for.
gl_adjustment_t
gl_capability_adjustment (gl_provider_t provider, gl_timeframe_t timeframe,
                          gl_adjustment_t wanted)
{
    const s_capability_t *capability = s_capability (provider);
    if (!capability || gl_timeframe_seconds (timeframe) <= 0
    || (capability->timeframes & S_TIMEFRAME (timeframe)) == 0)
        return GL_ADJUSTMENT_INVALID;
    uint32_t bases = gl_timeframe_is_intraday (timeframe)? capability->intraday_bases
                                                         : capability->daily_bases;
    if (wanted >= GL_ADJUSTMENT_RAW && wanted <= GL_ADJUSTMENT_SPLIT && (bases & (1u << wanted)))
        return wanted;
    return (bases & S_SPLIT)? GL_ADJUSTMENT_SPLIT: GL_ADJUSTMENT_RAW;
}

//  True if some provider serves the timeframe under the policy.
static bool
s_policy_served (const s_policy_t *policy, gl_timeframe_t timeframe)
{
    for (int provider = 1; provider <= GL_PROVIDER_COUNT; provider++)
        if (gl_capability_serves ((gl_provider_t) provider, timeframe, policy->grids [timeframe],
                                  policy->adjustment))
            return true;
    return false;
}

//  Reads the bar policy of config into policy and checks that providers
//  serve it. Returns 0, or -1 with the reason in error.
static int
s_policy_read (gl_config_t *config, s_policy_t *out, char *error)
{
    s_policy_t policy = s_policy;
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_4H; timeframe++)
        policy.grids [timeframe] = gl_calendar_default_grid ((gl_timeframe_t) timeframe);
    char key [32];
    const char *value = NULL;
    for (size_t index = 0; index < sizeof s_gridded / sizeof s_gridded [0]; index++) {
        gl_timeframe_t timeframe = s_gridded [index];
        snprintf (key, sizeof key, "bars/grid_%s", gl_timeframe_name (timeframe));
        value = gl_config_get (config, key, "clock");
        policy.grids [timeframe] = gl_calendar_grid_parse (value);
        if (policy.grids [timeframe] == GL_GRID_INVALID) {
            snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s = '%.64s': expected clock or session",
                      key, value);
            return -1;
        }
    }
    value = gl_config_get (config, "bars/adjustment", "split");
    policy.adjustment = gl_capability_adjustment_parse (value);
    if (policy.adjustment == GL_ADJUSTMENT_INVALID) {
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: bars/adjustment = '%.64s': expected split"
                  " or raw", value);
        return -1;
    }
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++) {
        const char *name = gl_timeframe_name ((gl_timeframe_t) timeframe);
        const char *basis = gl_capability_adjustment_name (policy.adjustment);
        const char *grid = gl_calendar_grid_name (policy.grids [timeframe]);
        if (s_policy_served (&policy, (gl_timeframe_t) timeframe))
            continue;
        if (timeframe == GL_TF_1H || timeframe == GL_TF_4H)
            snprintf (error, GL_CONFIG_ERROR_MAX, "config: bars/grid_%s = '%s' with bars/adjustment"
                      " = '%s': no provider serves %s bars on the %s grid with %s prices",
                      name, grid, basis, name, grid, basis);
        else
            snprintf (error, GL_CONFIG_ERROR_MAX, "config: bars/adjustment = '%s': no provider"
                      " serves %s bars with %s prices", basis, name, basis);
        return -1;
    }
    *out = policy;
    return 0;
}

//  Reads the bar policy and puts it in force.
int
gl_capability_configure (gl_config_t *config, char *error)
{
    s_policy_t policy;
    if (s_policy_read (config, &policy, error) == -1)
        return -1;
    s_policy = policy;
    return 0;
}

//  Checks the bar policy without putting it in force.
int
gl_capability_check (gl_config_t *config, char *error)
{
    s_policy_t policy;
    return s_policy_read (config, &policy, error);
}

//  The grid in force for a timeframe.
gl_grid_t
gl_capability_policy_grid (gl_timeframe_t timeframe)
{
    return gl_timeframe_is_intraday (timeframe)? s_policy.grids [timeframe]: GL_GRID_INVALID;
}

//  The basis gapless stores.
gl_adjustment_t
gl_capability_policy_adjustment (void)
{
    return s_policy.adjustment;
}

//  Sets the policy's grids on a calendar.
void
gl_capability_policy_apply (gl_calendar_t *calendar)
{
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_4H; timeframe++)
        gl_calendar_set_grid (calendar, (gl_timeframe_t) timeframe, s_policy.grids [timeframe]);
}

//  Checks the policy against the database and records it.
int
gl_capability_policy_adopt (PGconn *conn, bool *contradicted, char *error)
{
    char timeframes [128] = "{", grids [128] = "{";
    for (int timeframe = GL_TF_1M; timeframe <= GL_TF_1W; timeframe++) {
        const char *separator = timeframe == GL_TF_1M? "": ",";
        gl_grid_t grid = gl_capability_policy_grid ((gl_timeframe_t) timeframe);
        size_t used = strlen (timeframes);
        snprintf (timeframes + used, sizeof timeframes - used, "%s%s", separator,
                  gl_timeframe_name ((gl_timeframe_t) timeframe));
        used = strlen (grids);
        snprintf (grids + used, sizeof grids - used, "%s%s", separator,
                  grid == GL_GRID_INVALID? "NULL": gl_calendar_grid_name (grid));
    }
    strcat (timeframes, "}");
    strcat (grids, "}");
    const char *values [3] = {
        timeframes, grids, gl_capability_adjustment_name (s_policy.adjustment)
    };
    PGresult *result = PQexecParams (conn, "SELECT bar_policy_adopt($1::timeframe[], $2::text[], $3)",
                                     3, NULL, values, NULL, NULL, 0);
    bool failed = PQresultStatus (result) != PGRES_TUPLES_OK;
    const char *state = PQresultErrorField (result, PG_DIAG_SQLSTATE);
    *contradicted = failed && state && strcmp (state, "22023") == 0;
    if (*contradicted)
        snprintf (error, GL_CONFIG_ERROR_MAX, "config: %s",
                  PQresultErrorField (result, PG_DIAG_MESSAGE_PRIMARY));
    else
    if (failed)
        snprintf (error, GL_CONFIG_ERROR_MAX, "the bar policy could not be checked: %s",
                  PQerrorMessage (conn));
    PQclear (result);
    return failed? -1: 0;
}

//  True if the provider has the timeframe on the grid in force in any basis.
bool
gl_capability_supports (gl_provider_t provider, gl_timeframe_t timeframe)
{
    return gl_capability_serves (provider, timeframe, gl_capability_policy_grid (timeframe),
                                 gl_capability_adjustment (provider, timeframe,
                                                           s_policy.adjustment));
}

//  True if the provider serves the timeframe on the grid and basis in force.
bool
gl_capability_routable (gl_provider_t provider, gl_timeframe_t timeframe)
{
    return gl_capability_serves (provider, timeframe, gl_capability_policy_grid (timeframe),
                                 s_policy.adjustment);
}

//  The grid of the provider's intraday bars.
gl_grid_t
gl_capability_grid (gl_provider_t provider)
{
    const s_capability_t *capability = s_capability (provider);
    return capability? capability->grid: GL_GRID_INVALID;
}

//  Longest span per request, 0 for none.
int64_t
gl_capability_max_span (gl_provider_t provider, gl_timeframe_t timeframe)
{
    const s_capability_t *capability = s_capability (provider);
    if (!capability || gl_timeframe_seconds (timeframe) <= 0
    || (capability->timeframes & S_TIMEFRAME (timeframe)) == 0)
        return 0;
    if (timeframe == GL_TF_1M && capability->max_span_1m)
        return capability->max_span_1m;
    return gl_timeframe_is_intraday (timeframe)? capability->max_span_intraday: 0;
}

//  Most bars per page, 0 for unpaged.
uint32_t
gl_capability_page_max (gl_provider_t provider)
{
    const s_capability_t *capability = s_capability (provider);
    return capability? capability->page_max: 0;
}

//  The default routing order for a timeframe.
size_t
gl_capability_route (gl_timeframe_t timeframe, gl_provider_t *providers, size_t size)
{
    if (gl_timeframe_seconds (timeframe) <= 0)
        return 0;
    const gl_provider_t *order = s_route_daily;
    size_t count = sizeof s_route_daily / sizeof s_route_daily [0];
    if (gl_capability_policy_grid (timeframe) == GL_GRID_SESSION
    &&  !gl_calendar_grids_agree (timeframe, GL_GRID_SESSION, GL_GRID_CLOCK)) {
        order = s_route_session;
        count = sizeof s_route_session / sizeof s_route_session [0];
    }
    else
    if (gl_timeframe_is_intraday (timeframe)) {
        order = s_route_intraday;
        count = sizeof s_route_intraday / sizeof s_route_intraday [0];
    }
    size_t used = 0;
    for (size_t index = 0; index < count && used < size; index++)
        if (gl_capability_routable (order [index], timeframe))
            providers [used++] = order [index];
    return used;
}
