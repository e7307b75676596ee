gl_add_test(test_config LIBS gl_runtime)
gl_add_test(test_log LIBS gl_runtime)
