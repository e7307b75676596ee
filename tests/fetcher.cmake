# Fetcher runtime: rate limit and breaker on an injected clock; HTTP on a
# zloop against a real gapless-sim.
gl_add_test(test_ratelimit LIBS gl_fetchrt TIMEOUT 60)
gl_add_test(test_breaker LIBS gl_fetchrt TIMEOUT 60)
gl_add_test(test_http LIBS gl_fetchrt gl_simclient TIMEOUT 120)
add_dependencies(test_http gapless-sim)
# The gapless-fetcher process end to end: real broker, real sim, raw GLP
# peers as scheduler, writer and ops.
gl_add_test(test_fetcher LIBS gl_protocol gl_simbars gl_simclient PkgConfig::CJSON
            PkgConfig::CZMQ PkgConfig::ZMQ TIMEOUT 240)
add_dependencies(test_fetcher gapless-sim gapless-broker gapless-fetcher)
# Every provider end to end through a gapless-fetcher process.
gl_add_test(test_fetcher_e2e LIBS gl_protocol gl_simbars gl_simclient PkgConfig::CJSON
            PkgConfig::CZMQ PkgConfig::ZMQ TIMEOUT 120)
add_dependencies(test_fetcher_e2e gapless-sim gapless-broker gapless-fetcher)
# Every injected fault, not_found, auth, 429s to rate_limited and the
# slow-call breaker through gapless-fetcher processes.
gl_add_test(test_fetcher_faults LIBS gl_protocol gl_simclient PkgConfig::CJSON
            PkgConfig::CZMQ PkgConfig::ZMQ TIMEOUT 120)
add_dependencies(test_fetcher_faults gapless-sim gapless-broker gapless-fetcher)
# Utilisation of the rate limit is measured in wall-clock windows: run it
# alone, not beside the CPU-bound fuzzers.
set_tests_properties(test_fetcher PROPERTIES RUN_SERIAL TRUE)
# FETCH messages and broker conditions that must not crash or wedge a
# gapless-fetcher process.
gl_add_test(test_fetcher_hostile LIBS gl_protocol gl_simclient PkgConfig::CJSON
            PkgConfig::CZMQ PkgConfig::ZMQ TIMEOUT 180)
add_dependencies(test_fetcher_hostile gapless-sim gapless-broker gapless-fetcher)
# The bar policy (bars/grid_1h) across real processes: clock hours from
# Polygon and Alpaca, session hours routed to Yahoo, a contradicted
# scheduler refused.
gl_add_test(test_fetcher_grid LIBS gl_calendar gl_simbars gl_simclient gl_testdb gl_protocol
            PkgConfig::CJSON PkgConfig::CZMQ PkgConfig::ZMQ FIXTURES pg TIMEOUT 180 LABELS fetcher)
add_dependencies(test_fetcher_grid gapless gapless-scheduler gapless-broker gapless-writer
                 gapless-fetcher gapless-sim)
