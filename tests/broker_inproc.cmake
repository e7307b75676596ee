gl_add_test(test_broker_inproc LIBS gl_broker)
