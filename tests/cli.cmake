# The gapless CLI on malformed input: every command, each refused with
# exit 2 and a one-line error before anything is sent (the test listens
# where the CLI would connect and counts the connections).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME test_cli_errors
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_errors.py $<TARGET_FILE:gapless>)
set_tests_properties(test_cli_errors PROPERTIES TIMEOUT 120)
