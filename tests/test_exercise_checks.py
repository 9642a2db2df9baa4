"""cnnbook.exercise_checks: the shortcuts an exercise rules out refuse to run inside the block,
however they are reached, and everything is back on after it."""
import contextlib
import gc
import sys
import threading

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from torch.overrides import _get_current_function_mode_stack
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

from cnnbook.exercise_checks import CATEGORIES, forbid, limit_lines

X = np.arange(36.0).reshape(6, 6)
KERNEL = np.array([[1.0, -1.0], [2.0, 0.5]])


def loops(x, kernel):
    """A cross-correlation with loops: what the exercises ask for."""
    K_h, K_w = kernel.shape
    out = np.zeros((x.shape[0] - K_h + 1, x.shape[1] - K_w + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + K_h, j:j + K_w] * kernel)
    return out


def test_an_allowed_computation_runs_and_returns_its_result():
    with forbid("conv", "patches", "einsum", "fft", "pool", "engine") as watch:
        got = loops(X, KERNEL)
    assert watch.calls == []
    np.testing.assert_allclose(got, scipy.signal.correlate2d(X, KERNEL, "valid"))


@pytest.mark.parametrize("category, call, named", [
    ("conv", lambda: scipy.signal.correlate2d(X, KERNEL, "valid"), "scipy.signal"),
    ("conv", lambda: np.convolve(X[0], KERNEL[0]), "convolve"),
    ("conv", lambda: F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2)), "conv2d"),
    ("conv", lambda: torch.ops.aten.convolution(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), None,
                                                [1, 1], [0, 0], [1, 1], False, [0, 0], 1), "convolution"),
    ("fft", lambda: np.fft.fft2(X), "numpy.fft"),
    ("fft", lambda: torch.fft.fft(torch.ones(4)), "fft"),
    ("patches", lambda: np.lib.stride_tricks.sliding_window_view(X, (2, 2)), "sliding_window_view"),
    ("patches", lambda: torch.ones(1, 6).unfold(1, 2, 1), "unfold"),
    ("einsum", lambda: np.einsum("ij,ij->", X, X), "einsum"),
    ("pool", lambda: F.max_pool2d(torch.ones(1, 1, 4, 4), 2), "max_pool2d"),
    ("torch", lambda: torch.ones(2), "torch"),
    ("engine", lambda: __import__("cnnbook.functional").functional.relu(X), "cnnbook.functional"),
])
def test_a_forbidden_call_made_directly_is_refused_and_named(category, call, named):
    with pytest.raises(AssertionError, match="your code called") as error:
        with forbid(category):
            call()
    assert named in str(error.value)


def test_a_forbidden_function_saved_in_a_dict_before_the_block_is_refused():
    saved = {"fft": np.fft.fft2, "correlate": scipy.signal.correlate2d}
    with pytest.raises(AssertionError, match="numpy.fft"):
        with forbid("fft"):
            saved["fft"](X)
    with pytest.raises(AssertionError, match="correlate2d"):
        with forbid("conv"):
            saved["correlate"](X, KERNEL)


def test_a_forbidden_function_reached_through_getattr_is_refused():
    name = "".join(["con", "volve"])
    with pytest.raises(AssertionError, match="convolve"):
        with forbid("conv"):
            getattr(np, name)(X[0], KERNEL[0])


def test_a_c_function_called_directly_is_refused():
    correlate2 = np._core.multiarray.correlate2
    with pytest.raises(AssertionError, match="correlate2"):
        with forbid("conv"):
            correlate2(X[0], KERNEL[0], 0)


def test_a_thread_started_inside_the_block_is_refused():
    with pytest.raises(AssertionError, match="start_new_thread"):
        with forbid("fft"):
            worker = threading.Thread(target=np.fft.fft2, args=(X,))
            worker.start()
            worker.join()


def test_a_thread_started_before_the_block_that_calls_a_forbidden_function_fails_the_block():
    go, done, errors = threading.Event(), threading.Event(), []

    def worker():
        go.wait()
        try:
            np.fft.fft2(X)
        except AssertionError as error:
            errors.append(error)
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    with pytest.raises(AssertionError, match="numpy.fft"):
        with forbid("fft"):
            go.set()
            done.wait(10)
    thread.join()
    assert errors, "the switched-off function raised in the thread too"


