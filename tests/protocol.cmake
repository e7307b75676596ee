gl_add_test(test_timeframe LIBS gl_protocol)
gl_add_test(test_wire LIBS gl_protocol)
gl_add_test(test_msg LIBS gl_protocol)
