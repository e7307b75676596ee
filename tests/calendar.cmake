gl_add_test(test_calendar LIBS gl_calendar)
