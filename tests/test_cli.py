"""The ``pymap`` command: every subcommand runs, its numbers are the model's
(checked against the Python API and pymap.Scenario directly), its PNGs are
images, and bad arguments fail with a clear message and a non-zero exit."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pymap
from pymap.cli import main
from pymap.cli._common import Output, Table

I64 = pymap.MapType("int64", "int64")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def run_json(capsys, *argv: str) -> dict:
    rc, out, err = run(capsys, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


def png_size(path: Path) -> tuple[int, int]:
    from PIL import Image
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


def python_growth_points(t: pymap.MapType, n: int, key=lambda i: i, hint: int = 0, go: str = "1.23"):
    """Insert by insert through the Python API: (insert #, B) at each change of B."""
    rt = pymap.Runtime(go=go, seed=1)
    m = rt.make_map(t, hint)
    out, last = [], m.B
    for i in range(n):
        m.insert_many([key(i)], None)
        if m.B != last:
            out.append((i + 1, m.B))
            last = m.B
    return out, m, rt


# ---- the command as a whole ---------------------------------------------------------------

def test_help_version_and_no_command(capsys):
    rc, out, _ = run(capsys)
    assert rc == 0 and "layout" in out and "scenario" in out and "claims" in out
    assert main(["--version"]) == 0
    assert "pymap 0.1.0" in capsys.readouterr().out
    for cmd in ("layout", "grow", "scenario", "claims", "demo"):
        assert main([cmd, "--help"]) == 0
        assert "--go" in capsys.readouterr().out


def test_python_m_pymap_and_console_script(tmp_path):
    # Run outside the source tree, so the installed pymap is the one imported
    # (in a non-editable install the tree's pymap/ has no compiled core).
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    p = subprocess.run([sys.executable, "-m", "pymap", "demo", "--n", "100"], capture_output=True, text=True,
                       env=env, timeout=60, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"map[int64]int64 on Go {pymap.DEFAULT_GO} (Swiss-table map; group = 136 B)")
    script = Path(sys.executable).parent / "pymap"
    assert script.exists(), "pip installs the pymap console script next to the interpreter"
    p = subprocess.run([str(script), "layout", "int64", "int64"], capture_output=True, text=True, env=env,
                       timeout=60, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert f"Go {pymap.DEFAULT_GO}" in p.stdout and "group: 136 B" in p.stdout and "144 B" in p.stdout


def test_demo_and_its_old_spelling(capsys):
    rc, new, _ = run(capsys, "demo", "--go", "1.21", "--n", "300")
    rc2, old, _ = run(capsys, "--go", "1.21", "--n", "300")
    assert rc == rc2 == 0 and new == old
    rt = pymap.Runtime(go="1.21", seed=1)
    m = rt.make_map(I64)
    m.insert_range(300)
    row = next(line for line in new.splitlines() if line.startswith("after 300 inserts"))
    assert row.split()[3:6] == [str(len(m)), str(m.B), str(m.noverflow)]


# ---- layout ---------------------------------------------------------------------------------

@pytest.mark.parametrize("go,struct,charged", [("1.23", 48, 48), ("1.19", 48, 48), ("1.24-noswiss", 56, 64)])
def test_layout_matches_the_model(capsys, go, struct, charged):
    d = run_json(capsys, "layout", "int64", "int64", "--go", go)
    t = pymap.MapType("int64", "int64")
    assert d["go"] == go and d["schema_version"] == 2 and d["impl"] == "classic"
    assert (d["bucket_size"], d["key_slot_size"], d["elem_slot_size"]) == (t.bucket_size, 8, 8)
    assert (d["keys_offset"], d["elems_offset"], d["overflow_offset"]) == (8, 72, 136)
    assert d["hmap_struct"] == struct and d["hmap_charged"] == charged
    assert d["hmap_charged"] == pymap.Runtime(go=go, seed=1).make_map(t).memory().hmap
    # the load factor comes from a measured grow: 2^10 buckets double at 6.5 * 1024 + 1
    points, _, _ = python_growth_points(t, 7000, go=go)
    assert (d["grow_at"], 1 << d["grow_B"]) == (points[-1][0], 1024)
    assert d["load_factor"] == 6.5 and d["first_grow_at"] == points[0][0] == 9
    rc, out, _ = run(capsys, "layout", "int64", "int64", "--go", go)
    assert f"Go {go}" in out and "bucket (bmap): 144 B" in out and "Stack:" in out


def test_layout_indirect_and_small_key_types(capsys):
    d = run_json(capsys, "layout", "string", "[200]byte", "--go", "1.23")
    t = pymap.MapType("string", "[200]byte")
    assert d["indirect_elem"] is True and d["elem_slot_size"] == 8 == t.elem_slot_size
    assert d["bucket_size"] == t.bucket_size == 8 + 8 * 16 + 8 * 8 + 8
    d = run_json(capsys, "layout", "bool", "struct{}", "--go", "1.23")
    assert d["load_factor"] is None and d["max_keys"] == 2 and d["bucket_size"] == 24
    d = run_json(capsys, "layout", "int8", "bool", "--go", "1.21")
    assert d["load_factor"] == 6.0 and d["grow_B"] == 4


# ---- grow -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key,elem,keyf,n,hint", [
    ("int64", "int64", lambda i: i, 3000, 0),
    ("string", "*[32]byte", lambda i: f"key-{i}", 1500, 100),
    ("float64", "bool", float, 1000, 0),
])
def test_grow_matches_insert_by_insert(capsys, key, elem, keyf, n, hint):
    t = pymap.MapType(key, elem)
    args = ["grow", key, elem, "--n", str(n), "--go", "1.23"] + (["--hint", str(hint)] if hint else [])
    d = run_json(capsys, *args)
    assert d["go"] == "1.23" and d["n"] == n and d["schema_version"] == 2 and d["impl"] == "classic"
    grows = [(e["insert"], e["state"]["B"]) for e in d["events"] if e["kind"] == "grow"]
    if key == "string":   # insert_range's values: fresh pointees; compare the B points through it
        rt = pymap.Runtime(go="1.23", seed=1)
        m = rt.make_map(t, hint)
        expect, last = [], m.B
        for i in range(n):
            m.insert_range(i, i + 1)
            if m.B != last:
                expect.append((i + 1, m.B))
                last = m.B
    else:
        expect, m, rt = python_growth_points(t, n, keyf, hint)
    assert grows == expect
    end = d["events"][-1]["state"]
    mem = m.memory()
    assert (end["len"], end["B"], end["noverflow"], end["bytes"], end["allocated"]) == \
        (len(m), m.B, m.noverflow, mem.total, mem.allocated)
    assert end["heap_alloc"] == rt.memstats().heap_alloc
    # the evacuation that follows each grow that did not finish within its insert
    started = [e["insert"] for e in d["events"] if e["kind"] == "grow" and e["state"]["growing"]]
    done = [e["insert"] for e in d["events"] if e["kind"] == "evacuated"]
    assert len(done) >= len(started) - 1 and all(a < b for a, b in zip(started, done))
    rc, out, _ = run(capsys, *args)
    assert rc == 0 and "Go 1.23" in out
    for ins, b in expect:
        assert re.search(rf"^\s*{ins:,}\s+grow", out, re.M), (ins, out)


