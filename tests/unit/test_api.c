/*
 * test_api.c — the staff API's pure parts (staff/api.c): the address a
 * failed token counts under, and the token rules of the config
 * (core/cfg.c) the API relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "cfg.h"

static void test_addr_bucket(void **state)
{
    char out[64];

    (void)state;
    api_addr_bucket("127.0.0.1", out, sizeof out);
    assert_string_equal(out, "127.0.0.1");
    /* Every address of one /64 counts as one. */
    api_addr_bucket("2001:db8:1:2:aaaa:bbbb:cccc:dddd", out, sizeof out);
    assert_string_equal(out, "2001:db8:1:2::/64");
    api_addr_bucket("2001:db8:1:2::1", out, sizeof out);
    assert_string_equal(out, "2001:db8:1:2::/64");
    api_addr_bucket("2001:db8:1:3::1", out, sizeof out);
    assert_string_equal(out, "2001:db8:1:3::/64");
    api_addr_bucket("not:an address", out, sizeof out);
    assert_string_equal(out, "not:an address");
    api_addr_bucket("2001:db8:1:2::1", out, 8);
    assert_string_equal(out, "2001:db");
}

static void test_token_weakness(void **state)
{
    (void)state;
    assert_null(cfg_token_weakness("lan-token-0123456789abcdef"));
    assert_null(cfg_token_weakness("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"));
    assert_non_null(strstr(cfg_token_weakness("Ab1-short"), "at least 20"));
    assert_non_null(strstr(cfg_token_weakness("abcdefghijabcdefghijabcd"),
                           "character classes"));
    assert_non_null(strstr(cfg_token_weakness("ab12ab12ab12ab12ab12ab12"),
                           "different characters"));
    assert_non_null(strstr(cfg_token_weakness("lan token 0123456789abcdef"),
                           "printable ASCII"));
    assert_non_null(cfg_token_weakness("11111111111111111111111111"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_bucket),
        cmocka_unit_test(test_token_weakness),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
