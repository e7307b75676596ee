# Provider adapters: every fixture and edge case of PROVIDERS.md, round
# trips against a real gapless-sim, and a 15 s libFuzzer run per parser.
gl_add_test(test_provider LIBS gl_provider TIMEOUT 60)
gl_add_test(test_provider_sim LIBS gl_provider gl_simbars gl_simclient TIMEOUT 120)
add_dependencies(test_provider_sim gapless-sim)
if(GL_FUZZ)
  # 15 s of libFuzzer per parser, seeded with that provider's fixtures
  # (copied into the build directory at test time, never committed).
  foreach(provider polygon yahoo tradier finnhub alpaca)
    set(corpus ${CMAKE_BINARY_DIR}/fuzz_provider_${provider}_corpus)
    add_test(NAME fuzz_provider_${provider}
      COMMAND sh -c "rm -rf '${corpus}' && mkdir -p '${corpus}' && cp '${CMAKE_CURRENT_SOURCE_DIR}'/fixtures/providers/${provider}-* '${corpus}'/ && exec '$<TARGET_FILE:fuzz_provider_${provider}>' -max_total_time=15 -timeout=10 -artifact_prefix='${corpus}-' '${corpus}'")
    set_tests_properties(fuzz_provider_${provider} PROPERTIES TIMEOUT 60 LABELS fuzz)
  endforeach()
endif()
# The provider capability table, and that the adapters agree with it.
gl_add_test(test_capability LIBS gl_capability gl_provider)
