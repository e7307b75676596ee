# The coverage tracker: ranges and accounting in memory.
gl_add_test(test_coverage_ranges LIBS gl_coverage LABELS coverage)
# The tracker with real processes: CLI, broker, scheduler, writer,
# fetchers against gapless-sim, PostgreSQL, and a raw peer as ops.
gl_add_test(test_coverage LIBS gl_calendar gl_simclient gl_testdb gl_protocol
            PkgConfig::CZMQ PkgConfig::ZMQ FIXTURES pg TIMEOUT 300 LABELS coverage)
add_dependencies(test_coverage gapless gapless-coverage gapless-scheduler gapless-broker
                 gapless-writer gapless-fetcher gapless-sim)