def test_a_forbidden_call_whose_error_is_caught_still_fails_the_block():
    with pytest.raises(AssertionError, match="numpy.fft"):
        with forbid("fft"):
            try:
                np.fft.fft2(X)
            except AssertionError:
                pass


def test_switching_off_the_profiler_fails_the_block():
    with pytest.raises(AssertionError, match="setprofile"):
        with forbid("conv"):
            sys.setprofile(None)
            scipy.signal.correlate2d(X, KERNEL)


@pytest.mark.parametrize("category", ["fft", "autograd", "conv", "patches"])
def test_ordinary_pytorch_operations_run_when_pytorch_is_not_forbidden(category):
    # PyTorch pops its function mode itself to run a mode's handler (tensor arithmetic, F.pad,
    # building a layer, np.asarray of a tensor): that is not a way around the check
    x = torch.arange(9.0).reshape(3, 3)
    with forbid(category):
        padded = F.pad(x, (1, 1, 1, 1))
        y = (1 - x) ** 2
        array = np.asarray(x)
        layer = torch.nn.Linear(3, 2)
    assert padded.shape == (5, 5) and float(y[0, 0]) == 1.0 and array[2, 2] == 8.0
    assert layer.weight.shape == (2, 3)


@pytest.mark.parametrize("escape", [
    lambda: torch.overrides._pop_mode_temporarily().__enter__(),
    lambda: torch._C._pop_torch_function_stack(),
    lambda: torch._C._pop_torch_dispatch_stack(),
    lambda: torch._C.DisableTorchFunction().__enter__(),
], ids=["_pop_mode_temporarily", "_pop_torch_function_stack", "_pop_torch_dispatch_stack",
        "DisableTorchFunction"])
def test_popping_pytorchs_modes_from_the_notebook_is_refused(escape):
    with pytest.raises(AssertionError, match="your code called torch"):
        with forbid("fft"):
            escape()
    assert not _get_current_function_mode_stack() and not _get_current_dispatch_mode_stack()


def test_autograd_is_refused_however_backward_is_reached_and_no_grad_stays_allowed():
    def backward():
        x = torch.ones(3, requires_grad=True)
        (x * 2).sum().backward()

    def grad():
        x = torch.ones(3, requires_grad=True)
        torch.autograd.grad((x * 2).sum(), x)

    def engine():
        x = torch.ones(3, requires_grad=True)
        y = (x * 2).sum()
        torch.autograd.Variable._execution_engine.run_backward((y,), (torch.ones(()),), False, False,
                                                               (x,), False, False)

    def transposed():
        F.conv_transpose2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))

    for route in (backward, grad, engine, transposed):
        with pytest.raises(AssertionError, match="your code called"):
            with forbid("autograd"):
                route()
    with forbid("autograd") as watch, torch.no_grad():
        out = F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))
    assert watch.calls == [] and out.shape == (1, 1, 2, 2)


def test_allow_keeps_a_routine_of_a_forbidden_category():
    with forbid("conv", allow=("numpy.correlate",)) as watch:
        got = np.correlate(X[0], KERNEL[0])
    assert watch.calls == [] and got.shape == (5,)
    with pytest.raises(AssertionError, match="convolve"):
        with forbid("conv", allow=("numpy.correlate",)):
            np.convolve(X[0], KERNEL[0])


def test_calls_refuses_a_function_of_the_notebook_even_through_another_name():
    def conv_as_matrix(kernel):
        return np.diag(kernel.ravel())

    alias = conv_as_matrix
    with pytest.raises(AssertionError, match="conv_as_matrix"):
        with forbid(calls=[conv_as_matrix]):
            alias(KERNEL)
    assert conv_as_matrix(KERNEL).shape == (4, 4)


def test_everything_is_back_on_after_the_block_and_after_an_error():
    implementation = np.correlate._implementation
    codes = (np.fft.fft2._implementation.__code__, implementation.__code__, scipy.signal.correlate2d.__code__,
             F.max_pool2d.__code__)
    for fail in (False, True):
        with pytest.raises(ZeroDivisionError) if fail else contextlib.nullcontext():
            with forbid("conv", "fft", "pool", "patches", "einsum", "autograd"):
                if fail:
                    1 / 0
        assert (np.fft.fft2._implementation.__code__, implementation.__code__, scipy.signal.correlate2d.__code__,
                F.max_pool2d.__code__) == codes
        assert sys.getprofile() is None and threading.getprofile() is None
        assert _get_current_function_mode_stack() == [] and _get_current_dispatch_mode_stack() == []
        assert gc.isenabled()
        np.fft.fft2(X)
        F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))
        worker = threading.Thread(target=lambda: None)
        worker.start()
        worker.join()


