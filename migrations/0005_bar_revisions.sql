-- Point-in-time history of ohlc_bars. A stored bar that is replaced (a
-- revised final bar, a final bar over a provisional one) keeps its old
-- version here, written by the writer's merge in the same statement as
-- the update, so what a backtest read at any time can be read again.
-- ohlc_bars.as_of says when the current version landed; a kept version
-- carries its own as_of, and superseded_at says when the next one landed
-- (both are the writing transaction's now()).
--
-- One row holds the versions one statement replaced for one slice of a
-- batch (a symbol, timeframe and provider), as parallel arrays, element i
-- of each array being version i: a revised re-delivery of 50 000 bars
-- adds a few rows instead of 50 000 rows and index entries, which keeps
-- the writer's changed re-deliveries near the speed of a plain merge.
-- first_ts and last_ts bound the versions' ts for the range lookup.
-- STORAGE EXTERNAL: the arrays are moved out of line uncompressed, since
-- compressing them would cost the writer more than the space is worth.
-- No CHECKs: every version passed ohlc_bars' own. No unique key: a key
-- here must never be able to refuse the writer's update.
CREATE TABLE bar_revisions (
    symbol        text NOT NULL,
    timeframe     timeframe NOT NULL,
    provider      text NOT NULL,
    superseded_at timestamptz NOT NULL,
    first_ts      timestamptz NOT NULL,
    last_ts       timestamptz NOT NULL,
    ts            timestamptz[] NOT NULL,
    open          double precision[] NOT NULL,
    high          double precision[] NOT NULL,
    low           double precision[] NOT NULL,
    close         double precision[] NOT NULL,
    volume        double precision[] NOT NULL,
    vwap          double precision[] NOT NULL,     -- elements NULL where unknown
    trade_count   bigint[] NOT NULL,               -- elements NULL where unknown
    as_of         timestamptz[] NOT NULL,
    provisional   boolean[] NOT NULL
);

ALTER TABLE bar_revisions
    ALTER ts SET STORAGE EXTERNAL, ALTER open SET STORAGE EXTERNAL,
    ALTER high SET STORAGE EXTERNAL, ALTER low SET STORAGE EXTERNAL,
    ALTER close SET STORAGE EXTERNAL, ALTER volume SET STORAGE EXTERNAL,
    ALTER vwap SET STORAGE EXTERNAL, ALTER trade_count SET STORAGE EXTERNAL,
    ALTER as_of SET STORAGE EXTERNAL, ALTER provisional SET STORAGE EXTERNAL;

CREATE INDEX bar_revisions_range ON bar_revisions (symbol, timeframe, first_ts);

-- Every provider's bars of a symbol and timeframe in [p_from, p_to) as
-- they were known at p_at: the stored row if it landed by then, else the
-- version that was current at p_at. A bar first stored after p_at is not
-- there.
CREATE FUNCTION ohlc_bars_as_of (p_symbol text, p_timeframe text, p_from timestamptz,
                                 p_to timestamptz, p_at timestamptz)
RETURNS SETOF ohlc_bars LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT DISTINCT ON (v.ts, v.provider) v.*
      FROM (SELECT b.*
              FROM ohlc_bars b
             WHERE b.symbol = p_symbol AND b.timeframe = p_timeframe::timeframe
               AND b.ts >= p_from AND b.ts < p_to AND b.as_of <= p_at
            UNION ALL
            SELECT r.symbol, r.timeframe, e.ts, r.provider, e.open, e.high, e.low, e.close,
                   e.volume, e.vwap, e.trade_count, e.as_of, e.provisional
              FROM bar_revisions r
             CROSS JOIN LATERAL unnest(r.ts, r.open, r.high, r.low, r.close, r.volume, r.vwap,
                                       r.trade_count, r.as_of, r.provisional)
                   AS e (ts, open, high, low, close, volume, vwap, trade_count, as_of,
                         provisional)
             WHERE r.symbol = p_symbol AND r.timeframe = p_timeframe::timeframe
               AND r.first_ts < p_to AND r.last_ts >= p_from AND r.superseded_at > p_at
               AND e.ts >= p_from AND e.ts < p_to AND e.as_of <= p_at) v
     ORDER BY v.ts, v.provider, v.as_of DESC
$$;

-- The bars view as it read at p_at: one bar per ts of the symbol and
-- timeframe in [p_from, p_to), chosen among the versions known then the
-- way the bars view chooses (final first, then provider precedence).
CREATE FUNCTION bars_as_of (p_symbol text, p_timeframe text, p_from timestamptz,
                            p_to timestamptz, p_at timestamptz)
RETURNS SETOF ohlc_bars LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT DISTINCT ON (v.ts) v.*
      FROM ohlc_bars_as_of(p_symbol, p_timeframe, p_from, p_to, p_at) v
      LEFT JOIN provider_precedence p
        ON p.timeframe = v.timeframe AND p.provider = v.provider
     ORDER BY v.ts, v.provisional, coalesce(p.rank, 2147483647), v.provider
$$;
