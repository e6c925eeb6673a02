/*
 * testutil.h - helpers shared by the unit tests (header only: each test is its own binary).
 */
#ifndef MCPZIP_TESTUTIL_H
#define MCPZIP_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int testutil_rm_one(const char *path, const struct stat *st, int flag,
                                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it (a test's temporary directory). */
static inline void testutil_rm_tree(const char *dir)
{
    nftw(dir, testutil_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