def test_an_unknown_category_is_an_error():
    with pytest.raises(ValueError, match="unknown categories"):
        with forbid("convolution"):
            pass
    assert set(CATEGORIES) >= {"conv", "patches", "einsum", "fft", "pool", "autograd", "torch", "engine"}


def test_the_reason_starts_the_message():
    with pytest.raises(AssertionError, match=r"^the exercise asks for loops: your code called"):
        with forbid("fft", reason="the exercise asks for loops"):
            np.fft.fft(X[0])


def test_without_a_reason_the_message_names_what_is_forbidden():
    with pytest.raises(AssertionError, match=r"^this exercise asks you to do without FFTs and "
                                             r"numpy.convolve: your code called numpy\S*convolve"):
        with forbid("fft", calls=("numpy.convolve",)):
            np.convolve(X[0], KERNEL[0])


def test_limit_lines_stops_a_long_search_and_lets_a_short_one_finish():
    def search(m):
        n = 0
        while n * n < m:
            n += 1
        return n

    tracer = sys.gettrace()
    with limit_lines(1000):
        assert search(100) == 10
    with pytest.raises(AssertionError, match="search should be a formula: more than 1,000 lines"):
        with limit_lines(1000, "search should be a formula"):
            search(10**12)
    assert sys.gettrace() is tracer


# -- what reviewers acting as students tried: C functions called by C, child processes, strided
#    views built by hand, digging up the originals -------------------------------------------------

CORRELATE2 = np._core.multiarray.correlate2   # NumPy's C correlation, saved before the blocks


def _c_routes():
    import functools
    import itertools
    import operator

    import scipy.fft
    import scipy.ndimage
    from scipy.signal import _sigtools

    rows, kernels = list(X[:2]), list(KERNEL)
    row_objects, kernel_objects = np.empty(2, dtype=object), np.empty(2, dtype=object)
    for k in range(2):   # arrays as elements: a ufunc made by frompyfunc loops over them
        row_objects[k], kernel_objects[k] = rows[k], kernels[k]
    c2c = scipy.fft._pocketfft.pypocketfft.c2c
    correlate1d = scipy.ndimage._nd_image.correlate1d
    fft_kernel = functools.partial(np.fft._pocketfft_umath.fft, out=np.empty(6, complex))
    return {
        "map": ("conv", lambda: list(map(CORRELATE2, rows, kernels, [0, 0])), "correlate2"),
        "itertools.starmap": ("conv", lambda: list(itertools.starmap(CORRELATE2, [(X[0], KERNEL[0], 0)])),
                              "correlate2"),
        "functools.reduce": ("conv", lambda: functools.reduce(_sigtools._convolve2d, [X, KERNEL]),
                             "_convolve2d"),
        "sorted(key=...)": ("conv", lambda: sorted(rows[:1], key=functools.partial(CORRELATE2, v=KERNEL[0],
                                                                                      mode=0)), "correlate2"),
        "operator.methodcaller": ("conv", lambda: operator.methodcaller("correlate2", X[0], KERNEL[0], 0)(
            np._core.multiarray), "correlate2"),
        "np.frompyfunc": ("conv", lambda: np.frompyfunc(CORRELATE2, 3, 1)(row_objects, kernel_objects, 0), "correlate2"),
        "np.vectorize": ("conv", lambda: np.vectorize(CORRELATE2, otypes=[object])(row_objects,
                                                                                     kernel_objects, 0),
                         "correlate2"),
        "scipy.fft's C FFT": ("fft", lambda: list(map(c2c, [X.astype(complex)], [(0, 1)], [True], [0])),
                              "c2c"),
        "scipy.ndimage's C filter": ("pool", lambda: list(map(correlate1d, [X[0]], [KERNEL[0]], [0], [X[0].copy()],
                                                              [3], [0.0], [0])), "correlate1d"),
        "NumPy's FFT kernel (a ufunc)": ("fft", lambda: list(map(fft_kernel, [X[0].astype(complex)], [1.0])),
                                         "_pocketfft_umath.fft"),
        "NumPy's FFT kernel called directly": ("fft", lambda: fft_kernel(X[0].astype(complex), 1.0),
                                               "_pocketfft_umath.fft"),
        "np.einsum's C core": ("einsum", lambda: list(map(np._core.multiarray.c_einsum, ["ij,ij->"], [X], [X])),
                               "c_einsum"),
    }


