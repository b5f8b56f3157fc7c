"""MemStats in the Prometheus text exposition format, under the Go client's names.

``prometheus_text(rt)`` renders a Runtime's current MemStats the way
client_golang's Go collector names them (``go_memstats_heap_alloc_bytes``,
``go_memstats_alloc_bytes_total``, ...), through prometheus_client and a
private CollectorRegistry (the process's global registry is never touched).

Only fields the model keeps are exported.  The Go collector's other metrics
(``go_memstats_sys_bytes``, the stack/mspan/mcache/gc_sys figures,
``go_gc_duration_seconds``, ``go_goroutines``, ...) are not modelled and are
left out rather than given made-up values.  ``go_memstats_last_gc_time_seconds``
is the modelled process's virtual clock at the last GC (seconds since the
modelled process started; 0 before the first GC), not a Unix time.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence

from .._heap import MemStats

#: (Go client name, type, MemStats field, scale, help).  Names and types are
#: those of client_golang's Go collector; "alloc_bytes" is Alloc (= HeapAlloc).
METRICS: tuple[tuple[str, str, str, float, str], ...] = (
    ("go_memstats_alloc_bytes", "gauge", "heap_alloc", 1,
     "Number of bytes allocated in heap and currently in use (modelled)."),
    ("go_memstats_alloc_bytes_total", "counter", "total_alloc", 1,
     "Total number of bytes allocated in heap until now, even if released already (modelled)."),
    ("go_memstats_mallocs_total", "counter", "mallocs", 1,
     "Total number of heap objects allocated, both live and gc-ed (modelled)."),
    ("go_memstats_frees_total", "counter", "frees", 1,
     "Total number of heap objects frees (modelled)."),
    ("go_memstats_heap_alloc_bytes", "gauge", "heap_alloc", 1,
     "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes (modelled)."),
    ("go_memstats_heap_sys_bytes", "gauge", "heap_sys", 1,
     "Number of heap bytes obtained from system (modelled)."),
    ("go_memstats_heap_idle_bytes", "gauge", "heap_idle", 1,
     "Number of heap bytes waiting to be used (modelled)."),
    ("go_memstats_heap_inuse_bytes", "gauge", "heap_inuse", 1,
     "Number of heap bytes that are in use (modelled)."),
    ("go_memstats_heap_released_bytes", "gauge", "heap_released", 1,
     "Number of heap bytes released to OS (modelled)."),
    ("go_memstats_heap_objects", "gauge", "heap_objects", 1,
     "Number of currently allocated objects (modelled)."),
    ("go_memstats_next_gc_bytes", "gauge", "next_gc", 1,
     "Number of heap bytes when next garbage collection will take place (modelled)."),
    ("go_memstats_last_gc_time_seconds", "gauge", "last_gc_ns", 1e-9,
     "Time of the last garbage collection on the model's virtual clock, in seconds since the "
     "modelled process started (0 before the first GC); not a Unix time."),
)


class _MemStatsCollector:
    """A prometheus_client collector over fixed MemStats samples."""

    def __init__(self, samples: Sequence[tuple[Mapping[str, str], MemStats]]) -> None:
        self._samples = samples

    def describe(self) -> list:   # no names registered up front: nothing to clash with
        return []

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        labelnames = sorted({k for labels, _ in self._samples for k in labels})
        for name, kind, fieldname, scale, help_ in METRICS:
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            fam = cls(name, help_, labels=labelnames)
            for labels, ms in self._samples:
                v = getattr(ms, fieldname)
                fam.add_metric([labels.get(k, "") for k in labelnames], v * scale if scale != 1 else float(v))
            yield fam


def memstats_text(samples: Sequence[tuple[Mapping[str, str], MemStats]]) -> str:
    """The exposition of one or more MemStats, each with its labels (possibly none)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_MemStatsCollector(list(samples)))
    return generate_latest(registry).decode()


def prometheus_text(rt: Any, labels: Optional[Mapping[str, str]] = None) -> str:
    """``rt.prometheus_text()``: the Runtime's current MemStats as Prometheus text."""
    return memstats_text([(dict(labels or {}), rt.memstats())])
