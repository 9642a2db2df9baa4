"""Switch shortcuts off while a student's function runs: the helper of the exercises' checks.

An exercise that says "with loops, without ``conv2d``" is checked by calling the student's
function while the shortcuts it rules out refuse to run::

    from cnnbook.exercise_checks import forbid

    with forbid("conv", "patches", "einsum", "fft", reason="the exercise asks for loops"):
        got = corr2d_multi(x.copy(), weight.copy())
    assert_close(got, expected)          # compared after the block, with everything back on

If the student's code reaches a forbidden routine, however it got hold of it (by name, through
a reference saved in a dict before the check, through ``getattr``, from a thread, handed to
``map``, ``functools.reduce`` or ``np.frompyfunc``), the block raises an ``AssertionError``
that names it, for example ``the exercise asks for loops: your code called numpy.fft.fft2``.
Everything is switched back on when the block ends, also when it raises.

``forbid(*categories, calls=(), allow=(), reason=None)``

``categories``
    names from :data:`CATEGORIES`:

    ============  ===============================================================================
    ``conv``      library convolutions and correlations: ``np.correlate``/``np.convolve``, SciPy's
                  ``signal`` and ``ndimage``, PyTorch's convolution functions and operators, the
                  engine's ``cnnbook.functional.conv``
    ``patches``   sliding windows and im2col: ``sliding_window_view``, ``as_strided``, ``unfold``,
                  ``fold``, scikit-image's ``view_as_windows``, the engine's ``_im2col``, and
                  strided views built by hand: ``np.ndarray(..., buffer=x, strides=...)``, an
                  ``__array_interface__`` made up, NumPy's ``DummyArray``, ``view.strides = ...``
    ``einsum``    ``einsum`` and ``tensordot`` (NumPy's and PyTorch's)
    ``fft``       ``numpy.fft``, ``scipy.fft``, ``scipy.fftpack``, ``torch.fft``
    ``pool``      library pooling: PyTorch's pooling functions and operators, the engine's
                  ``cnnbook.functional.pooling``, ``scipy.ndimage`` filters, ``block_reduce``
    ``autograd``  automatic differentiation: every operator the autograd engine runs (however
                  ``backward`` was reached), ``torch.autograd`` (``torch.no_grad`` stays allowed),
                  ``torch.func``, transposed convolutions (an input gradient in disguise), SymPy
    ``torch``     all of PyTorch
    ``engine``    the book's NumPy engine: ``cnnbook.functional``, ``nn``, ``optim``, ``train``,
                  ``twins``
    ============  ===============================================================================

``calls``
    more to refuse: a function object (``calls=[conv_as_matrix]``, also one the notebook
    defines), a dotted name of a function or a module (``"numpy.linalg"``), a bare module name
    (``"scipy"``: the whole package, its submodules too), or a bare name that is no module's
    (``"conv_as_matrix"``: any routine of that name, in a library or in the notebook).
``allow``
    dotted names exempted from the categories, with what they call in turn
    (``allow=("numpy.correlate", "numpy.convolve")`` keeps NumPy's 1-D correlation).
``reason``
    the start of the error message (default: "this exercise asks you to do without ...").

The block returns a :class:`Watch`; ``watch.calls`` lists the forbidden calls seen.
Whatever the categories, these fail the block too: starting a thread or a child process
(``subprocess``, ``os.system``, ``os.fork``, ``multiprocessing``, ``pty.spawn``, ...), switching
off the profiler, popping PyTorch's modes, ``ctypes``, searching the interpreter's objects
(``gc.get_objects``, ``gc.get_referrers``), making a code object or rebuilding a function from
one (``code.replace``, ``types.FunctionType``), putting back a function's ``__code__``.

``limit_lines(lines)`` is the other guard the chapters need: it fails a block in which the
notebook's own code runs more than ``lines`` lines (a search that should have been a
formula)::

    with limit_lines(100_000, "input_sizes(10**12, ...) should not search"):
        sizes = input_sizes(10**12, 3, 2, 1)

``limit_memory(megabytes)`` and ``limit_time(seconds)`` are budgets of the same kind, for checks
that run a student's function on a size where the shortcut the exercise rules out needs far
more than the answer asked for: a convolution matrix or a sparse copy of it, a patch matrix, a
grid of pixels, a probe per weight or per pixel (numerical differentiation). Both compare when
the block ends (an error caught inside does not help) and stop the block early (an address-space
cap, an alarm)::

    with forbid("autograd"), limit_time(30, "derive the gradient, do not probe"):
        grads = plain(two_layer_grads(x, w1, w2, dout))

``plain(answer)`` converts an answer to plain values (numbers, strings, ``None``, NumPy scalars,
tuples, lists, dicts and sets of them, arrays of a numeric, boolean or string dtype, PyTorch
tensors) without running any code of the answer's class, and raises an ``AssertionError`` naming
the type of anything else: an object of a class the notebook defined (a ``float`` or ``ndarray``
subclass too, whatever ``__module__`` it claims) or a lazy one (a generator, ``map``). An answer
with its own ``__array__``, ``__float__``, ``__len__``, ``__iter__`` or ``__eq__`` would
otherwise run the notebook's code when the check converts or compares it, *after* the block
ended, with every shortcut back on (autograd, a forbidden library, a look at the check's
frame). Checks therefore convert answers with it inside the block::

    with forbid("autograd", "engine"):
        got = plain(layer_backward(dout, x.copy(), weight.copy()))
    assert_close(got[0], expected_dx)

What the exercises of chapters 1 to 5 rule out, in these terms::

    forbid("conv", "patches", "einsum", "fft", "engine", calls=[conv_as_matrix],
           reason="the exercise asks for loops")                        # 1.2, 1.3, 2.2
    forbid("conv", "patches", "einsum", "fft", "engine",
           allow=("numpy.correlate", "numpy.convolve"))                 # 2.4: 1-D passes
    forbid("autograd", "engine")                                        # 2.5: gradients
    forbid("torch", "engine")                                           # 3.x, 5.2, 5.3
    forbid(calls=("numpy.correlate", "numpy.convolve"))                 # 4.2
    limit_lines(100_000, "input_sizes should not search")               # 3.3

How a call is refused, in five layers (each catches what another may miss):

1. the Python functions of the forbidden routines have their ``__code__`` swapped for one that
   raises, so every reference to them raises, wherever it was kept;
2. a PyTorch function mode and a dispatch mode refuse the forbidden functions and operators,
   however they are reached (``F.conv2d``, ``map(F.conv2d, ...)``,
   ``torch.ops.aten.convolution``, ``Tensor.unfold``);
3. a profiler (``sys.setprofile``) sees every call into Python code and every call of a
   built-in (C) function made from Python code, and refuses those of the forbidden modules and
   names; it also refuses ``start_new_thread``, ``setprofile``, ``settrace`` and the functions
   that pop PyTorch's modes, and a function of the notebook whose code builds a strided view
   (a ``strides`` keyword or string, ``.strides = ...``, ``__array_interface__``,
   ``__array_struct__``, ``DummyArray``);
4. an audit hook (``sys.addaudithook``, added once; it does nothing outside a block) refuses,
   in every thread, the events that start a child process or another program, ``ctypes``, the
   ``gc`` searches, code objects and functions made at run time, ``f.__code__ = ...``, and the
   import of a forbidden module (one loaded, or loaded again, inside the block would bring
   functions that are not switched off), and the notebook's looks at frames (``sys._getframe``,
   ``inspect.currentframe``/``stack``, ``traceback.extract_stack``, ``tb_frame``, ``gi_frame``:
   the check's frame holds its reference), while libraries that look at frames for their own use
   (``warnings``, ``collections.namedtuple``) go on; and when the block ends, every function,
   class or module of the notebook's globals and every public name of ``builtins``, ``numpy``,
   ``numpy.testing``, ``numpy.linalg``, ``torch``, ``torch.nn.functional``, ``cnnbook.check``
   and this module that was rebound inside the block (``__main__.assert_close = ...``,
   ``np.allclose = ...``), every private name and table of ``cnnbook.check`` (``_TOLERANCE``)
   and every attribute of ``torch.Tensor`` and of the classes of ``torch.nn``, ``cnnbook.nn``
   and ``cnnbook.models`` (``Tensor.item = ...``, ``Conv2d.forward = ...``) is put back and
   fails the block;
5. the built-in (C) functions of the forbidden modules and names of NumPy, SciPy,
   scikit-image and scikit-learn (``correlate2``, ``c_einsum``, ``_sigtools._convolve2d``,
   SciPy's FFTs and ``ndimage`` filters) and the ufuncs of the forbidden modules (NumPy's FFT
   kernels in ``numpy.fft._pocketfft_umath``) have their call slot (``vectorcall``) pointed at a
   function that records the call and fails it, so every caller reaches the refusal, a C one
   too (``map``, ``itertools.starmap``, ``functools.reduce``, ``sorted(key=...)``,
   ``operator.methodcaller``, ``np.frompyfunc``, ``np.vectorize``), from any thread; with
   ``patches``, ``numpy.ndarray``'s ``tp_new`` slot refuses a ``buffer`` (``np.ndarray(shape,
   dtype, x, 0, strides)``, ``ndarray.__new__``, ``map(np.ndarray, ...)``). Such a call raises
   ``SystemError`` where it is made; the block then fails naming it, and also if a slot no
   longer holds its refuser when the block ends. The slot offsets are read from the
   interpreter's type objects and checked against what Python reports; elsewhere than 64-bit
   CPython this layer is left out.

What it cannot see (the grader's static scan flags what these need: private modules,
``importlib``, ``sys.modules``, computed attribute names, ``exec``):

- an extension module that Python loads again from its cache without an import event (after
  ``del sys.modules[...]``), where that makes new C function objects: direct calls of them are
  still refused by their module's name, calls from ``map`` are not;
- a slot or a ``__code__`` put back and switched off again inside the block through a
  ``ctypes`` object made before it (a ``ctypes`` object's ``value`` is set without an audit
  event), and this module's own state (its record of calls, the audit hook's switch) changed
  and put back before the block ends (a change left in place fails the block);
- an array interface whose key names are computed at run time (``"str" + "ides"``);
- a process started before the block and fed through a pipe (the grader fails a check while a
  process the submission started is alive, a double-forked one too, as it does for threads),
  and PyTorch operators
  called by a thread started before the block (the switched-off Python and C functions raise
  there too; the grader fails a check while a thread the submission started is alive);
- library code copied into the notebook as text and run there, when the C routine it calls is
  allowed.

Blocks do not nest. This module is not part of the engine: it imports PyTorch when a block
starts, if PyTorch is installed, and ``ctypes`` for layer 5.
"""
from __future__ import annotations