@pytest.mark.parametrize("route", list(_c_routes()))
def test_a_forbidden_c_function_called_by_another_c_function_is_refused(route):
    category, call, named = _c_routes()[route]
    with pytest.raises(AssertionError, match="your code called") as error:
        with forbid(category):
            call()
    assert named in str(error.value)
    call()   # back on after the block


def test_a_forbidden_c_function_called_by_a_thread_started_before_the_block_fails_the_block():
    go, done = threading.Event(), threading.Event()

    def worker():
        go.wait()
        try:
            list(map(CORRELATE2, [X[0]], [KERNEL[0]], [0]))
        except SystemError:
            pass
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    with pytest.raises(AssertionError, match="correlate2"):
        with forbid("conv"):
            go.set()
            done.wait(10)
    thread.join()


def test_pytorch_operators_are_refused_however_they_are_reached():
    inputs, weights = [torch.ones(1, 1, 3, 3)], [torch.ones(1, 1, 2, 2)]
    for route in (lambda: list(map(F.conv2d, inputs, weights)),
                  lambda: list(map(torch.Tensor.unfold, [torch.ones(1, 6)], [1], [2], [1]))):
        with pytest.raises(AssertionError, match="conv2d|unfold"):
            with forbid("conv", "patches"):
                route()


def test_allow_keeps_the_c_core_of_the_allowed_routine():
    with forbid("conv", "einsum", allow=("numpy.correlate", "numpy.convolve")) as watch:
        got = np.correlate(X[0], KERNEL[0]), np.convolve(X[0], KERNEL[0])
    assert watch.calls == [] and got[0].shape == (5,) and got[1].shape == (7,)


def _fork():
    if os.fork() == 0:   # only if the fork was not refused: the child leaves at once
        os._exit(0)


PROCESSES = {
    "subprocess.run": lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
    "a saved subprocess.Popen": lambda: SAVED_POPEN([sys.executable, "-c", "pass"]).wait(),
    "os.system": lambda: os.system("true"),
    "os.popen": lambda: os.popen("true").read(),
    "os.fork": _fork,
    "os.posix_spawn": lambda: os.waitpid(os.posix_spawn("/bin/true", ["true"], dict(os.environ)), 0),
    "os.spawnv": lambda: os.spawnv(os.P_WAIT, "/bin/true", ["true"]),
    "pty.spawn": lambda: __import__("pty").spawn(["true"]),
    "multiprocessing": lambda: SAVED_START(),
    "ProcessPoolExecutor": lambda: SAVED_POOL().submit(abs, -1).result(),
}


def _saved_start():
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(target=print)
    start = process.start
    return lambda: (start(), process.join())


import os  # noqa: E402 - with what the process routes above need
import subprocess  # noqa: E402
from concurrent.futures import ProcessPoolExecutor as SAVED_POOL  # noqa: E402

SAVED_POPEN = subprocess.Popen
SAVED_START = _saved_start()


@pytest.mark.parametrize("route", list(PROCESSES))
def test_starting_a_child_process_is_refused(route):
    with pytest.raises(AssertionError, match="your code called"):
        with forbid("conv"):
            PROCESSES[route]()
    subprocess.run(["true"], check=True)   # back on after the block


def test_the_interpreter_s_back_doors_are_refused():
    import ctypes
    import types

    implementation = np.convolve._implementation
    code, defaults = implementation.__code__, implementation.__globals__
    routes = {
        "ctypes": lambda: ctypes.c_void_p.from_address(id(X)).value,
        "gc.get_objects": lambda: gc.get_objects(),
        "gc.get_referrers": lambda: gc.get_referrers(implementation),
        "a function rebuilt from the saved code": lambda: types.FunctionType(code, defaults)(X[0], KERNEL[0]),
        "the saved code put back": lambda: setattr(implementation, "__code__", code),
        "code.replace": lambda: code.replace(co_name="mine"),
    }
    for name, route in routes.items():
        with pytest.raises(AssertionError, match="your code called"):
            with forbid("conv"):
                route()
        assert np.convolve._implementation.__code__ is code, name
    assert gc.get_referrers(implementation) and ctypes.c_void_p.from_address(id(X)).value


