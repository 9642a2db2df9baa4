"""The grader's guard: it runs *inside* the kernel that executes a submission (see cnnbook.grade).

``cnnbook.grade`` sends this file's source to a fresh kernel before the submission's first cell
(it is never imported there, so a submission finds no module to patch) and calls
:func:`install`. ``install`` imports what the solution notebook imports (its first cell and its
check cells), takes a snapshot of what the checks rely on, notes the threads that are running,
compiles every check of the solution notebook and leaves a guard object under a random name in
the notebook's namespace. Each check cell then runs as ``<guard>.check(k)``, which

1. restores whatever the submission may have rebound since: the built-ins, ``sys.modules``
   entries, ``sys.stdout``/``stderr`` and trace hooks (also those ``threading`` gives new
   threads), every function, class and module attribute of NumPy and PyTorch, every attribute
   and container of ``cnnbook``'s modules, the attributes of every class defined in PyTorch,
   NumPy, SciPy and ``cnnbook`` (``FlopCounterMode.get_total_flops``, ``nn.Conv2d.forward``,
   ...; integer class attributes are counters and are left alone) and of the other classes an
   answer may be made of (``fractions.Fraction``, ``collections``' classes), and the code, default
   arguments and keyword defaults of their Python functions (``f.__code__ = ...``,
   ``f.__kwdefaults__["rtol"] = ...``);
2. removes the notebook's globals that hide a built-in (``def max(*a): ...``, ``range = ...``),
   unless the solution notebook binds the same name, and flags them;
3. refuses to run while a thread the submission started is alive (a thread that is not the
   kernel's own, nor a progress bar's monitor), or a child process it started (one that was not
   running when the guard was installed; Linux, from ``/proc``): such a thread or process could
   compute a forbidden shortcut or patch functions while the check runs (a process fed through
   a pipe is out of sight of ``forbid``). The check fails, and is flagged. The same test runs
   again when the check ends;
4. runs the solution notebook's import lines again (``np``, ``F``, ``assert_close``, ... are
   the real ones, whatever the submission bound to those names);
5. runs the check, compiled from an AST rewritten so that answers are seen as plain values:
   each operand of a comparison, each ``assert`` condition and each argument of a NumPy, PyTorch
   or comparing function goes through :func:`plain` first. A subclass of ``dict``, ``list``,
   ``float``, ``ndarray``, ``Tensor``, ... becomes the built-in type (its own ``__eq__``,
   ``__bool__`` or ``__float__`` is never called), and an object of a class the notebook made
   (module ``__main__``), a mock or a test library's helper (``pytest.approx``) where a number,
   an array or a container is expected fails the check. Classes are trusted by identity (those
   of the trusted modules when the guard is installed, C types) or, for a class made later, by
   where its functions were compiled: never by the ``__module__`` a class claims;
6. prints a token that only the guard can compute: a check that ends without printing it (an
   exception swallowed by a custom handler, a cell emptied by an input transformer) fails.

What the guard finds at run time for a human to look at (a hidden built-in, a running thread)
it prints as a line ``[cnnbook grader: flag <token>] message`` that the grader turns into a flag.
Nothing here may rely on state that a submission can change after ``install`` ran: the
functions it needs are bound to local names when it is installed. What it cannot stop (code
that searches the interpreter for the guard itself, a student function that patches what the
rest of the same check uses) is what the grader's static scan flags for a human to look at.
"""


