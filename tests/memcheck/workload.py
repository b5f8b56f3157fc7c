"""A representative workload for valgrind memcheck (see .ci/run and the README):
make, grow, delete, clear, iterate (abandoned mid-way too), bulk calls, a
scenario, drop -- over several key/elem kinds and versions."""
import numpy as np

import pymap

for go in ("1.19", "1.21", "1.23", "1.24-noswiss"):
    rt = pymap.Runtime(go=go, seed=5)
    for key, elem in [("int64", "int64"), ("string", "string"), ("[130]byte", "[200]byte"), ("float64", "string")]:
        t = pymap.MapType(key, elem)
        m = rt.make_map(t, hint=3)
        for i in range(400):
            k = f"k{i}" if key == "string" else (i.to_bytes(130, "little") if key.startswith("[") else i)
            m[k] = (f"v{i}" if elem == "string" else (bytes(200) if elem.startswith("[") else i))
            if i % 7 == 0:
                m.delete(k)
        if key == "float64":
            m[float("nan")] = "nan"
        it = m.items()
        next(it)
        m.clear()
        for _ in m.items():
            pass
        del it, m
    m = rt.make_map(pymap.MapType("int64", "int64"))
    m.insert_range(0, 3000)
    m.lookup_many(np.arange(4000))
    m.delete_many(np.arange(0, 3000, 2))
    pymap.Scenario([{"op": "make", "key": "string", "elem": "int64"},
                    {"op": "repeat", "count": 50, "body": [{"op": "insert_range", "stop": 100},
                                                           {"op": "iterate"}, {"op": "clear"}]},
                    {"op": "make", "map": 1, "key": "string", "elem": "int64"},
                    {"op": "insert_range", "stop": 500},
                    {"op": "copy", "map": 1, "src": 0},
                    {"op": "drop"}], runtime=rt).run()
pymap.freelist_trim()
print("workload done")
