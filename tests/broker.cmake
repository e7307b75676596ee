gl_add_test(test_broker LIBS gl_protocol PkgConfig::CZMQ PkgConfig::ZMQ TIMEOUT 180)
add_dependencies(test_broker gapless-broker gapless-echo)
# Heartbeat death is checked against wall-clock intervals: run it alone.
set_tests_properties(test_broker PROPERTIES RUN_SERIAL TRUE)
