# Provider adapters: every fixture and edge case of PROVIDERS.md, round
# trips against a real gapless-sim, and a 15 s libFuzzer run per parser.
gl_add_test(test_provider LIBS gl_provider TIMEOUT 60)
gl_add_test(test_provider_sim LIBS gl_provider gl_simbars gl_simclient TIMEOUT 120)
add_dependencies(test_provider_sim gapless-sim)
