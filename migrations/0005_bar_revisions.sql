-- Point-in-time history of ohlc_bars. A stored bar that is replaced (a
-- revised final bar, a final bar over a provisional one) keeps its old
-- version here, written by the writer's merge in the same transaction as
-- the update, so what a backtest read at any time can be read again.
-- ohlc_bars.as_of says when the current version landed; here as_of says
-- when the old version landed and superseded_at when the next one did
-- (both are the writing transaction's now()). The first 13 columns are
-- ohlc_bars' own, in its order, so a version reads as an ohlc_bars row.
-- No CHECKs: every version passed ohlc_bars' own. No unique key: two
-- versions of one bar never share an interval, but a key here must never
-- be able to refuse the writer's update.
CREATE TABLE bar_revisions (
    symbol        text NOT NULL,
    timeframe     timeframe NOT NULL,
    ts            timestamptz NOT NULL,
    provider      text NOT NULL,
    open          double precision NOT NULL,
    high          double precision NOT NULL,
    low           double precision NOT NULL,
    close         double precision NOT NULL,
    volume        double precision NOT NULL,
    vwap          double precision,
    trade_count   bigint,
    as_of         timestamptz NOT NULL,
    provisional   boolean NOT NULL,
    superseded_at timestamptz NOT NULL
);

CREATE INDEX bar_revisions_bar ON bar_revisions (symbol, timeframe, ts, provider);

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
            SELECT r.symbol, r.timeframe, r.ts, r.provider, r.open, r.high, r.low, r.close,
                   r.volume, r.vwap, r.trade_count, r.as_of, r.provisional
              FROM bar_revisions r
             WHERE r.symbol = p_symbol AND r.timeframe = p_timeframe::timeframe
               AND r.ts >= p_from AND r.ts < p_to
               AND r.as_of <= p_at AND r.superseded_at > p_at) v
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
