/*
 * test_menu_text.c — a text is counted the way the network counts it
 * (GSM-7 septets with extension characters double, else UTF-16 units),
 * split into the right number of SMS parts, checked strictly as UTF-8, and
 * folded from accented Vietnamese (and Latin-1/Extended-A) to plain ASCII
 * that fits GSM-7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "menu.h"

/* Fills buf with n copies of the UTF-8 character ch. */
static void repeat(char *buf, size_t bufsz, const char *ch, size_t n)
{
    size_t l = strlen(ch), i;

    assert_true(n * l < bufsz);
    for (i = 0; i < n; i++)
        memcpy(buf + i * l, ch, l);
    buf[n * l] = '\0';
}

static void measure_is(const char *s, enum menu_enc enc, size_t units,
                       size_t chars)
{
    struct menu_measure m;

    menu_measure(s, &m);
    assert_int_equal(m.enc, enc);
    assert_int_equal(m.units, units);
    assert_int_equal(m.chars, chars);
}

static void fold_is(const char *in, const char *want)
{
    char out[1024];
    int rc = menu_fold(in, out, sizeof out);

    assert_string_equal(out, want);
    assert_int_equal(rc, (int)strlen(want));
}

/* ---- measure ------------------------------------------------------------ */

static void test_gsm7_plain(void **state)
{
    (void)state;
    measure_is("", MENU_GSM7, 0, 0);
    measure_is("Hello, world! 0123456789", MENU_GSM7, 24, 24);
    measure_is("Pay $5 @ 10:00, 50% off? \"yes\" (a_b) #1 <x> &;'=+-*/",
               MENU_GSM7, 52, 52);
    measure_is("line1\nline2\r", MENU_GSM7, 12, 12);
}

static void test_gsm7_whole_basic_table(void **state)
{
    /* The 127 printable positions of the basic table (all but ESC). */
    static const char basic[] =
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

    (void)state;
    measure_is(basic, MENU_GSM7, 127, 127);
}

static void test_gsm7_extension_counts_two(void **state)
{
    static const char *ext[] = { "\f", "^", "{", "}", "\\", "[", "~", "]",
                                 "|", "€" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof ext / sizeof ext[0]; i++)
        measure_is(ext[i], MENU_GSM7, 2, 1);
    measure_is("[x]", MENU_GSM7, 5, 3);
    measure_is("5€ {ok}", MENU_GSM7, 10, 7);
}

static void test_ucs2_forced(void **state)
{
    (void)state;
    measure_is("a`b", MENU_UCS2, 3, 3);                 /* backtick */
    measure_is("Xin chào", MENU_GSM7, 8, 8);            /* à is GSM-7 */
    measure_is("Tiếng", MENU_UCS2, 5, 5);
    measure_is("😀", MENU_UCS2, 2, 1);                  /* surrogate pair */
    measure_is("a😀b", MENU_UCS2, 4, 3);
    measure_is("it\xe2\x80\x99s", MENU_UCS2, 4, 4);     /* ’ */
    measure_is("a \xe2\x80\x94 b\xe2\x80\xa6", MENU_UCS2, 6, 6); /* — … */
    measure_is("ç", MENU_UCS2, 1, 1);   /* only capital Ç is in the table */
    measure_is("[€] Tiếng", MENU_UCS2, 9, 9);   /* UCS2: ext chars count 1 */
    measure_is("tab\there", MENU_UCS2, 8, 8);
}

static void test_invalid_utf8_is_ucs2(void **state)
{
    (void)state;
    measure_is("ab\xff", MENU_UCS2, 3, 3);
    measure_is("\xc0\x80", MENU_UCS2, 2, 2);
    measure_is("x\xe2\x82", MENU_UCS2, 3, 3);
}

/* ---- segments ----------------------------------------------------------- */

static size_t segments_of(const char *s)
{
    struct menu_measure m;

    menu_measure(s, &m);
    return menu_sms_segments(&m);
}

static void test_segments_gsm7(void **state)
{
    char buf[1024];

    (void)state;
    assert_int_equal(segments_of(""), 1);
    repeat(buf, sizeof buf, "a", 160);
    assert_int_equal(segments_of(buf), 1);
    repeat(buf, sizeof buf, "a", 161);
    assert_int_equal(segments_of(buf), 2);
    repeat(buf, sizeof buf, "a", 306);
    assert_int_equal(segments_of(buf), 2);
    repeat(buf, sizeof buf, "a", 307);
    assert_int_equal(segments_of(buf), 3);
    repeat(buf, sizeof buf, "{", 80);           /* 160 septets */
    assert_int_equal(segments_of(buf), 1);
    repeat(buf, sizeof buf, "{", 81);           /* 162 septets */
    assert_int_equal(segments_of(buf), 2);
}

