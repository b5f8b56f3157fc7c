"""Baseline of the modelled Go process, per Go version.  GENERATED: do not edit.

Produced by tools/measure_baselines.py on 2026-12-02 (UTC) from the real Go
toolchains (1.19: go1.19.8, 1.21: go1.21.13, 1.22: go1.22.10, 1.23:
go1.23.9, 1.24-noswiss: go1.24.11 X:noswissmap, 1.24: go1.24.11,
1.25-noswiss: go1.25.5 X:noswissmap, 1.25: go1.25.5, 1.26: go1.26.6, 1.27:
go1.27.3).
Rows kept from an earlier generation by --merge keep their date (MEASURED_ON).
Regenerate:  python tools/measure_baselines.py
             python tools/measure_baselines.py --merge --versions V...  (only V...)
Verify:      python tools/measure_baselines.py --check   (exits 1 on a difference)
Tested by:   tests/conformance/test_baselines.py

Each version's process is tests/conformance/heap_oracle's "baseline"
scenario (sources fingerprint HEAP_ORACLE_SOURCES), run with GOMAXPROCS=1 and
GOGC/GOMEMLIMIT/GODEBUG unset; the figures are those right after its first
runtime.GC(), before any map exists.  Statistic: the median over RUNS fresh
processes -- the figures of the one process nearest every field's median
(statistics.median_low), so they are mutually consistent; BASELINE_SOURCE
notes any field where it is off its median.  They are the figures of that
program: another one has other globals and init allocations.

Even with one P the runtime sometimes allocates a little more (an extra OS
thread: ~1.8-3 KiB in 3-5 objects, ~5.3-5.9 KiB in 6-9 objects on 1.24-1.27;
on 1.23+ also 32-1056 B steps; on 1.26+ HeapSys and HeapReleased sometimes
4 MiB higher): OBSERVED_SPREAD gives min - stored and max - stored per field,
TOLERANCE the accepted difference on re-measurement (0 for globals and
stacks, which never varied), widened per version by TOLERANCE_BY_VERSION.

Go 1.19 has no /gc/scan/* metrics: its globals and heap_scan_plus_stacks come
from GODEBUG=gcpacertrace=1 (GC 2's end-of-cycle line carries the globals scan
work and lastHeapScan + lastStackScan + globalsScan left by GC 1; checked
against /gc/scan/* on 1.21+, see SUBSTITUTE_CHECK), and its heap_scan and
stacks are not measured (NOT_MEASURED; absent from BASELINES).  Versions
without a toolchain take the values of the nearest measured one
(BASELINE_SOURCE).
"""

from __future__ import annotations

GENERATED = "2026-12-02"
GOMAXPROCS = 1
RUNS = 101
STATISTIC = "median process of RUNS: the run nearest every field's median_low"
HEAP_ORACLE_SOURCES = "5959c521a46615dbfc78"

# UTC date each measured version's figures were taken (rows kept by
# --merge keep their date).
MEASURED_ON: dict[str, str] = {
    "1.19": "2026-11-26",
    "1.21": "2026-11-26",
    "1.22": "2026-11-26",
    "1.23": "2026-11-26",
    "1.24-noswiss": "2026-11-26",
    "1.24": "2026-12-02",
    "1.25-noswiss": "2026-12-02",
    "1.25": "2026-12-02",
    "1.26": "2026-12-02",
    "1.27": "2026-12-02",
}

# runtime.Version() of each measured process.
GO_VERSION_STRINGS: dict[str, str] = {
    "1.19": "go1.19.8",
    "1.21": "go1.21.13",
    "1.22": "go1.22.10",
    "1.23": "go1.23.9",
    "1.24-noswiss": "go1.24.11 X:noswissmap",
    "1.24": "go1.24.11",
    "1.25-noswiss": "go1.25.5 X:noswissmap",
    "1.25": "go1.25.5",
    "1.26": "go1.26.6",
    "1.27": "go1.27.3",
}

# What each field is (all taken at the baseline scenario's "gc" point).
FIELDS: dict[str, str] = {
    "heap_alloc": "MemStats.HeapAlloc (B)",
    "heap_objects": "MemStats.HeapObjects",
    "heap_inuse": "MemStats.HeapInuse (B)",
    "heap_sys": "MemStats.HeapSys (B)",
    "heap_released": "MemStats.HeapReleased (B)",
    "total_alloc": "MemStats.TotalAlloc (B)",
    "mallocs": "MemStats.Mallocs",
    "frees": "MemStats.Frees",
    "other_sys": "MemStats.Sys - MemStats.HeapSys (B)",
    "globals": (
        "/gc/scan/globals:bytes (gcController.globalsScan: data + bss); 1.19: "
        "globals scan work of GC 2 in the gcpacertrace line"
    ),
    "stacks": "/gc/scan/stack:bytes (lastStackScan: stack bytes scanned by the GC)",
    "heap_scan": "/gc/scan/heap:bytes (heapScan: scannable heap bytes)",
    "heap_scan_plus_stacks": (
        "heap_scan + stacks; 1.19: E - G of GC 2's gcpacertrace line (see the "
        "module doc)"
    ),
}

