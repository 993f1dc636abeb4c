#!/usr/bin/env python3
"""The floor under a callback crossing: instructions per call, counted by callgrind.

    .venv/bin/python benchmarks/crossing_floor.py          # the table
    .venv/bin/python benchmarks/crossing_floor.py --child VARIANT N   # one run (used by the above)

A C loop calls one function N times.  It is compiled once into
``benchmarks/.work/floor/`` as a cffi out-of-line API-mode module (the way
pycurlcb is built), and called with the GIL released, as libcurl calls a
callback from inside ``curl_easy_perform``.  Each variant runs under
``valgrind --tool=callgrind --toggle-collect=<the called function>`` (for cffi
``cffi_call_python``, which every extern "Python" stub calls), so only what
happens inside the crossing is counted (inclusive of everything it calls),
at N1 and N2 calls: per call = (Ir(N2) - Ir(N1)) / (N2 - N1).

Variants (all end in the same user function ``def target(a, b): return 0``,
except ``ret0``):

capi     pycurl's way, the CPython C API: re-take the GIL
         (PyEval_AcquireThread), Py_BuildValue("(ii)"), PyObject_Call, read
         the int, release the GIL.
ret0     a cffi ``extern "Python"`` function ``int f(void *, int, int)``
         returning 0: the crossing alone.
call     the same, calling ``target(a, b)`` (a global).
handle   ``ffi.from_handle(p).fn(a, b)``: the state found from a cffi handle,
         one attribute read for the callable.  This is the floor a binding
         with per-handle state pays for a user callback.
dictweak a dict keyed by the ``void *`` cdata, then a weak reference, then the
         attribute: pycurlcb's registry look-up before issue 23.
intkey   a dict keyed by a Python int (the pointer's value, declared
         ``intptr_t`` in the extern "Python" signature), then the attribute:
         what pycurlcb's trampolines do since issue 23.

``benchmarks/instructions.py --crossings`` prints this table next to the
cost of every pycurlcb trampoline measured the same way.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "floor"
MODULE = "_pcb_floor"
VARIANTS = ("capi", "ret0", "call", "handle", "dictweak", "intkey")
#: The C function callgrind counts inside, per variant: for cffi, the function
#: every extern "Python" stub calls (gil_ensure, the conversions, the Python
#: call, the result): the stubs themselves (a dozen instructions that store
#: the arguments) are static functions callgrind does not name.
SYMBOL = {v: "fl_capi_one" if v == "capi" else "cffi_call_python" for v in VARIANTS}
COUNTS = (2_000, 12_000)

CDEF = """
extern "Python" int fl_ret0(void *clientp, int a, int b);
extern "Python" int fl_call(void *clientp, int a, int b);
extern "Python" int fl_handle(void *clientp, int a, int b);
extern "Python" int fl_dictweak(void *clientp, int a, int b);
extern "Python" int fl_intkey(intptr_t clientp, int a, int b);
int fl_run(int which, void *clientp, int n);
int fl_capi_run(int n);
"""

SOURCE = r"""
typedef int (*fl_fn)(void *, int, int);
static int fl_ret0(void *clientp, int a, int b);
static int fl_call(void *clientp, int a, int b);
static int fl_handle(void *clientp, int a, int b);
static int fl_dictweak(void *clientp, int a, int b);
static int fl_intkey(intptr_t clientp, int a, int b);

/* Through pointers, so that the compiler keeps each stub as the function
 * callgrind counts inside (a direct call of a static stub may be inlined). */
static fl_fn volatile fl_table[4] = {fl_ret0, fl_call, fl_handle, fl_dictweak};
static int (*volatile fl_intkey_p)(intptr_t, int, int) = fl_intkey;

int fl_run(int which, void *clientp, int n)
{
    int i, sum = 0;
    for (i = 0; i < n; i++)
        sum += which < 4 ? fl_table[which](clientp, 1, 2) : fl_intkey_p((intptr_t)clientp, 1, 2);
    return sum;
}

/* pycurl's shape (src/easy-cb.c): acquire the thread state, build the
 * argument tuple, call, convert, release. */
static PyObject *fl_target;

__attribute__((noinline)) int fl_capi_one(PyThreadState *ts)
{
    PyObject *args, *res;
    int rv = -1;
    PyEval_AcquireThread(ts);
    args = Py_BuildValue("(ii)", 1, 2);
    if (args != NULL) {
        res = PyObject_Call(fl_target, args, NULL);
        Py_DECREF(args);
        if (res != NULL) {
            rv = (int)PyLong_AsLong(res);
            Py_DECREF(res);
        }
    }
    PyEval_ReleaseThread(ts);
    return rv;
}

