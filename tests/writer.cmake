# The writer: gl_writer against real PostgreSQL, then the gapless-writer
# actor as a real process behind a real broker.
gl_add_test(test_writer LIBS gl_writer gl_testdb FIXTURES pg LABELS writer)
# Runs its own PostgreSQL cluster (it stops and starts it mid-stream), so
# it needs no pg fixture and never disturbs the other tests' server.
gl_add_test(test_writer_actor LIBS gl_testdb gl_protocol PkgConfig::CZMQ PkgConfig::ZMQ
            TIMEOUT 180 LABELS writer)
add_dependencies(test_writer_actor gapless-broker gapless-writer)