import gc
import re
import sys
import threading
import types
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["CATEGORIES", "Category", "Watch", "forbid", "limit_lines", "limit_memory", "limit_time",
           "plain"]


@dataclass(frozen=True)
class Category:
    """What one name of :data:`CATEGORIES` switches off.

    ``modules``: every routine defined in these modules and below them (seen by the profiler;
    the Python functions of those in ``switch_off`` are also swapped); ``names``: a library
    routine, Python or C, with one of these names; ``switch_off``: dotted names of functions or
    modules whose Python functions raise while the block runs; ``torch``: a test
    ``(name, args) -> bool`` of the PyTorch functions and operators to refuse; ``allowed``:
    module prefixes that stay allowed.
    """

    description: str
    modules: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    switch_off: tuple[str, ...] = ()
    torch: Callable[[str, tuple], bool] | None = None
    allowed: tuple[str, ...] = ()


def _matching(pattern: str) -> Callable[[str, tuple], bool]:
    regex = re.compile(pattern)
    return lambda name, args: regex.search(name) is not None


def _transposed_convolution(name: str, args: tuple) -> bool:
    return "conv_transpose" in name or (name in ("convolution", "_convolution") and len(args) > 6
                                         and args[6] is True)


def _in_backward(name: str, args: tuple) -> bool:
    torch = sys.modules["torch"]
    return "backward" in name or torch._C._current_graph_task_id() != -1 or _transposed_convolution(name, args)


_CONV_NAMES = ("correlate", "correlate2", "convolve", "convolve2d", "correlate2d", "fftconvolve",
               "oaconvolve", "_convolve2d", "_correlateND", "conv1d", "conv2d", "conv3d",
               "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "convolution",
               "_convolution", "conv_tbc")
_POOL_NAMES = tuple(f"{kind}_pool{d}d" for kind in ("max", "avg", "adaptive_max", "adaptive_avg",
                                                    "lp", "fractional_max") for d in (1, 2, 3))

CATEGORIES: dict[str, Category] = {
    "conv": Category(
        "library convolutions and correlations",
        modules=("scipy.signal", "scipy.ndimage", "cnnbook.functional.conv", "skimage.filters"),
        names=_CONV_NAMES,
        switch_off=("numpy.correlate", "numpy.convolve", "scipy.signal", "scipy.ndimage",
                    "cnnbook.functional.conv", "cnnbook.functional.conv2d",
                    "cnnbook.functional.conv_transpose2d"),
        torch=_matching(r"conv(?!ert)")),
    "patches": Category(
        "sliding windows and im2col",
        modules=("skimage.util.shape", "sklearn.feature_extraction.image"),
        names=("sliding_window_view", "as_strided", "unfold", "fold", "im2col", "col2im", "_im2col",
               "_col2im", "view_as_windows", "view_as_blocks", "extract_patches_2d"),
        switch_off=("numpy.lib.stride_tricks.sliding_window_view", "numpy.lib.stride_tricks.as_strided",
                    "numpy.lib._stride_tricks_impl.DummyArray.__init__",
                    "torch.nn.functional.unfold", "torch.nn.functional.fold",
                    "cnnbook.functional.conv._im2col", "cnnbook.functional.conv._col2im"),
        torch=_matching(r"unfold|im2col|col2im|as_strided")),
    "einsum": Category(
        "einsum and tensordot",
        names=("einsum", "c_einsum", "einsum_path", "tensordot"),
        switch_off=("numpy.einsum", "numpy.einsum_path", "numpy.tensordot", "torch.functional.einsum",
                    "torch.functional.tensordot"),
        torch=_matching(r"einsum|tensordot")),
    "fft": Category(
        "FFTs",
        modules=("numpy.fft", "scipy.fft", "scipy.fftpack", "torch.fft"),
        names=("fftconvolve", "oaconvolve", "_raw_fft", "_raw_fftnd", "_pocketfft_umath"),
        switch_off=("numpy.fft", "scipy.fft", "scipy.fftpack", "scipy.signal.fftconvolve",
                    "scipy.signal.oaconvolve"),
        torch=_matching(r"fft")),
    "pool": Category(
        "library pooling",
        modules=("cnnbook.functional.pooling", "scipy.ndimage", "skimage.measure"),
        names=_POOL_NAMES + ("max_pool2d_with_indices", "block_reduce", "maximum_filter",
                             "minimum_filter", "uniform_filter"),
        switch_off=("cnnbook.functional.pooling", "scipy.ndimage", *(f"torch.nn.functional.{n}"
                                                                      for n in _POOL_NAMES)),
        torch=_matching(r"pool")),
    "autograd": Category(
        "automatic differentiation",
        modules=("torch.autograd", "torch.func", "torch._functorch", "functorch", "torch.nn.grad",
                 "sympy", "autograd", "jax"),
        names=("backward", "grad", "vjp", "jvp", "jacobian", "hessian", "run_backward", "_make_dual",
               "make_dual", "unpack_dual"),
        switch_off=("torch.Tensor.backward", "torch.autograd.backward", "torch.autograd.grad",
                    "torch.autograd.functional", "torch.autograd.forward_ad", "torch.nn.grad"),
        torch=_in_backward,
        allowed=("torch.autograd.grad_mode",)),
    "torch": Category(
        "PyTorch",
        modules=("torch", "functorch"),
        torch=lambda name, args: True),
    "engine": Category(
        "the book's NumPy engine",
        modules=("cnnbook.functional", "cnnbook.nn", "cnnbook.optim", "cnnbook.train", "cnnbook.twins"),
        switch_off=("cnnbook.functional", "cnnbook.nn", "cnnbook.optim")),
}