BASELINES: dict[str, dict[str, int]] = {
    "1.19": {
        "heap_alloc": 66992,
        "heap_objects": 167,
        "heap_inuse": 335872,
        "heap_sys": 3964928,
        "heap_released": 3579904,
        "total_alloc": 68184,
        "mallocs": 185,
        "frees": 18,
        "other_sys": 8797200,
        "globals": 318960,
        "heap_scan_plus_stacks": 54352,
    },
    "1.20": {
        "heap_alloc": 66992,
        "heap_objects": 167,
        "heap_inuse": 335872,
        "heap_sys": 3964928,
        "heap_released": 3579904,
        "total_alloc": 68184,
        "mallocs": 185,
        "frees": 18,
        "other_sys": 8797200,
        "globals": 318960,
        "heap_scan_plus_stacks": 54352,
    },
    "1.21": {
        "heap_alloc": 77960,
        "heap_objects": 179,
        "heap_inuse": 376832,
        "heap_sys": 3997696,
        "heap_released": 3530752,
        "total_alloc": 79760,
        "mallocs": 198,
        "frees": 19,
        "other_sys": 3513360,
        "globals": 302416,
        "stacks": 2000,
        "heap_scan": 63272,
        "heap_scan_plus_stacks": 65272,
    },
    "1.22": {
        "heap_alloc": 88520,
        "heap_objects": 200,
        "heap_inuse": 385024,
        "heap_sys": 3964928,
        "heap_released": 3489792,
        "total_alloc": 90336,
        "mallocs": 220,
        "frees": 20,
        "other_sys": 2481168,
        "globals": 507936,
        "stacks": 1960,
        "heap_scan": 75624,
        "heap_scan_plus_stacks": 77584,
    },
    "1.23": {
        "heap_alloc": 106344,
        "heap_objects": 316,
        "heap_inuse": 385024,
        "heap_sys": 3964928,
        "heap_released": 3481600,
        "total_alloc": 110192,
        "mallocs": 350,
        "frees": 34,
        "other_sys": 2481168,
        "globals": 247920,
        "stacks": 1960,
        "heap_scan": 84624,
        "heap_scan_plus_stacks": 86584,
    },
    "1.24-noswiss": {
        "heap_alloc": 111240,
        "heap_objects": 349,
        "heap_inuse": 393216,
        "heap_sys": 3964928,
        "heap_released": 3481600,
        "total_alloc": 115408,
        "mallocs": 377,
        "frees": 28,
        "other_sys": 2481168,
        "globals": 249106,
        "stacks": 1944,
        "heap_scan": 88184,
        "heap_scan_plus_stacks": 90128,
    },
    "1.24": {
        "heap_alloc": 110856,
        "heap_objects": 349,
        "heap_inuse": 393216,
        "heap_sys": 3964928,
        "heap_released": 3481600,
        "total_alloc": 117784,
        "mallocs": 382,
        "frees": 33,
        "other_sys": 2481168,
        "globals": 249138,
        "stacks": 1944,
        "heap_scan": 87640,
        "heap_scan_plus_stacks": 89584,
    },
    "1.25-noswiss": {
        "heap_alloc": 116800,
        "heap_objects": 380,
        "heap_inuse": 434176,
        "heap_sys": 3964928,
        "heap_released": 3432448,
        "total_alloc": 124712,
        "mallocs": 410,
        "frees": 30,
        "other_sys": 4184328,
        "globals": 250778,
        "stacks": 1984,
        "heap_scan": 89432,
        "heap_scan_plus_stacks": 91416,
    },
    "1.25": {
        "heap_alloc": 116288,
        "heap_objects": 380,
        "heap_inuse": 434176,
        "heap_sys": 3964928,
        "heap_released": 3440640,
        "total_alloc": 125520,
        "mallocs": 413,
        "frees": 33,
        "other_sys": 4184328,
        "globals": 250810,
        "stacks": 1984,
        "heap_scan": 88768,
        "heap_scan_plus_stacks": 90752,
    },
    "1.26": {
        "heap_alloc": 145464,
        "heap_objects": 417,
        "heap_inuse": 442368,
        "heap_sys": 3964928,
        "heap_released": 3407872,
        "total_alloc": 159176,
        "mallocs": 453,
        "frees": 36,
        "other_sys": 3922184,
        "globals": 252138,
        "stacks": 1984,
        "heap_scan": 119768,
        "heap_scan_plus_stacks": 121752,
    },
    "1.27": {
        "heap_alloc": 134728,
        "heap_objects": 281,
        "heap_inuse": 425984,
        "heap_sys": 3964928,
        "heap_released": 3489792,
        "total_alloc": 140336,
        "mallocs": 308,
        "frees": 27,
        "other_sys": 3922184,
        "globals": 258154,
        "stacks": 2104,
        "heap_scan": 109928,
        "heap_scan_plus_stacks": 112032,
    },
}

