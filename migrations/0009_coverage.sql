-- What the coverage tracker keeps besides coverage and coverage_status
-- (actors/coverage/README.md): ranges every allowed provider answered
-- without a bar (no trades: a quiet minute, a halt), so they count as
-- accounted for and are never fetched again; and the holes written
-- slices left, with the providers that answered without their bars and
-- those asked to refill them, so a refill goes to another provider, each
-- provider is asked once, and a restarted tracker forgets nothing. The
-- tracker owns these rows and rewrites a symbol-timeframe's rows whole.
CREATE TABLE coverage_no_trades (
    symbol       text NOT NULL,
    timeframe    timeframe NOT NULL,
    range_from   timestamptz NOT NULL,
    range_to     timestamptz NOT NULL,
    confirmed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, timeframe, range_from),
    CONSTRAINT coverage_no_trades_not_empty CHECK (range_to > range_from)
);

CREATE TABLE coverage_holes (
    symbol          text NOT NULL,
    timeframe       timeframe NOT NULL,
    range_from      timestamptz NOT NULL,
    range_to        timestamptz NOT NULL,
    providers_tried text[] NOT NULL DEFAULT '{}',
    providers_asked text[] NOT NULL DEFAULT '{}',
    found_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, timeframe, range_from),
    CONSTRAINT coverage_hole_not_empty CHECK (range_to > range_from)
);
