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
# A bounded fuzz run of the health fields, seeded with a real sample.
if(GL_FUZZ)
  set(corpus ${CMAKE_BINARY_DIR}/fuzz_ops_health_corpus)
  add_test(NAME fuzz_ops_health
    COMMAND sh -c "rm -rf '${corpus}' && mkdir -p '${corpus}' && printf 'breaker=closed\\nrequests=100\\nfailures=3\\nrate_limited=1\\nfetches=40\\nbars=5000\\nfailure_rate=-1\\nin_flight=2\\ncompleteness=0.98\\nlatency_le_ms=50,100,250,500,1000,5000,inf\\nlatency_counts=1,2,3,4,5,6,7\\nlatency_sum_ms=9000\\nerrors=rate_limited:1,timeout:2\\n' > '${corpus}/sample' && exec '$<TARGET_FILE:fuzz_ops_health>' -max_total_time=10 -timeout=10 -artifact_prefix='${corpus}-' '${corpus}'")
  set_tests_properties(fuzz_ops_health PROPERTIES TIMEOUT 60 LABELS fuzz)
endif()
