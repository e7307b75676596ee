# The pg fixture: the private PostgreSQL cluster in <build>/pg, started
# before and stopped after the tests that declare FIXTURES pg, unless
# DATABASE_URL or PGHOST names a server. gl_add_test sets GL_PG_DIR on
# every test, which is how gl_db (and gl_testdb) find that cluster.
add_test(NAME pg_start COMMAND ${GL_SOURCE_DIR}/tools/pg.sh start --for-tests --unless-given
                               ${CMAKE_BINARY_DIR}/pg)
set_tests_properties(pg_start PROPERTIES FIXTURES_SETUP pg TIMEOUT 120)
add_test(NAME pg_stop COMMAND ${GL_SOURCE_DIR}/tools/pg.sh stop --unless-given
                              ${CMAKE_BINARY_DIR}/pg)
set_tests_properties(pg_stop PROPERTIES FIXTURES_CLEANUP pg TIMEOUT 120)

find_package(Threads REQUIRED)
gl_add_test(test_migrate LIBS gl_testdb Threads::Threads FIXTURES pg LABELS store)
gl_add_test(test_queue LIBS gl_testdb Threads::Threads FIXTURES pg LABELS store)
gl_add_test(test_store_bars LIBS gl_testdb FIXTURES pg LABELS store)
gl_add_test(test_store_db LIBS gl_store FIXTURES pg LABELS store)
gl_add_test(test_store_cli LIBS gl_testdb FIXTURES pg LABELS store)
add_dependencies(test_store_cli gapless)
set_property(TEST test_store_cli APPEND PROPERTY ENVIRONMENT "GL_GAPLESS=$<TARGET_FILE:gapless>")
