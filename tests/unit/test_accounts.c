/*
 * test_accounts.c — staff accounts (staff/accounts.c): scrypt hashes verify
 * the right password and refuse others, carry their cost and a fresh salt,
 * and a malformed or too costly record is refused; the name, role and
 * password rules; session tokens, their hash and cookie parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "accounts.h"

/* A low cost keeps the tests fast; the format and rules are the same. */
#define LN 10

static void test_hash_verifies_only_the_password(void **state)
{
    char h[ACCT_HASH_MAX];

    (void)state;
    assert_int_equal(acct_hash("correct horse", 13, LN, 8, 1, h, sizeof h),
                     0);
    assert_true(strncmp(h, "scrypt$10$8$1$", 14) == 0);
    assert_int_equal(strlen(h), 14 + 32 + 1 + 64);
    assert_int_equal(acct_verify("correct horse", 13, h), 1);
    assert_int_equal(acct_verify("correct horsE", 13, h), 0);
    assert_int_equal(acct_verify("correct hors", 12, h), 0);
    assert_int_equal(acct_verify("", 0, h), 0);
}

static void test_hash_salt_is_random(void **state)
{
    char a[ACCT_HASH_MAX], b[ACCT_HASH_MAX];

    (void)state;
    assert_int_equal(acct_hash("same password", 13, LN, 8, 1, a, sizeof a), 0);
    assert_int_equal(acct_hash("same password", 13, LN, 8, 1, b, sizeof b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(acct_verify("same password", 13, a), 1);
    assert_int_equal(acct_verify("same password", 13, b), 1);
}

static void test_default_cost_and_known_vector(void **state)
{
    char h[ACCT_HASH_MAX];
    /* scrypt("password", salt "NaCl" + 12 zero bytes, N=1024, r=8, p=16)
     * computed by Python's hashlib.scrypt: the record's fields mean what
     * the format says (N = 2^LN, hex salt, r, p), checked from outside. */
    static const char known[] =
        "scrypt$10$8$16$4e61436c000000000000000000000000$"
        "3ee952352a792c8cc3afdcf1ce85c6a4df2540951ae5e7c445ca362e7d763e2e";

    (void)state;
    assert_int_equal(acct_verify("password", 8, known), 1);
    assert_int_equal(acct_verify("Password", 8, known), 0);
    assert_int_equal(acct_hash("a long password", 15, ACCT_SCRYPT_LN,
                               ACCT_SCRYPT_R, ACCT_SCRYPT_P, h, sizeof h), 0);
    assert_true(strncmp(h, "scrypt$15$8$1$", 14) == 0);
    assert_int_equal(acct_verify("a long password", 15, h), 1);
}

static void test_malformed_or_costly_records_refused(void **state)
{
    char h[ACCT_HASH_MAX], bad[2 * ACCT_HASH_MAX];

    (void)state;
    assert_int_equal(acct_hash("pass phrase1", 12, LN, 8, 1, h, sizeof h), 0);
    assert_int_equal(acct_verify("pass phrase1", 12, ""), -1);
    assert_int_equal(acct_verify("pass phrase1", 12, "plain"), -1);
    assert_int_equal(acct_verify("pass phrase1", 12, NULL), -1);
    /* Cost raised past the bound: refused without running scrypt. */
    snprintf(bad, sizeof bad, "scrypt$24$8$1$%s", h + 14);
    assert_int_equal(acct_verify("pass phrase1", 12, bad), -1);
    snprintf(bad, sizeof bad, "scrypt$10$99$1$%s", h + 14);
    assert_int_equal(acct_verify("pass phrase1", 12, bad), -1);
    /* Truncated hash, upper-case hex, missing field. */
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(h) - 2, h);
    assert_int_equal(acct_verify("pass phrase1", 12, bad), -1);
    snprintf(bad, sizeof bad, "scrypt$10$8$%s", h + 14);
    assert_int_equal(acct_verify("pass phrase1", 12, bad), -1);
    assert_int_equal(acct_hash("x", 1, 9, 8, 1, h, sizeof h), -1);
    assert_int_equal(acct_hash("x", 1, LN, 8, 1, h, 20), -1);
}

static void test_name_rules(void **state)
{
    (void)state;
    assert_true(acct_name_ok("lan"));
    assert_true(acct_name_ok("minh.tran-2"));
    assert_true(acct_name_ok("0demo_x"));
    assert_true(acct_name_ok("abcdefghijklmnopqrstuvwxyz012345"));
    assert_false(acct_name_ok("abcdefghijklmnopqrstuvwxyz0123456"));
    assert_false(acct_name_ok(""));
    assert_false(acct_name_ok(NULL));
    assert_false(acct_name_ok("Lan"));
    assert_false(acct_name_ok("-lan"));
    assert_false(acct_name_ok(".lan"));
    assert_false(acct_name_ok("lan:x"));
    assert_false(acct_name_ok("lan x"));
    assert_false(acct_name_ok("l\xc3\xa2n"));
    assert_false(acct_name_ok("a/../b"));
}

static void test_role_rules(void **state)
{
    (void)state;
    assert_true(acct_role_ok("staff"));
    assert_true(acct_role_ok("supervisor"));
    assert_true(acct_role_ok("operator"));
    assert_false(acct_role_ok("admin"));
    assert_false(acct_role_ok("Staff"));
    assert_false(acct_role_ok(""));
    assert_false(acct_role_ok(NULL));
}

static void test_password_rules(void **state)
{
    const char *why = NULL;
    char big[ACCT_PW_MAX + 2];

    (void)state;
    assert_int_equal(acct_password_ok("ten chars!", 10, "lan", &why), 0);
    assert_int_equal(acct_password_ok("nine char", 9, "lan", &why), -1);
    assert_string_equal(why, "a password needs 10 characters or more");
    assert_int_equal(acct_password_ok("tab\there is", 11, "lan", &why), -1);
    assert_string_equal(why, "a password cannot hold control characters");
    assert_int_equal(acct_password_ok("nul\0in the middle", 17, "x", &why),
                     -1);
    assert_int_equal(acct_password_ok("minh.tran-2", 11, "minh.tran-2", &why),
                     -1);
    assert_string_equal(why, "the password cannot be the name");
    assert_int_equal(acct_password_ok("m\xe1\xbb\x99t hai ba b\xe1\xbb\x91n",
                                      18, "lan", &why), 0);
    memset(big, 'a', sizeof big);
    assert_int_equal(acct_password_ok(big, ACCT_PW_MAX, "lan", &why), 0);
    assert_int_equal(acct_password_ok(big, ACCT_PW_MAX + 1, "lan", &why), -1);
    assert_string_equal(why, "a password has at most 256 bytes");
}

static void test_tokens_random_and_shaped(void **state)
{
    char a[ACCT_ID_LEN + 1], b[ACCT_ID_LEN + 1];
    char ha[ACCT_KEYHASH_LEN + 1], hb[ACCT_KEYHASH_LEN + 1];

    (void)state;
    assert_int_equal(acct_random_token(a), 0);
    assert_int_equal(acct_random_token(b), 0);
    assert_int_equal(strlen(a), 43);
    assert_string_not_equal(a, b);
    assert_true(acct_id_ok(a));
    assert_true(acct_id_ok(b));
    assert_int_equal(strcspn(a, "+/="), 43);
    acct_id_hash(a, ha);
    acct_id_hash(b, hb);
    assert_int_equal(strlen(ha), 64);
    assert_string_not_equal(ha, hb);
    assert_null(strstr(ha, a));
    acct_id_hash("abc", ha);
    assert_string_equal(ha, "ba7816bf8f01cfea414140de5dae2223"
                            "b00361a396177a9cb410ff61f20015ad");
    assert_false(acct_id_ok("short"));
    a[5] = '.';
    assert_false(acct_id_ok(a));
    assert_false(acct_id_ok(NULL));
}

static void test_cookie_parsing(void **state)
{
    char v[64];

    (void)state;
    assert_int_equal(acct_cookie_get("hl_session=abc", "hl_session", v,
                                     sizeof v), 0);
    assert_string_equal(v, "abc");
    assert_int_equal(acct_cookie_get("a=1; hl_session=xyz; b=2",
                                     "hl_session", v, sizeof v), 0);
    assert_string_equal(v, "xyz");
    assert_int_equal(acct_cookie_get("xhl_session=no; hl_sessionx=no",
                                     "hl_session", v, sizeof v), -1);
    assert_int_equal(acct_cookie_get("", "hl_session", v, sizeof v), -1);
    assert_int_equal(acct_cookie_get("hl_session=0123456789", "hl_session",
                                     v, 5), -1);
    assert_int_equal(acct_cookie_get("hl_session=", "hl_session", v,
                                     sizeof v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_verifies_only_the_password),
        cmocka_unit_test(test_hash_salt_is_random),
        cmocka_unit_test(test_default_cost_and_known_vector),
        cmocka_unit_test(test_malformed_or_costly_records_refused),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_role_rules),
        cmocka_unit_test(test_password_rules),
        cmocka_unit_test(test_tokens_random_and_shaped),
        cmocka_unit_test(test_cookie_parsing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
