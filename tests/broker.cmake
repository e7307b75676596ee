gl_add_test(test_broker LIBS gl_protocol PkgConfig::CZMQ PkgConfig::ZMQ TIMEOUT 180)
add_dependencies(test_broker gapless-broker gapless-echo)
