# The scheduler: slicing backfill ranges into whole calendar units.
gl_add_test(test_slicer LIBS gl_scheduler)
# Backfills and slices in PostgreSQL: idempotent, shared, bulk.
find_package(Threads REQUIRED)
gl_add_test(test_backlog LIBS gl_scheduler gl_testdb Threads::Threads FIXTURES pg LABELS scheduler)
# Providers and fetcher instances for slices.
gl_add_test(test_router LIBS gl_scheduler)
