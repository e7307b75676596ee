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

# Fetchers cut off from the broker across network namespaces (CURVE),
# still reaching the sim: the shared limit holds, and after the heal the
# bars are exact. Skipped (77) without root or namespaces.
add_test(NAME test_chaos_partition
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/chaos/partition.py
          --build ${CMAKE_BINARY_DIR} --slices 400 --duration 60 --cuts 2 --cut-seconds 30
          --seed 1 --timeout 180)
set_tests_properties(test_chaos_partition PROPERTIES TIMEOUT 330 LABELS chaos
                     SKIP_RETURN_CODE 77)

# Provider faults: four fetchers joining and leaving on one key the sim
# bans after 2 refusals (no request over the limit, no ban), and polygon
# down for 40 s (its breaker opens, the work flows to alpaca, the breaker
# closes again, no slice dead-lettered). Exact bars in both.
foreach(scenario churn outage)
  add_test(NAME test_chaos_${scenario}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/chaos/providers.py
            --build ${CMAKE_BINARY_DIR} --scenario ${scenario} --slices 300 --duration 40
            --seed 1 --timeout 180)
  set_tests_properties(test_chaos_${scenario} PROPERTIES TIMEOUT 300 LABELS chaos)
endforeach()