static void test_segments_ucs2(void **state)
{
    char buf[1024];

    (void)state;
    repeat(buf, sizeof buf, "ế", 70);
    assert_int_equal(segments_of(buf), 1);
    repeat(buf, sizeof buf, "ế", 71);
    assert_int_equal(segments_of(buf), 2);
    repeat(buf, sizeof buf, "ế", 134);
    assert_int_equal(segments_of(buf), 2);
    repeat(buf, sizeof buf, "ế", 135);
    assert_int_equal(segments_of(buf), 3);
    repeat(buf, sizeof buf, "😀", 35);          /* 70 units */
    assert_int_equal(segments_of(buf), 1);
    repeat(buf, sizeof buf, "😀", 36);          /* 72 units */
    assert_int_equal(segments_of(buf), 2);
}

/* ---- UTF-8 -------------------------------------------------------------- */

#define VALID(lit) menu_utf8_valid(lit, sizeof(lit) - 1)

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_int_equal(VALID(""), 1);
    assert_int_equal(VALID("plain"), 1);
    assert_int_equal(VALID("Tiếng Việt €"), 1);
    assert_int_equal(VALID("\xed\x9f\xbf"), 1);         /* U+D7FF */
    assert_int_equal(VALID("\xee\x80\x80"), 1);         /* U+E000 */
    assert_int_equal(VALID("\xef\xbf\xbf"), 1);         /* U+FFFF */
    assert_int_equal(VALID("\xf0\x90\x80\x80"), 1);     /* U+10000 */
    assert_int_equal(VALID("\xf4\x8f\xbf\xbf"), 1);     /* U+10FFFF */
    assert_int_equal(VALID("a\0b"), 1);                 /* NUL is a char */

    assert_int_equal(VALID("\xc0\x80"), 0);             /* overlong NUL */
    assert_int_equal(VALID("\xc1\xbf"), 0);
    assert_int_equal(VALID("\xe0\x80\xaf"), 0);         /* overlong '/' */
    assert_int_equal(VALID("\xf0\x8f\xbf\xbf"), 0);     /* overlong U+FFFF */
    assert_int_equal(VALID("\xed\xa0\x80"), 0);         /* U+D800 */
    assert_int_equal(VALID("\xed\xbf\xbf"), 0);         /* U+DFFF */
    assert_int_equal(VALID("\xf4\x90\x80\x80"), 0);     /* U+110000 */
    assert_int_equal(VALID("\xf5\x80\x80\x80"), 0);
    assert_int_equal(VALID("\xe2\x82"), 0);             /* truncated € */
    assert_int_equal(VALID("\xe2\x82x"), 0);
    assert_int_equal(VALID("\x80"), 0);                 /* lone continuation */
    assert_int_equal(VALID("\xff"), 0);
    /* len bounds the check: a cut inside a character is invalid */
    assert_int_equal(menu_utf8_valid("€", 2), 0);
    assert_int_equal(menu_utf8_valid("€", 3), 1);
}

static void test_utf8_chars(void **state)
{
    (void)state;
    assert_int_equal(menu_utf8_chars(""), 0);
    assert_int_equal(menu_utf8_chars("abc"), 3);
    assert_int_equal(menu_utf8_chars("Tiếng Việt"), 10);
    assert_int_equal(menu_utf8_chars("a😀€"), 3);
}

/* ---- fold --------------------------------------------------------------- */

/* Every accented Vietnamese vowel: base with none of / each of the tones
 * huyền sắc hỏi ngã nặng, lower then upper case, precomposed (NFC). */
static const struct {
    const char *in, *want;
} vi_vowels[] = {
    { "àáảãạ", "aaaaa" },
    { "ăằắẳẵặ", "aaaaaa" },
    { "âầấẩẫậ", "aaaaaa" },
    { "èéẻẽẹ", "eeeee" },
    { "êềếểễệ", "eeeeee" },
    { "ìíỉĩị", "iiiii" },
    { "òóỏõọ", "ooooo" },
    { "ôồốổỗộ", "oooooo" },
    { "ơờớởỡợ", "oooooo" },
    { "ùúủũụ", "uuuuu" },
    { "ưừứửữự", "uuuuuu" },
    { "ỳýỷỹỵ", "yyyyy" },
    { "ÀÁẢÃẠ", "AAAAA" },
    { "ĂẰẮẲẴẶ", "AAAAAA" },
    { "ÂẦẤẨẪẬ", "AAAAAA" },
    { "ÈÉẺẼẸ", "EEEEE" },
    { "ÊỀẾỂỄỆ", "EEEEEE" },
    { "ÌÍỈĨỊ", "IIIII" },
    { "ÒÓỎÕỌ", "OOOOO" },
    { "ÔỒỐỔỖỘ", "OOOOOO" },
    { "ƠỜỚỞỠỢ", "OOOOOO" },
    { "ÙÚỦŨỤ", "UUUUU" },
    { "ƯỪỨỬỮỰ", "UUUUUU" },
    { "ỲÝỶỸỴ", "YYYYY" },
};