class _Interface:
    """An object whose array interface is made by hand: numpy.asarray views its memory."""


def _strided_routes():
    s0, s1 = X.strides
    shape, strides = (5, 5, 2, 2), (s0, s1, s0, s1)

    def positional(x):
        return np.ndarray(shape, x.dtype, x, 0, strides)

    def keywords(x):
        return np.ndarray(shape=shape, dtype=x.dtype, buffer=x, strides=strides)

    def forged(x):
        fake = _Interface()
        interface = dict(x.__array_interface__)
        interface.update(shape=shape, strides=strides)
        fake.__array_interface__ = interface
        return np.asarray(fake)

    def namespace(x):
        interface = {**x.__array_interface__, "shape": shape, "strides": strides}
        return np.asarray(types.SimpleNamespace(__array_interface__=interface))

    def attribute(x):
        view = np.broadcast_to(x.ravel()[:1], (30,))
        view.strides = (8,)
        return view

    import types
    dummy = np.lib._stride_tricks_impl.DummyArray
    interface = {**X.__array_interface__, "shape": shape, "strides": strides}
    return {
        "ndarray(shape, dtype, buffer, offset, strides)": positional,
        "ndarray(buffer=..., strides=...)": keywords,
        "ndarray.__new__": lambda x: np.ndarray.__new__(np.ndarray, shape, x.dtype, x, 0, strides),
        "map(np.ndarray, ...)": lambda x: list(map(np.ndarray, [shape], [x.dtype], [x], [0], [strides])),
        "a forged __array_interface__": forged,
        "a SimpleNamespace interface": namespace,
        "DummyArray, saved before the block": lambda x: list(map(dummy, [interface], [x])),
        ".strides = ...": attribute,
    }


@pytest.mark.parametrize("route", list(_strided_routes()))
def test_a_strided_view_built_without_as_strided_is_refused(route):
    with pytest.raises(AssertionError, match="your code called"):
        with forbid("patches"):
            _strided_routes()[route](X)


def test_honest_array_code_still_runs_under_patches():
    def honest(x):
        out = np.ndarray((2, 3))   # no buffer: a new array, like np.empty
        out[:] = x.strides[0]
        return out, x.T.strides

    with forbid("patches") as watch:
        out, strides = honest(X)
    assert watch.calls == [] and out.shape == (2, 3) and strides == (8, 48)
    with pytest.raises(ValueError, match="negative dimensions"):   # its own error, not SystemError
        with forbid("patches"):
            np.ndarray((-1,))
    assert np.ndarray((4,), X.dtype, X).shape == (4,)   # back on after the block


def test_a_forbidden_module_loaded_again_inside_the_block_is_refused():
    import importlib

    saved = sys.modules["scipy.signal._signaltools"]
    try:
        with pytest.raises(AssertionError, match=r"scipy\.signal\._signaltools"):
            with forbid("conv"):
                del sys.modules["scipy.signal._signaltools"]   # fresh functions, not switched off
                importlib.import_module("scipy.signal._signaltools").correlate2d(X, KERNEL)
    finally:
        sys.modules["scipy.signal._signaltools"] = saved
    with forbid("patches") as watch:   # a module the block does not forbid may be loaded
        importlib.import_module("scipy.signal._signaltools")
    assert watch.calls == []


def test_a_c_function_put_back_with_ctypes_prepared_before_the_block_fails_the_block():
    import ctypes

    from cnnbook.exercise_checks import _layout

    layout = _layout()
    if not layout.ready:
        pytest.skip("the call slots are not switched off on this interpreter")
    slot = ctypes.c_void_p.from_address(id(CORRELATE2) + layout.vectorcall)
    original = slot.value
    with pytest.raises(AssertionError, match="put back the C function .*correlate2"):
        with forbid("conv"):
            slot.value = original   # no audit event: a ctypes object made before the block
            list(map(CORRELATE2, [X[0]], [KERNEL[0]], [0]))
    assert slot.value == original