BASELINE_SOURCE: dict[str, str] = {
    "1.19": (
        "measured: go1.19.8, GOMAXPROCS=1, median process of 101 runs; globals, "
        "heap_scan_plus_stacks from GODEBUG=gcpacertrace=1, GC 2's end-of-cycle "
        "line in fill-clear-gc (-n 100000), median of 101 runs (no /gc/scan/* "
        "metrics in this version); not measured: stacks, heap_scan"
    ),
    "1.20": (
        "not measured (no Go 1.20 toolchain: tests/conformance/goruntime.py "
        "installs none): copy of 1.19 (go1.19.8), the nearest measured version "
        "(as near: 1.21; the older one is taken, as pymap models 1.20's maps on "
        "1.19); so not measured either: stacks, heap_scan"
    ),
    "1.21": (
        "measured: go1.21.13, GOMAXPROCS=1, median process of 101 runs (off the "
        "per-field median: heap_inuse +8192)"
    ),
    "1.22": (
        "measured: go1.22.10, GOMAXPROCS=1, median process of 101 runs (off the "
        "per-field median: heap_inuse +8192)"
    ),
    "1.23": "measured: go1.23.9, GOMAXPROCS=1, median process of 101 runs",
    "1.24-noswiss": (
        "measured: go1.24.11 X:noswissmap, GOMAXPROCS=1, median process of 101 "
        "runs"
    ),
    "1.24": "measured: go1.24.11, GOMAXPROCS=1, median process of 101 runs",
    "1.25-noswiss": (
        "measured: go1.25.5 X:noswissmap, GOMAXPROCS=1, median process of 101 "
        "runs (off the per-field median: total_alloc -32)"
    ),
    "1.25": "measured: go1.25.5, GOMAXPROCS=1, median process of 101 runs",
    "1.26": "measured: go1.26.6, GOMAXPROCS=1, median process of 101 runs",
    "1.27": "measured: go1.27.3, GOMAXPROCS=1, median process of 101 runs",
}

# Fields absent from BASELINES[version]: no measurement exists for them.
NOT_MEASURED: dict[str, tuple[str, ...]] = {
    "1.19": ("stacks", "heap_scan"),
    "1.20": ("stacks", "heap_scan"),
}