def install(namespace, name, secret, imports, checks, defined=()):
    """Install the guard as ``namespace[name]``.

    ``imports`` is the import lines of the solution notebook's first code cell, ``checks`` a
    list of ``(label, source)`` of its check cells, ``defined`` the names the solution notebook
    binds at its top level (a global of the same name as a built-in is kept only if it is one
    of them), and ``secret`` the string from which the token that check ``k`` prints on success
    is derived (see :func:`token`).
    """
    import _thread
    import ast
    import builtins
    import gc
    import hashlib
    import linecache
    import operator
    import os
    import sys
    import threading
    import time
    import types
    from itertools import repeat

    _type, _isinstance, _issubclass, _len, _range = type, isinstance, issubclass, len, range
    _getattr, _setattr, _delattr, _exec, _compile = getattr, setattr, delattr, exec, compile
    _print, _bool, _dict, _list, _tuple, _set = print, bool, dict, list, tuple, set
    _frozenset, _int, _float, _complex, _str, _bytes = frozenset, int, float, complex, str, bytes
    _repr, _id, _enumerate, _zip, _sorted = repr, id, enumerate, zip, sorted
    _callable, _any = callable, any
    _settrace, _setprofile = sys.settrace, sys.setprofile
    _type_setattr, _type_delattr = type.__setattr__, type.__delattr__
    _Module, _TypeError, _AssertionError, _object = types.ModuleType, TypeError, AssertionError, object
    _threading_setprofile, _threading_settrace = threading.setprofile, threading.settrace
    _current_frames, _thread_count, _get_ident, _sleep = sys._current_frames, _thread._count, _thread.get_ident, time.sleep
    _is, _repeat, _map, _all, _sum = operator.is_, repeat, map, all, sum
    MISSING = _object()

    # -- what the checks use: the solution's imports, NumPy's and PyTorch's testing helpers ----
    scratch = {"__name__": "__cnnbook_imports__"}
    imports_code = _compile(imports, "<solution imports>", "exec")
    _exec(imports_code, scratch)
    __import__("numpy.testing")
    if "torch" in sys.modules:
        __import__("torch.testing")
    # what the check cells import (torch.utils.flop_counter, ...) is loaded now, so that its
    # functions and classes are in the snapshot before the submission can patch them
    for _, source in checks:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            paths = []
            if _isinstance(node, ast.Import):
                paths = [alias.name for alias in node.names]
            elif _isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                paths = [node.module]
            for path in paths:
                try:
                    __import__(path)
                except Exception:  # noqa: BLE001 - the check will report it itself
                    pass
            if _isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in sys.modules:
                for alias in node.names:
                    if not hasattr(sys.modules[node.module], alias.name):
                        try:
                            __import__(f"{node.module}.{alias.name}")
                        except Exception:  # noqa: BLE001
                            pass
    import numpy
    torch = sys.modules.get("torch")

    # random and secrets: the entropy of the checks' fresh generators (np.random.default_rng()
    # draws it through secrets and random._urandom); a patch would fix every "fresh" draw
    full_roots = {"builtins", "cnnbook", "math", "operator", "ast", "linecache", "hashlib", "types",
                  "random", "secrets"}
    callable_roots = {"numpy", "torch"}
    trusted_roots = full_roots | callable_roots | {"collections", "fractions", "decimal", "functools",
                                                   "itertools", "numbers"}
    modules = {n: m for n, m in _list(sys.modules.items())
               if _isinstance(m, _Module) and n.partition(".")[0] in trusted_roots}

    def restorable(module_name, key, value):
        if module_name.partition(".")[0] in full_roots:
            return True
        if module_name.partition(".")[0] not in callable_roots:
            return False
        if callable(value) or _isinstance(value, _Module):
            return True
        return not key.startswith("_") and _type(value) in (_int, _float, _complex, _bool, _str, _type(None))

    # Module attributes. The test that nothing changed (the usual case) runs in C over flat
    # tuples; a module is compared key by key only when something did.
    snapshot = []  # (module dict, {key: value}, {key: copy of a mutable container})
    for module_name, module in modules.items():
        if module_name.partition(".")[0] not in full_roots | callable_roots:
            continue
        values = {k: v for k, v in _dict(vars(module)).items() if restorable(module_name, k, v)}
        containers = {}
        if module_name.partition(".")[0] == "cnnbook":
            for k, v in values.items():
                if _type(v) in (_dict, _list, _set):
                    containers[k] = _type(v)(v)
        snapshot.append((vars(module), values, containers))
    flat_dicts = _tuple(d for d, values, _ in snapshot for _k in values)
    flat_keys = _tuple(k for _, values, _ in snapshot for k in values)
    flat_values = _tuple(v for _, values, _ in snapshot for v in values.values())
    with_containers = [(d, containers) for d, _, containers in snapshot if containers]
    dict_get = _dict.get
    sys_modules = {n: m for n, m in sys.modules.items()
                   if n.partition(".")[0] in full_roots | callable_roots and _isinstance(m, _Module)}
    sys_module_names, sys_module_values = _tuple(sys_modules), _tuple(sys_modules.values())
    sys_values = {k: _getattr(sys, k) for k in ("modules", "stdout", "stderr", "stdin", "displayhook",
                                              "excepthook", "exit", "settrace", "setprofile")}

    # Classes: every class that PyTorch, NumPy, SciPy or cnnbook defines (FlopCounterMode,
    # nn.Conv2d, ...), except the immutable built-in types, which nothing can change.
    class_roots = {"torch", "numpy", "scipy", "cnnbook", "random"}
    type_flags = _type.__dict__["__flags__"].__get__
    type_module = _type.__dict__["__module__"].__get__
    immutable = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE
    found_classes = {}
    for module_name, module in _list(sys.modules.items()):
        if not _isinstance(module, _Module) or module_name.partition(".")[0] not in class_roots:
            continue
        for v in _list(vars(module).values()):
            if _isinstance(v, _type) and not type_flags(v) & immutable:
                owner = type_module(v)
                if _type(owner) is _str and owner.partition(".")[0] in class_roots:
                    found_classes[_id(v)] = v
    if torch is not None:
        for cls in (torch.Tensor, torch.nn.Module, torch.nn.Parameter):
            found_classes[_id(cls)] = cls
    # The classes the answers may be made of, by identity (never by the ``__module__`` string a
    # class claims): those of the trusted modules now, before the submission runs. Those that
    # can be changed (``fractions.Fraction.__float__ = ...``) are put back before each check.
    trusted = _set()
    for module_name, module in modules.items():
        trusted.update(v for v in _list(vars(module).values()) if _isinstance(v, _type)
                       and _str(type_module(v)).partition(".")[0] in trusted_roots)
    for cls in trusted:
        if not type_flags(cls) & immutable:
            found_classes[_id(cls)] = cls
    classes = _tuple(found_classes.values())

    def counter(value):
        # an int class attribute (RemovableHandle.next_id, ...) counts something: left alone
        return _type(value) is _int

    class_saved = [_dict(vars(cls)) for cls in classes]
    class_proxies = _tuple(vars(cls) for cls in classes)
    flat_proxies = _tuple(p for p, saved in _zip(class_proxies, class_saved)
                          for k, v in saved.items() if not counter(v))
    flat_class_keys = _tuple(k for saved in class_saved for k, v in saved.items() if not counter(v))
    flat_class_values = _tuple(v for saved in class_saved for v in saved.values() if not counter(v))
    proxy_get, proxy_values = _type(vars(_object)).get, _type(vars(_object)).values
    class_total = [_sum(_map(_len, class_proxies))]

    # Python functions of those libraries: code, defaults and keyword defaults.
    function_type = types.FunctionType
    found_functions = {}

    def add_function(f):
        if _type(f) is function_type:
            found_functions[_id(f)] = f

    for module_name, module in _list(sys.modules.items()):
        if not _isinstance(module, _Module) or module_name.partition(".")[0] not in class_roots:
            continue
        for v in _list(vars(module).values()):
            add_function(v)
            add_function(_getattr(v, "_implementation", None) if _type(v).__name__ == "_ArrayFunctionDispatcher"
                         else None)
    for cls in classes:
        for v in _list(vars(cls).values()):
            if _isinstance(v, (staticmethod, classmethod)):
                v = v.__func__
            if _isinstance(v, property):
                for accessor in (v.fget, v.fset, v.fdel):
                    add_function(accessor)
            add_function(v)
    functions = _tuple(found_functions.values())
    get_code = operator.attrgetter("__code__")
    get_defaults = operator.attrgetter("__defaults__")
    get_kwdefaults = operator.attrgetter("__kwdefaults__")
    codes = _tuple(_map(get_code, functions))
    defaults = _tuple(_map(get_defaults, functions))
    kwdefaults = [(f, f.__kwdefaults__, _dict(f.__kwdefaults__)) for f in functions if f.__kwdefaults__]
    kwdefault_currents = _tuple(current for _, current, _ in kwdefaults)
    kwdefault_total = _sum(_map(_len, kwdefault_currents))
    kwdefault_flat_dicts = _tuple(current for _, current, saved in kwdefaults for _k in saved)
    kwdefault_keys = _tuple(k for _, _, saved in kwdefaults for k in saved)
    kwdefault_values = _tuple(v for _, _, saved in kwdefaults for v in saved.values())
    kwdefault_dicts = _tuple(_map(get_kwdefaults, functions))

    def restore_classes():
        for cls, saved in _zip(classes, class_saved):
            current = vars(cls)
            for k in [k for k in current if k not in saved and not counter(current[k])]:
                _type_delattr(cls, k)
            for k, v in saved.items():
                if not counter(v) and current.get(k, MISSING) is not v:
                    _type_setattr(cls, k, v)
        class_total[0] = _sum(_map(_len, class_proxies))

    def restore():
        """Put back everything the snapshot holds; the built-ins first."""
        _settrace(None)
        _setprofile(None)
        _threading_settrace(None)
        _threading_setprofile(None)
        if not _all(_map(_is, _map(dict_get, flat_dicts, flat_keys, _repeat(MISSING)), flat_values)):
            for module_dict, values, _ in snapshot:
                for k, v in values.items():
                    if module_dict.get(k, MISSING) is not v:
                        module_dict[k] = v
        for module_dict, containers in with_containers:
            for k, saved in containers.items():
                current = module_dict[k]
                if _type(current) is _dict and (current.keys() != saved.keys()
                                               or any(current[x] is not saved[x] for x in saved)):
                    current.clear()
                    current.update(saved)
                elif _type(current) is _list and (_len(current) != _len(saved)
                                                 or any(a is not b for a, b in _zip(current, saved))):
                    current[:] = saved
                elif _type(current) is _set and current != saved:
                    current.clear()
                    current.update(saved)
        for k, v in sys_values.items():
            if _getattr(sys, k) is not v:
                _setattr(sys, k, v)
        if not _all(_map(_is, _map(sys.modules.get, sys_module_names), sys_module_values)):
            for n, m in sys_modules.items():
                if sys.modules.get(n) is not m:
                    sys.modules[n] = m
        if (_sum(_map(_len, class_proxies)) != class_total[0]
                or not _all(_map(_is, _map(proxy_get, flat_proxies, flat_class_keys, _repeat(MISSING)),
                                 flat_class_values))):
            restore_classes()
        if not (_all(_map(_is, _map(get_code, functions), codes))
                and _all(_map(_is, _map(get_defaults, functions), defaults))
                and _all(_map(_is, _map(get_kwdefaults, functions), kwdefault_dicts))):
            for f, code, default, kwdefault in _zip(functions, codes, defaults, kwdefault_dicts):
                if f.__code__ is not code:
                    f.__code__ = code
                if f.__defaults__ is not default:
                    f.__defaults__ = default
                if f.__kwdefaults__ is not kwdefault:
                    f.__kwdefaults__ = kwdefault
        if (_sum(_map(_len, kwdefault_currents)) != kwdefault_total
                or not _all(_map(_is, _map(dict_get, kwdefault_flat_dicts, kwdefault_keys, _repeat(MISSING)),
                                 kwdefault_values))):
            for f, current, saved in kwdefaults:
                if current.keys() != saved.keys() or any(current.get(k, MISSING) is not v for k, v in saved.items()):
                    current.clear()
                    current.update(saved)
        namespace["__builtins__"] = builtins

    # -- hidden built-ins and running threads ----------------------------------------------------
    real_builtins = {k: v for k, v in vars(builtins).items() if not k.startswith("_")}
    kernel_globals = {k: namespace[k] for k in real_builtins if k in namespace}  # exit, quit, ...
    allowed_globals = _frozenset(defined)
    flag_prefix = f"[cnnbook grader: flag {token(secret, 'flag')}]"
    flagged = _set()

    def flag(message):
        if message not in flagged:
            flagged.add(message)
            _print(f"{flag_prefix} {message}")

    def unhide_builtins():
        """Remove the notebook's globals that hide a built-in (and flag each one once)."""
        for k in [k for k in namespace if k in real_builtins]:
            value = namespace[k]
            if value is real_builtins[k] or (k in kernel_globals and value is kernel_globals[k]):
                continue
            if k in kernel_globals:
                namespace[k] = kernel_globals[k]
            elif k in allowed_globals:
                continue
            else:
                del namespace[k]
            flag(f"the notebook defines `{k}`, which hides the built-in {k}; "
                 f"the checks ran with the built-in")

    # Threads: those running now are the kernel's. A thread started later is accepted only if
    # every frame it runs is the code of a module that may start one (a progress bar's
    # monitor, the kernel's own), and at least one of them is not threading's.
    kernel_threads = _set(_current_frames())
    frameless = _thread_count() + 1 - _len(kernel_threads)  # threads running no Python code
    thread_roots = {"tqdm", "ipykernel", "IPython", "zmq", "jupyter_client", "tornado", "traitlets",
                    "comm", "debugpy"}
    active_threads = threading._active

    def foreign_threads():
        frames = _current_frames()
        me = _get_ident()
        found = []
        module_of = None
        for ident, frame in frames.items():
            if ident in kernel_threads or ident == me:
                continue
            if module_of is None:
                module_of = {_id(m.__dict__): n for n, m in _list(sys.modules.items())
                             if _isinstance(m, _Module)}
            accepted, f, top = False, frame, frame
            while f is not None:
                module = _str(module_of.get(_id(f.f_globals), "?")).partition(".")[0]
                if module in thread_roots:
                    accepted = True
                elif module != "threading":
                    accepted = False
                    break
                f = f.f_back
            if not accepted:
                thread = active_threads.get(ident)
                label = f"'{thread.name}'" if thread is not None else f"{ident}"
                code = top.f_code
                found.append(f"thread {label} running {code.co_name} "
                             f"({code.co_filename.rpartition('/')[2]}, line {top.f_lineno})")
        if _thread_count() + 1 - _len(frames) > frameless:
            found.append("a thread running no Python code (started with _thread)")
        return found

    # Child processes: those of the kernel's threads, from /proc (where there is one). A zombie
    # (a process that ended and was not waited for) runs nothing and is left alone. The kernel
    # becomes a "subreaper" (Linux): a grandchild whose parent exited (a double fork, a daemon)
    # becomes its child, instead of init's, and is seen too.
    _listdir, _open, _OSError = os.listdir, open, OSError
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
    except (ImportError, OSError, AttributeError):
        pass

    def child_processes():
        found = {}
        try:
            tasks = _listdir("/proc/self/task")
        except _OSError:
            return found
        for task in tasks:
            try:
                with _open(f"/proc/self/task/{task}/children") as children:
                    pids = children.read().split()
            except _OSError:
                continue
            for pid in pids:
                try:
                    with _open(f"/proc/{pid}/stat") as stat:
                        state = stat.read().rpartition(")")[2].split()[0]
                    with _open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                        command = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except (_OSError, IndexError):
                    continue
                if state != "Z":
                    found[pid] = command[:80]
        return found

    kernel_children = _frozenset(child_processes())

    def foreign_processes():
        return [f"process {pid} ({command})" for pid, command in child_processes().items()
                if pid not in kernel_children]

    def refuse_threads(when):
        found = foreign_threads() + foreign_processes()
        for _ in _range(4):  # a thread that is just starting or ending: look again
            if not found:
                return
            _sleep(0.05)
            found = foreign_threads() + foreign_processes()
        if found:
            what = "process" if found[0].startswith("process") else "thread"
            flag(f"a {what} the submission started was running {when} a check: {found[0]}")
            raise _AssertionError(f"a {what} started by the submission is running ({found[0]}): "
                                  f"the checks do not run beside it")

    # -- plain values ----------------------------------------------------------------------------
    trusted.update(_type(x) for x in (None, ..., NotImplemented, {}.keys(), {}.values(), {}.items(),
                                      iter([]), iter(()), iter({}), iter(""), iter(_range(0)),
                                      iter(_set()), (i for i in ()), _range(0)))
    atoms = {_int, _float, _complex, _bool, _str, _bytes, _type(None), _type}
    ndarray, numpy_view, object_dtype = numpy.ndarray, numpy.ndarray.view, numpy.dtype(object)
    tensor_base = torch._C.TensorBase if torch is not None else None
    tensor_class = torch.Tensor if torch is not None else None
    bases = ((_bool, None), (_int, _int.__index__), (_float, _float.__float__),
             (_complex, lambda x: _complex(_complex.real.__get__(x), _complex.imag.__get__(x))),
             (_str, _str.__str__), (_bytes, _bytes.__bytes__))

    untrusted_roots = {"__main__", "__mp_main__", "unittest", "mock", "pytest", "_pytest", "hypothesis"}
    type_module, type_mro = _type.__dict__["__module__"].__get__, _type.__dict__["__mro__"].__get__
    type_dict = _type.__dict__["__dict__"].__get__
    heap_type = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made at run time (by a class statement, ...)
    function_code = function_type.__dict__["__code__"].__get__
    static_func = staticmethod.__dict__["__func__"].__get__
    class_func = classmethod.__dict__["__func__"].__get__
    property_accessors = (property.__dict__["fget"].__get__, property.__dict__["fset"].__get__,
                          property.__dict__["fdel"].__get__)
    import numbers as numbers_module
    import sysconfig

    library_dirs = _tuple(_sorted({os.path.realpath(d) + os.sep for d in (
        *(sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")),
        *(os.path.dirname(os.path.dirname(_getattr(m, "__file__", None) or "/"))
          for m in (numpy, torch) if m is not None),
        os.path.dirname(sys.modules["cnnbook"].__file__)
        if "cnnbook" in sys.modules else None) if d}))
    library_dirs = _tuple(d for d in library_dirs if d != os.sep)
    data_types = _frozenset({*atoms, _tuple, _list, _dict, _set, _frozenset,
                             _type(_type.__dict__["__dict__"]), _type(_type.__dict__["__doc__"]),
                             _type(types.SimpleNamespace.__dict__.get("__dict__")),
                             _type(_getattr(numbers_module.Number, "_abc_impl", None)),
                             _type(_type("slotted", (), {"__slots__": ("a",)}).__dict__["a"])})
    verdicts = {}  # type -> False, for the types found untrusted (a trusted verdict is not kept)

    def made_by_library(c):
        """Whether a class made at run time that is none of the classes noted at installation was
        made by library code: a trusted module's name, and every Python function in its
        dictionary compiled from a file of the libraries (a class a notebook makes has its
        functions compiled from the notebook's cells, whatever ``__module__`` it claims); a class
        with no function of its own must be found, by identity, where its name says it is."""
        module = type_module(c)
        if _type(module) is not _str or module.partition(".")[0] not in trusted_roots:
            return False
        for v in _list(proxy_values(type_dict(c))):
            t = _type(v)
            if t is staticmethod:
                v, t = static_func(v), function_type
            elif t is classmethod:
                v, t = class_func(v), function_type
            accessors = [a(v) for a in property_accessors] if t is property else [v]
            for f in accessors:
                kind = _type(f)
                if kind in data_types or (not type_flags(kind) & heap_type and not _callable(f)
                                          and not _any("__get__" in type_dict(m)
                                                      for m in type_mro(kind))):
                    continue  # data: a number, a container, a NumPy scalar, a slot
                if _type(f) is not function_type:
                    return False  # a C callable or an object put there: ``__eq__ = float.__ne__``
                filename = function_code(f).co_filename
                if _type(filename) is not _str or not filename.startswith(library_dirs):
                    return False
        return True

    def is_trusted(t):
        """A type is trusted if it and every class it inherits from is one of the classes of the
        trusted modules noted at installation, a class of C code (not made at run time), or a
        class made at run time by library code (see :func:`made_by_library`); a class made by
        the notebook, by a mock library or by a test library (``pytest.approx``) is not."""
        if t in trusted:
            return True
        if t in verdicts:
            return False
        for c in type_mro(t):
            if c in trusted or not type_flags(c) & heap_type:
                continue
            module = type_module(c)
            if (_type(module) is not _str or module.partition(".")[0] in untrusted_roots
                    or not made_by_library(c)):
                verdicts[t] = False
                return False
        return True

    def describe(t):
        return f"{_getattr(t, '__module__', '?')}.{_getattr(t, '__qualname__', '?')}"

    def plain(x, strict=True, depth=0):
        """``x`` as plain values: built-in types for subclasses; TypeError for foreign objects.

        Objects of trusted types (built-ins, NumPy, PyTorch, cnnbook) are returned as they are
        (the same object), after checking what a container holds. With ``strict`` false, an
        object of another type is returned as it is instead of raising.
        """
        t = _type(x)
        if t in atoms:
            return x
        if depth > 40:
            raise _TypeError("a check got a structure nested more than 40 levels deep")
        if t is _list or t is _tuple or t is _dict or is_trusted(t):
            if _issubclass(t, ndarray):
                if x.dtype is object_dtype or x.dtype == object_dtype:
                    items = _list(x.flat)
                    new = [plain(v, strict, depth + 1) for v in items]
                    if any(a is not b for a, b in _zip(items, new)):
                        out = numpy.empty(x.shape, dtype=object)
                        out.flat[:] = new
                        return out
                return x
            if _issubclass(t, _dict):
                items = _list(_dict.items(x))
                new = [(plain(k, strict, depth + 1), plain(v, strict, depth + 1)) for k, v in items]
                if any(a is not c or b is not d for (a, b), (c, d) in _zip(items, new)):
                    return _dict(new)
                return x
            for base in (_list, _tuple, _set, _frozenset):
                if _issubclass(t, base):
                    items = _list(base.__iter__(x))
                    new = [plain(v, strict, depth + 1) for v in items]
                    if any(a is not b for a, b in _zip(items, new)):
                        return base(new)
                    return x
            return x
        # a type the submission made (or a mock): the built-in value underneath, if any
        for base, convert in bases:
            if convert is not None and _issubclass(t, base):
                return convert(x)
        for base in (_dict, _list, _tuple, _set, _frozenset):
            if _issubclass(t, base):
                if base is _dict:
                    return _dict((plain(k, strict, depth + 1), plain(v, strict, depth + 1))
                                 for k, v in _list(_dict.items(x)))
                return base(plain(v, strict, depth + 1) for v in _list(base.__iter__(x)))
        if _issubclass(t, ndarray):
            return plain(numpy_view(x, ndarray), strict, depth + 1)
        if tensor_base is not None and _issubclass(t, tensor_base):
            return tensor_base.as_subclass(x, tensor_class)
        if not strict:
            return x
        raise _TypeError(f"a check expected a number, an array, a tensor or a built-in container, "
                         f"got an object of type {describe(t)}")

    def loose(x):
        return plain(x, False)

    def truth(x):
        """The truth value of an ``assert`` condition, computed on plain values only."""
        try:
            value = plain(x)
        except _TypeError as error:
            raise _AssertionError(f"{error} as the condition of an assert") from None
        return _bool(value)

    # -- the checks, rewritten ------------------------------------------------------------------
    strict_calls = {"assert_close", "allclose", "isclose", "array_equal", "array_equiv", "equal",
                    "assert_allclose", "assert_array_equal", "assert_array_almost_equal",
                    "assert_almost_equal", "assert_equal", "max_abs_diff"}
    strict_builtins = {"len", "float", "int", "complex", "bool", "abs", "round", "sum", "min", "max",
                       "sorted", "all", "any", "list", "tuple", "dict", "set", "frozenset", "str"}
    imported = {}  # name bound by the solution's imports -> the module path it comes from
    for node in ast.walk(ast.parse(imports)):
        if _isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name.partition(".")[0]] = alias.name
        elif _isinstance(node, ast.ImportFrom):
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def call(function, node):
        attribute = ast.Attribute(value=ast.Name(id=name, ctx=ast.Load()), attr=function, ctx=ast.Load())
        return ast.copy_location(ast.Call(func=attribute, args=[node], keywords=[]), node)

    def root_and_last(node):
        last = node.attr if _isinstance(node, ast.Attribute) else _getattr(node, "id", None)
        while _isinstance(node, ast.Attribute):
            node = node.value
        return (node.id if _isinstance(node, ast.Name) else None), last

    class Rewriter(ast.NodeTransformer):
        def visit_Compare(self, node):
            self.generic_visit(node)
            if all(_isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
                return node
            node.left = call("plain", node.left)
            node.comparators = [call("plain", c) for c in node.comparators]
            return node

        def visit_Assert(self, node):
            self.generic_visit(node)
            node.test = call("truth", node.test)
            return node

        def visit_Call(self, node):
            self.generic_visit(node)
            root, last = root_and_last(node.func)
            if root is None:
                return node
            if last in strict_calls or (root in imported and imported[root].partition(".")[0]
                                        in ("numpy", "torch", "math")):
                wrap = "plain"
            elif root in imported or (root == last and root in strict_builtins and root not in imported):
                wrap = "plain" if root in strict_builtins else "loose"
            else:
                return node
            node.args = [a if _isinstance(a, ast.Starred) else call(wrap, a) for a in node.args]
            for keyword in node.keywords:
                if keyword.arg is not None:
                    keyword.value = call(wrap, keyword.value)
            return node

    compiled, tokens, lines = [], [], []
    for k, (label, source) in _enumerate(checks):
        filename = f"<check {label}>"
        tree = ast.fix_missing_locations(Rewriter().visit(ast.parse(source, filename)))
        compiled.append((filename, _compile(tree, filename, "exec")))
        lines.append(source.splitlines(True))
        tokens.append(token(secret, k))
    linecache_cache = linecache.cache

    gc_callbacks, gc_saved_callbacks = gc.callbacks, _list(gc.callbacks)
    gc_collect, gc_enable, gc_disable, gc_isenabled = gc.collect, gc.enable, gc.disable, gc.isenabled

    # PyTorch modes the submission left running would see every PyTorch call of the checks (and
    # could answer them): switched off before each check, with the functions read now
    if torch is not None:
        mode_stacks = ((torch._C._len_torch_function_stack, torch._C._pop_torch_function_stack),
                       (torch._C._len_torch_dispatch_stack, torch._C._pop_torch_dispatch_stack))
    else:
        mode_stacks = ()

    def switch_off_modes():
        for length, pop in mode_stacks:
            if length():
                flag("leaves a PyTorch mode running (it would see the checks' calls): "
                     "switched off before each check")
            while length():
                pop()

    def check(k):
        """Run check ``k`` against restored references; print its token if it passes.

        The garbage collector runs first, then is off while the check runs: a finaliser of the
        notebook's (``__del__`` of an object in a reference cycle, ``gc.callbacks``) cannot run
        in the middle of a check and patch what it uses after it was restored."""
        gc_callbacks[:] = gc_saved_callbacks
        gc_collect()
        restore()
        switch_off_modes()
        unhide_builtins()
        refuse_threads("when it started")
        filename, code = compiled[k]
        linecache_cache[filename] = (_len("".join(lines[k])), None, lines[k], filename)
        _exec(imports_code, namespace)
        enabled = gc_isenabled()
        gc_disable()
        try:
            _exec(code, namespace)
        finally:
            if enabled:
                gc_enable()
        refuse_threads("at the end of")
        _print(f"[cnnbook grader: check passed {tokens[k]}]")

    namespace[name] = types.SimpleNamespace(check=check, plain=plain, loose=loose, truth=truth)


def token(secret, k):
    """The text check ``k`` prints when it passes (the grader computes it too)."""
    import hashlib

    return hashlib.sha256(f"{secret}:{k}".encode()).hexdigest()[:32]
