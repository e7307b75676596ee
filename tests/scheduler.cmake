# The scheduler: slicing backfill ranges into whole calendar units.
gl_add_test(test_slicer LIBS gl_scheduler)