# Always refused inside a block: what switches the watch off or escapes it.
_ESCAPES = Category(
    "ways around the check",
    modules=("concurrent", "multiprocessing", "subprocess", "ctypes", "_posixsubprocess"),
    names=("setprofile", "settrace", "start_new_thread", "start_new", "_disable_current_modes",
           "_pop_mode", "_pop_mode_temporarily", "_unset_dispatch_mode", "_set_dispatch_mode",
           "_pop_torch_dispatch_stack", "_pop_torch_function_stack", "DisableTorchFunction",
           "DisableTorchFunctionSubclass", "_DisableTorchDispatch"))

# Of the escapes, those PyTorch itself calls to run a mode's handler (``1 - x`` on a tensor pops
# the function mode while the mode handles the call): refused only when the call does not come
# from PyTorch's own code.
_MODE_ESCAPES = frozenset(_ESCAPES.names) - {"setprofile", "settrace", "start_new_thread",
                                             "start_new"}


def _called_by_torch(frame) -> bool:
    """Whether ``frame`` (the caller, past ``contextlib``'s frames) is PyTorch's own code."""
    while frame is not None and frame.f_globals.get("__name__") == "contextlib":
        frame = frame.f_back
    torch = sys.modules.get("torch")
    if frame is None or torch is None or type(frame.f_globals.get("__name__")) is not str:
        return False
    folder = str(Path(torch.__file__).parent) + "/"
    return frame.f_code.co_filename.startswith(folder) and frame.f_globals["__name__"].startswith("torch")


_HITS: list[str] = []          # what the switched-off functions record when they are called
_RAISERS: dict[int, tuple[types.FunctionType, types.CodeType]] = {}   # id(f) -> (f, its raiser)
_OWN_GLOBALS = globals()
_OWN_FILE = __file__   # with the globals: code run with this module's globals by exec is not ours


class Watch:
    """The forbidden calls one :func:`forbid` block has seen (``calls``), first first."""

    def __init__(self, reason: str, modules: tuple[str, ...] = ("\0",)):
        self.reason = reason
        self.calls: list[str] = []
        self.modules = modules   # the forbidden module prefixes (an import of one is refused)

    def hit(self, call: str) -> AssertionError:
        if call not in self.calls:
            self.calls.append(call)
        return AssertionError(self.message())

    def message(self) -> str:
        more = f" (and {', '.join(self.calls[1:4])})" if len(self.calls) > 1 else ""
        return f"{self.reason}: your code called {self.calls[0]}{more}"


def _resolve(dotted: str):
    """The object a dotted name stands for, from the modules already imported (or None)."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:k]))
        if module is not None:
            obj = module
            for part in parts[k:]:
                obj = getattr(obj, part, None)
                if obj is None:
                    return None
            return obj
    return None


def _python_functions(obj) -> list[types.FunctionType]:
    """The Python function(s) behind ``obj``: itself, a NumPy dispatcher's implementation, the
    function a decorator wraps."""
    found = []
    for _ in range(4):
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        implementation = getattr(obj, "_implementation", None) if type(obj).__name__ == "_ArrayFunctionDispatcher" \
            else None
        if isinstance(obj, types.FunctionType):
            found.append(obj)
        elif implementation is not None:
            obj = implementation
            continue
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is None:
            break
        obj = wrapped
    return found


_MODULE_FUNCTIONS: dict[str, tuple[int, list]] = {}


def _module_functions(prefix: str) -> list[types.FunctionType]:
    """The Python functions defined in the (already imported) module ``prefix`` and below it."""
    cached = _MODULE_FUNCTIONS.get(prefix)
    if cached is not None and cached[0] == len(sys.modules):
        return cached[1]
    found = []
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType) or not (name == prefix or name.startswith(prefix + ".")):
            continue
        for value in list(vars(module).values()):
            for f in _python_functions(value):
                dispatcher = f.__name__.endswith("_dispatcher") and prefix.startswith("numpy")
                if str(getattr(f, "__module__", "")).startswith(prefix) and not dispatcher:
                    found.append(f)
            if isinstance(value, type) and str(value.__dict__.get("__module__", "")).startswith(prefix):
                for member in list(vars(value).values()):
                    found += _python_functions(member)
    _MODULE_FUNCTIONS[prefix] = (len(sys.modules), found)
    return found


def _public_name(module: str, qualname: str, code) -> str:
    """``module.qualname`` under the shortest public path that reaches the same code
    (``numpy._core.numeric.convolve`` is ``numpy.convolve``)."""
    parts = module.split(".")
    if "." not in qualname:
        for k in range(1, len(parts) + 1):
            obj = getattr(sys.modules.get(".".join(parts[:k])), qualname, None)
            if obj is not None and any(g.__code__ is code for g in _python_functions(obj)):
                return f"{'.'.join(parts[:k])}.{qualname}"
    return f"{module}.{qualname}"


def _raiser(f: types.FunctionType) -> types.CodeType:
    """Code for ``f`` that records the call and raises (same number of free variables)."""
    cached = _RAISERS.get(id(f))
    if cached is not None and cached[0] is f:
        return cached[1]
    n = len(f.__code__.co_freevars)
    names = [f"_free{k}" for k in range(n)]
    qualname = f.__name__ if "<locals>" in f.__qualname__ else f.__qualname__
    label = _public_name(getattr(f, "__module__", None) or "?", qualname, f.__code__)
    source = "def _outer():\n"
    if names:
        source += f"    {', '.join(names)}, = {'None, ' * n}\n"
    source += "    def switched_off(*args, **kwargs):\n"
    if names:
        source += f"        ({', '.join(names)},)\n"
    source += ("        '__cnnbook_record__'('__cnnbook_label__')\n"
               "        raise AssertionError('__cnnbook_message__')\n"
               "    return switched_off\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # calling a str constant: replaced below
        outer = compile(source, f"<switched off: {label}>", "exec")
    code = next(c for c in next(c for c in outer.co_consts if isinstance(c, types.CodeType)).co_consts
                if isinstance(c, types.CodeType))
    # the recorder is a constant: the function runs with its own module's globals
    replace = {"__cnnbook_record__": _HITS.append, "__cnnbook_label__": label,
               "__cnnbook_message__": f"{label} is switched off in this check"}
    consts = tuple(replace.get(c, c) if isinstance(c, str) else c for c in code.co_consts)
    code = code.replace(co_consts=consts, co_name=f.__code__.co_name)
    _RAISERS[id(f)] = (f, code)
    return code


def _module_of_c(function) -> str:
    owner = getattr(function, "__self__", None)
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    return getattr(function, "__module__", None) or type(owner).__module__ or ""


_torch_modes = None


def _modes():
    """PyTorch's function mode and dispatch mode classes of this module (made once)."""
    global _torch_modes
    if _torch_modes is None:
        from torch.overrides import TorchFunctionMode
        from torch.utils._python_dispatch import TorchDispatchMode

        class RefuseFunctions(TorchFunctionMode):
            def __init__(self, refuse, watch):
                super().__init__()
                self.refuse, self.watch = refuse, watch

            def __torch_function__(self, func, types, args=(), kwargs=None):
                name = getattr(func, "__name__", None) or str(func)
                if self.refuse(name, args):
                    raise self.watch.hit(f"torch function {name}")
                return func(*args, **(kwargs or {}))

        class RefuseOperators(TorchDispatchMode):
            def __init__(self, refuse, watch):
                super().__init__()
                self.refuse, self.watch = refuse, watch

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = func.overloadpacket.__name__
                if self.refuse(name, args):
                    raise self.watch.hit(f"the PyTorch operator aten.{name}")
                return func(*args, **(kwargs or {}))

        # The first operation under a mode makes PyTorch import what modes need (torch._dynamo,
        # which also makes a thread pool): once, here, not inside a block.
        import torch

        with RefuseOperators(lambda name, args: False, None), RefuseFunctions(lambda name, args: False, None):
            torch.ones(2) + 1
        _torch_modes = (RefuseFunctions, RefuseOperators)
    return _torch_modes


def _describe(categories, calls) -> str:
    words = [CATEGORIES[c].description for c in categories]
    words += [call if isinstance(call, str) else getattr(call, "__name__", repr(call)) for call in calls]
    if not words:
        return "this check forbids some routines"
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"this exercise asks you to do without {listed}"


