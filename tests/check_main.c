/* check_main.c - Runs every unit-test suite (tests/check_NAME.c).
 *
 * Test cases tagged "exhaustive" (long runs of a test that a case of the
 * default run already covers more briefly) are left out unless
 * CK_INCLUDE_TAGS or CK_EXCLUDE_TAGS says otherwise: `make unit` stays
 * fast, `make fuzz` runs them (CK_INCLUDE_TAGS=exhaustive).
 *
 * Timeouts: every case's timeout is at least 5 times its slowest test
 * measured on the 2-core development machine, and at least that test's
 * time under ASan (make asan multiplies timeouts by 5); Check's default
 * of 4 s covers every case not setting its own. */

#include <stdlib.h>
#include <check.h>

#define SUITE(name) Suite *name##_suite(void);
#include "suites.h"
#undef SUITE


int
main(void)
{
    SRunner     *sr;
    const char  *exclude;
    int          failed;

    sr = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(sr, name##_suite());
#include "suites.h"
#undef SUITE

    exclude = getenv("CK_EXCLUDE_TAGS");
    if (exclude == NULL && getenv("CK_INCLUDE_TAGS") == NULL) {
        exclude = "exhaustive";
    }
    srunner_run_tagged(sr, NULL, NULL, NULL, exclude, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return (failed == 0) ? EXIT_SUCCESS : EXIT_FAILURE;
}
