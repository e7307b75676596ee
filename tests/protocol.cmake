gl_add_test(test_timeframe LIBS gl_protocol)
gl_add_test(test_wire LIBS gl_protocol)
gl_add_test(test_msg LIBS gl_protocol)

if(GL_FUZZ)
  # The seeds are written afresh into the build tree before each fuzz run;
  # what the fuzzer adds stays there, never in the source tree.
  set(GL_FUZZ_MSG_CORPUS ${CMAKE_BINARY_DIR}/fuzz_msg_corpus)
  add_test(NAME fuzz_msg_corpus COMMAND fuzz_msg_make_corpus ${GL_FUZZ_MSG_CORPUS})
  set_tests_properties(fuzz_msg_corpus PROPERTIES FIXTURES_SETUP fuzz_msg_corpus)
  add_test(NAME fuzz_msg COMMAND fuzz_msg -max_total_time=60 -rss_limit_mb=2048
           ${GL_FUZZ_MSG_CORPUS})
  set_tests_properties(fuzz_msg PROPERTIES FIXTURES_REQUIRED fuzz_msg_corpus TIMEOUT 180)
endif()