@dataclass
class _Plan:
    """What one block refuses, resolved from its categories, ``calls`` and ``allow``."""

    modules: tuple[str, ...]          # module prefixes whose routines are refused
    files: tuple[str, ...]            # their source files or folders (code copied elsewhere too)
    names: set[str]                   # names of library routines refused
    notebook_names: set[str]          # names refused also in the notebook's own code
    codes: set                        # code objects refused (functions given in ``calls``)
    allowed: tuple[str, ...]          # module prefixes allowed, with what they call
    allowed_codes: set                # the code of allowed functions
    targets: list                     # Python functions whose code is swapped for a raiser
    torch_tests: list                 # (name, args) -> bool, for PyTorch functions and operators
    c_functions: list                 # built-in functions given in ``calls``
    strided: bool                     # strided views refused ("patches")

    def refuse_torch(self, name, args) -> bool:
        return any(test(name, args) for test in self.torch_tests)


def _is_module_name(name: str) -> bool:
    """Whether a bare name in ``calls`` names a module (imported, or one that can be)."""
    if name in sys.modules:
        return True
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _plan(categories, calls, allow) -> _Plan:
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown categories {unknown}; choose from {sorted(CATEGORIES)}")
    rules = [CATEGORIES[c] for c in categories] + [_ESCAPES]
    modules = [m for rule in rules for m in rule.modules]
    names = {n for rule in rules for n in rule.names}
    allowed = tuple(a for rule in rules for a in rule.allowed) + tuple(a for a in allow if "." in a)
    allowed_functions = [f for a in allow for f in _python_functions(_resolve(a))]
    notebook_names, codes, switch_off = set(), set(), list(d for rule in rules for d in rule.switch_off)
    c_functions = []
    for call in calls:
        if isinstance(call, str) and "." not in call and _is_module_name(call):
            call += "."   # a package ("scipy"): all of it, as "scipy." says
        if isinstance(call, str) and "." not in call:
            notebook_names.add(call)
        elif isinstance(call, str):
            switch_off.append(call)
            if not _python_functions(_resolve(call)):   # a module, or one not imported yet
                modules.append(call)
        else:
            functions = _python_functions(call)
            codes |= {f.__code__ for f in functions}
            switch_off += functions
            if not functions:   # a built-in function: by its name, and its call slot
                names.add(getattr(call, "__name__", str(call)))
                if type(call) is types.BuiltinFunctionType:
                    c_functions.append(call)
    targets = {}
    for item in switch_off:
        obj = _resolve(item) if isinstance(item, str) else item
        found = _module_functions(item) if isinstance(obj, types.ModuleType) else _python_functions(obj)
        for f in found:
            if f not in allowed_functions and not str(getattr(f, "__module__", "")).startswith(allowed or ("\0",)):
                targets[id(f)] = f
    files = []
    for prefix in modules:
        path = getattr(sys.modules.get(prefix), "__file__", None)
        if path:
            files.append(str(Path(path).parent) + "/" if path.endswith("__init__.py") else path)
    return _Plan(modules=tuple(modules) or ("\0",), files=tuple(files) or ("\0",),
                 names=names | notebook_names, notebook_names=notebook_names, codes=codes,
                 allowed=allowed or ("\0",), allowed_codes={f.__code__ for f in allowed_functions},
                 targets=list(targets.values()),
                 torch_tests=[rule.torch for rule in rules if rule.torch is not None],
                 c_functions=c_functions, strided="patches" in categories)


# -- layers 4 and 5: an audit hook, and C functions switched off -----------------------------------

# Audit events refused while a block runs (in any thread): what starts a child process (which
# could run a forbidden library out of the profiler's sight), what reaches raw memory (ctypes,
# which could undo the layers), and what digs up or rebuilds the original of a switched-off
# function. (``sys.setprofile`` is audited too, but also when a profile function raises: the
# block notices a changed profiler when it ends.)
_REFUSED_EVENTS = {
    "subprocess.Popen": "subprocess.Popen (a child process)",
    "os.system": "os.system (a child process)",
    "os.exec": "os.exec* (another program)",
    "os.posix_spawn": "os.posix_spawn (a child process)",
    "os.spawn": "os.spawn* (a child process)",
    "os.fork": "os.fork (a child process)",
    "os.forkpty": "os.forkpty (a child process)",
    "gc.get_objects": "gc.get_objects (a search of the interpreter's objects)",
    "gc.get_referrers": "gc.get_referrers (a search of the interpreter's objects)",
    "gc.get_referents": "gc.get_referents (a search of the interpreter's objects)",
    "code.__new__": "a code object made at run time (types.CodeType, code.replace)",
    "function.__new__": "a function rebuilt from a code object (types.FunctionType)",
}
_CTYPES_EVENTS = ("addressof", "call_function", "cdata", "cdata/buffer", "create_string_buffer",
                  "create_unicode_buffer", "dlopen", "dlsym", "dlsym/handle", "get_errno", "set_errno",
                  "string_at", "wstring_at", "PyObj_FromPtr")
_REFUSED_EVENTS.update({f"ctypes.{e}": f"ctypes.{e} (raw memory and C calls through ctypes)"
                        for e in _CTYPES_EVENTS})
# Frames: whoever holds the check's frame reads its locals (the reference, the expected answer).
# Refused when the notebook's code asks, directly or through inspect/traceback/logging; a library
# that looks at frames for its own use (``warnings``, ``collections.namedtuple``) goes on.
_FRAME_EVENTS = frozenset({"sys._getframe", "sys._current_frames", "object.__getattr__"})
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})
_FRAME_GETTERS = ("inspect", "traceback", "logging", "contextlib", "functools", "operator")
_WATCHED_EVENTS = frozenset(_REFUSED_EVENTS) | {"object.__setattr__", "import"} | _FRAME_EVENTS
_ACTIVE: list[Watch] = []   # the watches of the blocks running now: the audit hook's switch
_PAUSED = [0]               # > 0 while this module itself does what the hook refuses


def _audit(event, args):
    # called for every audited event of the process (``frame.f_code``, ``id``, ...): first the
    # cheapest test
    if event not in _WATCHED_EVENTS or not _ACTIVE or _PAUSED[0]:
        return
    if event in _FRAME_EVENTS:
        if event == "object.__getattr__" and (len(args) < 2 or args[1] not in _FRAME_ATTRIBUTES):
            return
        _PAUSED[0] += 1
        try:
            asker = _frame_asker(sys._getframe(1))
        finally:
            _PAUSED[0] -= 1
        if asker is None:
            return
        what = args[1] if event == "object.__getattr__" else event
        label = f"{what} from {asker} (a look at the check's frames)"
        _HITS.append(label)
        raise _ACTIVE[-1].hit(label)
    label = _REFUSED_EVENTS.get(event)
    if event == "import":   # a forbidden module loaded (again) in the block: its C functions are on
        if type(args[0]) is not str or not args[0].startswith(_ACTIVE[-1].modules):
            return
        label = f"import {args[0]} (a forbidden module, loaded inside the check)"
    elif label is None:
        if len(args) < 2 or args[1] != "__code__" or type(args[0]) is not types.FunctionType:
            return
        label = "something that replaced a function's __code__"
    _HITS.append(label)
    raise _ACTIVE[-1].hit(label)


def _frame_asker(frame) -> str | None:
    """Where the code that asked for a frame lives, if it is not a library's (None if it is)."""
    while frame is not None and str(frame.f_globals.get("__name__")).startswith(_FRAME_GETTERS):
        frame = frame.f_back
    if frame is None:
        return None
    filename = frame.f_code.co_filename
    if _library_file(filename) and frame.f_globals.get("__name__") != "__main__":
        return None
    return f"{filename}, line {frame.f_lineno}"


def _library_file(filename: str) -> bool:
    """Whether ``filename`` is a file of the standard library, an installed package or cnnbook."""
    if _LAYOUT.library_dirs is None:
        import os
        import sysconfig

        paths = sysconfig.get_paths()
        dirs = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        dirs.add(str(Path(__file__).resolve().parent))
        _LAYOUT.library_dirs = tuple(os.path.realpath(d) + os.sep for d in dirs if d)
    return filename.startswith(_LAYOUT.library_dirs)


