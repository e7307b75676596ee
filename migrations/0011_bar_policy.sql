-- The bar policy a process is configured with (the configuration's bars
-- section: bars/grid_1h, bars/grid_4h, bars/adjustment; see
-- actors/lib/gl_capability.h) against what the database stores. Every
-- process that routes or writes bars calls bar_policy_adopt at start with
-- its grid (NULL for 1d, 1w) and basis per timeframe:
--   - a timeframe with nothing recorded records the policy's, so a bar of
--     another grid or basis is refused from the first write (0007, 0008);
--   - one whose recorded grid or basis differs takes the configured one
--     while it holds no bar of the recorded one (a new deployment that
--     chooses raw: 0008 recorded split for every timeframe);
--   - otherwise stored bars contradict the configuration, and it is
--     refused with invalid_parameter_value, naming the key to change.
-- Only a differing timeframe is looked up in ohlc_bars, so a start whose
-- configuration agrees with the database reads no bar.
CREATE FUNCTION bar_policy_adopt (p_timeframes timeframe[], p_grids text[], p_adjustment text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    position integer;
    tf timeframe;
    recorded text;
BEGIN
    FOR position IN 1 .. coalesce(array_length(p_timeframes, 1), 0) LOOP
        tf := p_timeframes[position];
        IF p_grids[position] IS NOT NULL AND tf IN ('1h', '4h') THEN
            INSERT INTO bar_grids (timeframe, grid) VALUES (tf, p_grids[position])
                ON CONFLICT (timeframe) DO NOTHING;
            SELECT grid INTO recorded FROM bar_grids WHERE timeframe = tf FOR UPDATE;
            IF recorded <> p_grids[position] THEN
                IF EXISTS (SELECT 1 FROM ohlc_bars WHERE timeframe = tf) THEN
                    RAISE EXCEPTION 'bars/grid_% = ''%'' but the % bars stored are on the % grid'
                          ' (bar_grids): set bars/grid_% = % or store % bars elsewhere',
                          tf, p_grids[position], tf, recorded, tf, recorded, tf
                          USING ERRCODE = 'invalid_parameter_value';
                END IF;
                UPDATE bar_grids SET grid = p_grids[position], first_written = now()
                 WHERE timeframe = tf;
            END IF;
        END IF;
        INSERT INTO bar_adjustments (timeframe, adjustment) VALUES (tf, p_adjustment)
            ON CONFLICT (timeframe) DO NOTHING;
        SELECT adjustment INTO recorded FROM bar_adjustments WHERE timeframe = tf FOR UPDATE;
        IF recorded <> p_adjustment THEN
            IF EXISTS (SELECT 1 FROM ohlc_bars WHERE timeframe = tf AND adjustment = recorded) THEN
                RAISE EXCEPTION 'bars/adjustment = ''%'' but % bars are stored with % prices'
                      ' (bar_adjustments): set bars/adjustment = % or store % prices elsewhere',
                      p_adjustment, tf, recorded, recorded, p_adjustment
                      USING ERRCODE = 'invalid_parameter_value';
            END IF;
            UPDATE bar_adjustments SET adjustment = p_adjustment, first_written = now()
             WHERE timeframe = tf;
        END IF;
    END LOOP;
END
$$;

-- 0008 checked the basis of every inserted or updated row in a row
-- trigger, an insert into bar_adjustments and a lookup per row: four
-- times the cost of the insert itself, and COPY into ohlc_bars went at a
-- third of its speed. Inserts are now checked once per statement, over
-- the statement's new rows; an update only when it changes a row's basis
-- (the writer names the basis in every update, nearly always the same),
-- after the row is written: a BEFORE row trigger, even one whose WHEN
-- is false, makes every update lock its row first. A mismatch still
-- fails the statement with the same check_violation, which the writer
-- isolates like any bad row.
CREATE FUNCTION bar_adjustment_check_inserted () RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    INSERT INTO bar_adjustments (timeframe, adjustment)
    SELECT DISTINCT ON (timeframe) timeframe, adjustment
      FROM inserted_bars WHERE adjustment IS NOT NULL ORDER BY timeframe
        ON CONFLICT (timeframe) DO NOTHING;
    SELECT n.timeframe, n.symbol, n.provider, n.ts, n.adjustment, a.adjustment AS recorded
      INTO bad
      FROM inserted_bars n JOIN bar_adjustments a ON a.timeframe = n.timeframe
     WHERE n.adjustment <> a.adjustment
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'bar_adjustment_mismatch: % bars are stored with % prices;'
              ' a bar of % from % at % has % prices', bad.timeframe, bad.recorded,
              bad.symbol, bad.provider, bad.ts, bad.adjustment
              USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER ohlc_bars_adjustment ON ohlc_bars;
CREATE TRIGGER ohlc_bars_adjustment_inserted AFTER INSERT ON ohlc_bars
    REFERENCING NEW TABLE AS inserted_bars
    FOR EACH STATEMENT EXECUTE FUNCTION bar_adjustment_check_inserted();
CREATE TRIGGER ohlc_bars_adjustment_changed AFTER UPDATE OF adjustment ON ohlc_bars
    FOR EACH ROW WHEN (NEW.adjustment IS DISTINCT FROM OLD.adjustment)
    EXECUTE FUNCTION bar_adjustment_check();
