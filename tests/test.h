/* test.h - the smallest test harness that does the job: CHECK records a failure with its place
   and keeps going; RUN counts a test as failed if any of its checks failed; test_summary
   prints the closing line "N passed, M failed" and gives the exit status. */
#ifndef TEST_H
#define TEST_H

#include <stdio.h>

static int test_checks_failed, test_passed, test_failed;

#define CHECK(cond) CHECKF(cond, "%s", #cond)
#define CHECKF(cond, ...)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);  \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            test_checks_failed++;                                          \
        }                                                                  \
    } while (0)

#define RUN(fn) test_run(#fn, fn)

static void test_run(const char *name, void (*fn)(void)) {
    int before = test_checks_failed;
    fn();
    if (test_checks_failed == before) {
        test_passed++;
        printf("ok   %s\n", name);
    } else {
        test_failed++;
        printf("FAIL %s (%d checks)\n", name, test_checks_failed - before);
    }
    fflush(stdout);
}

static int test_summary(void) {
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed != 0;
}

#endif
