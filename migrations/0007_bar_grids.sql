-- One bar grid per intraday timeframe (actors/lib/gl_calendar.h): 1h and
-- 4h bars start either on the clock (09:00, 10:00 .. New York; Polygon,
-- Alpaca, Finnhub) or at the session open + k hours (09:30, 10:30 ..;
-- Yahoo). A timeframe that held both would interleave two bars per hour,
-- each covering a different half hour, and every gap count would be
-- wrong. So the grid of a timeframe is recorded at its first write, and
-- a bar of the other grid is refused with a check_violation that says so:
-- the writer isolates it like any bad row, and the rest of its batch
-- lands. 1m .. 30m bars are the same bars on both grids and are not
-- checked.
--
-- New York's offset from UTC is a whole number of hours, so the grid is
-- read off the UTC minute: :00 is the clock, :30 the session (4h session
-- bars start 09:30 and 13:30). 24x7 bars are multiples of the length since
-- the epoch, the clock grid.
CREATE TABLE bar_grids (
    timeframe     timeframe PRIMARY KEY,
    grid          text NOT NULL,
    first_written timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bar_grid_known CHECK (grid IN ('clock', 'session')),
    CONSTRAINT bar_grid_hourly CHECK (timeframe IN ('1h', '4h'))
);

-- The grid a bar start lies on, or NULL for neither.
CREATE FUNCTION bar_grid_of (ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE extract(minute FROM ts AT TIME ZONE 'UTC')
                WHEN 0 THEN 'clock' WHEN 30 THEN 'session' END
$$;

-- Records the timeframe's grid at its first bar and refuses a bar on any
-- other grid.
CREATE FUNCTION bar_grid_check () RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bar_grid text := bar_grid_of(NEW.ts);
    recorded text;
BEGIN
    IF bar_grid IS NULL THEN
        RAISE EXCEPTION 'bar_off_grid: a % bar of % at % starts on neither grid'
              ' (expected :00 for clock or :30 for session)', NEW.timeframe, NEW.symbol, NEW.ts
              USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO bar_grids (timeframe, grid) VALUES (NEW.timeframe, bar_grid)
        ON CONFLICT (timeframe) DO NOTHING;
    SELECT grid INTO recorded FROM bar_grids WHERE timeframe = NEW.timeframe;
    IF recorded <> bar_grid THEN
        RAISE EXCEPTION 'bar_grid_mismatch: % bars are stored on the % grid;'
              ' a bar of % from % at % is on the % grid', NEW.timeframe, recorded,
              NEW.symbol, NEW.provider, NEW.ts, bar_grid
              USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ohlc_bars_grid BEFORE INSERT ON ohlc_bars
    FOR EACH ROW WHEN (NEW.timeframe IN ('1h', '4h'))
    EXECUTE FUNCTION bar_grid_check();

-- A database that already holds hourly bars keeps the grid of its oldest.
INSERT INTO bar_grids (timeframe, grid)
SELECT DISTINCT ON (timeframe) timeframe, bar_grid_of(ts)
  FROM ohlc_bars
 WHERE timeframe IN ('1h', '4h') AND bar_grid_of(ts) IS NOT NULL
 ORDER BY timeframe, as_of, ts;