def test_grow_plot(capsys, tmp_path):
    png = tmp_path / "grow.png"
    for go in ("1.23", "1.27"):
        rc, out, err = run(capsys, "grow", "int64", "int64", "--n", "20000", "--go", go, "--plot", str(png))
        assert rc == 0, err
        w, h = png_size(png)
        assert w > 500 and h > 300
        assert f"plot written to {png}" in out


# ---- scenario -------------------------------------------------------------------------------

def _direct(ops, **kw):
    rt = pymap.Runtime(go=kw.pop("go", "1.23"), seed=1, **kw)
    return pymap.Scenario(ops, runtime=rt).run(), rt


def test_clear_vs_drop_agrees_with_the_scenario_runner(capsys):
    n = 6000
    d = run_json(capsys, "scenario", "clear-vs-drop", "--n", str(n), "--go", "1.23")
    assert d["schema"] == "pymap.scenario" and d["schema_version"] == 2 and d["go"] == "1.23"
    assert len(d["variants"]) == 10
    by = {(v["params"]["strategy"], v["params"]["gc"]): v for v in d["variants"]}
    # clear(m) + runtime.GC(), then a refill, straight through pymap.Scenario
    res, rt = _direct([{"op": "make", "key": "int64", "elem": "int64"}, {"op": "insert_range", "stop": n},
                       {"op": "clear"}, {"op": "gc"}, {"op": "insert_range", "stop": n}])
    v = by[("clear", True)]
    assert [s["memstats"] for s in v["steps"]] == [s.memstats.as_dict() for s in res.steps]
    assert [s["gctrace"] for s in v["steps"]] == [list(s.gctrace) for s in res.steps]
    assert v["steps"][2]["map"]["B"] == res.steps[2].B > 0           # clear keeps B
    # m = nil + runtime.GC(): back to the baseline
    nil = by[("nil", True)]
    assert nil["steps"][3]["memstats"]["heap_alloc"] == rt.baseline.heap_alloc
    assert nil["steps"][2]["map"] == {"live": False}
    rc, out, _ = run(capsys, "scenario", "clear-vs-drop", "--n", str(n), "--go", "1.23")
    assert rc == 0 and "Go 1.23" in out and "Summary" in out and "gctrace:" in out
    for line in (line for s in v["steps"] for line in s["gctrace"]):
        assert line in out