# (min - stored, max - stored) over the RUNS processes, per measured version.
OBSERVED_SPREAD: dict[str, dict[str, tuple[int, int]]] = {
    "1.19": {
        "heap_alloc": (-208, 2432),
        "heap_objects": (-1, 5),
        "heap_inuse": (0, 8192),
        "heap_sys": (-32768, 0),
        "heap_released": (-40960, 0),
        "total_alloc": (-208, 2432),
        "mallocs": (-1, 5),
        "frees": (0, 0),
        "other_sys": (0, 32768),
        "globals": (0, 0),
        "heap_scan_plus_stacks": (-208, 1432),
    },
    "1.21": {
        "heap_alloc": (-288, 1856),
        "heap_objects": (-1, 3),
        "heap_inuse": (-8192, 0),
        "heap_sys": (-65536, 0),
        "heap_released": (-65536, 8192),
        "total_alloc": (-288, 1856),
        "mallocs": (-1, 3),
        "frees": (0, 0),
        "other_sys": (0, 65536),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (-272, 1400),
        "heap_scan_plus_stacks": (-272, 1400),
    },
    "1.22": {
        "heap_alloc": (-288, 3232),
        "heap_objects": (-1, 4),
        "heap_inuse": (-8192, 0),
        "heap_sys": (-32768, 0),
        "heap_released": (-32768, 8192),
        "total_alloc": (-288, 3232),
        "mallocs": (-1, 4),
        "frees": (0, 0),
        "other_sys": (0, 32768),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (-272, 3064),
        "heap_scan_plus_stacks": (-272, 3064),
    },
    "1.23": {
        "heap_alloc": (-288, 576),
        "heap_objects": (-1, 2),
        "heap_inuse": (-8192, 0),
        "heap_sys": (0, 0),
        "heap_released": (-8192, 8192),
        "total_alloc": (-288, 736),
        "mallocs": (-1, 3),
        "frees": (0, 2),
        "other_sys": (0, 0),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (-272, 544),
        "heap_scan_plus_stacks": (-272, 544),
    },
    "1.24-noswiss": {
        "heap_alloc": (-768, 5216),
        "heap_objects": (-4, 4),
        "heap_inuse": (-8192, 8192),
        "heap_sys": (-32768, 0),
        "heap_released": (-40960, 8192),
        "total_alloc": (-768, 5216),
        "mallocs": (-4, 4),
        "frees": (0, 2),
        "other_sys": (0, 32768),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (-728, 2808),
        "heap_scan_plus_stacks": (-728, 2808),
    },
    "1.24": {
        "heap_alloc": (-640, 5248),
        "heap_objects": (-4, 5),
        "heap_inuse": (0, 8192),
        "heap_sys": (-32768, 0),
        "heap_released": (-40960, 0),
        "total_alloc": (-640, 5248),
        "mallocs": (-4, 5),
        "frees": (0, 0),
        "other_sys": (0, 32768),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (-608, 2840),
        "heap_scan_plus_stacks": (-608, 2840),
    },
    "1.25-noswiss": {
        "heap_alloc": (-768, 5824),
        "heap_objects": (-4, 7),
        "heap_inuse": (-8192, 0),
        "heap_sys": (-32768, 0),
        "heap_released": (-32768, 8192),
        "total_alloc": (-928, 5664),
        "mallocs": (-5, 7),
        "frees": (-1, 2),
        "other_sys": (-262144, 32768),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (-728, 2152),
        "heap_scan_plus_stacks": (-728, 2152),
    },
    "1.25": {
        "heap_alloc": (-640, 5568),
        "heap_objects": (-4, 7),
        "heap_inuse": (0, 0),
        "heap_sys": (-32768, 0),
        "heap_released": (-32768, 0),
        "total_alloc": (-640, 5568),
        "mallocs": (-4, 7),
        "frees": (0, 0),
        "other_sys": (0, 32768),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (-608, 1912),
        "heap_scan_plus_stacks": (-608, 1912),
    },
    "1.26": {
        "heap_alloc": (-800, 5800),
        "heap_objects": (-5, 9),
        "heap_inuse": (0, 0),
        "heap_sys": (-32768, 4194304),
        "heap_released": (-32768, 4194304),
        "total_alloc": (-800, 5800),
        "mallocs": (-5, 9),
        "frees": (0, 0),
        "other_sys": (0, 69648),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (-728, 3240),
        "heap_scan_plus_stacks": (-728, 3240),
    },
    "1.27": {
        "heap_alloc": (0, 5320),
        "heap_objects": (0, 6),
        "heap_inuse": (0, 0),
        "heap_sys": (-32768, 4194304),
        "heap_released": (-32768, 4194304),
        "total_alloc": (0, 5320),
        "mallocs": (0, 6),
        "frees": (0, 0),
        "other_sys": (0, 32768),
        "globals": (0, 0),
        "stacks": (0, 0),
        "heap_scan": (0, 2808),
        "heap_scan_plus_stacks": (0, 2808),
    },
}

# Largest accepted |re-measured - stored| per field (one run or a median).
TOLERANCE: dict[str, int] = {
    "globals": 0,
    "stacks": 0,
    "heap_alloc": 8192,
    "total_alloc": 8192,
    "heap_scan": 8192,
    "heap_scan_plus_stacks": 8192,
    "heap_objects": 16,
    "mallocs": 16,
    "frees": 4,
    "heap_inuse": 32768,
    "heap_sys": 131072,
    "heap_released": 131072,
    "other_sys": 262144,
}

# Per-version widenings of TOLERANCE (tools/measure_baselines.py says why);
# a version's accepted difference is {**TOLERANCE, **TOLERANCE_BY_VERSION[v]}.
TOLERANCE_BY_VERSION: dict[str, dict[str, int]] = {
    "1.25-noswiss": {
        "other_sys": 524288,
    },
    "1.25": {
        "other_sys": 524288,
    },
    "1.26": {
        "heap_sys": 4325376,
        "heap_released": 4325376,
        "other_sys": 524288,
    },
    "1.27": {
        "heap_sys": 4325376,
        "heap_released": 4325376,
        "other_sys": 524288,
    },
}

# The gcpacertrace reading vs /gc/scan/* of the same process (1.21+):
# mismatches must be 0; the last figure is the substitute's median (a
# fill-clear-gc process) minus the baseline scenario's median (noise: a
# different process, with the same few-KiB extra-thread wobble).
SUBSTITUTE_CHECK: dict[str, dict[str, int]] = {
    "1.21": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": -136,
    },
    "1.22": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": -24,
    },
    "1.23": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": 344,
    },
    "1.24-noswiss": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": 368,
    },
    "1.24": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": 368,
    },
    "1.25-noswiss": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": 400,
    },
    "1.25": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": 368,
    },
    "1.26": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": 128,
    },
    "1.27": {
        "runs": 101,
        "globals_mismatches": 0,
        "heap_scan_plus_stacks_mismatches": 0,
        "substitute_median_minus_baseline_median": 248,
    },
}