def _install_audit_hook() -> None:
    """Add the audit hook, once per process (a hook cannot be removed: outside blocks it only
    looks at ``_ACTIVE``)."""
    if not _LAYOUT.audit:
        sys.addaudithook(_audit)
        _LAYOUT.audit = True


# C functions are switched off by their call slot: the ``vectorcall`` pointer of a built-in
# function object or a ufunc, through which every caller reaches it (``map``, ``functools.reduce``,
# ``operator.methodcaller``, ``np.frompyfunc``, a saved reference), is pointed at a function that
# records the call and fails it; ``numpy.ndarray``'s ``tp_new`` slot refuses a ``buffer``. The
# offsets are read from the interpreter's own type objects and checked against what Python reports
# about them; where they do not match (another interpreter), this layer is left out. (Kept in a
# namespace, not a dict: the grader puts the dicts and lists of cnnbook's modules back as they
# were before each check, which would free the callbacks and add the audit hook again.)
_LAYOUT = types.SimpleNamespace(checked=False, audit=False, ready=False, library_dirs=None)
_C_LABELS: dict[int, str] = {}        # id of a switched-off C function -> its name
_C_ROOTS = ("numpy", "scipy", "skimage", "sklearn", "_posixsubprocess")
_C_FUNCTIONS: dict[tuple, list] = {}
_STRIDED_VIEW = "numpy.ndarray(..., buffer=...) (an array on another array's memory: a strided view)"
_NEW_ERRORS: list[BaseException] = []   # errors of ndarray(...) calls passed on by the tp_new slot


def _refuse_c_call(callable_address, args, nargsf, kwnames):
    _HITS.append(_C_LABELS.get(callable_address, "a switched-off C function"))
    return None   # NULL without an exception: the caller raises SystemError, the block names it


def _new_array(subtype, args, kwargs):
    _PAUSED[0] += 1
    try:
        ctypes = _LAYOUT.ctypes
        keywords = ctypes.cast(kwargs, ctypes.py_object).value if kwargs else {}
        buffer = keywords.get("buffer", args[2] if len(args) > 2 else None)
        if buffer is not None:
            _HITS.append(_STRIDED_VIEW)
            return None
        try:
            return _LAYOUT.ndarray_new(subtype, args, kwargs)
        except BaseException as error:  # noqa: BLE001 - handed back when the block ends
            _NEW_ERRORS.append(error)
            return None
    finally:
        _PAUSED[0] -= 1


def _layout() -> types.SimpleNamespace:
    """The slot offsets of this interpreter (found once; ``ready`` false where they cannot be
    checked)."""
    if _LAYOUT.checked:
        return _LAYOUT
    _LAYOUT.checked = True
    try:
        import ctypes

        import numpy
    except ImportError:
        return _LAYOUT

    def word(address):
        return ctypes.c_ssize_t.from_address(address).value

    def type_fields_match(t):
        return (ctypes.sizeof(ctypes.c_void_p) == 8 and word(id(t) + 32) == t.__basicsize__
                and word(id(t) + 40) == t.__itemsize__ and word(id(t) + 168) == t.__flags__
                and word(id(t) + 208) == t.__weakrefoffset__ and word(id(t) + 256) == id(t.__base__)
                and word(id(t) + 288) == t.__dictoffset__)

    builtin = types.BuiltinFunctionType
    if sys.implementation.name != "cpython" or not (type_fields_match(builtin) and type_fields_match(numpy.ndarray)
                                                    and builtin.__flags__ & (1 << 11)):
        return _LAYOUT
    offset = word(id(builtin) + 56)   # tp_vectorcall_offset
    if not 40 <= offset <= builtin.__basicsize__ - 8 or word(id(len) + 24) != id(len.__self__) \
            or word(id(len) + offset) == 0:
        return _LAYOUT

    class Plain:
        pass

    if word(id(Plain) + 312) != word(id(object) + 312):   # tp_new, inherited by a plain class
        return _LAYOUT
    ufunc, ufunc_offset = numpy.ufunc, word(id(numpy.ufunc) + 56)
    if not (type_fields_match(ufunc) and ufunc.__flags__ & (1 << 11) and 16 < ufunc_offset <= ufunc.__basicsize__ - 8
            and word(id(numpy.add) + ufunc_offset) == word(id(numpy.multiply) + ufunc_offset) != 0):
        ufunc_offset = 0   # ufuncs keep their slot
    vectorcall = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                   ctypes.c_void_p)
    new = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p)
    refuser, new_array = vectorcall(_refuse_c_call), new(_new_array)
    vars(_LAYOUT).update(
        ready=True, ctypes=ctypes, vectorcall=offset, ufunc_vectorcall=ufunc_offset, refuser=refuser,
        new_array=new_array,
        refuser_address=ctypes.cast(refuser, ctypes.c_void_p).value,
        new_array_address=ctypes.cast(new_array, ctypes.c_void_p).value,
        ndarray_slot=id(numpy.ndarray) + 312,
        ndarray_new=new(word(id(numpy.ndarray) + 312)))
    return _LAYOUT


def _c_functions(plan: _Plan, allow) -> list[tuple[object, str]]:
    """The built-in (C) functions and the ufuncs of NumPy, SciPy, scikit-image and scikit-learn
    that the block refuses, and the built-ins given in ``calls``, each with its name. PyTorch's
    are refused by its modes. An ``allow``ed routine keeps the C functions of its library whose
    name starts with its own (``numpy.correlate`` keeps ``correlate2``)."""
    given = [(f, f"{_module_of_c(f)}.{f.__name__}") for f in plan.c_functions]
    key = (plan.modules, tuple(sorted(plan.names)), plan.allowed, tuple(allow), len(sys.modules))
    cached = _C_FUNCTIONS.get(key)
    if cached is not None:
        return cached + given
    ufunc = type(sys.modules["numpy"].add) if "numpy" in sys.modules else None
    exempt = [(a.split(".")[0], a.split(".")[-1]) for a in allow if "." in a]   # (library, name)
    found = {}
    for module_name, module in list(sys.modules.items()):
        if module_name.partition(".")[0] not in _C_ROOTS or not isinstance(module, types.ModuleType):
            continue
        for value in list(vars(module).values()):
            if id(value) in found:
                continue
            if type(value) is ufunc:   # NumPy's FFT kernels: by the extension module they are in
                if (module_name.startswith(plan.modules) and not module_name.startswith(plan.allowed)
                        and str(getattr(module, "__file__", "")).endswith((".so", ".pyd"))
                        and getattr(sys.modules["numpy"], value.__name__, None) is not value):
                    found[id(value)] = (value, f"{module_name}.{value.__name__}")
                continue
            if type(value) is not types.BuiltinFunctionType:
                continue
            name, where = value.__name__, _module_of_c(value)
            root = where.partition(".")[0]
            if root not in _C_ROOTS or where.startswith(plan.allowed) \
                    or any(root == r and name.startswith(n) for r, n in exempt):
                continue
            if where.startswith(plan.modules) or name in plan.names:
                found[id(value)] = (value, f"{where}.{name}")
    _C_FUNCTIONS.clear()
    _C_FUNCTIONS[key] = list(found.values())
    return _C_FUNCTIONS[key] + given


def _switch_off_c(plan: _Plan, allow, saved: list) -> None:
    """Point the call slots of the block's C functions at refusers, noting in ``saved`` what to
    put back: (address, original value, refuser, name)."""
    layout = _layout()
    if not layout.ready:
        return
    ctypes, slots = layout.ctypes, []
    for f, label in _c_functions(plan, allow):
        offset = layout.vectorcall if type(f) is types.BuiltinFunctionType else layout.ufunc_vectorcall
        if offset:
            slots.append((id(f) + offset, layout.refuser_address, label))
            _C_LABELS[id(f)] = label
    if plan.strided:
        slots.append((layout.ndarray_slot, layout.new_array_address, _STRIDED_VIEW))
    for address, value, label in slots:
        slot = ctypes.c_void_p.from_address(address)
        saved.append((address, slot.value, value, label))
        slot.value = value


