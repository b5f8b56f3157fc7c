/*
 * runtime/version.c -- the one place where Go versions differ.
 *
 * Every behaviour that changed between Go 1.19 and 1.27 is a column of
 * this table; the rest of the core reads the column and never tests a
 * version name.  A row names its builtin map (map_impl), the runtime facts
 * every map shares (hash, malloc headers, draw widths, the memory-limit
 * headroom, whether clear exists), and the facts of its map
 * implementation.  Sources: the runtime's map.go / map_noswiss.go,
 * internal/runtime/maps, hash64.go, alg.go, malloc.go and mgcpacer.go of
 * each release, summarised in shared/spec/go-classic-map.md §1 and
 * go-swiss-map.md §7.
 *
 * 1.20 is inferred from 1.19 (the 1.19 -> 1.21 map diff touches nothing the
 * model observes besides what 1.21 lists); no 1.20 toolchain exists to test
 * it, so its row is marked untested.  lim%: the memory-limit goal's
 * headroom, max(3% of the goal, 1 MiB) from 1.21 (golang/go#57069), a flat
 * 1 MiB before.  "-noswiss" rows are Go built with GOEXPERIMENT=noswissmap
 * (gone in 1.26).
 *
 * Swiss columns: tpos = Map.tombstonePossible exists (1.25); supd = an
 * update to a full small map grows it (until 1.27 looked for the key
 * first); prune = the assign paths that prune tombstones before a rehash
 * (1.25: fast32/fast64/faststr, 1.27 adds fast64ptr; the generic mapassign
 * never); clear = which groups a clear memclrs; clone = maps.Clone copies
 * the structure (1.25) instead of rebuilding with hint = len.
 */
#include "runtime/runtime.h"

#define C(lf, hmap, marks, seq) .classic = {lf, hmap, marks, seq}
#define S(tpos, supd, prune, clear, clone) .swiss = {tpos, supd, prune, clear, clone}
#define PRUNE125 (AP_BIT(AP_FAST32) | AP_BIT(AP_FAST64) | AP_BIT(AP_FASTSTR))
#define PRUNE127 (PRUNE125 | AP_BIT(AP_FAST64PTR))

const goversion pm_versions[] = {
    /* name           impl         m1-m4  odd    clear  clone  hdrs   rand64 lim% tested */
    {"1.19",          MAP_CLASSIC, true,  true,  false, false, false, false, 0, true,
     C(13, 48, false, false)},
    {"1.20",          MAP_CLASSIC, true,  true,  false, false, false, false, 0, false,
     C(13, 48, false, false)},
    {"1.21",          MAP_CLASSIC, true,  true,  true,  true,  false, false, 3, true,
     C(12, 48, true, false)},
    {"1.22",          MAP_CLASSIC, true,  true,  true,  true,  true,  true,  3, true,
     C(13, 48, true, false)},
    {"1.23",          MAP_CLASSIC, false, false, true,  true,  true,  true,  3, true,
     C(13, 48, true, false)},
    /*                                                          tpos   supd   prune     clear          clone */
    {"1.24",          MAP_SWISS,   false, false, true,  true,  true,  true,  3, true,
     S(false, true,  0,        SWC_ALL,       false)},
    {"1.24-noswiss",  MAP_CLASSIC, false, false, true,  true,  true,  true,  3, true,
     C(13, 56, false, true)},
    {"1.25",          MAP_SWISS,   false, false, true,  true,  true,  true,  3, true,
     S(true,  true,  PRUNE125, SWC_FULL,      true)},
    {"1.25-noswiss",  MAP_CLASSIC, false, false, true,  true,  true,  true,  3, true,
     C(13, 56, false, true)},
    {"1.26",          MAP_SWISS,   false, false, true,  true,  true,  true,  3, true,
     S(true,  true,  PRUNE125, SWC_HEURISTIC, true)},
    {"1.27",          MAP_SWISS,   false, false, true,  true,  true,  true,  3, true,
     S(true,  false, PRUNE127, SWC_HEURISTIC, true)},
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

int pm_version_map_impl(int v)
{
    return (v >= 0 && v < pm_nversions) ? pm_versions[v].map_impl : -1;
}

int pm_version_info(int v, pm_versioninfo *out)
{
    if (v < 0 || v >= pm_nversions)
        return PM_EARG;
    const goversion *g = &pm_versions[v];
    *out = (pm_versioninfo){
        .map_impl = g->map_impl, .tested = g->tested, .clear_builtin = g->clear_builtin,
        .maps_clone = g->maps_clone,
        .hashkey_odd = g->hashkey_odd, .alloc_headers = g->alloc_headers, .rand64 = g->rand64,
        .classic_load_factor_num = g->classic.loadFactorNum, .classic_hmap_size = g->classic.hmap_size,
        .classic_clear_marks_empty = g->classic.clear_marks_empty, .classic_clear_seq = g->classic.clear_seq,
        .swiss_tombstone_possible = g->swiss.tombstone_possible,
        .swiss_small_update_grows = g->swiss.small_update_grows,
        .swiss_clone_structural = g->swiss.clone_structural, .swiss_clear_mode = g->swiss.clear_mode,
        .swiss_prune_paths = g->swiss.prune_paths,
    };
    return PM_OK;
}

const char *pm_build_version(void) { return PYMAP_VERSION; }
