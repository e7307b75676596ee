# The writer: gl_writer against real PostgreSQL, then the gapless-writer
# actor as a real process behind a real broker.
gl_add_test(test_writer LIBS gl_writer gl_testdb FIXTURES pg LABELS writer)
