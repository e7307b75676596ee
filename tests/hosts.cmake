# gapless across hosts: three network namespaces joined by veth pairs,
# CURVE, latency and loss; skipped (77) without root or namespaces.
add_test(NAME test_hosts COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_hosts.sh ${CMAKE_BINARY_DIR})
set_tests_properties(test_hosts PROPERTIES TIMEOUT 240 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
