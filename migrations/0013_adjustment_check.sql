-- The basis check of inserted bars in one pass over the statement's rows.
--
-- 0011's statement trigger first inserted every timeframe's basis
-- (DISTINCT ON, a sort of all the statement's rows), then joined the rows
-- with bar_adjustments: two passes, and in bench_e2e 1.9 s of the 12.7 s
-- the server spent on the writer's COPYs of 1.56 M bars, although the
-- basis of every timeframe is recorded when a writer starts
-- (bar_policy_adopt). Now one pass looks for a row whose timeframe
-- records no basis or another one; only a timeframe's first bars (a
-- basis not recorded yet) take the old two passes. The rules and the
-- error are 0011's.
CREATE OR REPLACE FUNCTION bar_adjustment_check_inserted () RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.timeframe, n.symbol, n.provider, n.ts, n.adjustment, a.adjustment AS recorded
      INTO bad
      FROM inserted_bars n LEFT JOIN bar_adjustments a ON a.timeframe = n.timeframe
     WHERE n.adjustment IS NOT NULL AND a.adjustment IS DISTINCT FROM n.adjustment
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF bad.recorded IS NULL THEN
        INSERT INTO bar_adjustments (timeframe, adjustment)
        SELECT DISTINCT ON (timeframe) timeframe, adjustment
          FROM inserted_bars WHERE adjustment IS NOT NULL ORDER BY timeframe
            ON CONFLICT (timeframe) DO NOTHING;
        SELECT n.timeframe, n.symbol, n.provider, n.ts, n.adjustment, a.adjustment AS recorded
          INTO bad
          FROM inserted_bars n JOIN bar_adjustments a ON a.timeframe = n.timeframe
         WHERE n.adjustment <> a.adjustment
         LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    RAISE EXCEPTION 'bar_adjustment_mismatch: % bars are stored with % prices;'
          ' a bar of % from % at % has % prices', bad.timeframe, bad.recorded,
          bad.symbol, bad.provider, bad.ts, bad.adjustment
          USING ERRCODE = 'check_violation';
END
$$;
