gl_add_test(test_config LIBS gl_runtime)
gl_add_test(test_log LIBS gl_runtime)
# The actor runtime: message by message, against a fake broker, and
# against a real gapless-broker. Broker death is measured in heartbeat
# intervals: run it alone.
gl_add_test(test_actor LIBS gl_runtime TIMEOUT 120)
add_dependencies(test_actor gapless-broker gapless-echo)
set_tests_properties(test_actor PROPERTIES RUN_SERIAL TRUE)
# CURVE between hosts: keygen, the broker's allow list, insecure only when
# asked, with real broker processes.
gl_add_test(test_curve LIBS gl_runtime gl_ops TIMEOUT 120)
add_dependencies(test_curve gapless gapless-broker)
# Every configuration key: the table, the check of a file, SIGHUP on a
# broker and a scheduler; and the table against the code that reads keys.
gl_add_test(test_settings LIBS gl_settings TIMEOUT 120)
add_dependencies(test_settings gapless-broker gapless-scheduler gapless-writer gapless-coverage
                 gapless-ops)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME check_settings
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/check_settings.py ${GL_SOURCE_DIR}
          $<TARGET_FILE:gapless>)
if(GL_FUZZ)
  # libFuzzer over the actor runtime's receive path (gl_actor_dispatch):
  # arbitrary frames and corrupted bodies to an automatic- and a
  # manual-credit actor, whose credit books must balance after each one.
  # gl_actor.c is built in for the fuzzer's coverage instrumentation.
  # Seeds are written into the empty corpus directory by the target. Each
  # input creates two actors whose sockets libzmq frees on its own thread,
  # so mallocs and frees never balance within one input and libFuzzer's
  # per-input leak check would scan the heap on every run (ten times
  # slower): it is off.
  add_executable(fuzz_actor ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_actor.c
                 ${GL_SOURCE_DIR}/actors/lib/gl_actor.c ${GL_SOURCE_DIR}/actors/lib/gl_config.c
                 ${GL_SOURCE_DIR}/actors/lib/gl_curve.c ${GL_SOURCE_DIR}/actors/lib/gl_calendar.c)
  target_include_directories(fuzz_actor PRIVATE ${GL_SOURCE_DIR}/actors/lib)
  target_compile_options(fuzz_actor PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_actor PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_actor PRIVATE gl_log gl_protocol PkgConfig::CZMQ PkgConfig::ZMQ)
  set(corpus ${CMAKE_BINARY_DIR}/fuzz_actor_corpus)
  add_test(NAME fuzz_actor
    COMMAND sh -c "rm -rf '${corpus}' && mkdir -p '${corpus}' && exec '$<TARGET_FILE:fuzz_actor>' -max_total_time=20 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 -artifact_prefix='${corpus}-' '${corpus}'")
  set_tests_properties(fuzz_actor PROPERTIES TIMEOUT 90 LABELS fuzz)
endif()
