# The scheduler: slicing backfill ranges into whole calendar units.
gl_add_test(test_slicer LIBS gl_scheduler)
# Backfills and slices in PostgreSQL: idempotent, shared, bulk.
find_package(Threads REQUIRED)
gl_add_test(test_backlog LIBS gl_scheduler gl_testdb Threads::Threads FIXTURES pg LABELS scheduler)
# Providers and fetcher instances for slices.
gl_add_test(test_router LIBS gl_scheduler)
# The whole loop with real processes: CLI, broker, scheduler, fetchers,
# writer, gapless-sim and PostgreSQL. Kills a fetcher mid-run.
gl_add_test(test_scheduler LIBS gl_calendar gl_simbars gl_simclient gl_testdb gl_protocol
            PkgConfig::CJSON PkgConfig::CZMQ PkgConfig::ZMQ FIXTURES pg TIMEOUT 300 LABELS scheduler)
add_dependencies(test_scheduler gapless gapless-scheduler gapless-broker gapless-writer
                 gapless-fetcher gapless-sim)
