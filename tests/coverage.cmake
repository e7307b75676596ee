# The coverage tracker: ranges and accounting in memory.
gl_add_test(test_coverage_ranges LIBS gl_coverage LABELS coverage)