def _switch_on_c(saved, watch: Watch) -> None:
    """Put back the call slots, noting it if one no longer holds its refuser."""
    if saved:
        ctypes = _LAYOUT.ctypes
        for address, value, refuser, label in reversed(saved):
            slot = ctypes.c_void_p.from_address(address)
            if slot.value != refuser:
                watch.hit(f"something that put back the C function {label}")
            slot.value = value


# What in the notebook's code builds a strided view without as_strided: a ``strides`` keyword,
# dict key or attribute name given as a string, ``.strides = ...``, an array interface made by
# hand, NumPy's DummyArray. (Reading ``x.strides`` is fine.)
_STRIDED_NAMES = ("__array_interface__", "__array_struct__", "DummyArray", "as_strided")


def _strided_marker(code) -> str | None:
    """What in ``code`` (one function of the notebook, looked at once) builds a strided view."""
    for const in code.co_consts:
        if type(const) is tuple and "strides" in const and all(type(c) is str for c in const):
            return "strides="
        if type(const) is str and (const in _STRIDED_NAMES or const == "strides"):
            return repr(const)
    found = next((name for name in code.co_names if name in _STRIDED_NAMES), None)
    if found is None and "strides" in code.co_names:
        import dis

        if "__set__" in code.co_names or any(i.opname == "STORE_ATTR" and i.argval == "strides"
                                             for i in dis.get_instructions(code)):
            found = ".strides = ..."
    return found


def _profiler(plan: _Plan, watch: Watch, notebook: dict, raisers: set, raised: list):
    """The profile function of a block: it raises at the first forbidden call it sees.

    A call made by an allowed routine, and what that routine calls in turn, is not looked at
    (``np.correlate`` allowed calls the C routine ``correlate2``), unless it is the notebook's
    code again (a callback).
    """
    allowed_frames, looked_at = {}, set()

    def profiler(frame, event, arg):
        if event == "call":
            code, module = frame.f_code, frame.f_globals.get("__name__")
            module = module if type(module) is str else "?"
            in_notebook = frame.f_globals is notebook or module == "__main__"
            if frame.f_back in allowed_frames and not in_notebook:
                allowed_frames[frame] = True
                return
            if code in plan.codes or code in raisers:
                call = f"{module}.{code.co_qualname}" if code in plan.codes else code.co_filename[15:-1]
            elif in_notebook:
                marker = None
                if plan.strided and code not in looked_at:
                    looked_at.add(code)
                    marker = _strided_marker(code)
                if marker is not None:
                    call = f"{code.co_qualname} (from the notebook), which builds a strided view with {marker}"
                elif code.co_name not in plan.notebook_names:
                    return
                else:
                    call = f"{code.co_qualname} (from the notebook)"
            elif (frame.f_globals is _OWN_GLOBALS and code.co_filename == _OWN_FILE) or (
                    code.co_name.endswith("_dispatcher") and module.startswith("numpy")):
                return   # the helper itself; a NumPy dispatcher (the function it calls is judged)
            elif module.startswith(plan.allowed) or code in plan.allowed_codes:
                allowed_frames[frame] = True
                return
            elif (module.startswith(plan.modules) or code.co_name in plan.names
                  or code.co_filename.startswith(plan.files)):
                if code.co_name in _MODE_ESCAPES and _called_by_torch(frame.f_back):
                    return
                call = _public_name(module, code.co_qualname, code)
            else:
                return
        elif event == "c_call":
            if frame in allowed_frames or (frame.f_globals is _OWN_GLOBALS
                                           and frame.f_code.co_filename == _OWN_FILE):
                return
            name, module = getattr(arg, "__name__", ""), _module_of_c(arg)
            owner = type(getattr(arg, "__self__", None)).__name__
            if module.startswith(plan.allowed) or not (module.startswith(plan.modules) or name in plan.names
                                                       or owner in plan.names):
                return
            if (name in _MODE_ESCAPES or owner in _MODE_ESCAPES) and _called_by_torch(frame):
                return
            plain = owner in ("module", "NoneType") or module.endswith(owner)
            call = f"{module}.{name}" if plain else f"{module}.{owner}.{name}"
        else:
            if event == "return":
                allowed_frames.pop(frame, None)
            return
        raised.append(True)
        raise watch.hit(call)   # the profiler is switched off by this; the exit notices

    return profiler


# What the checks rely on after the student's call: a block fails (and puts them back) if the
# student's code rebinds one of these, e.g. ``import __main__; __main__.assert_close = ...``.
_WATCHED_MODULES = ("builtins", "numpy", "numpy.testing", "numpy.linalg", "torch",
                    "torch.nn.functional", "cnnbook.check", "cnnbook.exercise_checks")
_STRICT_MODULES = ("cnnbook.check",)   # private names and the contents of their dicts count too
_CLASS_MODULES = ("torch.nn", "cnnbook.nn", "cnnbook.models")   # the classes these hold
_ROUTINE_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type)
_CONTAINERS = (dict, list, set)


def _namespaces(notebook: dict) -> list[tuple]:
    """(label, namespace, copy, strict, contents) of the notebook's globals, the watched modules
    and the watched classes (a class's ``__dict__`` is read-only: it is put back with setattr)."""
    spaces = [("the notebook's global ", notebook, False)]
    for name in _WATCHED_MODULES:
        if isinstance(sys.modules.get(name), types.ModuleType):
            spaces.append((f"{name}.", vars(sys.modules[name]), name in _STRICT_MODULES))
    torch = sys.modules.get("torch")
    classes = [torch.Tensor] if isinstance(torch, types.ModuleType) else []
    for name in _CLASS_MODULES:
        if isinstance(sys.modules.get(name), types.ModuleType):
            classes += [c for c in vars(sys.modules[name]).values() if type(c) is type
                        or (isinstance(c, type) and c.__module__.startswith(("torch", "cnnbook")))]
    seen = set()
    for cls in classes:
        if id(cls) not in seen:
            seen.add(id(cls))
            spaces.append((f"{cls.__module__}.{cls.__qualname__}.", cls, True))
    snapshot = []
    for label, space, strict in spaces:
        names = dict(vars(space)) if isinstance(space, type) else dict(space)
        contents = {k: type(v)(v) for k, v in names.items() if strict and type(v) in _CONTAINERS}
        snapshot.append((label, space, names, strict, contents))
    return snapshot


def _put_back_namespaces(snapshot, watch) -> None:
    """Restore every name rebound, added (to a class) or deleted during the block, and the
    contents of a strict module's dicts, lists and sets, naming each in ``watch``.

    In the notebook only functions, classes and modules count (a check may assign data)."""
    for label, space, before, strict, contents in snapshot:
        is_class = isinstance(space, type)
        names = vars(space) if is_class else space
        notebook = label.startswith("the notebook")
        for key, value in before.items():
            now = names.get(key, before)   # ``before`` stands for "missing"
            if now is value or (not strict and not notebook and key.startswith("_")
                                and (label != "builtins." or key == "_")):
                continue   # a module's private names are its own business (caches)
            if notebook and not isinstance(value, _ROUTINE_TYPES):
                continue
            if is_class:
                setattr(space, key, value)
            else:
                space[key] = value
            watch.hit(f"something that rebound {label}{key}")
        if is_class:
            for key in [k for k in names if k not in before]:
                delattr(space, key)
                watch.hit(f"something that added {label}{key}")
        for key, copy in contents.items():
            value = names.get(key)
            if type(value) is type(copy) and value != copy:
                value.clear()
                value.update(copy) if not isinstance(value, list) else value.extend(copy)
                watch.hit(f"something that changed the contents of {label}{key}")