def test_scenario_settings_reach_the_runtime(capsys):
    d = run_json(capsys, "scenario", "pointer-values", "--n", "2000", "--size", "100", "--gogc", "50",
                 "--memlimit", "32MiB", "--go", "1.22")
    assert d["go"] == "1.22" and d["settings"]["gogc"] == 50 and d["settings"]["memory_limit"] == 32 << 20
    res, _ = _direct([{"op": "make", "key": "string", "elem": "*[100]byte"},
                      {"op": "insert_range", "stop": 2000}, {"op": "clear"}, {"op": "gc"}, {"op": "gc"}],
                     go="1.22", gogc=50, memory_limit=32 << 20)
    clear = next(v for v in d["variants"] if v["params"]["strategy"] == "clear")
    assert [s["memstats"] for s in clear["steps"]] == [s.memstats.as_dict() for s in res.steps]
    # the pointees stay in HeapAlloc until the GC: the map's bytes fall at clear, HeapAlloc does not
    fill, cleared, gc = clear["steps"][1], clear["steps"][2], clear["steps"][3]
    assert cleared["map"]["bytes"] < fill["map"]["bytes"] - 2000 * 100
    assert cleared["memstats"]["heap_alloc"] == fill["memstats"]["heap_alloc"]
    assert gc["memstats"]["heap_alloc"] < cleared["memstats"]["heap_alloc"] - 2000 * 100


def test_churn_counts_same_size_grows(capsys):
    d = run_json(capsys, "scenario", "churn", "--n", "200000", "--window", "2000", "--go", "1.23")
    v = d["variants"][0]
    assert d["settings"]["window"] == 2000 and v["params"]["batch"] == 125
    steps = v["steps"]
    assert all(s["map"]["len"] == 2000 for s in steps[1:])
    assert steps[-1]["map"]["B"] == steps[1]["map"]["B"], "churn at a constant size never doubles"
    rc, out, _ = run(capsys, "scenario", "churn", "--n", "200000", "--window", "2000", "--go", "1.23")
    m = re.search(r"same-size grows during the churn\s+(\d+)", out)
    assert m and int(m.group(1)) >= 1
    # the same program through the Python API: the same map at the end
    rt = pymap.Runtime(go="1.23", seed=1)
    mp = rt.make_map(I64)
    mp.insert_range(2000)
    for s in range(2000, 200000, 125):
        mp.insert_range(s, s + 125)
        mp.delete_many(list(range(s - 2000, s - 2000 + 125)))
    assert (steps[-1]["map"]["noverflow"], steps[-1]["map"]["bytes"]) == (mp.noverflow, mp.memory().total)
    assert steps[-1]["memstats"] == rt.memstats().as_dict()


def test_pool_scenario_matches_the_pool_api(capsys):
    n = 5000
    d = run_json(capsys, "scenario", "pool", "--n", str(n), "--go", "1.23")
    v = d["variants"][0]
    st = v["pools"][0]
    assert (st["gets"], st["puts"], st["news"], st["victim_hits"], st["dropped_by_gc"]) == (3, 2, 2, 1, 1)
    rt = pymap.Runtime(go="1.23", seed=1)
    pool = rt.new_pool(new=lambda: rt.make_map(I64))
    heap = []
    m = pool.get()
    m.insert_range(n)
    m.clear()
    pool.put(m)
    m.drop()
    rt.gc()
    heap.append(rt.memstats().heap_alloc)
    m = pool.get()
    m.insert_range(n)
    m.clear()
    pool.put(m)
    m.drop()
    for _ in range(2):
        rt.gc()
        heap.append(rt.memstats().heap_alloc)
    gcs = [s["memstats"]["heap_alloc"] for s in v["steps"] if s["ops"] == ["gc"]]
    assert gcs == heap
    assert heap[-1] == rt.baseline.heap_alloc


def test_scenario_plots(capsys, tmp_path):
    for name, n, go in (("clear-vs-drop", "3000", "1.23"), ("pool", "3000", "1.23"), ("churn", "20000", "1.27"),
                        ("pool", "3000", "1.25")):
        png = tmp_path / f"{name}-{go}.png"
        rc, _, err = run(capsys, "scenario", name, "--n", n, "--go", go, "--plot", str(png))
        assert rc == 0, err
        w, h = png_size(png)
        assert w > 500 and h > 300


EXPECTED_METRICS = {
    "go_memstats_alloc_bytes", "go_memstats_alloc_bytes_total", "go_memstats_mallocs_total",
    "go_memstats_frees_total", "go_memstats_heap_alloc_bytes", "go_memstats_heap_sys_bytes",
    "go_memstats_heap_idle_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_heap_released_bytes",
    "go_memstats_heap_objects", "go_memstats_next_gc_bytes", "go_memstats_last_gc_time_seconds",
}