static void test_fold_every_vietnamese_vowel(void **state)
{
    char all_in[2048] = "", all_want[512] = "";
    size_t i, forms = 0;
    struct menu_measure m;
    char out[512];

    (void)state;
    for (i = 0; i < sizeof vi_vowels / sizeof vi_vowels[0]; i++) {
        fold_is(vi_vowels[i].in, vi_vowels[i].want);
        forms += menu_utf8_chars(vi_vowels[i].in);
        strcat(all_in, vi_vowels[i].in);
        strcat(all_want, vi_vowels[i].want);
    }
    assert_int_equal(forms, 132);
    fold_is(all_in, all_want);
    assert_int_equal(menu_fold(all_in, out, sizeof out), 132);
    menu_measure(out, &m);
    assert_int_equal(m.enc, MENU_GSM7);
    assert_int_equal(m.units, 132);
}

static void test_fold_d_stroke(void **state)
{
    (void)state;
    fold_is("đ", "d");
    fold_is("Đ", "D");
    fold_is("Đi đâu đó", "Di dau do");
}

static void test_fold_decomposed_marks_dropped(void **state)
{
    (void)state;
    fold_is("a\xcc\x81", "a");                          /* a + acute */
    fold_is("Vie\xcc\x82\xcc\xa3t", "Viet");            /* e + circ + dot */
    fold_is("Tie\xcc\x82\xcc\x81ng Vie\xcc\xa3\xcc\x82t", "Tieng Viet");
    fold_is("o\xcc\x9b\xcc\x89", "o");                  /* o + horn + hook */
    fold_is("\xcc\x80\xcd\xaf", "");                    /* U+0300, U+036F */
}

static void test_fold_sentences(void **state)
{
    (void)state;
    fold_is("Bạn đang ở đâu? Chọn ngôn ngữ / Tiếng Việt",
            "Ban dang o dau? Chon ngon ngu / Tieng Viet");
    fold_is("Chọn ngôn ngữ / Choose language / Pilih bahasa",
            "Chon ngon ngu / Choose language / Pilih bahasa");
    fold_is("Bạn cần gì? Bấm 99 bất cứ lúc nào để đóng.",
            "Ban can gi? Bam 99 bat cu luc nao de dong.");
    fold_is("Không ai được giữ hộ chiếu hay giấy tờ của bạn.",
            "Khong ai duoc giu ho chieu hay giay to cua ban.");
    fold_is("Kẻ buôn người hay tuyển qua Facebook, Telegram, Zalo.",
            "Ke buon nguoi hay tuyen qua Facebook, Telegram, Zalo.");
}

static void test_fold_latin(void **state)
{
    (void)state;
    fold_is("Ça va? Zürich, Łódź, São Paulo, Ærøskøbing",
            "Ca va? Zurich, Lodz, Sao Paulo, AEroskobing");
    fold_is("straße œuvre Œ Þorn ĳ", "strasse oeuvre OE THorn ij");
    fold_is("àáâãäåçèéêëìíîïñòóôõöøùúûüýÿ",
            "aaaaaaceeeeiiiinoooooouuuuyy");
    fold_is("ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ",
            "AAAAAACEEEEIIIINOOOOOOUUUUY");
    fold_is("āăąćčďēěęğīłńňōőřśšşţťūůűźżž",
            "aaaccdeeegilnnoorsssttuuuzzz");
}

static void test_fold_copies_other_text(void **state)
{
    (void)state;
    fold_is("", "");
    fold_is("plain ASCII `^{}[]~|\\ 123", "plain ASCII `^{}[]~|\\ 123");
    fold_is("it\xe2\x80\x99s 😀 € Δ × ÷ ¿", "it\xe2\x80\x99s 😀 € Δ × ÷ ¿");
    fold_is("Привет 你好", "Привет 你好");
    fold_is("bad\xff byte \xc0\x80", "bad? byte ??");   /* always valid */
}

