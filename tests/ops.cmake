# The ops publisher: its bookkeeping without processes.
gl_add_test(test_ops_units LIBS gl_ops)
# The alert rules Prometheus would load.
find_program(GL_PROMTOOL promtool)
if(GL_PROMTOOL)
  add_test(NAME test_ops_alerts COMMAND ${GL_PROMTOOL} check rules ${GL_SOURCE_DIR}/config/alerts.yml)
else()
  add_test(NAME test_ops_alerts COMMAND sh -c "echo 'promtool is missing: run tools/setup.sh'; exit 1")
endif()
# The whole publication with real processes: broker, scheduler, writer, a
# fetcher on gapless-sim, PostgreSQL, gapless-ops, the CLI and watch.py.
gl_add_test(test_ops LIBS gl_simclient gl_testdb gl_protocol PkgConfig::CZMQ PkgConfig::ZMQ
            PkgConfig::MSGPACK FIXTURES pg TIMEOUT 300 LABELS ops)
add_dependencies(test_ops gapless gapless-ops gapless-scheduler gapless-broker gapless-writer
                 gapless-fetcher gapless-sim)
# /health with a PostgreSQL cluster of its own, stopped and started again.
gl_add_test(test_ops_health LIBS gl_simclient PkgConfig::CZMQ TIMEOUT 180 LABELS ops)
add_dependencies(test_ops_health gapless gapless-ops gapless-broker)