def test_importing_a_forbidden_module_for_the_first_time_inside_the_block_is_refused():
    """In a fresh interpreter, where SciPy's signal module was never loaded."""
    script = ("import sys\nsys.modules['torch'] = None   # quicker: a book without PyTorch\n"
              "from cnnbook.exercise_checks import forbid\n"
              "try:\n    with forbid('conv'):\n        import scipy.signal\n"
              "except AssertionError as error:\n    print(error)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "your code called import scipy.signal (a forbidden module" in out, out


def test_code_run_with_the_helper_s_own_globals_is_not_exempt():
    """The profiler leaves the helper's own calls alone; code exec'd in its namespace is not its."""
    import _thread

    import cnnbook.exercise_checks as helper

    namespace = vars(helper)
    namespace["_student_start"] = _thread.start_new_thread
    try:
        with pytest.raises(AssertionError, match="start_new_thread"):
            with forbid("conv"):
                exec("_student_start(len, ((),))", namespace)
    finally:
        namespace.pop("_student_start", None)


def test_replacing_the_record_of_forbidden_calls_fails_the_block():
    import cnnbook.exercise_checks as helper

    record = helper._HITS
    try:
        with pytest.raises(AssertionError, match="replaced the record"):
            with forbid("conv"):
                helper._HITS = []   # where the refusers write now: not where the block reads
                try:
                    list(map(CORRELATE2, [X[0]], [KERNEL[0]], [0]))
                except SystemError:
                    pass
    finally:
        helper._HITS = record


def test_switching_off_the_audit_hook_fails_the_block():
    import cnnbook.exercise_checks as helper

    for switch_off in (lambda: helper._ACTIVE.clear(), lambda: helper._PAUSED.__setitem__(0, 1)):
        with pytest.raises(AssertionError, match="switched off the check's audit hook"):
            with forbid("conv"):
                switch_off()
        helper._PAUSED[0] = 0
    with forbid("conv") as watch:
        pass
    assert watch.calls == [] and helper._ACTIVE == [] and helper._PAUSED == [0]


def test_numpy_s_own_ufuncs_and_functions_stay_on_in_every_category():
    """SciPy's modules re-export NumPy's ufuncs (np.add): only what they define is switched off."""
    with forbid("conv", "patches", "einsum", "fft", "pool", "engine") as watch:
        sums = list(map(np.add, X[:2], X[2:4]))
        products = list(map(np.dot, [X], [X]))
        total = np.frompyfunc(np.multiply, 2, 1)(X[:2], 2.0)
        got = loops(X, KERNEL)
    assert watch.calls == [] and len(sums) == 2 and products[0].shape == (6, 6)
    assert total.shape == (2, 6) and got.shape == (5, 5)


# -- plain: answers as plain values ----------------------------------------------------------------

NOTEBOOK_CLASSES = '''
import numpy as np, numbers

class Peek:                                   # reads the check's frame when converted
    __module__ = "numbers"
    def __float__(self):
        return 1.0

class Lazy:                                   # computes its value (autograd...) when converted
    __module__ = "numpy.lib"
    def __array__(self, dtype=None, copy=None):
        return np.zeros(2)
    def __len__(self):
        return 2

class Yes(float):                             # no function of its own: a C method put there
    __module__ = "numpy"
    __eq__ = float.__ne__

class Always(dict):
    def __eq__(self, other):
        return True

class Registered:
    pass

numbers.Number.register(Registered)

class Meta(type):
    def __instancecheck__(cls, obj):
        return True
    def __subclasscheck__(cls, sub):
        return True

class Anything(metaclass=Meta):
    pass

class Forged:
    __class__ = float

class Finalised(np.ndarray):
    __module__ = "numpy"
    def __array_finalize__(self, obj):
        pass

def lazy_items():
    yield 1.0
'''


def notebook_objects():
    """Objects of classes made by code compiled as a notebook cell is (its own file name)."""
    namespace = {"__name__": "__main__"}
    exec(compile(NOTEBOOK_CLASSES, "/tmp/ipykernel_0/cell.py", "exec"), namespace)
    return {"a class claiming module numbers": namespace["Peek"](),
            "a lazy __array__ claiming numpy.lib": namespace["Lazy"](),
            "a float subclass with a C __eq__": namespace["Yes"](1.0),
            "a dict subclass": namespace["Always"](a=1),
            "a class registered as numbers.Number": namespace["Registered"](),
            "a metaclass with __instancecheck__": namespace["Anything"](),
            "a forged __class__": namespace["Forged"](),
            "an ndarray subclass with __array_finalize__": np.zeros(2).view(namespace["Finalised"]),
            "a generator": namespace["lazy_items"](),
            "map": map(float, [1]),
            "a function": namespace["lazy_items"],
            "one inside a list": [1.0, namespace["Peek"]()],
            "one inside a dict": {"a": namespace["Lazy"]()}}


@pytest.mark.parametrize("what", list(notebook_objects()))
def test_plain_refuses_what_the_notebook_defined_and_names_its_type(what):
    from cnnbook.exercise_checks import plain

    obj = notebook_objects()[what]
    with pytest.raises(AssertionError, match="the answer is an object of type"):
        plain(obj)


def test_plain_keeps_library_values_and_makes_containers_built_in():
    from collections import OrderedDict

    from cnnbook.exercise_checks import plain

    for value in (1, 2.5, True, "a", None, np.float32(1.5), np.int64(3)):
        assert plain(value) is value
    array = np.arange(4.0)
    assert plain(array) is array and type(plain(np.ma.zeros(2))) is np.ndarray
    tensor = torch.zeros(2)
    assert plain(tensor) is tensor and type(plain(torch.nn.Parameter(torch.zeros(1)))) is torch.Tensor
    assert plain(torch.Size([2, 3])) == (2, 3) and type(plain(torch.Size([2]))) is tuple
    nested = plain(OrderedDict(a=[np.zeros(1), (1, {"b": 2.0})]))
    assert type(nested) is dict and type(nested["a"]) is list and type(nested["a"][1]) is tuple
    assert type(plain(torch.max(torch.zeros(2, 2), 0))) is tuple
    objects = plain(np.array([1.0, None], dtype=object))
    assert objects.dtype == object and objects[0] == 1.0
    with pytest.raises(AssertionError, match="not of numbers"):
        plain(np.zeros(2, dtype=[("a", float)]))


def test_plain_inside_a_block_runs_nothing_forbidden():
    from cnnbook.exercise_checks import plain

    with forbid("torch", "conv", "patches", "einsum", "fft", "autograd", "engine") as watch:
        got = plain([np.zeros(2), 1.0, np.ma.zeros(2), {"k": (1, 2)}])
    assert watch.calls == [] and len(got) == 4
    with forbid("conv", "patches", "einsum", "fft", "autograd", "engine") as watch:
        got = plain([torch.nn.Parameter(torch.zeros(2)), torch.zeros(1)])
    assert watch.calls == [] and type(got[0]) is torch.Tensor


# -- what the check relies on after the call: its names and the check's frames -------------------

def test_a_student_function_that_rebinds_a_comparison_fails_the_block_and_is_put_back():
    import cnnbook.check

    original_allclose, original_assert = np.allclose, cnnbook.check.assert_close
    namespace = globals()   # the caller's globals: a notebook's, here this module's

    def cheat():
        np.allclose = lambda *args, **kwargs: True
        cnnbook.check.assert_close = lambda *args, **kwargs: None
        namespace["forbid"] = None
        return 0

    with pytest.raises(AssertionError, match="rebound numpy.allclose") as caught:
        with forbid("conv"):
            cheat()
    assert "rebound the notebook's global forbid" in str(caught.value)
    assert np.allclose is original_allclose
    assert cnnbook.check.assert_close is original_assert
    assert namespace["forbid"] is not None


def test_data_assigned_inside_a_block_is_not_a_rebinding():
    with forbid("conv"):
        got = np.ones(3)
        layer = torch.nn.Linear(2, 2)
        out = layer(torch.ones(1, 2))
    assert got.sum() == 3 and out.shape == (1, 2)


def _read_frame_through_a_traceback():
    try:
        raise ValueError
    except ValueError as error:
        frame = getattr(error.__traceback__, "tb_" + "frame")
    return getattr(frame, "f_" + "back").f_locals


def _read_frame_through_a_generator():
    def generator():
        yield 1
    return generator().gi_frame


@pytest.mark.parametrize("look", [
    _read_frame_through_a_traceback,
    lambda: sys._getframe(1).f_locals,
    lambda: __import__("inspect").currentframe().f_back.f_locals,
    lambda: __import__("inspect").stack(),
    lambda: __import__("traceback").extract_stack(),
    _read_frame_through_a_generator,
], ids=["traceback", "sys._getframe", "inspect.currentframe", "inspect.stack",
        "traceback.extract_stack", "gi_frame"])
def test_looking_at_the_checks_frames_is_refused(look):
    expected = 42  # noqa: F841 - what a cheat would read
    with pytest.raises(AssertionError, match="a look at the check's frames"):
        with forbid("conv"):
            look()


def test_libraries_that_look_at_frames_for_their_own_use_still_work():
    import collections
    import warnings

    with forbid("conv"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.warn("a library warning")
        pair = collections.namedtuple("Pair", "a b")(1, 2)
        try:
            np.zeros(3)[5]
        except IndexError:
            pass
    assert pair.b == 2


@pytest.mark.parametrize("cheat, named", [
    (lambda: setattr(__import__("cnnbook.check").check, "_excess", lambda *a, **k: 0),
     "rebound cnnbook.check._excess"),
    (lambda: __import__("cnnbook.check").check._TOLERANCE.update(
        {k: 1e300 for k in __import__("cnnbook.check").check._TOLERANCE}),
     "changed the contents of cnnbook.check._TOLERANCE"),
    (lambda: setattr(torch.Tensor, "item", lambda self: 0.0), "added torch.Tensor.item"),
    (lambda: setattr(torch.nn.Conv2d, "forward", lambda self, x: x),
     "rebound torch.nn.modules.conv.Conv2d.forward"),
], ids=["private function", "tolerance table", "tensor method", "layer forward"])
def test_patching_what_the_check_compares_with_fails_the_block_and_is_undone(cheat, named):
    import cnnbook.check

    tolerances = dict(cnnbook.check._TOLERANCE)
    with pytest.raises(AssertionError, match=named):
        with forbid("fft"):
            cheat()
    assert cnnbook.check._TOLERANCE == tolerances
    assert "item" not in vars(torch.Tensor)
    assert torch.nn.Conv2d.forward.__module__ == "torch.nn.modules.conv"
    assert cnnbook.check._excess.__module__ == "cnnbook.check"


def test_limit_lines_counts_a_module_the_notebook_wrote_and_imported(tmp_path, monkeypatch):
    (tmp_path / "my_search.py").write_text("def search(n):\n    total = 0\n"
                                           "    for i in range(n):\n        total += i\n"
                                           "    return total\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_search

    with limit_lines(1_000):
        my_search.search(10)
    with pytest.raises(AssertionError, match="should not search"):
        with limit_lines(1_000, "should not search"):
            my_search.search(10_000)


@pytest.mark.parametrize("route", ["exec", "code", "runpy"])
def test_limit_lines_counts_code_compiled_from_a_string_with_other_globals(route, tmp_path):
    # a reviewer ran a search from a string (code.InteractiveInterpreter with a fresh
    # namespace): frames named "<input>" whose globals are not the notebook's went uncounted
    source = "total = 0\nfor i in range(5000):\n    total += i\n"

    def run():
        if route == "exec":
            exec(compile(source, "<string>", "exec"), {})
        elif route == "code":
            import code
            code.InteractiveInterpreter({}).runsource(source + "\n", "<input>", "exec")
        else:
            import runpy
            script = tmp_path / "search.py"
            script.write_text(source)
            runpy.run_path(str(script))

    with pytest.raises(AssertionError, match="should be a formula"):
        with limit_lines(1_000, "should be a formula"):
            run()


def test_limit_lines_leaves_library_generated_code_almost_free():
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    with limit_lines(50):
        pairs = [Pair(i, i) for i in range(10)]
    assert len(pairs) == 10


def test_limit_lines_fails_the_block_even_when_the_answer_caught_the_error():
    def search(m):
        n = 0
        try:
            while n * n < m:
                n += 1
        except AssertionError:   # swallow the budget's error and return something
            return -1
        return n

    with pytest.raises(AssertionError, match="more than 100 lines"):
        with limit_lines(100):
            search(10**12)