static void test_fold_enospc_keeps_valid_utf8(void **state)
{
    static const char *inputs[] = {
        "Tiếng Việt",
        "a😀€ b",                 /* unfolded multibyte characters */
        "straße Œuvre",           /* one character folding to two bytes */
        "Bạn đang ở đâu? 😀",
    };
    char full[256], out[256];
    size_t k, sz;
    int len, rc;

    (void)state;
    assert_int_equal(menu_fold("abc", out, 0), MENU_ENOSPC);
    for (k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
        len = menu_fold(inputs[k], full, sizeof full);
        assert_true(len >= 0);
        for (sz = 1; sz <= (size_t)len + 1; sz++) {
            memset(out, 'X', sizeof out);
            rc = menu_fold(inputs[k], out, sz);
            if (sz <= (size_t)len) {
                assert_int_equal(rc, MENU_ENOSPC);
            } else {
                assert_int_equal(rc, len);
            }
            assert_true(strlen(out) < sz);
            assert_int_equal(menu_utf8_valid(out, strlen(out)), 1);
            assert_int_equal(strncmp(out, full, strlen(out)), 0);
        }
    }
    /* a run of ASCII cut by the room: every byte that fits is kept */
    assert_int_equal(menu_fold("hello world", out, 6), MENU_ENOSPC);
    assert_string_equal(out, "hello");
    assert_int_equal(menu_fold("Hà Nội, Việt Nam", out, 10), MENU_ENOSPC);
    assert_string_equal(out, "Ha Noi, V");
    /* "a😀": 3 bytes of room take the 'a' only, never half an emoji */
    assert_int_equal(menu_fold("a😀", out, 4), MENU_ENOSPC);
    assert_string_equal(out, "a");
    /* "ß" folds to "ss": two bytes of room take nothing, not one 's' */
    assert_int_equal(menu_fold("ß", out, 2), MENU_ENOSPC);
    assert_string_equal(out, "");
}

/* After folding, the Vietnamese texts of config/menus/hotline.cfg need no
 * UCS-2 (a sample of them, every diacritic they use). */
static void test_fold_makes_hotline_texts_gsm7(void **state)
{
    static const char *texts[] = {
        "Chọn ngôn ngữ / Choose language / Pilih bahasa",
        "Tiếng Việt",
        "Bạn cần gì? Bấm 99 bất cứ lúc nào để đóng.",
        "Cần giúp ngay", "Kiểm tra việc làm", "Quyền của bạn",
        "Số điện thoại cần biết",
        "Bạn đang ở đâu? Ghi tên thành phố, nước, hoặc tên công ty, tòa nhà.",
        "Bây giờ bạn có đang gặp nguy hiểm không?",
        "Có", "Không", "Không chắc", "Có, hãy gọi", "Không, đừng gọi",
        "Chúng tôi gọi lại cho bạn có an toàn không?",
        "Nhập số cần gọi, có mã quốc gia (ví dụ +84).",
        "Đã gửi. Mã số của bạn: {ref}. Hãy giữ mã này. Chỉ gọi cho chúng tôi "
        "khi an toàn. Nếu điện thoại bị kiểm tra, hãy xóa tin này.",
        "Dấu hiệu việc làm lừa đảo:", "Bị giữ hộ chiếu", "Lương quá cao",
        "Chủ thật sự không bắt bạn trả tiền để có việc. Đừng bao giờ trả phí "
        "tuyển dụng. Món nợ có thể dùng để giữ bạn lại.",
        "Đòi hợp đồng văn bản bằng tiếng của bạn trước khi đi.",
        "Nếu họ bảo bạn nói dối ở biên giới hay nói là đi du lịch, việc đó "
        "không hợp pháp. Đừng đi.",
    };
    char out[1024];
    struct menu_measure before, after;
    size_t k;

    (void)state;
    for (k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        assert_true(menu_fold(texts[k], out, sizeof out) >= 0);
        menu_measure(texts[k], &before);
        menu_measure(out, &after);
        if (after.enc != MENU_GSM7)
            fail_msg("still UCS-2 after folding: \"%s\"", out);
        /* folding never changes the character count of these texts */
        assert_int_equal(after.chars, before.chars);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gsm7_plain),
        cmocka_unit_test(test_gsm7_whole_basic_table),
        cmocka_unit_test(test_gsm7_extension_counts_two),
        cmocka_unit_test(test_ucs2_forced),
        cmocka_unit_test(test_invalid_utf8_is_ucs2),
        cmocka_unit_test(test_segments_gsm7),
        cmocka_unit_test(test_segments_ucs2),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_fold_every_vietnamese_vowel),
        cmocka_unit_test(test_fold_d_stroke),
        cmocka_unit_test(test_fold_decomposed_marks_dropped),
        cmocka_unit_test(test_fold_sentences),
        cmocka_unit_test(test_fold_latin),
        cmocka_unit_test(test_fold_copies_other_text),
        cmocka_unit_test(test_fold_enospc_keeps_valid_utf8),
        cmocka_unit_test(test_fold_makes_hotline_texts_gsm7),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
