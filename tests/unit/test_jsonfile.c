/*
 * test_jsonfile.c - unit tests for jsonfile.h: printing exactly as JSON.stringify(v, null, 2)
 * (key order, escapes, numbers), the unified diff, and the file operations migrate relies on
 * (mode and final newline kept, symlinks followed, backups, refusing to overwrite a file that
 * changed on disk). Each file test works in its own temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "json.h"
#include "jsonfile.h"

static char *fmt(const char *json)
{
    cJSON *v = json_parse(json, strlen(json), NULL);
    char *s;

    assert_non_null(v);
    s = jsonfile_format(v);
    cJSON_Delete(v);
    return s;
}

static void check(const char *json, const char *want)
{
    char *s = fmt(json);

    assert_string_equal(s, want);
    free(s);
}

static void test_format_like_javascript(void **state)
{
    (void)state;
    check("{\"b\":1,\"a\":{\"z\":[],\"y\":{}},\"c\":[1,\"x\",true,null]}",
          "{\n  \"b\": 1,\n  \"a\": {\n    \"z\": [],\n    \"y\": {}\n  },\n  \"c\": [\n    1,\n"
          "    \"x\",\n    true,\n    null\n  ]\n}");
    check("{}", "{}");
    check("[]", "[]");
    check("\"\"", "\"\"");
}

static void test_format_numbers(void **state)
{
    (void)state;
    check("1719000000000", "1719000000000");
    check("0.1", "0.1");
    check("-2.5", "-2.5");
    check("1e-7", "1e-7");
    check("1.5e300", "1.5e+300");
    check("-0", "0");
    check("100", "100");
}

static void test_format_strings(void **state)
{
    (void)state;
    check("\"a\\\"b\\\\c\\/d\"", "\"a\\\"b\\\\c/d\"");
    check("\"\\n\\t\\r\\b\\f\\u0001\"", "\"\\n\\t\\r\\b\\f\\u0001\"");
    check("\"caf\\u00e9 ✓\"", "\"café ✓\"");
    check("{\"k\\u001f\":1}", "{\n  \"k\\u001f\": 1\n}");
}

static void test_diff(void **state)
{
    char *d;

    (void)state;
    assert_null(jsonfile_diff("a", "b", "x\ny\n", "x\ny\n"));
    d = jsonfile_diff("a", "b", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n");
    assert_string_equal(d, "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
    free(d);
    d = jsonfile_diff("a", "b", NULL, "x\n");
    assert_string_equal(d, "--- /dev/null\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
    free(d);
    d = jsonfile_diff("a", "b", "x", "y");
    assert_string_equal(d, "--- a\n+++ b\n@@ -1,1 +1,1 @@\n-x\n\\ No newline at end of file\n+y\n"
                           "\\ No newline at end of file\n");
    free(d);
    /* Two changes far apart make two hunks. */
    d = jsonfile_diff("a", "b", "a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n");
    assert_non_null(strstr(d, "@@ -1,4 +1,4 @@\n-a\n+A\n"));
    assert_non_null(strstr(d, "@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n"));
    free(d);
}

struct tmp {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));

    snprintf(t->dir, sizeof(t->dir), "/tmp/mcpzip-test-jsonfile-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    snprintf(t->path, sizeof(t->path), "%s/f.json", t->dir);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tmp *t = *state;
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    if (strncmp(t->dir, "/tmp/mcpzip-test-jsonfile-", 26) == 0 && system(cmd) != 0)
        return -1;
    free(t);
    return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_edit_keeps_mode_newline_and_order(void **state)
{
    struct tmp *t = *state;
    struct jsonfile *jf = NULL;
    char *why = NULL, *text;
    struct stat st;

    write_file(t->path, "{\"z\": 1, \"a\": {\"x\": 2}}", 0640);
    assert_int_equal(jsonfile_open(t->path, 0600, &jf, &why), 0);
    assert_true(jf->exists);
    assert_false(jf->newline);
    assert_int_equal(jf->mode, 0640);
    cJSON_AddNumberToObject(jf->root, "m", 3);
    assert_true(jsonfile_changed(jf));
    assert_int_equal(jsonfile_save(jf, &why), 0);
    jsonfile_free(jf);
    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    jf = NULL;
    assert_int_equal(jsonfile_open(t->path, 0600, &jf, &why), 0);
    text = jf->text;
    assert_string_equal(text, "{\n  \"z\": 1,\n  \"a\": {\n    \"x\": 2\n  },\n  \"m\": 3\n}");
    assert_false(jsonfile_changed(jf));
    jsonfile_free(jf);
}

static void test_missing_file_and_parse_error(void **state)
{
    struct tmp *t = *state;
    struct jsonfile *jf = NULL;
    char *why = NULL;

    assert_int_equal(jsonfile_open(t->path, 0600, &jf, &why), 0);
    assert_false(jf->exists);
    assert_null(jf->root);
    assert_int_equal(jf->mode, 0600);
    jsonfile_free(jf);
    write_file(t->path, "{\n  \"a\": 1,\n}\n", 0600);
    assert_int_equal(jsonfile_open(t->path, 0600, &jf, &why), ERR_PARSE);
    assert_non_null(strstr(why, "f.json:3:"));
    free(why);
}

static void test_refuses_when_changed_on_disk(void **state)
{
    struct tmp *t = *state;
    struct jsonfile *jf = NULL;
    char *why = NULL;

    write_file(t->path, "{}\n", 0600);
    assert_int_equal(jsonfile_open(t->path, 0600, &jf, &why), 0);
    write_file(t->path, "{\"other\": true}\n", 0600);
    cJSON_AddTrueToObject(jf->root, "mine");
    assert_int_equal(jsonfile_save(jf, &why), ERR_IO);
    assert_non_null(strstr(why, "changed on disk"));
    free(why);
    jsonfile_free(jf);
}

static void test_backup_and_symlink(void **state)
{
    struct tmp *t = *state;
    struct jsonfile *jf = NULL;
    char *why = NULL, *backup = NULL, *b2 = NULL, link[160];
    struct stat st;

    write_file(t->path, "{\"a\": 1}\n", 0604);
    snprintf(link, sizeof(link), "%s/link.json", t->dir);
    assert_int_equal(symlink(t->path, link), 0);
    assert_int_equal(jsonfile_open(link, 0600, &jf, &why), 0);
    assert_string_equal(jf->target, t->path);
    assert_int_equal(jsonfile_backup(jf, "20250101T000000Z", &backup, &why), 0);
    assert_int_equal(jsonfile_backup(jf, "20250101T000000Z", &b2, &why), 0);
    assert_string_not_equal(backup, b2);
    assert_int_equal(stat(backup, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604);
    cJSON_AddTrueToObject(jf->root, "b");
    assert_int_equal(jsonfile_save(jf, &why), 0);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    free(backup);
    free(b2);
    jsonfile_free(jf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_like_javascript),
        cmocka_unit_test(test_format_numbers),
        cmocka_unit_test(test_format_strings),
        cmocka_unit_test(test_diff),
        cmocka_unit_test_setup_teardown(test_edit_keeps_mode_newline_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_and_parse_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_when_changed_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_and_symlink, setup, teardown),
    };

    json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
