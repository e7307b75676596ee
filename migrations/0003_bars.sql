-- Market data: bars as each provider gave them, the one bar per time the
-- rest of gapless reads, what is covered, and how providers fare.

-- Every bar from every provider. A bar starts at ts (UTC) and follows the
-- bar start convention in actors/calendar/gl_calendar.h. The CHECKs
-- reject impossible bars. PostgreSQL tries them in name order, so a bar
-- with high < low is reported as bar_high_at_least_low. A NaN or an
-- infinite price fails them too (NaN sorts above every number).
CREATE TABLE ohlc_bars (
    symbol      text NOT NULL,
    timeframe   timeframe NOT NULL,
    ts          timestamptz NOT NULL,
    provider    text NOT NULL,
    open        double precision NOT NULL,
    high        double precision NOT NULL,
    low         double precision NOT NULL,
    close       double precision NOT NULL,
    volume      double precision NOT NULL DEFAULT 0,
    vwap        double precision,
    trade_count bigint,
    -- When gapless stored this version of the bar
    as_of       timestamptz NOT NULL DEFAULT now(),
    -- An unfinished bar of the session in progress
    provisional boolean NOT NULL DEFAULT false,
    PRIMARY KEY (symbol, timeframe, ts, provider),
    CONSTRAINT bar_high_at_least_low CHECK (high >= low),
    CONSTRAINT bar_high_covers_open_close CHECK (high >= open AND high >= close),
    CONSTRAINT bar_low_covers_open_close CHECK (low <= open AND low <= close),
    CONSTRAINT bar_prices_finite CHECK (high < 'Infinity' AND low > '-Infinity'),
    CONSTRAINT bar_volume_not_negative CHECK (volume >= 0 AND volume < 'Infinity'),
    CONSTRAINT bar_vwap_finite CHECK (vwap > '-Infinity' AND vwap < 'Infinity'),
    CONSTRAINT bar_trade_count_not_negative CHECK (trade_count >= 0)
);

-- Which provider's bar wins when several stored the same bar: lower rank
-- wins; providers not listed rank after every listed one.
CREATE TABLE provider_precedence (
    timeframe timeframe NOT NULL,
    provider  text NOT NULL,
    rank      integer NOT NULL,
    PRIMARY KEY (timeframe, provider)
);

-- The routing defaults of ARCHITECTURE.md: intraday Polygon, Alpaca,
-- Tradier; daily and weekly Yahoo, Polygon, Tradier.
INSERT INTO provider_precedence (timeframe, provider, rank)
SELECT timeframe, provider, rank
  FROM unnest(ARRAY['1m', '5m', '15m', '30m', '1h', '4h']) AS timeframe,
       unnest(ARRAY['polygon', 'alpaca', 'tradier', 'finnhub', 'yahoo'],
              ARRAY[1, 2, 3, 4, 5]) AS choice (provider, rank)
UNION ALL
SELECT timeframe, provider, rank
  FROM unnest(ARRAY['1d', '1w']) AS timeframe,
       unnest(ARRAY['yahoo', 'polygon', 'tradier', 'alpaca', 'finnhub'],
              ARRAY[1, 2, 3, 4, 5]) AS choice (provider, rank);

-- One bar per (symbol, timeframe, ts): a final bar before a provisional
-- one, then the provider with the best rank, then the name (so the choice
-- is stable).
CREATE VIEW bars AS
SELECT DISTINCT ON (b.symbol, b.timeframe, b.ts)
       b.symbol, b.timeframe, b.ts, b.provider, b.open, b.high, b.low, b.close,
       b.volume, b.vwap, b.trade_count, b.as_of, b.provisional
  FROM ohlc_bars b
  LEFT JOIN provider_precedence p
    ON p.timeframe = b.timeframe AND p.provider = b.provider
 ORDER BY b.symbol, b.timeframe, b.ts, b.provisional,
          coalesce(p.rank, 2147483647), b.provider;

-- Ranges [range_from, range_to) known to hold every bar the calendar
-- expects. The coverage actor owns these rows and keeps them merged.
CREATE TABLE coverage (
    symbol     text NOT NULL,
    timeframe  timeframe NOT NULL,
    range_from timestamptz NOT NULL,
    range_to   timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, timeframe, range_from),
    CONSTRAINT coverage_range_not_empty CHECK (range_to > range_from)
);

-- Summary per symbol and timeframe, kept by the coverage actor.
CREATE TABLE coverage_status (
    symbol          text NOT NULL,
    timeframe       timeframe NOT NULL,
    first_covered   timestamptz,
    last_covered    timestamptz,
    last_success_at timestamptz,
    gap_count       integer NOT NULL DEFAULT 0
                    CONSTRAINT coverage_gap_count_not_negative CHECK (gap_count >= 0),
    checked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, timeframe),
    CONSTRAINT coverage_status_ordered CHECK (last_covered >= first_covered)
);

-- Health samples per provider over time; each term is normalised to
-- [0, 1] over the sampling window (the H score of ARCHITECTURE.md).
CREATE TABLE provider_health (
    provider        text NOT NULL,
    sampled_at      timestamptz NOT NULL DEFAULT now(),
    breaker         text NOT NULL
                    CONSTRAINT provider_health_breaker_known
                    CHECK (breaker IN ('closed', 'half_open', 'open')),
    latency_ms      double precision CHECK (latency_ms >= 0),
    error_rate      double precision CHECK (error_rate BETWEEN 0 AND 1),
    incompleteness  double precision CHECK (incompleteness BETWEEN 0 AND 1),
    score           double precision CHECK (score BETWEEN 0 AND 1),
    requests        bigint NOT NULL DEFAULT 0 CHECK (requests >= 0),
    errors          bigint NOT NULL DEFAULT 0 CHECK (errors >= 0),
    PRIMARY KEY (provider, sampled_at)
);

-- The latest sample of each provider.
CREATE VIEW provider_health_latest AS
SELECT DISTINCT ON (provider) *
  FROM provider_health
 ORDER BY provider, sampled_at DESC;
