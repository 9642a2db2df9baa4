"""The grader's guard: it runs *inside* the kernel that executes a submission (see cnnbook.grade).

``cnnbook.grade`` sends this file's source to a fresh kernel before the submission's first cell
(it is never imported there, so a submission finds no module to patch) and calls
:func:`install`. ``install`` imports what the solution notebook imports (its first cell and its
check cells), takes a snapshot of what the checks rely on, notes the threads that are running,
adds an audit hook (no sockets, no named pipes, no process limits but cnnbook's, no other audit
hook) and leaves a guard object under a random name in the notebook's namespace. It holds no
check's code: each check cell runs as ``<guard>.check(k, source)``, the check's source (hidden
tests included) sent only then, after a cell of the grader's own ran ``<guard>.prepare(k)``
(which puts IPython's input and AST transformers, prefilters and event callbacks back as they
were, so that none of the submission's sees the check's source). ``check``

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
   It also removes kernels registered over PyTorch's operators (``torch.library``),
   saved-tensors hooks and global module hooks, detaches the notebook's ``weakref.finalize``
   finalisers, and keeps the notebook's values referenced while the check runs (no ``__del__``
   runs in the middle of it);
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


def install(namespace, name, secret, imports, checks, defined=(), protected=()):
    """Install the guard as ``namespace[name]``.

    ``imports`` is the import lines of the solution notebook's first code cell, ``checks`` a
    list of ``(label, source)`` of its check cells, ``defined`` the names the solution notebook
    binds at its top level (a global of the same name as a built-in is kept only if it is one
    of them), and ``secret`` the string from which the token that check ``k`` prints on success
    is derived (see :func:`token`). No file under a folder of ``protected`` (the model
    solutions the grader reads) may be opened from the kernel.
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

    # The checks' code is not here: each check cell brings its own source (hidden tests included)
    # when it runs, so that no answer cell can read it before (from this function's closure).
    labels = [label for label, _ in checks]
    tokens = [token(secret, k) for k in _range(_len(checks))]
    linecache_cache = linecache.cache
    _parse, _fix_locations = ast.parse, ast.fix_missing_locations

    # -- IPython's hooks: what runs on a cell's source before it runs ----------------------------
    # Input transformers, AST transformers, prefilters and event callbacks (pre_run_cell,
    # pre_execute, ...) that the submission registers would see a check cell's source (its hidden
    # tests) before the check runs. Before each check the grader runs ``<guard>.prepare(k)`` in a
    # cell of its own, which puts them back as they were when the guard was installed (keeping
    # those a library added since, such as matplotlib's figure flusher); ``check(k)`` then fails
    # if ``prepare(k)`` did not run just before it, or if a hook was registered again in between.
    shell = None
    try:
        from IPython import get_ipython as _get_ipython

        shell = _get_ipython()
    except Exception:  # noqa: BLE001 - not in a kernel (a plain interpreter): nothing to guard
        pass
    method_type = types.MethodType

    def library_callable(f):
        """Whether ``f`` is a Python function (or a method of one) compiled from a library file."""
        if _type(f) is method_type:
            f = f.__func__
        if _type(f) is not function_type:
            return False
        filename = function_code(f).co_filename
        return _type(filename) is _str and filename.startswith(library_dirs)

    hook_owners = []  # (owner, attribute name, the list or dict there now, a copy of it)
    shell_attributes = {}
    builtins_dict = vars(builtins)
    kernel_managed = {"get_ipython", "input", "raw_input", "getpass", "exit", "quit", "display"}
    builtin_values = _tuple((k, v) for k, v in real_builtins.items() if k not in kernel_managed)

    def put_back_builtins():
        """After every cell: the built-ins as they were (a patched ``int`` breaks the kernel's
        messaging, and the grader would wait for a reply that never comes)."""
        for k, v in builtin_values:
            if builtins_dict.get(k, MISSING) is not v:
                builtins_dict[k] = v
                flag(f"replaces the built-in {k}: put back after the cell")

    if shell is not None:
        shell.events.register("post_execute", put_back_builtins)
        manager, prefilter = shell.input_transformer_manager, shell.prefilter_manager
        for owner, attribute in ((shell, "input_transformers_post"), (shell, "ast_transformers"),
                                 (manager, "cleanup_transforms"), (manager, "line_transforms"),
                                 (manager, "token_transformers"), (prefilter, "_transformers"),
                                 (prefilter, "_checkers")):
            current = _getattr(owner, attribute, None)
            if _type(current) is _list:
                hook_owners.append((owner, attribute, current, _list(current)))
        event_lists = shell.events.callbacks
        event_saved = {k: _list(v) for k, v in event_lists.items()}
        for attribute in ("input_transformer_manager", "prefilter_manager", "events", "compile",
                          "run_cell", "run_cell_async", "_run_cell", "transform_cell", "transform_ast",
                          "run_ast_nodes", "run_code", "should_run_async", "ex", "ev", "showtraceback"):
            shell_attributes[attribute] = vars(shell).get(attribute, MISSING)

    def same_items(current, saved):
        return _len(current) == _len(saved) and _all(_map(_is, current, saved))

    def clean_list(current, saved, what):
        """Put ``current`` back to ``saved``, keeping entries a library added; True if changed."""
        if same_items(current, saved):
            return False
        kept = [f for f in current if _any(f is s for s in saved) or library_callable(f)]
        foreign = [f for f in current if not _any(f is k for k in kept)]
        missing = [s for s in saved if not _any(s is f for f in current)]
        if not foreign and not missing:
            return False
        current[:] = [f for f in saved] + [f for f in kept if not _any(f is s for s in saved)]
        flag(f"registers {what} ({_repr(foreign[0])[:60] if foreign else 'removed one of the kernel'})"
             f": put back as they were before each check")
        return True

    def clean_ipython_hooks():
        """Put IPython's hooks back as they were when the guard was installed; True if any changed."""
        if shell is None:
            return False
        changed = False
        for attribute, saved in shell_attributes.items():
            if vars(shell).get(attribute, MISSING) is not saved:
                if saved is MISSING:
                    _delattr(shell, attribute)
                else:
                    vars(shell)[attribute] = saved
                flag(f"replaces the kernel's `{attribute}`: put back before each check")
                changed = True
        for owner, attribute, saved_list, saved in hook_owners:
            if _getattr(owner, attribute, None) is not saved_list:
                _setattr(owner, attribute, saved_list)
                flag(f"replaces the kernel's `{attribute}`: put back before each check")
                changed = True
            changed |= clean_list(saved_list, saved, f"a hook of the kernel's `{attribute}`")
        if shell.events.callbacks is not event_lists:
            shell.events.callbacks = event_lists
            changed = True
        for event, callbacks in _list(event_lists.items()):
            saved = event_saved.get(event, [])
            changed |= clean_list(callbacks, saved, f"a `{event}` event callback")
        return changed

    prepared = [None]

    def prepare(k):
        """Run by the grader in a cell of its own just before check ``k``."""
        clean_ipython_hooks()
        prepared[0] = k

    # -- an audit hook: no network, no FIFO, no process limits, no other audit hook --------------
    # An answer server outside the grader (reached over a socket, TCP or AF_UNIX, or a named pipe
    # made outside and opened here) could answer for the submission: the kernel may not connect
    # or bind a socket, nor open a FIFO. Only cnnbook's own code and the checks' may change a
    # process limit (the memory cap of ``exercise_checks.limit_memory``). An audit hook added later would see every
    # check's code object when it runs (its constants: the hidden tests' values): none is added.
    # What is refused is flagged. The hook cannot be removed; its code cannot be replaced.
    import stat as stat_module

    _stat, _is_fifo, _getframe = os.stat, stat_module.S_ISFIFO, sys._getframe
    _PermissionError, _RuntimeError, _fspath = PermissionError, RuntimeError, os.fspath
    package_dir = (os.path.dirname(os.path.realpath(sys.modules["cnnbook"].__file__)) + os.sep
                   if "cnnbook" in sys.modules else None)
    # a check's own code (a memory cap of its own) and cnnbook's (limit_memory) may set limits
    limit_setters = _tuple(d for d in (package_dir, "<check ") if d)
    # the model solutions sit on the grader's disk: a submission that read them could run them
    protected_dirs = _tuple(os.path.realpath(d) + os.sep for d in protected)
    _realpath, _fsdecode, _sep = os.path.realpath, os.fsdecode, os.sep
    network = _frozenset({"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"})
    limits = _frozenset({"resource.setrlimit", "resource.prlimit"})
    audited = network | limits | {"open", "sys.addaudithook", "object.__setattr__"}

    def audit(event, args):
        if event not in audited:
            return
        if event == "open":
            path = args[0]
            if protected_dirs and (_type(path) is _str or _type(path) is _bytes):
                try:
                    real = _realpath(_fsdecode(path)) + _sep
                except Exception:  # noqa: BLE001 - a bad name: open() says so
                    real = ""
                if real.startswith(protected_dirs):
                    flag(f"opens the model solutions ({_repr(path)[-60:]}): refused while grading")
                    raise _PermissionError("the grader refuses to let a submission read the "
                                           "model solutions")
            if _type(path) is _str or _type(path) is _bytes:
                try:
                    fifo = _is_fifo(_stat(path).st_mode)
                except Exception:  # noqa: BLE001 - no such file yet, a bad name: open() says so
                    return
                if fifo:
                    flag(f"opens a named pipe (FIFO), {_repr(path)[:60]}: refused while grading")
                    raise _PermissionError("the grader refuses named pipes (FIFOs)")
        elif event in network:
            flag(f"uses a socket ({event}: a network or local connection): refused while grading")
            raise _PermissionError("the grader refuses network connections")
        elif event in limits:
            paused[0] += 1  # exercise_checks' hook would refuse the look at the caller's frame
            try:
                caller = _getframe(1).f_code.co_filename
            finally:
                paused[0] -= 1
            if _type(caller) is not _str or not caller.startswith(limit_setters):
                flag("changes a process limit (resource.setrlimit): refused while grading")
                raise _PermissionError("the grader refuses changes of process limits")
        elif event == "sys.addaudithook":
            flag("adds an audit hook (it would see the checks' code): refused")
            raise _RuntimeError("the grader refuses audit hooks")
        elif args[0] is audit:
            raise _PermissionError("the grader's audit hook cannot be changed")

    paused = [0]
    try:  # exercise_checks' own hook first (it is added once per process, when first needed)
        exercise_checks = __import__("cnnbook.exercise_checks", fromlist=["_install_audit_hook"])
        exercise_checks._install_audit_hook()
        paused = exercise_checks._PAUSED
    except Exception:  # noqa: BLE001 - a book without it
        pass
    sys.addaudithook(audit)

    # -- PyTorch's global hooks -------------------------------------------------------------------
    # Kernels registered over PyTorch's own operators (``torch.library.Library("aten", "IMPL")
    # .impl("conv2d", ...)``), default saved-tensors hooks (``saved_tensors_hooks``) and global
    # module hooks (``register_module_forward_hook``) would see or answer the checks' PyTorch
    # calls: before each check they are removed (and flagged); a kernel override that cannot be
    # removed fails the check.
    torch_state = None
    if torch is not None:
        module_hooks = sys.modules.get("torch.nn.modules.module")
        library = sys.modules.get("torch.library")
        torch_state = types.SimpleNamespace(
            module_hooks=module_hooks,
            hook_dicts=[(k, v, _dict(v)) for k, v in _list(vars(module_hooks).items())
                        if k.startswith("_global_") and _isinstance(v, _dict)] if module_hooks else [],
            top_saved=_getattr(torch._C._autograd, "_top_saved_tensors_default_hooks", None),
            pop_saved=_getattr(torch._C._autograd, "_pop_saved_tensors_default_hooks", None),
            library=library, impls=_frozenset(library._impls) if library else _frozenset(),
            destroy=library.Library._destroy if library else None,
            del_library=_getattr(library, "_del_library", None))

    import weakref as weakref_module

    finalize_class = weakref_module.finalize
    finalize_registry = finalize_class._registry
    finalizers_at_install = _set(_map(_id, finalize_registry))
    _detach, _peek = finalize_class.detach, finalize_class.peek

    def library_overrides():
        """The kernels registered over PyTorch's operators since the guard was installed."""
        impls = _getattr(torch_state.library, "_impls", ())
        return [i for i in impls if i not in torch_state.impls
                and _str(i).partition("/")[0] in ("aten", "prims", "quantized")]

    def switch_off_torch_hooks():
        if torch_state is None:
            return
        for k, saved_dict, saved in torch_state.hook_dicts:
            if vars(torch_state.module_hooks).get(k) is not saved_dict:
                _setattr(torch_state.module_hooks, k, saved_dict)
            if saved_dict.keys() != saved.keys() or not _all(saved_dict[x] is saved[x] for x in saved):
                flag(f"registers a global module hook ({k.lstrip('_')}): removed before each check")
                saved_dict.clear()
                saved_dict.update(saved)
        if torch_state.top_saved is not None:
            while torch_state.top_saved(True) is not None:
                flag("leaves a saved-tensors hook running: removed before each check")
                torch_state.pop_saved()
        overrides = library_overrides()
        if overrides:
            flag(f"registers a kernel over PyTorch's operator {overrides[0]} (torch.library): "
                 f"removed before each check")
            for f in _list(finalize_registry):
                peeked = _peek(f)
                if peeked is not None and peeked[1] is torch_state.del_library:
                    lib = peeked[0]
                    if _any(i in overrides for i in _getattr(lib, "_op_impls", ())):
                        torch_state.destroy(lib)
            if library_overrides():
                raise _AssertionError(f"a kernel registered over PyTorch's {overrides[0]} could not "
                                      f"be removed: the check does not run beside it")

    def detach_finalizers():
        """Detach the finalisers (``weakref.finalize``) the notebook registered: one that fired
        during a check could patch what the check uses after it was restored."""
        if finalize_class.__dict__.get("_registry") is not finalize_registry:
            _type_setattr(finalize_class, "_registry", finalize_registry)
            flag("replaces weakref.finalize's registry: put back before each check")
        for f in _list(finalize_registry):
            if _id(f) in finalizers_at_install:
                continue
            info = finalize_registry.get(f)
            if info is None or library_callable(_getattr(info, "func", None)):
                continue  # a library's own (torch.library's, tempfile's)
            _detach(f)
            flag("registers a finaliser (weakref.finalize) that would run later: detached "
                 "before each check")

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

    def check(k, source):
        """Run check ``k`` (its ``source``, sent with the call) against restored references; print its token if it passes.

        The garbage collector runs first, then is off while the check runs: a finaliser of the
        notebook's (``__del__`` of an object in a reference cycle, ``gc.callbacks``) cannot run
        in the middle of a check and patch what it uses after it was restored."""
        ready, prepared[0] = prepared[0] == k, None
        if clean_ipython_hooks() or not ready:
            flag("a kernel hook (input transformer, event callback) was registered again just "
                 "before a check, or the grader's preparation of the check did not run")
            raise _AssertionError("the check did not run: something in the submission reached the "
                                  "kernel's hooks before it")
        gc_callbacks[:] = gc_saved_callbacks
        detach_finalizers()
        gc_collect()
        restore()
        switch_off_modes()
        switch_off_torch_hooks()
        unhide_builtins()
        refuse_threads("when it started")
        filename = f"<check {labels[k]}>"
        code = _compile(_fix_locations(Rewriter().visit(_parse(source, filename))), filename, "exec")
        lines = source.splitlines(True)
        linecache_cache[filename] = (_len(source), None, lines, filename)
        _exec(imports_code, namespace)
        enabled = gc_isenabled()
        gc_disable()
        # the notebook's values stay referenced here while the check runs: a name the check
        # binds again does not free the object it held (whose ``__del__`` would run mid-check)
        held = _dict(namespace)
        try:
            _exec(code, namespace)
        finally:
            if enabled:
                gc_enable()
        held.clear()
        refuse_threads("at the end of")
        _print(f"[cnnbook grader: check passed {tokens[k]}]")

    namespace[name] = types.SimpleNamespace(check=check, prepare=prepare, plain=plain, loose=loose, truth=truth)


def token(secret, k):
    """The text check ``k`` prints when it passes (the grader computes it too)."""
    import hashlib

    return hashlib.sha256(f"{secret}:{k}".encode()).hexdigest()[:32]
