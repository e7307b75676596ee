-- The price basis of every stored bar: 'raw' (as traded) or 'split'
-- (adjusted for every later split; dividends not applied), as the fetcher
-- asked the provider for it and said in the bars message (SPEC 7.2). Around
-- a split raw and adjusted prices differ by the split's ratio, so a
-- timeframe holds one basis, recorded in bar_adjustments, and a bar of
-- another basis is refused with a check_violation that says so (the
-- writer isolates it like any bad row). The writer always names the basis;
-- rows without one (stored before this migration, or inserted by hand) are
-- of unknown basis: the bars view shows them only while their timeframe
-- has no recorded basis, and a re-fetch relabels them.
ALTER TABLE ohlc_bars
    ADD COLUMN adjustment text,
    ADD CONSTRAINT bar_adjustment_known CHECK (adjustment IN ('raw', 'split'));

CREATE TABLE bar_adjustments (
    timeframe     timeframe PRIMARY KEY,
    adjustment    text NOT NULL,
    first_written timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bar_adjustment_basis_known CHECK (adjustment IN ('raw', 'split'))
);

-- gapless stores split-adjusted prices (GL_ADJUSTMENT_DEFAULT in
-- actors/lib/gl_capability.h), so every timeframe starts with that basis
-- recorded: a provider pinned by hand that only has raw bars (Finnhub
-- intraday, Tradier timesales) cannot make raw the basis by writing first.
-- A deployment that chooses raw changes these rows before its first write.
INSERT INTO bar_adjustments (timeframe, adjustment)
SELECT unnest(ARRAY['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'])::timeframe, 'split';

-- Records the timeframe's basis at its first bar and refuses any other.
CREATE FUNCTION bar_adjustment_check () RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    recorded text;
BEGIN
    IF NEW.adjustment IS NULL THEN
        RETURN NEW;             -- unknown basis: stored, never shown beside a known one
    END IF;
    INSERT INTO bar_adjustments (timeframe, adjustment) VALUES (NEW.timeframe, NEW.adjustment)
        ON CONFLICT (timeframe) DO NOTHING;
    SELECT adjustment INTO recorded FROM bar_adjustments WHERE timeframe = NEW.timeframe;
    IF recorded <> NEW.adjustment THEN
        RAISE EXCEPTION 'bar_adjustment_mismatch: % bars are stored with % prices;'
              ' a bar of % from % at % has % prices', NEW.timeframe, recorded,
              NEW.symbol, NEW.provider, NEW.ts, NEW.adjustment
              USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ohlc_bars_adjustment BEFORE INSERT OR UPDATE OF adjustment ON ohlc_bars
    FOR EACH ROW EXECUTE FUNCTION bar_adjustment_check();

-- The bars view never mixes bases: only rows of their timeframe's recorded
-- basis (or, before any is recorded, the old rows without one).
CREATE OR REPLACE VIEW bars AS
SELECT DISTINCT ON (b.symbol, b.timeframe, b.ts)
       b.symbol, b.timeframe, b.ts, b.provider, b.open, b.high, b.low, b.close,
       b.volume, b.vwap, b.trade_count, b.as_of, b.provisional, b.adjustment
  FROM ohlc_bars b
  LEFT JOIN provider_precedence p
    ON p.timeframe = b.timeframe AND p.provider = b.provider
  LEFT JOIN bar_adjustments a ON a.timeframe = b.timeframe
 WHERE b.adjustment IS NOT DISTINCT FROM a.adjustment
 ORDER BY b.symbol, b.timeframe, b.ts, b.provisional,
          coalesce(p.rank, 2147483647), b.provider;

-- Replaced versions keep their basis too (NULL elements: unknown; a row
-- kept before this migration has no array at all).
ALTER TABLE bar_revisions ADD COLUMN adjustment text[];
ALTER TABLE bar_revisions ALTER adjustment SET STORAGE EXTERNAL;

-- As in 0005, with each version's basis.
CREATE OR REPLACE FUNCTION ohlc_bars_as_of (p_symbol text, p_timeframe text, p_from timestamptz,
                                            p_to timestamptz, p_at timestamptz)
RETURNS SETOF ohlc_bars LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT DISTINCT ON (v.ts, v.provider) v.*
      FROM (SELECT b.*
              FROM ohlc_bars b
             WHERE b.symbol = p_symbol AND b.timeframe = p_timeframe::timeframe
               AND b.ts >= p_from AND b.ts < p_to AND b.as_of <= p_at
            UNION ALL
            SELECT r.symbol, r.timeframe, e.ts, r.provider, e.open, e.high, e.low, e.close,
                   e.volume, e.vwap, e.trade_count, e.as_of, e.provisional, e.adjustment
              FROM bar_revisions r
             CROSS JOIN LATERAL unnest(r.ts, r.open, r.high, r.low, r.close, r.volume, r.vwap,
                                       r.trade_count, r.as_of, r.provisional, r.adjustment)
                   AS e (ts, open, high, low, close, volume, vwap, trade_count, as_of,
                         provisional, adjustment)
             WHERE r.symbol = p_symbol AND r.timeframe = p_timeframe::timeframe
               AND r.first_ts < p_to AND r.last_ts >= p_from AND r.superseded_at > p_at
               AND e.ts >= p_from AND e.ts < p_to AND e.as_of <= p_at) v
     ORDER BY v.ts, v.provider, v.as_of DESC
$$;

-- As in 0005, and like the bars view never mixing bases: only versions of
-- the timeframe's recorded basis (or, before any, those without one).
CREATE OR REPLACE FUNCTION bars_as_of (p_symbol text, p_timeframe text, p_from timestamptz,
                                       p_to timestamptz, p_at timestamptz)
RETURNS SETOF ohlc_bars LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT DISTINCT ON (v.ts) v.*
      FROM ohlc_bars_as_of(p_symbol, p_timeframe, p_from, p_to, p_at) v
      LEFT JOIN provider_precedence p
        ON p.timeframe = v.timeframe AND p.provider = v.provider
      LEFT JOIN bar_adjustments a ON a.timeframe = v.timeframe
     WHERE v.adjustment IS NOT DISTINCT FROM a.adjustment
     ORDER BY v.ts, v.provisional, coalesce(p.rank, 2147483647), v.provider
$$;
