/*
 * test_fsutil.c - unit tests for fsutil.h: atomic writes with exact permissions, bounded reads,
 * directory creation, hashing and dirname.
 *
 * The catalog cache (and later the token store) rely on these: a written file must have exactly
 * the mode asked for whatever the umask (tokens must never be group-readable), a rewrite must
 * replace the old content, and no temporary file may be left next to the target. Every test
 * works in its own fresh temporary directory and removes it.
 */
#include <dirent.h>
#include <ftw.h>
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

#include "testutil.h"

#include "err.h"
#include "fsutil.h"

/* ---- a temporary directory per test ---- */

static int setup_dir(void **state)
{
    char *dir = strdup("/tmp/mcpzip-test-fsutil-XXXXXX");

    if (dir == NULL || mkdtemp(dir) == NULL)
        return -1;
    *state = dir;
    return 0;
}

static int teardown_dir(void **state)
{
    char *dir = *state;

    chmod(dir, 0700);
    testutil_rm_tree(dir);
    free(dir);
    return 0;
}

/* Returns "<dir>/<name>", newly allocated. */
static char *path_in(void **state, const char *name)
{
    const char *dir = *state;
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Counts the entries of dir other than "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Reads a file that must exist; the caller frees. */
static char *slurp(const char *path, size_t *len)
{
    char *data = NULL, *why = NULL;

    if (fsutil_read_file(path, 1 << 20, &data, len, &why) != 0)
        fail_msg("cannot read %s: %s", path, why);
    return data;
}

/* ---- fsutil_write_atomic ---- */

/* The file gets exactly the requested mode whatever the umask, narrowing or not. */
static void test_write_atomic_mode_ignores_umask(void **state)
{
    static const mode_t umasks[] = {0, 022, 077, 0777};
    static const mode_t modes[] = {0600, 0644, 0640, 0400};
    char *path = path_in(state, "f.json");

    for (size_t i = 0; i < sizeof(umasks) / sizeof(umasks[0]); i++) {
        for (size_t j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
            mode_t old = umask(umasks[i]);
            char *why = NULL;
            struct stat st;
            int rc = fsutil_write_atomic(path, "x", 1, modes[j], &why);

            umask(old);
            if (rc != 0)
                fail_msg("write_atomic failed: %s", why);
            assert_int_equal(stat(path, &st), 0);
            if ((st.st_mode & 07777) != modes[j])
                fail_msg("umask %03o mode %03o: file has %03o", (unsigned)umasks[i],
                         (unsigned)modes[j], (unsigned)(st.st_mode & 07777));
            assert_true(S_ISREG(st.st_mode));
            unlink(path);
        }
    }
    free(path);
}

/* Rewriting replaces the content entirely (a shorter file leaves no tail of the old one). */
static void test_write_atomic_replaces(void **state)
{
    char *path = path_in(state, "cache.json"), *why = NULL, *data;
    size_t len;

    assert_int_equal(fsutil_write_atomic(path, "old content, rather long", 24, 0600, &why), 0);
    assert_int_equal(fsutil_write_atomic(path, "new", 3, 0600, &why), 0);
    data = slurp(path, &len);
    assert_int_equal(len, 3);
    assert_string_equal(data, "new");
    free(data);
    free(path);
}

/* The mode of a replacement is the new mode, not the old file's. */
static void test_write_atomic_replacement_mode(void **state)
{
    char *path = path_in(state, "tokens.json"), *why = NULL;
    struct stat st;

    assert_int_equal(fsutil_write_atomic(path, "a", 1, 0644, &why), 0);
    assert_int_equal(fsutil_write_atomic(path, "b", 1, 0600, &why), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(path);
}

/* Only the target exists afterwards: no temporary files, after one write or many. */
static void test_write_atomic_no_temp_files(void **state)
{
    char *path = path_in(state, "c.json"), *why = NULL;

    for (int i = 0; i < 20; i++)
        assert_int_equal(fsutil_write_atomic(path, "data", 4, 0600, &why), 0);
    assert_int_equal(count_entries(*state), 1);
    free(path);
}

/* Binary data including NUL bytes, and an empty file, are written exactly. */
static void test_write_atomic_binary_and_empty(void **state)
{
    static const char bin[] = {'a', '\0', 'b', '\n', '\xff'};
    char *path = path_in(state, "bin"), *why = NULL, *data;
    size_t len;

    assert_int_equal(fsutil_write_atomic(path, bin, sizeof(bin), 0600, &why), 0);
    data = slurp(path, &len);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(data, bin, sizeof(bin));
    free(data);
    assert_int_equal(fsutil_write_atomic(path, "", 0, 0600, &why), 0);
    data = slurp(path, &len);
    assert_int_equal(len, 0);
    free(data);
    free(path);
}

/* A missing directory is ERR_IO with a reason, and nothing is created. */
static void test_write_atomic_missing_dir(void **state)
{
    char *path = path_in(state, "no/such/dir/f"), *why = NULL;

    assert_int_equal(fsutil_write_atomic(path, "x", 1, 0600, &why), ERR_IO);
    assert_non_null(why);
    free(why);
    assert_int_equal(count_entries(*state), 0);
    free(path);
}

/*
 * A failed write leaves the old file as it was and no debris. The failure is forced with a
 * 250-byte target name: the file itself fits NAME_MAX but its temporary sibling cannot be
 * created (ENAMETOOLONG), which works for root too, unlike a read-only directory.
 */
static void test_write_atomic_failure_keeps_old(void **state)
{
    char name[251], *path, *why = NULL, *data;
    size_t len;
    FILE *f;

    memset(name, 'k', 250);
    name[250] = '\0';
    path = path_in(state, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    assert_int_equal(fsutil_write_atomic(path, "new", 3, 0600, &why), ERR_IO);
    assert_non_null(why);
    free(why);
    data = slurp(path, &len);
    assert_string_equal(data, "old");
    assert_int_equal(count_entries(*state), 1);
    free(data);
    free(path);
}

/* A failed rename (the target is a directory) removes the temporary file. */
static void test_write_atomic_rename_failure_cleans_up(void **state)
{
    char *path = path_in(state, "taken"), *why = NULL;

    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(fsutil_write_atomic(path, "x", 1, 0600, &why), ERR_IO);
    assert_non_null(why);
    assert_non_null(strstr(why, "taken"));
    free(why);
    assert_int_equal(count_entries(*state), 1); /* just the directory "taken" */
    free(path);
}

/* ---- fsutil_read_file ---- */

/* The whole file comes back NUL-terminated with its length; max is inclusive. */
static void test_read_file_bounds(void **state)
{
    char *path = path_in(state, "r"), *why = NULL, *data = NULL;
    size_t len = 0;

    assert_int_equal(fsutil_write_atomic(path, "0123456789", 10, 0600, &why), 0);
    assert_int_equal(fsutil_read_file(path, 10, &data, &len, &why), 0);
    assert_int_equal(len, 10);
    assert_string_equal(data, "0123456789");
    free(data);
    data = NULL;

    assert_int_equal(fsutil_read_file(path, 9, &data, &len, &why), ERR_TOO_BIG);
    assert_null(data);
    assert_non_null(why);
    free(why);
    why = NULL;
    assert_int_equal(fsutil_read_file(path, 0, &data, &len, &why), ERR_TOO_BIG);
    free(why);
    free(path);
}

/* An absent file is ERR_NOT_FOUND (a first run), distinct from other failures. */
static void test_read_file_not_found(void **state)
{
    char *path = path_in(state, "absent"), *why = NULL, *data = NULL;
    size_t len = 0;

    assert_int_equal(fsutil_read_file(path, 100, &data, &len, &why), ERR_NOT_FOUND);
    assert_null(data);
    assert_non_null(why);
    free(why);
    free(path);
}

/* A directory is not a regular file: ERR_IO, not a read of garbage. */
static void test_read_file_directory(void **state)
{
    char *why = NULL, *data = NULL;
    size_t len = 0;

    assert_int_equal(fsutil_read_file(*state, 100, &data, &len, &why), ERR_IO);
    assert_null(data);
    assert_non_null(why);
    free(why);
}

/* An empty file reads as "" with length 0. */
static void test_read_file_empty(void **state)
{
    char *path = path_in(state, "empty"), *why = NULL, *data = NULL;
    size_t len = 99;
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fclose(f);
    assert_int_equal(fsutil_read_file(path, 0, &data, &len, &why), 0);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    free(path);
}

/* ---- fsutil_mkdirs ---- */

/* Missing parents are created with the mode; an existing tree is fine (idempotent). */
static void test_mkdirs_nested(void **state)
{
    char *path = path_in(state, "a/b/c/d"), *why = NULL, *mid = path_in(state, "a/b");
    struct stat st;
    mode_t old = umask(0);

    assert_int_equal(fsutil_mkdirs(path, 0700, &why), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(mid, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(fsutil_mkdirs(path, 0700, &why), 0);
    umask(old);
    free(path);
    free(mid);
}

/* A trailing slash is accepted. */
static void test_mkdirs_trailing_slash(void **state)
{
    char *path = path_in(state, "x/y/"), *why = NULL;
    struct stat st;

    assert_int_equal(fsutil_mkdirs(path, 0755, &why), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    free(path);
}

/* A regular file in the way of a parent is ERR_IO with a reason naming the path. */
static void test_mkdirs_file_in_the_way(void **state)
{
    char *file = path_in(state, "plain"), *path = path_in(state, "plain/sub"), *why = NULL;

    assert_int_equal(fsutil_write_atomic(file, "x", 1, 0600, &why), 0);
    assert_int_equal(fsutil_mkdirs(path, 0700, &why), ERR_IO);
    assert_non_null(why);
    assert_non_null(strstr(why, "plain"));
    free(why);
    free(file);
    free(path);
}

/*
 * BUG (src/fsutil.c:fsutil_mkdirs): when dir itself exists as a regular file, mkdir() fails
 * with EEXIST, which is taken as success, so the call returns 0 although no directory exists.
 * The contract is "creates dir ... Returns 0 or ERR_IO": a file in the way must be ERR_IO.
 */
static void test_mkdirs_target_is_file(void **state)
{
    char *file = path_in(state, "plain"), *why = NULL;
    int rc;

    assert_int_equal(fsutil_write_atomic(file, "x", 1, 0600, &why), 0);
    rc = fsutil_mkdirs(file, 0700, &why);
    free(file);
    free(why);
    assert_int_equal(rc, ERR_IO);
}

/*
 * BUG (src/fsutil.c:fsutil_mkdirs): for "" the loop starts at p + 1, one byte past the copy's
 * terminating NUL, then scans (and writes a NUL into) heap memory it does not own until it
 * meets a '/' or a zero byte. ASan reports a heap-buffer-overflow read at fsutil.c:26. Expected:
 * ERR_IO with a reason, like any other path mkdir() cannot create. Kept last in this file
 * because under ASan the overflow aborts the whole binary.
 */
static void test_mkdirs_empty_path(void **state)
{
    char *why = NULL;

    (void)state;
    assert_int_equal(fsutil_mkdirs("", 0700, &why), ERR_IO);
    assert_non_null(why);
    free(why);
}

/* ---- fsutil_sha256_hex ---- */

/* The FIPS 180-2 vectors, full length and cut. */
static void test_sha256_vectors(void **state)
{
    char out[65];

    (void)state;
    fsutil_sha256_hex("abc", 3, out, 64);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fsutil_sha256_hex("", 0, out, 64);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    fsutil_sha256_hex("abc", 3, out, 16);
    assert_string_equal(out, "ba7816bf8f01cfea");
    fsutil_sha256_hex("abc", 3, out, 3);
    assert_string_equal(out, "ba7");
    fsutil_sha256_hex("abc", 3, out, 0);
    assert_string_equal(out, "");
    /* Only len bytes are hashed. */
    fsutil_sha256_hex("abcdef", 3, out, 64);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---- fsutil_dirname ---- */

static void test_dirname(void **state)
{
    static const char *const cases[][2] = {
        {"/home/u/.cache/mcpzip/c.json", "/home/u/.cache/mcpzip"},
        {"/top", "/"},
        {"rel/file", "rel"},
        {"file", "."},
        {"", "."},
        {"a/b/c", "a/b"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *d = fsutil_dirname(cases[i][0]);

        if (strcmp(d, cases[i][1]) != 0)
            fail_msg("dirname(\"%s\") = \"%s\", want \"%s\"", cases[i][0], d, cases[i][1]);
        free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_atomic_mode_ignores_umask, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_atomic_replaces, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_atomic_replacement_mode, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_atomic_no_temp_files, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_atomic_binary_and_empty, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_atomic_missing_dir, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_atomic_failure_keeps_old, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_atomic_rename_failure_cleans_up, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_file_bounds, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_file_not_found, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_file_directory, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_read_file_empty, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_mkdirs_nested, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_mkdirs_trailing_slash, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_mkdirs_file_in_the_way, setup_dir, teardown_dir),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_dirname),
        cmocka_unit_test_setup_teardown(test_mkdirs_target_is_file, setup_dir, teardown_dir),
        cmocka_unit_test(test_mkdirs_empty_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
