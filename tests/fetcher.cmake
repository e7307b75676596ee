# Fetcher runtime: rate limit and breaker on an injected clock.
gl_add_test(test_ratelimit LIBS gl_fetchrt TIMEOUT 60)
gl_add_test(test_breaker LIBS gl_fetchrt TIMEOUT 60)
