# The gapless CLI on malformed input: every command, each refused with
# exit 2 and a one-line error before anything is sent (the test listens
# where the CLI would connect and counts the connections).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME test_cli_errors
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_errors.py $<TARGET_FILE:gapless>)
set_tests_properties(test_cli_errors PROPERTIES TIMEOUT 120)
# Configuration files with every kind of mistake: gapless config check,
# gapless-broker and gapless-fetcher at start, and SIGHUP on a running
# broker and ops, each naming the file and line, the daemons serving on.
add_test(NAME test_config_errors
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_config_errors.py ${CMAKE_BINARY_DIR})
set_tests_properties(test_config_errors PROPERTIES TIMEOUT 180)
