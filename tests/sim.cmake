# gapless-sim: the bar generator, the providers' shapes and paging, rate
# limits with bans and audit, and fault injection, against a real process.
gl_add_test(test_simbars LIBS gl_simbars TIMEOUT 60)
gl_add_test(test_sim_providers LIBS gl_simbars gl_simclient PkgConfig::CJSON TIMEOUT 120)
gl_add_test(test_sim_limits LIBS gl_simclient PkgConfig::CJSON TIMEOUT 120)
foreach(test test_sim_providers test_sim_limits)
  add_dependencies(${test} gapless-sim)
endforeach()