int fl_capi_run(int n)
{
    int i, sum = 0;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *main = PyImport_AddModule("__main__");  /* borrowed */
    fl_target = main == NULL ? NULL : PyObject_GetAttrString(main, "target");
    PyThreadState *ts = PyThreadState_Get();
    PyGILState_Release(g);
    if (fl_target == NULL)
        return -1;
    for (i = 0; i < n; i++)
        sum += fl_capi_one(ts);
    return sum;
}
"""


def build() -> None:
    """Compile the module into WORK, unless it is there."""
    if any(WORK.glob(MODULE + "*.so")):
        return
    from cffi import FFI

    WORK.mkdir(parents=True, exist_ok=True)
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source(MODULE, SOURCE, extra_compile_args=["-O2"])
    ffi.compile(tmpdir=str(WORK), verbose=False)


def child(variant: str, n: int) -> None:
    build()
    sys.path.insert(0, str(WORK))
    mod = importlib.import_module(MODULE)
    ffi, lib = mod.ffi, mod.lib

    def target(a: int, b: int) -> int:
        return 0

    main = sys.modules["__main__"]
    main.target = target  # type: ignore[attr-defined]

    class State:
        __slots__ = ("fn", "__weakref__")

        def __init__(self) -> None:
            self.fn = target

    class Key:
        __slots__ = ("ref",)

        def __init__(self, state: State) -> None:
            self.ref = weakref.ref(state)

    state = State()
    handle = ffi.new_handle(state)
    clientp = ffi.cast("void *", 12345)
    states = {clientp: Key(state)}
    ints = {12345: state}
    from_handle, get, iget = ffi.from_handle, states.get, ints.get

    @ffi.def_extern()
    def fl_ret0(p: Any, a: int, b: int) -> int:
        return 0

    @ffi.def_extern()
    def fl_call(p: Any, a: int, b: int) -> int:
        return target(a, b)

    @ffi.def_extern()
    def fl_handle(p: Any, a: int, b: int) -> int:
        return from_handle(p).fn(a, b)  # type: ignore[no-any-return]

    @ffi.def_extern()
    def fl_dictweak(p: Any, a: int, b: int) -> int:
        key = get(p)
        s = None if key is None else key.ref()
        return s.fn(a, b)  # type: ignore[no-any-return,union-attr]

    @ffi.def_extern()
    def fl_intkey(p: int, a: int, b: int) -> int:
        return iget(p).fn(a, b)  # type: ignore[no-any-return,union-attr]

    if variant == "capi":
        rv = lib.fl_capi_run(n)
    else:
        which = VARIANTS.index(variant) - 1
        rv = lib.fl_run(which, handle if variant == "handle" else clientp, n)
    if rv != 0:
        raise SystemExit(f"{variant}: unexpected sum {rv}")


_COLLECTED = re.compile(r"Collected : (\d+)")


def callgrind(cmd: list[str], symbol: str) -> int:
    """Ir counted inside ``symbol`` (inclusive) in one run of ``cmd``."""
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
             f"--toggle-collect={symbol}", *cmd],
            capture_output=True, text=True,
        )
    m = _COLLECTED.search(r.stderr)
    if r.returncode != 0 or m is None:
        raise SystemExit(f"{' '.join(cmd)} under callgrind failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return int(m.group(1))


def per_call(variant: str) -> float:
    n1, n2 = COUNTS
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant]
    low = callgrind([*cmd, str(n1)], SYMBOL[variant])
    high = callgrind([*cmd, str(n2)], SYMBOL[variant])
    return (high - low) / (n2 - n1)


def measure() -> dict[str, float]:
    build()
    return {v: per_call(v) for v in VARIANTS}


def table(floor: dict[str, float]) -> str:
    lines = ["| crossing (C loop → Python, GIL released) | instructions per call | vs capi |",
             "|---|--:|--:|"]
    for v in VARIANTS:
        lines.append(f"| {v} | {floor[v]:,.0f} | {floor[v] - floor['capi']:+,.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs=2, metavar=("VARIANT", "N"))
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    print(f"Python {sys.version.split()[0]}")
    print(table(measure()))


if __name__ == "__main__":
    main()
