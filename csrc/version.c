/*
 * version.c -- the one place where Go versions differ.
 *
 * Every behaviour that changed between Go 1.19 and 1.24 (built with
 * GOEXPERIMENT=noswissmap) is a column of this table; the rest of the core
 * reads the column and never tests a version name.  Sources: the runtime's
 * map.go / map_noswiss.go, hash64.go, alg.go, malloc.go and msize.go of each
 * release, summarised in shared/spec/go-classic-map.md §1.
 *
 * 1.20 is inferred from 1.19 (the 1.19 -> 1.21 map diff touches nothing the
 * model observes besides what 1.21 lists); no 1.20 toolchain exists to test
 * it, so its row is marked untested.  lim%: the memory-limit goal's headroom
 * (mgcpacer.go), max(3% of the goal, 1 MiB) from 1.21 (golang/go#57069), a flat
 * 1 MiB before.  Go 1.24's default map is a Swiss
 * table, which pymap does not model: only "1.24-noswiss" exists.
 */
#include "pymap.h"

const goversion pm_versions[] = {
    /* name           LF  hmap m1-m4  odd    clear  marks  seq    hdrs   rand64 lim% tested */
    {"1.19",          13, 48, true,  true,  false, false, false, false, false, 0,    true},
    {"1.20",          13, 48, true,  true,  false, false, false, false, false, 0,    false},
    {"1.21",          12, 48, true,  true,  true,  true,  false, false, false, 3,    true},
    {"1.22",          13, 48, true,  true,  true,  true,  false, true,  true, 3,    true},
    {"1.23",          13, 48, false, false, true,  true,  false, true,  true, 3,    true},
    {"1.24-noswiss",  13, 56, false, false, true,  false, true,  true,  true, 3,    true},
};
const int pm_nversions = (int)(sizeof pm_versions / sizeof pm_versions[0]);

int pm_version_count(void) { return pm_nversions; }

const char *pm_version_name(int v)
{
    return (v >= 0 && v < pm_nversions) ? pm_versions[v].name : NULL;
}

int pm_version_clear_builtin(int v)
{
    return v >= 0 && v < pm_nversions && pm_versions[v].clear_builtin;
}

int pm_version_hashkey_odd(int v)
{
    return v >= 0 && v < pm_nversions && pm_versions[v].hashkey_odd;
}

const char *pm_build_version(void) { return PYMAP_VERSION; }
