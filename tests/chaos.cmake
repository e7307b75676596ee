# The kill test, short: a few hundred 1m slices against gapless-sim with
# injected faults, every role present SIGKILLed at least twice, one
# PostgreSQL crash restart, one fetcher SIGSTOPped past its lease. Its
# verdict rests on counts and exactness (tests/chaos/README.md); the long
# run is a documented command, not a ctest.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME test_chaos_kill
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/chaos/kill.py
          --build ${CMAKE_BINARY_DIR} --slices 300 --duration 40 --kills 2 --seed 1 --timeout 180)
set_tests_properties(test_chaos_kill PROPERTIES TIMEOUT 290 LABELS chaos)
# Bad input to every daemon while a small backfill runs: raw GLP garbage,
# floods and oversize frames at the broker, nonsense and forged bodies at
# every actor. Each answer SPEC promises must come, each refusal be
# counted, no daemon exit, the backfill land exactly (tests/chaos/README.md).
add_test(NAME test_chaos_garbage
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/chaos/garbage.py
          --build ${CMAKE_BINARY_DIR} --slices 100 --seed 1 --timeout 90)
set_tests_properties(test_chaos_garbage PROPERTIES TIMEOUT 170 LABELS chaos)
