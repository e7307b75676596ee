gl_add_test(test_broker LIBS gl_protocol PkgConfig::CZMQ PkgConfig::ZMQ TIMEOUT 180)
add_dependencies(test_broker gapless-broker gapless-echo)
# Heartbeat death is checked against wall-clock intervals: run it alone.
set_tests_properties(test_broker PROPERTIES RUN_SERIAL TRUE)

if(GL_FUZZ)
  # The broker's framing fuzzed for a bounded time; what the fuzzer finds
  # interesting stays in the build tree.
  set(GL_FUZZ_BROKER_CORPUS ${CMAKE_BINARY_DIR}/fuzz_broker_corpus)
  add_test(NAME fuzz_broker_corpus COMMAND ${CMAKE_COMMAND} -E make_directory ${GL_FUZZ_BROKER_CORPUS})
  set_tests_properties(fuzz_broker_corpus PROPERTIES FIXTURES_SETUP fuzz_broker_corpus)
  add_test(NAME fuzz_broker COMMAND fuzz_broker -max_total_time=20 -rss_limit_mb=2048
           ${GL_FUZZ_BROKER_CORPUS})
  set_tests_properties(fuzz_broker PROPERTIES FIXTURES_REQUIRED fuzz_broker_corpus TIMEOUT 120)
endif()