def _samples(text: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = (s.value, fam.type)
    return out


def test_prometheus_text_of_a_runtime():
    from prometheus_client import REGISTRY
    from pymap.cli.prometheus import prometheus_text
    rt = pymap.Runtime(go="1.23", seed=1)
    m = rt.make_map(I64)
    m.insert_range(50_000)
    rt.gc()
    s = _samples(prometheus_text(rt))
    assert {name for name, _ in s} == EXPECTED_METRICS
    ms = rt.memstats()
    assert s[("go_memstats_heap_alloc_bytes", ())] == (ms.heap_alloc, "gauge")
    assert s[("go_memstats_alloc_bytes", ())][0] == ms.heap_alloc
    assert s[("go_memstats_alloc_bytes_total", ())] == (ms.total_alloc, "counter")
    assert s[("go_memstats_mallocs_total", ())] == (ms.mallocs, "counter")
    assert s[("go_memstats_frees_total", ())][0] == ms.frees
    assert s[("go_memstats_heap_objects", ())][0] == ms.heap_objects
    assert s[("go_memstats_next_gc_bytes", ())][0] == ms.next_gc
    assert s[("go_memstats_last_gc_time_seconds", ())][0] == pytest.approx(ms.last_gc_ns / 1e9)
    assert REGISTRY.get_sample_value("go_memstats_heap_alloc_bytes") is None, "the global registry is untouched"


def test_scenario_prometheus(capsys):
    rc, out, err = run(capsys, "scenario", "pointer-values", "--n", "1000", "--prometheus", "--go", "1.23")
    assert rc == 0, err
    assert out.startswith("# pymap scenario pointer-values") and "Go 1.23" in out.splitlines()[0]
    s = _samples(out)
    assert {name for name, _ in s} == EXPECTED_METRICS
    assert "go_gc_duration_seconds" not in out and "go_memstats_sys_bytes" not in out
    res, _ = _direct([{"op": "make", "key": "string", "elem": "*[1024]byte"}, {"op": "insert_range", "stop": 1000},
                      {"op": "drop"}, {"op": "gc"}, {"op": "gc"}])
    ms = res.steps[-1].memstats
    assert s[("go_memstats_heap_alloc_bytes", (("variant", "m = nil"),))][0] == ms.heap_alloc
    assert s[("go_memstats_alloc_bytes_total", (("variant", "m = nil"),))][0] == ms.total_alloc


SCENARIO_TOML = """
title = "fill, clear in a loop, drop"
go = "1.22"
gogc = 50
n = 4000

[[step]]
op = "make"
key = "string"
elem = "int64"

[[step]]
label = "fill"
op = "insert_range"
stop = "n"

[[step]]
label = "5 x (clear, refill half)"
op = "repeat"
count = 5
body = [{ op = "clear" }, { op = "insert_range", stop = "n/2" }]

[[step]]
label = "m = nil; runtime.GC()"
ops = [{ op = "drop" }, { op = "gc" }]
"""


def test_scenario_file(capsys, tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(SCENARIO_TOML)
    for n, extra in ((4000, []), (1000, ["--n", "1000", "--go", "1.23"])):
        d = run_json(capsys, "scenario", "--file", str(f), *extra)
        go = "1.23" if extra else "1.22"
        assert d["go"] == go and d["settings"]["gogc"] == 50 and d["settings"]["n"] == n
        res, _ = _direct([{"op": "make", "key": "string", "elem": "int64"}, {"op": "insert_range", "stop": n},
                          {"op": "repeat", "count": 5, "body": [{"op": "clear"},
                                                                {"op": "insert_range", "stop": n // 2}]},
                          {"op": "drop"}, {"op": "gc"}], go=go, gogc=50)
        steps = d["variants"][0]["steps"]
        assert [s["label"] for s in steps] == ["m = make(map[string]int64)", "fill", "5 x (clear, refill half)",
                                               "m = nil; runtime.GC()"]
        assert [s["memstats"] for s in steps] == [s.memstats.as_dict() for s in res.steps[:3] + res.steps[4:]]
        assert steps[2]["map"]["len"] == n // 2
    rc, out, _ = run(capsys, "scenario", "--file", str(f))
    assert rc == 0 and "Go 1.22" in out and "GOGC=50" in out


# ---- claims ---------------------------------------------------------------------------------

@pytest.mark.parametrize("go", ["1.23", "1.24-noswiss", "1.21"])
def test_claims_are_computed_by_the_model(capsys, go):
    d = run_json(capsys, "claims", "--go", go, "--n", "20000")
    c = {x["id"]: x for x in d["claims"]}
    assert d["go"] == go and len(c) >= 9
    assert all(x["verdict"] in ("true", "false", "partly true") for x in c.values())
    hm = c["hmap-56"]
    assert hm["numbers"]["charged_bytes"] == pymap.Runtime(go=go, seed=1).make_map(I64).memory().hmap
    # "the hmap is 56 bytes": partly true where the hmap carries clearSeq (56 B, charged 64)
    assert hm["verdict"] == ("partly true" if pymap.version_facts(go).classic_hmap_size == 56 else "false")
    points, _, _ = python_growth_points(I64, 2000, go=go)
    assert c["grow-52"]["numbers"]["grow_inserts"] == [p for p, _ in points]
    assert c["grow-52"]["verdict"] == "false"
    assert c["clear-frees"]["verdict"] == "false" and c["delete-shrinks"]["verdict"] == "false"
    assert c["clear-frees"]["numbers"]["B_after"] == c["clear-frees"]["numbers"]["B_before"]
    assert c["gc-after-clear"]["verdict"] == "partly true"
    assert c["pool-one-gc"]["verdict"] == "partly true"
    assert c["pool-one-gc"]["numbers"]["gcs_survived"] == 1
    goals = c["min-heap-4mb"]["numbers"]["next_gc_by_gogc"]
    assert {int(g): v for g, v in goals.items()} == \
        {g: pymap.Runtime(go=go, seed=1, gogc=g).memstats().next_gc for g in (50, 100, 200)}
    assert c["min-heap-4mb"]["verdict"] == "false"
    rc = c["rate-count-trigger"]
    assert rc["verdict"] == "false" and rc["numbers"]["tiny_num_gc"] == 0 and rc["numbers"]["kib_num_gc"] > 0
    assert rc["numbers"]["tiny_allocations"] > 100_000
    assert c["nil-frees-now"]["verdict"] == "false"
    rcode, out, _ = run(capsys, "claims", "--go", go, "--n", "20000")
    assert rcode == 0 and f"Go {go}" in out and "hmap header" in out


# ---- bad arguments --------------------------------------------------------------------------

@pytest.mark.parametrize("argv,msg", [
    (["grow", "int64", "int64"], "required: --n"),
    (["layout", "int64"], "required: ELEM"),
    (["layout", "foo", "int64"], "unknown Go type spelling 'foo'"),
    (["layout", "any", "int64"], "interface types are not modelled"),
    (["claims", "--go", "1.24"], "claims about the Swiss map come with a later pymap release"),
    (["claims", "--go", "1.27"], "run it on a classic version (default 1.23)"),
    (["layout", "int64", "int64", "--go", "1.26-noswiss"], "no GOEXPERIMENT=noswissmap"),
    (["layout", "int64", "int64", "--go", "1.28"], "unknown Go version '1.28'"),
    (["grow", "int64", "int64", "--n", "10", "--go", "1.23", "--all"], "--all belongs to Swiss versions"),
    (["grow", "int8", "int64", "--n", "200"], "at most 128 distinct keys"),
    (["grow", "int64", "int64", "--n", "10", "--hint", "-3"], "--hint must be at least 0"),
    (["demo", "--go", "2.0"], "unknown Go version '2.0'"),
    (["grow", "int64", "int64", "--n", "lots"], "--n 'lots' is not a whole number"),
    (["grow", "int64", "int64", "--n", "1.5"], "is not a whole number"),
    (["grow", "bool", "int64", "--n", "5"], "at most 2 distinct keys"),
    (["grow", "int64", "int64", "--n", "10", "--plot", "out.jpg"], "PNG"),
    (["grow", "int64", "int64", "--n", "10", "--plot", "/no/such/dir/g.png"], "does not exist"),
    (["scenario"], "which scenario?"),
    (["scenario", "nope"], "unknown scenario 'nope'"),
    (["scenario", "churn", "--n", "50", "--window", "100"], "must be smaller than --n"),
    (["scenario", "clear-vs-drop", "--n", "-5"], "at least 1"),
    (["scenario", "clear-vs-drop", "--memlimit", "lots"], "is not a size"),
    (["scenario", "clear-vs-drop", "--gogc", "fast"], "--gogc 'fast' is not a number"),
    (["scenario", "clear-vs-drop", "--json", "--prometheus"], "choose one"),
    (["scenario", "pool", "--window", "5"], "--window belongs to the churn scenario"),
    (["scenario", "--file", "/no/such.toml"], "does not exist"),
    (["scenario", "pool", "--file", "x.toml"], "not both"),
    (["demo", "--n", "-1"], "--n must be >= 0"),
])
def test_bad_arguments(capsys, argv, msg):
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert msg in err, err
    assert "Traceback" not in err and "error:" in err


def test_bad_scenario_files(capsys, tmp_path):
    cases = [
        ("this is not toml", 2, "is not valid TOML"),
        ('[[step]]\nop = "fill"', 2, "unknown op 'fill'"),
        ('[[step]]\nop = "make"\nkey = "int64"\nelem = "int64"\ncolour = 1', 2, "unknown field(s) colour"),
        ('[[step]]\nop = "insert_range"\nstop = "n"', 2, "neither --n nor the file's n"),
        ('[[step]]\nop = "insert_range"\nstop = 10', 1, "holds no map"),
        ('flavour = 1\n[[step]]\nop = "gc"', 2, "unknown top-level key(s) flavour"),
    ]
    for text, code, msg in cases:
        f = tmp_path / "bad.toml"
        f.write_text(text)
        rc, _, err = run(capsys, "scenario", "--file", str(f))
        assert rc == code and msg in err, (text, err)
        assert "Traceback" not in err


# ---- output -----------------------------------------------------------------------------------

def test_plain_when_piped_rich_on_request():
    t = Table(["<name", "bytes"], title="t")
    t.add("hmap", 48)
    t.add("bucket", 1_234_567)
    buf = io.StringIO()
    out = Output(buf)                       # not a terminal: plain
    assert not out.rich
    out.table(t)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "t" and lines[1].split() == ["name", "bytes"] and lines[-1].split() == ["bucket", "1,234,567"]
    buf = io.StringIO()
    out = Output(buf, mode="rich")
    out.table(t)
    assert "1,234,567" in buf.getvalue() and "bucket" in buf.getvalue()


# ---- the Swiss map ------------------------------------------------------------------------

SWISS = [v for v in pymap.GO_VERSIONS if pymap.version_impl(v) == "swiss"]


def test_default_version_and_spellings(capsys):
    from pymap.cli._common import parse_go
    assert parse_go("go1.27.3") == "1.27" and parse_go("1.24.11") == "1.24"
    assert parse_go("1.25.5-noswissmap") == "1.25-noswiss" and parse_go("go1.24-noswiss") == "1.24-noswiss"
    d = run_json(capsys, "layout", "int64", "int64")
    assert d["go"] == pymap.DEFAULT_GO and d["impl"] == pymap.version_impl(pymap.DEFAULT_GO) == "swiss"
    for v in pymap.GO_VERSIONS:   # every version runs
        rc, out, err = run(capsys, "demo", "--n", "20", "--go", v)
        assert rc == 0 and f"on Go {v} " in out, err


@pytest.mark.parametrize("go", ["1.27", "1.24"])
@pytest.mark.parametrize("key,elem", [("int64", "int64"), ("int64", "struct{}"), ("string", "[200]byte"),
                                      ("struct{}", "struct{}"), ("[16]byte", "bool")])
def test_swiss_layout_comes_from_maptype(capsys, go, key, elem):
    from pymap.cli._common import CLASSIC_REF
    t = pymap.MapType(key, elem)
    d = run_json(capsys, "layout", key, elem, "--go", go)
    assert d["impl"] == "swiss" and d["go"] == go and d["schema_version"] == 2
    assert (d["slot_size"], d["elem_offset"], d["group_size"]) == (t.slot_size, t.elem_offset, t.group_size)
    assert (d["key_slot_size"], d["elem_slot_size"], d["indirect_key"], d["indirect_elem"]) == \
        (t.key_slot_size, t.elem_slot_size, t.indirect_key, t.indirect_elem)
    assert d["ctrl_size"] + 8 * d["slot_size"] + d["group_padding"] == d["group_size"]
    assert d["bytes_per_slot"] == t.group_size / 8 and d["load_limit"] == 0.875
    assert d["assign_path"] == t.assign_path
    assert d["prunes"] == (t.assign_path in pymap.version_facts(go).swiss_prune_paths)
    c = d["classic"]
    assert c["go"] == CLASSIC_REF and pymap.version_impl(CLASSIC_REF) == "classic"
    assert (c["bucket_size"], c["keys_offset"], c["elems_offset"], c["overflow_offset"]) == \
        (t.bucket_size, t.bucket_keys_offset, t.bucket_elems_offset, t.bucket_overflow_offset)
    rc, out, _ = run(capsys, "layout", key, elem, "--go", go)
    assert rc == 0 and f"Go {go} (Swiss-table map" in out and f"group: {t.group_size} B" in out
    assert f"classic bucket (Go {CLASSIC_REF})" in out and f"{t.bucket_size} B" in out


def test_swiss_layout_measures_bytes_per_entry(capsys):
    d = run_json(capsys, "layout", "int64", "int64")
    assert (d["slot_size"], d["group_size"], d["elem_offset"]) == (16, 136, 8)
    rt = pymap.Runtime(go=pymap.DEFAULT_GO, seed=1)
    m = rt.make_map(I64)
    m.insert_range(896)
    assert d["entries_at_max_load"] == 896 and d["capacity_at_max_load"] == 1024
    assert d["bytes_per_entry_max_load"] == m.memory().total / 896 == 18520 / 896
    m.insert_range(896, 897)
    assert (d["rehash_at"], d["rehash_kind"]) == (897, "split") and m.dir_len == 2
    assert d["bytes_per_entry_after_rehash"] == m.memory().total / 897
    assert d["map_charged"] == 48 and d["table_charged"] == 32 and d["first_table_at"] == 9
    z = run_json(capsys, "layout", "int64", "struct{}")
    assert (z["slot_size"], z["slot_padding"], z["group_size"]) == (16, 8, 136)   # golang/go#71368
    e = run_json(capsys, "layout", "struct{}", "struct{}")
    assert (e["slot_size"], e["group_size"], e["group_padding"]) == (0, 16, 8)
    s = run_json(capsys, "layout", "int8", "bool")   # 128 keys: the largest rehash is a doubling
    assert (s["rehash_kind"], s["rehash_at"], s["max_keys"]) == ("doubling", 113, 128)


def _structure_changes(go, t, n, keyf, hint=0, use_range=False):
    """Insert by insert through the Python API: the inserts at which the map's
    storage changed (small group, tables, groups, directory)."""
    rt = pymap.Runtime(go=go, seed=1)
    m = rt.make_map(t, hint)

    def shape():
        mem = m.memory()
        return (m.small, m.dir_len, mem.tables, mem.groups, mem.small_group)

    out, last = [], shape()
    for i in range(n):
        if use_range:
            m.insert_range(i, i + 1)
        else:
            m.insert_many([keyf(i)], None)
        now = shape()
        if now != last:
            out.append(i + 1)
            last = now
    return out, m, rt


@pytest.mark.parametrize("go", SWISS)
def test_swiss_grow_events_at_their_inserts(capsys, go):
    d = run_json(capsys, "grow", "int64", "int64", "--n", "2000", "--go", go)
    assert d["impl"] == "swiss" and d["schema_version"] == 2
    ev = [(e["insert"], e["kind"]) for e in d["events"]]
    assert ev[:12] == [(0, "make"), (1, "small group"), (9, "small -> table"), (15, "doubling"), (29, "doubling"),
                       (57, "doubling"), (113, "doubling"), (225, "doubling"), (449, "doubling"),
                       (897, "split"), (897, "directory"), ev[11]]
    caps = [e["state"]["capacity"] for e in d["events"] if e["kind"] in ("small -> table", "doubling")]
    assert caps == [16, 32, 64, 128, 256, 512, 1024]
    split = next(e for e in d["events"] if e["kind"] == "split")
    assert split["state"]["tables"] == 2 and split["state"]["capacity"] == 2048
    assert "2 x 1,024 slots, localDepth 1" in split["text"]
    assert next(e for e in d["events"] if e["kind"] == "directory")["text"].endswith("dirLen 1 -> 2")
    rc, out, _ = run(capsys, "grow", "int64", "int64", "--n", "2000", "--go", go)
    assert f"Go {go} (Swiss-table map" in out and "group = 136 B" in out
    for ins in (9, 15, 29, 57, 113, 225, 449, 897):
        assert re.search(rf"^\s*{ins:,}\s+(small -> table|table doubling|split)", out, re.M), ins


@pytest.mark.parametrize("go,key,elem,keyf,n,hint,rng", [
    ("1.27", "int64", "int64", lambda i: i, 6000, 0, True),
    ("1.25", "string", "*[32]byte", lambda i: f"key-{i}", 4000, 897, True),
    ("1.24", "float64", "bool", float, 3000, 0, False),
    ("1.26", "[16]byte", "int8", lambda i: i.to_bytes(16, "little"), 2500, 1793, False),
])
def test_swiss_grow_matches_insert_by_insert(capsys, go, key, elem, keyf, n, hint, rng):
    t = pymap.MapType(key, elem)
    args = ["grow", key, elem, "--n", str(n), "--go", go] + (["--hint", str(hint)] if hint else [])
    d = run_json(capsys, *args)
    got = sorted({e["insert"] for e in d["events"] if e["kind"] not in ("make", "end")})
    expect, m, rt = _structure_changes(go, t, n, keyf, hint, rng)
    assert got == expect
    splits = [e for e in d["events"] if e["kind"] == "split"]
    assert len(splits) == len(m.tables()) - (1 if not hint else len(pymap.Runtime(go=go).make_map(t, hint).tables()))
    end = d["events"][-1]["state"]
    mem = m.memory()
    assert (end["len"], end["dir_len"], end["tables"], end["bytes"], end["allocated"]) == \
        (len(m), m.dir_len, len(m.tables()), mem.total, mem.allocated)
    assert end["capacity"] == sum(x.capacity for x in m.tables())
    assert end["growth_left"] == sum(x.growth_left for x in m.tables())
    assert end["heap_alloc"] == rt.memstats().heap_alloc


def test_swiss_grow_hint_897_must_grow(capsys):
    # make(m, 897) builds 2 x 512 slots (448 + 448 < 897): filling it doubles a table
    d = run_json(capsys, "grow", "int64", "int64", "--n", "897", "--hint", "897")
    assert d["events"][0]["state"]["tables"] == 2 and d["events"][0]["state"]["capacity"] == 1024
    dbl = [e for e in d["events"] if e["kind"] == "doubling"]
    assert dbl and "512 -> 1,024 slots" in dbl[0]["text"]
    assert d["events"][-1]["state"]["allocated"] == 37536      # the spec's measured TotalAlloc


def test_swiss_grow_groups_runs_of_splits(capsys):
    rc, short, _ = run(capsys, "grow", "int64", "int64", "--n", "100000")
    rc2, full, _ = run(capsys, "grow", "int64", "int64", "--n", "100000", "--all")
    assert rc == rc2 == 0
    assert re.search(r"\d+ splits, inserts [\d,]+ to [\d,]+", short)
    assert len(full.splitlines()) > len(short.splitlines()) + 100
    assert "127 splits" in short and "7 directory doublings" in short
    assert "131,072 slots in all, directory of 128" in short and "it holds 2.26 MiB" in short


def test_swiss_clear_vs_drop_quick_start(capsys):
    n = 6000
    d = run_json(capsys, "scenario", "clear-vs-drop", "--n", str(n))
    assert d["go"] == pymap.DEFAULT_GO
    by = {(v["params"]["strategy"], v["params"]["gc"]): v for v in d["variants"]}
    res, rt = _direct([{"op": "make", "key": "int64", "elem": "int64"}, {"op": "insert_range", "stop": n},
                       {"op": "clear"}, {"op": "gc"}, {"op": "insert_range", "stop": n}], go=pymap.DEFAULT_GO)
    v = by[("clear", True)]
    assert [s["memstats"] for s in v["steps"]] == [s.memstats.as_dict() for s in res.steps]
    fill, cleared = v["steps"][1]["map"], v["steps"][2]["map"]
    assert cleared["impl"] == "swiss" and "B" not in cleared
    assert (cleared["tables"], cleared["capacity"], cleared["dir_len"]) == \
        (res.steps[2].ntables, res.steps[2].capacity, res.steps[2].dir_len) == \
        (fill["tables"], fill["capacity"], fill["dir_len"])
    assert cleared["len"] == 0 and cleared["capacity"] > 0
    nil = by[("nil", True)]
    assert nil["steps"][3]["memstats"]["heap_alloc"] == rt.baseline.heap_alloc
    rc, out, _ = run(capsys, "scenario", "clear-vs-drop", "--n", str(n))
    assert rc == 0 and f"Go {pymap.DEFAULT_GO} (Swiss-table map" in out
    summary = out[out.index("Summary"):]
    assert "tables" in summary.splitlines()[1] and "capacity" in summary.splitlines()[1]
    assert "bucket" not in summary
    assert "clear(m) keeps its tables" in summary
    assert f"{fill['tables']} tables, {fill['capacity']:,} slots, as after the fill" in summary.replace("\n", " ")


def test_swiss_churn_and_pool(capsys):
    d = run_json(capsys, "scenario", "churn", "--n", "50000", "--window", "2000", "--go", "1.24")
    steps = d["variants"][0]["steps"]
    assert all(s["map"]["len"] == 2000 for s in steps[1:])
    rt = pymap.Runtime(go="1.24", seed=1)
    mp = rt.make_map(I64)
    mp.insert_range(2000)
    b = d["variants"][0]["params"]["batch"]
    for s in range(2000, 50000, b):
        mp.insert_range(s, min(s + b, 50000))
        mp.delete_many(list(range(s - 2000, min(s + b, 50000) - 2000)))
    end = steps[-1]["map"]
    assert (end["tables"], end["capacity"], end["bytes"]) == \
        (len(mp.tables()), sum(x.capacity for x in mp.tables()), mp.memory().total)
    rc, out, _ = run(capsys, "scenario", "churn", "--n", "50000", "--window", "2000", "--go", "1.24")
    tomb = sum(x.tombstones for x in mp.tables())
    assert re.search(rf"tombstones at the end\s+{tomb:,}", out)
    assert "never prunes" in out
    d = run_json(capsys, "scenario", "pool", "--n", "3000")
    st = d["variants"][0]["pools"][0]
    assert (st["gets"], st["puts"], st["news"], st["victim_hits"], st["dropped_by_gc"]) == (3, 2, 2, 1, 1)


def test_swiss_demo_matches_the_model(capsys):
    rc, out, _ = run(capsys, "demo", "--n", "1000")
    assert rc == 0 and out.startswith(f"map[int64]int64 on Go {pymap.DEFAULT_GO} (Swiss-table map; group = 136 B)")
    rows = {line.split("(")[0].strip(): line.split() for line in out.splitlines() if line.startswith("insert #")}
    assert [int(k.split("#")[1]) for k in rows] == [1, 9, 15, 29, 57, 113, 225, 449, 897]
    rt = pymap.Runtime(go=pymap.DEFAULT_GO, seed=1)
    m = rt.make_map(I64)
    m.insert_range(1000)
    row = next(line for line in out.splitlines() if line.startswith("after 1000 inserts")).split()
    assert row[3:7] == [str(len(m)), str(m.dir_len), str(len(m.tables())), str(sum(x.capacity for x in m.tables()))]


def test_claims_stay_classic(capsys):
    d = run_json(capsys, "claims", "--n", "20000")
    assert d["go"] == "1.23" and d["impl"] == "classic" and "later pymap release" in d["note"]
    rc, out, _ = run(capsys, "claims", "--n", "20000")
    assert rc == 0 and "claims about the Swiss map come with a later pymap release" in out.replace("\n", " ")