@contextmanager
def forbid(*categories: str, calls=(), allow=(), reason: str | None = None):
    """Run the block with the routines of ``categories`` (and ``calls``) switched off.

    See the module's documentation for the categories and an example. Raises ``AssertionError``
    naming the first forbidden call if the block made one (even if the block caught the error),
    ``ValueError`` for an unknown category.
    """
    plan = _plan(categories, calls, allow)
    watch = Watch(reason or _describe(categories, calls), plan.modules)
    raisers, raised = set(), []
    notebook = _caller_globals()
    profiler = _profiler(plan, watch, notebook, raisers, raised)
    snapshot = []
    modes = []
    try:
        import torch  # noqa: F401 - the modes need it
    except ImportError:  # a book without PyTorch: the other layers still work
        pass
    else:
        refuse_functions, refuse_operators = _modes()
        modes = [refuse_operators(plan.refuse_torch, watch), refuse_functions(plan.refuse_torch, watch)]
    gc_was_enabled = gc.isenabled()
    previous_profile, previous_threading = sys.getprofile(), threading.getprofile()
    hits = _HITS   # the record the raisers write to, whatever the module's name is bound to later
    hits_before, new_errors_before = len(hits), len(_NEW_ERRORS)
    entered, saved_code, saved_slots, error = [], {}, [], None
    _install_audit_hook()
    _PAUSED[0] += 1   # what follows is refused inside a block: not to an enclosing block's hook
    try:
        gc.disable()   # no clean-up of unrelated objects (and their finalisers) inside the block
        for mode in modes:                       # layer 2
            mode.__enter__()
            entered.append(mode)
        for f in plan.targets:                   # layer 1
            raiser = _raiser(f)
            raisers.add(raiser)
            saved_code[f] = f.__code__
            f.__code__ = raiser
        _switch_off_c(plan, allow, saved_slots)  # layer 5
        threading.setprofile(profiler)           # layer 3
        sys.setprofile(profiler)
        _ACTIVE.append(watch)                    # layer 4
        alarms_before = len(_ALARMS)             # limit_time may stop the block
        snapshot = _namespaces(notebook)         # after the set-up's own imports
        _PAUSED[0] -= 1
        try:
            yield watch
        except BaseException as exc:  # noqa: BLE001 - re-raised below, or replaced by the verdict
            error = exc
        finally:
            if _PAUSED[0] or not any(w is watch for w in _ACTIVE):
                watch.hit("something that switched off the check's audit hook")
            _PAUSED[0] += 1
            if watch in _ACTIVE:
                _ACTIVE.remove(watch)
            current = sys.getprofile()
            sys.setprofile(previous_profile)
            threading.setprofile(previous_threading)
            if current is not profiler and not raised and len(_ALARMS) == alarms_before:
                watch.hit("sys.setprofile (it switched off the check's profiler)")
    finally:
        if watch in _ACTIVE:   # the set-up failed
            _ACTIVE.remove(watch)
        _switch_on_c(saved_slots, watch)
        _put_back_namespaces(snapshot, watch)
        for f, code in saved_code.items():
            if f.__code__ is not _RAISERS[id(f)][1]:
                watch.hit(f"something that put back the code of {f.__module__}.{f.__qualname__}")
            f.__code__ = code
        _leave_modes(entered, watch)
        if gc_was_enabled:
            gc.enable()
        _PAUSED[0] -= 1
    if isinstance(error, SystemError) and len(_NEW_ERRORS) > new_errors_before:
        error = _NEW_ERRORS[new_errors_before]   # an ndarray(...) error, passed on by its slot
    del _NEW_ERRORS[new_errors_before:]
    if _HITS is not hits:
        watch.hit("something that replaced the record of forbidden calls")
    if len(hits) < hits_before:
        watch.hit("something that cleared the record of forbidden calls")
    for label in hits[hits_before:]:   # calls of switched-off functions, from any thread
        watch.hit(label)
    del hits[hits_before:]
    if watch.calls:
        raise AssertionError(watch.message()) from error
    if error is not None:
        raise error


def _leave_modes(entered, watch: Watch) -> None:
    """Pop the block's PyTorch modes, noting it if something popped or reordered them."""
    if not entered:
        return
    from torch.overrides import _get_current_function_mode_stack
    from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

    stacks = _get_current_function_mode_stack() + _get_current_dispatch_mode_stack()
    for mode in reversed(entered):
        if not any(mode is m for m in stacks):
            watch.hit("something that popped the check's PyTorch mode")
            continue
        try:
            mode.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - a mode stack left in disorder
            watch.hit("something that reordered PyTorch's modes")


def _caller_globals() -> dict:
    """The globals of the code that opened the ``with`` block (the notebook's, in a check)."""
    frame = sys._getframe(1)
    while frame.f_back is not None and (frame.f_globals is _OWN_GLOBALS
                                        or frame.f_globals.get("__name__") == "contextlib"):
        frame = frame.f_back
    return frame.f_globals


