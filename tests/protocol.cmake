gl_add_test(test_timeframe LIBS gl_protocol)
