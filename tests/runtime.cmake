gl_add_test(test_config LIBS gl_runtime)
gl_add_test(test_log LIBS gl_runtime)
# The actor runtime: message by message, against a fake broker, and
# against a real gapless-broker. Broker death is measured in heartbeat
# intervals: run it alone.
gl_add_test(test_actor LIBS gl_runtime TIMEOUT 120)
add_dependencies(test_actor gapless-broker)
set_tests_properties(test_actor PROPERTIES RUN_SERIAL TRUE)