@contextmanager
def limit_lines(lines: int, message: str | None = None):
    """Fail the block once the notebook's own code has run ``lines`` lines.

    The notebook's code is that of the functions defined where the block is (in a check cell:
    the notebook's), and any code that is not a library's (a module the notebook wrote and
    imported, code compiled from a string with any globals); lines run by libraries' own files
    do not count. ``message`` starts the error.
    """
    notebook = _caller_globals()
    count = 0
    stopped = []
    text = f"{message or 'your code ran too long'}: more than {lines:,} lines of notebook code"

    def on_line(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
            if count > lines:
                stopped.append(True)
                raise AssertionError(text)
        return on_line

    def on_call(frame, event, arg):
        filename = frame.f_code.co_filename
        if frame.f_globals is notebook or not (filename.startswith("<frozen ")
                                               or _library_file(filename)):
            # the notebook's code, a module file it wrote and imported, or code compiled from
            # a string ("<string>", "<input>": exec, code.InteractiveInterpreter, runpy...);
            # the few lines libraries generate that way (a namedtuple's __new__) count too
            return on_line
        return None

    previous = sys.gettrace()
    alarms_before = len(_ALARMS)
    sys.settrace(on_call)
    try:
        yield
    finally:
        current = sys.gettrace()
        sys.settrace(previous)
    if current is not on_call and not stopped and len(_ALARMS) == alarms_before:
        raise AssertionError("your code switched off the check's line counter (sys.settrace)")
    if stopped:   # the budget ran out but something caught the error on its way out
        raise AssertionError(text)


def _address_space() -> int | None:
    """The process's virtual memory size in bytes (Linux), or None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            import os

            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def limit_memory(megabytes: float, message: str | None = None):
    """Fail the block if the memory it allocates through Python and NumPy peaks above ``megabytes``.

    The peak is measured with :mod:`tracemalloc` (NumPy reports its arrays to it) and compared
    when the block ends, so an answer that builds a table the exercise rules out (a convolution
    matrix ``M``, a patch matrix, a probe per weight) fails however it caught the error on the
    way. While the block runs, the process's address space is also capped (``RLIMIT_AS``, soft
    limit, Linux) at its size before the block plus the budget and 1 GB of slack, so that a huge
    allocation raises ``MemoryError`` at once instead of swapping; a ``MemoryError`` leaving
    the block becomes an ``AssertionError`` with ``message``. PyTorch's tensors are not traced:
    use the block with ``forbid("torch")``.
    """
    import tracemalloc

    text = f"{message or 'your code used too much memory'}: more than {megabytes:,g} MB"
    budget = int(megabytes * 2**20)
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    saved_limit = None
    try:
        import resource

        size = _address_space()
        if size is not None:
            saved_limit = resource.getrlimit(resource.RLIMIT_AS)
            cap = size + budget + 2**30
            hard = saved_limit[1]
            if hard == resource.RLIM_INFINITY or cap <= hard:
                resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
            else:
                saved_limit = None
    except (ImportError, OSError, ValueError):
        saved_limit = None
    tracing = True
    try:
        yield
    except MemoryError:
        raise AssertionError(f"{text} (MemoryError)") from None
    finally:
        if saved_limit is not None:
            import resource

            try:
                resource.setrlimit(resource.RLIMIT_AS, saved_limit)
            except (OSError, ValueError):
                pass
        tracing = tracemalloc.is_tracing()
        peak = tracemalloc.get_traced_memory()[1] if tracing else 0
        if started and tracing:
            tracemalloc.stop()
    if not tracing:
        raise AssertionError("your code switched off the check's memory counter (tracemalloc)")
    if peak - before > budget:
        raise AssertionError(f"{text} (about {(peak - before) / 2**20:,.0f} MB)")


_ALARMS: list[str] = []  # limit_time's alarms that went off inside this module's own hooks


@contextmanager
def limit_time(seconds: float, message: str | None = None):
    """Fail the block if it runs longer than ``seconds`` (wall-clock time).

    The time is compared when the block ends, so catching the error inside does not help; in the
    main thread an alarm (``SIGALRM``, Unix) also stops the block soon after the budget is spent,
    instead of letting a probe per weight run for minutes. Budgets should be generous (ten times
    what a straightforward answer needs on a slow machine): they separate a derivation from a
    search or a probe that needs thousands of times the work, not a fast answer from a slow one.
    """
    import signal
    import threading
    import time

    text = f"{message or 'your code ran too long'}: more than {seconds:g} s"
    start = time.perf_counter()
    alarm = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread())
    if alarm:
        def on_alarm(signum, frame):
            # raised inside forbid's profiler or limit_lines' tracer, the error switches
            # that hook off: noted, so that they do not blame the student's code for it
            if frame is not None and frame.f_globals is _OWN_GLOBALS:
                _ALARMS.append(text)
            raise AssertionError(text)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds + 0.5)
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.perf_counter() - start > seconds:
        raise AssertionError(text)


# -- answers as plain values -----------------------------------------------------------------------

_type_mro = type.__dict__["__mro__"].__get__
_type_flags = type.__dict__["__flags__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_HEAP_TYPE = 1 << 9  # a class made at run time (by a class statement, type(...), ...)
_PLAIN_ROOTS = {"builtins", "numpy", "torch", "collections"}
_function_code = types.FunctionType.__dict__["__code__"].__get__
_DATA_TYPES = (bool, int, float, complex, str, bytes, type(None), type, tuple, list, dict, set,
               frozenset, type(type.__dict__["__dict__"]),
               type(type("_Slotted", (), {"__slots__": ("a",)}).__dict__["a"]))


def _library_dirs() -> tuple[str, ...]:
    import os
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs |= {os.path.dirname(os.path.dirname(module.__file__))
             for module in (sys.modules.get("numpy"), sys.modules.get("torch"))
             if module is not None and getattr(module, "__file__", None)}
    dirs.add(str(Path(__file__).resolve().parent))
    return tuple(os.path.realpath(d) + os.sep for d in dirs if d)


_LIBRARY_DIRS = _library_dirs()


def _inert(item) -> bool:
    """Data of a C type (a NumPy scalar as a class attribute): not callable, not a descriptor."""
    kind = type(item)
    return (not _type_flags(kind) & _HEAP_TYPE and not callable(item)
            and not any("__get__" in _type_dict(c) for c in _type_mro(kind)))


_known_classes: dict[int, type] = {}
_known_from = [0]  # how many modules had been loaded when _known_classes was last filled


def _compiled_by_library(c) -> bool:
    for value in list(_type_dict(c).values()):
        kind = type(value)
        if kind in (staticmethod, classmethod):
            value, kind = value.__func__, type(value.__func__)
        for item in [value.fget, value.fset, value.fdel] if kind is property else [value]:
            if type(item) is types.FunctionType:
                filename = _function_code(item).co_filename
                if type(filename) is not str or not filename.startswith(_LIBRARY_DIRS):
                    return False
    return True


def _library_classes() -> dict[int, type]:
    """The classes found in the namespaces of Python's, NumPy's and PyTorch's modules (their
    Python functions compiled from the libraries' files), by identity."""
    if len(sys.modules) != _known_from[0]:
        for name, module in list(sys.modules.items()):
            if name.partition(".")[0] not in _PLAIN_ROOTS or not isinstance(module, types.ModuleType):
                continue
            for value in list(vars(module).values()):
                if (issubclass(type(value), type) and id(value) not in _known_classes
                        and type(_type_module(value)) is str
                        and _type_module(value).partition(".")[0] in _PLAIN_ROOTS
                        and _compiled_by_library(value)):
                    _known_classes[id(value)] = value
        _known_from[0] = len(sys.modules)
    return _known_classes


def _made_by_library(cls) -> bool:
    """Whether ``cls`` and the classes it inherits from come from Python, NumPy or PyTorch.

    Decided without calling anything of the class: a C type (not made at run time) is, and so is
    a class found in one of their modules' namespaces (by identity, with its Python functions
    compiled from their files); another class made at run time is if the module it names is one
    of theirs *and* every function in its
    dictionary was compiled from a file of the installed libraries (one a notebook makes has its
    functions compiled from the notebook's cells, whatever ``__module__`` it claims) and the rest
    of its dictionary is data (``__eq__ = float.__ne__`` put in a class is not).
    """
    known = _library_classes()
    for c in _type_mro(cls):
        if not _type_flags(c) & _HEAP_TYPE or known.get(id(c)) is c:
            continue
        module = _type_module(c)
        if type(module) is not str or module.partition(".")[0] not in _PLAIN_ROOTS:
            return False
        for value in list(_type_dict(c).values()):
            kind = type(value)
            if kind in (staticmethod, classmethod):
                value, kind = value.__func__, type(value.__func__)
            items = [value.fget, value.fset, value.fdel] if kind is property else [value]
            for item in items:
                if type(item) in _DATA_TYPES or _inert(item):
                    continue
                if type(item) is not types.FunctionType:
                    return False
                filename = _function_code(item).co_filename
                if type(filename) is not str or not filename.startswith(_LIBRARY_DIRS):
                    return False
    return True


def _type_name(cls) -> str:
    module, name = _type_module(cls), type.__dict__["__qualname__"].__get__(cls)
    return f"{module}.{name}" if module != "builtins" else name


def plain(value, _depth=0):
    """``value`` as plain Python and NumPy values, computed without running any code of its class.

    Numbers, strings, ``None`` and NumPy scalars come back as they are; a ``tuple``, ``list``,
    ``dict``, ``set`` (or a library's subclass of one: ``torch.Size``, ``OrderedDict``) as the
    built-in container of plain values; an ``ndarray`` (or a library's subclass) as an
    ``ndarray`` of a numeric, boolean or string dtype (an object array element by element); a
    PyTorch tensor as a ``torch.Tensor``. Anything else raises an ``AssertionError`` that names
    its type: an object of a class the notebook defined (however it names its ``__module__``),
    also a subclass of ``float``, ``dict`` or ``ndarray``, and lazy objects whose conversion
    would run the notebook's code later (a generator, ``map``, a function). Checks call it on the
    answer *inside* the ``forbid`` block, so that whatever the answer computes when it is
    converted is computed while the shortcuts are off::

        with forbid("autograd"):
            got = plain(layer_backward(x, weight))
    """
    if _depth > 40:
        raise AssertionError("the answer is nested more than 40 levels deep")
    cls = type(value)
    if cls in (bool, int, float, complex, str, bytes, type(None)):
        return value
    mro = _type_mro(cls)
    if not _made_by_library(cls):
        raise AssertionError(f"the answer is an object of type {_type_name(cls)}, a class made "
                             f"outside Python, NumPy and PyTorch (by the notebook?): a check takes "
                             f"numbers, arrays, tensors and built-in containers of them")
    np = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if np is not None and np.generic in mro and np.object_ not in mro:
        return value
    if np is not None and np.ndarray in mro:
        array = np.ndarray.view(value, np.ndarray) if cls is not np.ndarray else value
        if array.dtype.kind == "O":
            items = [plain(v, _depth + 1) for v in array.flat]
            out = np.empty(array.shape, dtype=object)
            for k, v in enumerate(items):
                out.flat[k] = v
            return out
        if array.dtype.kind not in "biufcUS":
            raise AssertionError(f"the answer is an array of dtype {array.dtype}, not of numbers")
        return array
    if torch is not None and torch.Tensor in mro:
        return value if cls is torch.Tensor else torch._C.TensorBase.as_subclass(value, torch.Tensor)
    if dict in mro:
        return {plain(k, _depth + 1): plain(v, _depth + 1) for k, v in list(dict.items(value))}
    for base in (list, tuple, set, frozenset):
        if base in mro:
            return base(plain(v, _depth + 1) for v in list(base.__iter__(value)))
    if cls is range:
        return value
    raise AssertionError(f"the answer is an object of type {_type_name(cls)}: a check takes "
                         f"numbers, arrays, tensors and built-in containers of them")
