-- Reference data: what a timeframe is, which symbols exist, which jobs to
-- run. Migrations name no schema: gapless migrate runs each one with the
-- search_path set to the target schema (default "gapless"), so every
-- object lands there and nothing else in the database is touched.

-- The bar lengths gapless stores, by the names protocol/gl_timeframe uses.
CREATE DOMAIN timeframe AS text
    CONSTRAINT timeframe_known
    CHECK (VALUE IN ('1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'));

CREATE TABLE symbols (
    ticker      text PRIMARY KEY
                CONSTRAINT symbol_ticker_well_formed
                CHECK (ticker ~ '^[A-Za-z0-9.^=:/_-]{1,32}$'),
    asset_class text NOT NULL DEFAULT 'equity'
                CONSTRAINT symbol_asset_class_known
                CHECK (asset_class IN ('equity', 'etf', 'index', 'crypto', 'fx', 'future')),
    -- The trading calendar by the names gl_calendar_kind_parse knows
    calendar    text NOT NULL DEFAULT 'xnys'
                CONSTRAINT symbol_calendar_known
                CHECK (calendar IN ('xnys', '24x7')),
    tier        text NOT NULL DEFAULT 'T2'
                CONSTRAINT symbol_tier_known
                CHECK (tier IN ('T0', 'T1', 'T2')),
    listed_on   date,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Templates the scheduler turns into backfills: periodic ones every
-- cadence, on-demand ones when asked. A template names one symbol or a
-- whole tier.
CREATE TABLE job_definitions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    kind          text NOT NULL
                  CONSTRAINT job_definition_kind_known
                  CHECK (kind IN ('periodic', 'on_demand')),
    symbol        text,
    tier          text
                  CONSTRAINT job_definition_tier_known
                  CHECK (tier IN ('T0', 'T1', 'T2')),
    timeframe     timeframe NOT NULL,
    -- How far back from now one run reaches
    window_length interval NOT NULL
                  CONSTRAINT job_definition_window_positive
                  CHECK (window_length > interval '0'),
    cadence       interval
                  CONSTRAINT job_definition_cadence_positive
                  CHECK (cadence > interval '0'),
    priority      integer NOT NULL DEFAULT 0,
    enabled       boolean NOT NULL DEFAULT true,
    last_run_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_definition_symbol_or_tier
        CHECK ((symbol IS NULL) <> (tier IS NULL)),
    CONSTRAINT job_definition_periodic_has_cadence
        CHECK ((kind = 'periodic') = (cadence IS NOT NULL))
);
