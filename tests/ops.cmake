# The ops publisher: its bookkeeping without processes.
gl_add_test(test_ops_units LIBS gl_ops)
# The alert rules Prometheus would load.
find_program(GL_PROMTOOL promtool)
if(GL_PROMTOOL)
  add_test(NAME test_ops_alerts COMMAND ${GL_PROMTOOL} check rules ${GL_SOURCE_DIR}/config/alerts.yml)
else()
  add_test(NAME test_ops_alerts COMMAND sh -c "echo 'promtool is missing: run tools/setup.sh'; exit 1")
endif()
