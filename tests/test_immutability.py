"""No public object's state can be changed into one that disagrees with the C core.

The audit walks every public class of pymap (a class added to __all__
without an instance factory here fails test_every_public_class_is_audited)
and, on a live instance of each, tries every attribute it has (public and
private slots, properties, __class__, __dict__ entries), deletes them,
re-runs __init__, copies and pickles it.  Every attempt must be refused
with AttributeError or TypeError (settable properties validate instead)
and leave the object working: the map still passes check(), the runtime
its heap_check(), and every query answers as before.
"""
from __future__ import annotations

import copy
import pickle
from typing import Any, Callable

import pytest

import pymap

# Settable properties: the documented knobs, validated by the C-facing setter
# (Runtime's heap knobs; an empty map's hash seed).
SETTABLE = {"gogc", "memory_limit", "max_alloc", "model_memory", "gctrace_keep", "hash0", "seed"}

JUNK: list[Any] = [None, True, -5, 1 << 24, 1 << 70, 1.5, "x", b"\xff", object()]


def _maps(go: str) -> tuple[pymap.Runtime, pymap.GoMap]:
    rt = pymap.Runtime(go=go, seed=3)
    m = rt.make_map(pymap.MapType("string", "[4]byte"))
    for i in range(200):
        m[f"k{i}"] = i.to_bytes(4, "little")
    return rt, m


def factories(go: str) -> dict[str, Callable[[], Any]]:
    def scenario_result() -> Any:
        return pymap.Scenario([{"op": "make", "key": "int64", "elem": "int64"},
                               {"op": "insert_range", "stop": 100}, {"op": "pool_put"}],
                              runtime=pymap.Runtime(go=go, seed=1)).run()

    rt, m = _maps(go)
    impl_class = "SwissMap" if m.impl == "swiss" else "ClassicMap"
    f: dict[str, Callable[[], Any]] = {
        "Runtime": lambda: rt,
        "GoMap": lambda: m,
        impl_class: lambda: m,
        "MapType": lambda: m.type,
        "MapIterator": lambda: m.items(),
        "Pool": lambda: rt.new_pool(),
        "Scenario": lambda: pymap.Scenario([{"op": "make", "key": "int64", "elem": "int64"}], runtime=rt),
        "ScenarioResult": scenario_result,
        "Step": lambda: scenario_result().steps[0],
        "MemStats": rt.memstats,
        "PacerState": rt.pacer,
        "PoolStats": lambda: rt.new_pool().stats,
        "Baseline": lambda: rt.baseline,
        "VersionFacts": lambda: pymap.version_facts(go),
        "MapMemory" if m.impl == "classic" else "SwissMapMemory": m.memory,
    }
    if m.impl == "classic":
        f["Bucket"] = lambda: m.buckets()[0][0]
    else:
        f["Table"] = lambda: m.tables()[0]
        f["Group"] = lambda: m.tables()[0].groups[0]
    return f


PUBLIC_CLASSES = sorted(n for n in pymap.__all__
                        if isinstance(getattr(pymap, n), type) and not issubclass(getattr(pymap, n), BaseException))


def test_every_public_class_is_audited():
    covered = set(factories("1.23")) | set(factories(pymap.DEFAULT_GO))
    assert set(PUBLIC_CLASSES) <= covered, set(PUBLIC_CLASSES) - covered


def _names(obj: Any) -> set[str]:
    names = set(dir(obj)) | {"__class__", "__dict__", "brand_new_attribute"}
    for c in type(obj).__mro__:
        names |= set(getattr(c, "__slots__", ()))
    return {n for n in names if n != "__weakref__"}


def _observe(obj: Any) -> str:
    """What the object answers: its repr, its public non-callable attributes,
    and for maps and runtimes their consistency checks."""
    if isinstance(obj, pymap.GoMap):
        obj.check()
        return repr((len(obj), obj.memory(), sorted(obj.keys())))
    if isinstance(obj, pymap.Runtime):
        obj.heap_check()
        return repr((obj.go, obj.gogc, obj.max_alloc, obj.memstats()))
    if isinstance(obj, pymap.MapIterator):
        return repr(obj._start)
    out = []
    for n in sorted(dir(obj)):
        if not n.startswith("_"):
            v = getattr(obj, n, None)
            if not callable(v):
                out.append((n, repr(v)))
    return repr(out)


@pytest.mark.parametrize("go", ["1.23", pymap.DEFAULT_GO])
def test_no_public_object_can_be_changed(go):
    attempts = 0
    for cls_name, make in factories(go).items():
        obj = make()
        before = _observe(obj)
        for name in sorted(_names(obj)):
            for v in JUNK:
                attempts += 1
                prop = getattr(type(obj), name, None)
                if isinstance(prop, property) and prop.fset is not None:
                    assert name in SETTABLE, (cls_name, name)
                    old = getattr(obj, name)
                    try:
                        setattr(obj, name, v)
                        setattr(obj, name, old)   # accepted: put it back
                    except (TypeError, ValueError, OverflowError):
                        pass
                    continue
                with pytest.raises((AttributeError, TypeError)):
                    setattr(obj, name, v)
            attempts += 1
            with pytest.raises((AttributeError, TypeError)):
                delattr(obj, name)
        assert _observe(obj) == before, cls_name
        # __init__ once only (the frozen dataclasses re-run theirs into a refusal).
        attempts += 1
        init = type(obj).__init__
        if init is not object.__init__:
            with pytest.raises((TypeError, AttributeError)):
                init(obj, *_init_args(obj))
        assert _observe(obj) == before, cls_name
        # copy and pickle: a handle refuses, a value copies equal.
        for f in (copy.copy, copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))):
            attempts += 1
            try:
                c = f(obj)
            except (TypeError, pickle.PicklingError, AttributeError) as e:
                assert "pymap" in str(e) or "pickle" in str(e), (cls_name, e)
            else:
                assert c == obj or c is obj, cls_name
        assert _observe(obj) == before, cls_name
    assert attempts > 1000


def _init_args(obj: Any) -> tuple:
    if isinstance(obj, pymap.GoMap):
        return (pymap.MapType("int64", "int64"),)
    if isinstance(obj, pymap.MapIterator):
        return (obj._m,)
    if isinstance(obj, pymap.Pool):
        return (obj._rt,)
    if isinstance(obj, pymap.Scenario):
        return ([],)
    if isinstance(obj, pymap.MapType):
        return ("int64", "int64")
    if hasattr(obj, "__dataclass_fields__"):
        return tuple(getattr(obj, f) for f in obj.__dataclass_fields__)
    return ()


def test_type_attributes_cannot_crash_the_map():
    """The reproducer: t.indirect_key = True, t.key_slot_size = 1 << 24, then m.buckets()."""
    t = pymap.MapType("int64", "int64")
    m = pymap.Runtime(go="1.23", seed=1).make_map(t)
    m[1] = 2
    for name, v in (("indirect_key", True), ("key_slot_size", 1 << 24)):
        with pytest.raises(AttributeError):
            setattr(t, name, v)
    with pytest.raises(TypeError):
        vars(t)   # no __dict__ to write behind the class's back
    assert m.buckets()[0][0].keys[0] == 1


def test_gomap_cannot_be_subclassed():
    with pytest.raises(TypeError, match="cannot be subclassed"):
        class Mine(pymap.GoMap):   # noqa: F841
            pass
