"""The grader cannot be fooled: submissions that cheat score zero on what they cheat on, or are flagged.

Every test builds a small solution notebook of its own (four coded exercises, each check relying
on one way of comparing: ``==`` on a dict, ``cnnbook.check.assert_close``, ``np.allclose`` and
``np.testing``, built-ins such as ``range`` and ``max``), so it does not depend on the book's
chapters. Each cheating submission answers the
targeted exercise wrongly, cheats, and answers the others correctly.
"""
import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnbook import exercises, grade

IMPORTS = "import numpy as np\nfrom cnnbook.check import assert_close\n\nrng = np.random.default_rng(0)"
RIGHT = {
    "counts": 'return {"dense": n_in * n_out, "bias": n_out}',
    "scale": "return a * x",
    "shift": "return x + c",
    "total": "return sum(values)",
}
SIGNATURE = {"counts": "n_in, n_out", "scale": "x, a", "shift": "x, c", "total": "values"}
WRONG = {"counts": 'return {"dense": 0, "bias": 0}', "scale": "return x", "shift": "return x", "total": "return 0"}


def meta(id_, points):
    return {"exercise": {"id": id_, "points": points, "difficulty": 1, "objective": "An objective."}}


def solution_cell(name):
    return new_code_cell(f"def {name}({SIGNATURE[name]}):\n    # BEGIN SOLUTION\n    {RIGHT[name]}\n"
                         f"    # END SOLUTION", id=f"sol-{name}")


def check(source, id_):
    return new_code_cell(source, metadata={"tags": ["check"]}, id=id_)


def solution_notebook():
    cells = [
        new_markdown_cell("# Exercises", id="title"),
        new_code_cell(IMPORTS, id="imports"),
        new_markdown_cell("## Exercise 7.1: Count\n\nReturn the weight counts.", metadata=meta("7.1", 2), id="ex71"),
        solution_cell("counts"),
        check('assert counts(3, 2) == {"dense": 6, "bias": 2}', "check-71"),
        new_markdown_cell("## Exercise 7.2: Scale", metadata=meta("7.2", 3), id="ex72"),
        solution_cell("scale"),
        check("x = np.random.default_rng(1).standard_normal((3, 4))\nassert_close(scale(x, 2.0), 2.0 * x)",
              "check-72"),
        new_markdown_cell("## Exercise 7.3: Shift", metadata=meta("7.3", 1), id="ex73"),
        solution_cell("shift"),
        check("x = np.random.default_rng(2).standard_normal(5)\nassert np.allclose(shift(x, 1.0), x + 1.0)",
              "check-73a"),
        check("x = np.random.default_rng(3).standard_normal(5)\nnp.testing.assert_allclose(shift(x, -2.0), x - 2.0)",
              "check-73b"),
        new_markdown_cell("## Exercise 7.4: Why?", metadata=meta("7.4", 1), id="ex74"),
        new_markdown_cell("Because.", metadata={"tags": ["solution"]}, id="answer-74"),
        new_markdown_cell("## Exercise 7.5: Total", metadata=meta("7.5", 1), id="ex75"),
        solution_cell("total"),
        check("for n in range(1, 5):\n    assert total(list(range(n))) == n * (n - 1) // 2\n"
              "assert max(total([5]), 0) == 5", "check-75"),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


@pytest.fixture
def book(tmp_path):
    root = tmp_path / "book"
    (root / "solutions").mkdir(parents=True)
    nbformat.write(solution_notebook(), root / "solutions" / "07_cheats.ipynb")
    exercises.generate(root)
    return root


def submission(book, answers=None, extra=None):
    """The student copy with right answers, except ``answers``; ``extra`` code appended per function."""
    nb = nbformat.read(book / "exercises" / "07_cheats.ipynb", as_version=4)
    for cell in nb.cells:
        for name in RIGHT:
            if cell.id == f"sol-{name}":
                body = (answers or {}).get(name, RIGHT[name])
                cell.source = f"def {name}({SIGNATURE[name]}):\n    {body}"
                if extra and name in extra:
                    cell.source += "\n\n" + extra[name]
    return nb


def graded(book, tmp_path, nb, name="mallory_07_cheats.ipynb"):
    folder = tmp_path / "subs"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / name)
    return grade.grade_notebook(folder / name, solutions=book / "solutions", timeout=60)


def scores(report):
    return {r.id: r.earned for r in report.results if r.status != "manual"}


FULL = {"7.1": 2, "7.2": 3, "7.3": 1, "7.5": 1}


def test_honest_submission_gets_full_marks_and_no_flag(book, tmp_path):
    report = graded(book, tmp_path, submission(book))
    assert scores(report) == FULL and report.flags == [], "\n".join(report.lines())


def test_partly_done_submission_gets_that_exercise_only(book, tmp_path):
    nb = nbformat.read(book / "exercises" / "07_cheats.ipynb", as_version=4)
    next(c for c in nb.cells if c.id == "sol-scale").source = "def scale(x, a):\n    return a * x"
    report = graded(book, tmp_path, nb)
    assert scores(report) == {"7.1": 0, "7.2": 3, "7.3": 0, "7.5": 0} and report.flags == []


# name: (wrong answers, code added after the function's cell, or a function (nb -> None) editing the
# notebook; exercises that must score zero; a text the flags must contain, or None)
CHEATS = {
    "rebinds cnnbook.check.assert_close": (
        {"scale": WRONG["scale"]},
        {"scale": "import cnnbook.check\ncnnbook.check.assert_close = lambda *a, **k: None"},
        ["7.2"], "changes `cnnbook.check.assert_close`"),
    "dict subclass whose __eq__ is always True": (
        {"counts": "class Yes(dict):\n        def __eq__(self, other):\n            return True\n"
                   "    return Yes()"},
        None, ["7.1"], "defines __eq__"),
    "int subclass values whose __eq__ is always True": (
        {"counts": "class N(int):\n        __eq__ = lambda self, other: True\n        __hash__ = int.__hash__\n"
                   "    return {'dense': N(0), 'bias': N(0)}"},
        None, ["7.1"], "defines __eq__"),
    "patches np.allclose and np.testing.assert_allclose": (
        {"shift": WRONG["shift"]},
        {"shift": "np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None"},
        ["7.3"], "changes `np.allclose`"),
    "patches numpy through setattr": (
        {"shift": WRONG["shift"]},
        {"shift": "import numpy\nfor n in ('allclose',):\n    setattr(numpy, n, lambda *a, **k: True)\n"
                  "setattr(numpy.testing, 'assert_allclose', lambda *a, **k: None)"},
        ["7.3"], "calls setattr() on `numpy`"),
    "redefines assert_close locally": (
        {"scale": WRONG["scale"]},
        {"scale": "def assert_close(*args, **kwargs):\n    pass"},
        ["7.2"], "defines `assert_close`, a name the checks use"),
    "replaces cnnbook.check in sys.modules": (
        {"scale": WRONG["scale"]},
        {"scale": "import sys, types\nfake = types.ModuleType('cnnbook.check')\n"
                  "fake.assert_close = lambda *a, **k: None\nsys.modules['cnnbook.check'] = fake"},
        ["7.2"], "touches sys.modules"),
    "returns a MagicMock that equals anything": (
        {"counts": "from unittest.mock import MagicMock\n    m = MagicMock()\n    m.__eq__.return_value = True\n"
                   "    return m"},
        None, ["7.1"], "imports unittest.mock"),
    "monkeypatches builtins.AssertionError and abs": (
        {"scale": WRONG["scale"]},
        {"scale": "import builtins\nbuiltins.AssertionError = type('Ignored', (Warning,), {})\n"
                  "builtins.abs = lambda x: 0"},
        ["7.2"], "changes `builtins.AssertionError`"),
    "calls sys.exit in a cell and in the answer": (
        {"shift": "import sys\n    sys.exit(0)"},
        {"counts": "import sys\nsys.exit()"},
        ["7.3"], "calls sys.exit()"),
    "kills the kernel with os._exit when checked": (
        {"scale": "import os\n    os._exit(0)"}, None, ["7.2"], "kills the process"),
    "swallows every exception with a custom handler": (
        {"counts": WRONG["counts"], "scale": WRONG["scale"], "shift": WRONG["shift"]},
        {"counts": "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"},
        ["7.1", "7.2", "7.3"], "calls get_ipython()"),
    "empties later cells with an input transformer": (
        {"counts": WRONG["counts"], "scale": WRONG["scale"], "shift": WRONG["shift"]},
        {"counts": "ip = get_ipython()\nip.input_transformers_post.append(lambda lines: ['pass\\n'])"},
        ["7.1", "7.2", "7.3", "7.5"], "calls get_ipython()"),
    "hides the patch in exec": (
        {"scale": WRONG["scale"]},
        {"scale": "exec('import cnnbook.check as c; c.assert_close = lambda *a, **k: None')"},
        ["7.2"], "calls exec()"),
    "answers with pytest.approx objects that equal anything near": (
        {"counts": "import pytest\n    return {'dense': pytest.approx(0, abs=1e9), 'bias': pytest.approx(0, abs=1e9)}"},
        None, ["7.1"], "imports pytest"),
    "hides range and max behind globals of the notebook": (
        {"total": WRONG["total"]},
        {"total": "range = lambda *args: []\ndef max(*args, **kwargs):\n    return 5"},
        ["7.5"], "hides the built-in range"),
    "replaces the code and the defaults of NumPy's and cnnbook's functions": (
        {"scale": WRONG["scale"], "shift": WRONG["shift"]},
        {"scale": "import numpy, cnnbook.check\n"
                  "numpy.allclose._implementation.__code__ = (lambda a, b, rtol=0, atol=0, equal_nan=0: True).__code__\n"
                  "numpy.testing.assert_allclose.__defaults__ = (1e300, 1e300, True, '', True)\n"
                  "cnnbook.check.assert_close.__kwdefaults__['atol'] = 1e300"},
        ["7.2", "7.3"], "changes `numpy.allclose._implementation.__code__`"),
    "a thread keeps patching np.allclose while the checks run": (
        {"shift": WRONG["shift"]},
        {"shift": "import threading, time\nimport numpy\n\ndef _patch():\n    while True:\n"
                  "        numpy.allclose = lambda *a, **k: True\n"
                  "        numpy.testing.assert_allclose = lambda *a, **k: None\n        time.sleep(0.001)\n\n"
                  "threading.Thread(target=_patch, daemon=True).start()"},
        ["7.3", "7.5"], "a thread the submission started"),
    "a float-like object with __float__ and __sub__": (
        {"shift": "class Close:\n        __array_priority__ = 1000\n"
                  "        def __array_ufunc__(self, *a, **k):\n            return True\n"
                  "        def __float__(self):\n            return 0.0\n    return Close()"},
        None, ["7.3"], "defines __array_ufunc__"),
}


def edit_check(nb):
    next(c for c in nb.cells if c.id == "check-71").source = "pass"


def delete_check(nb):
    nb.cells = [c for c in nb.cells if c.id != "check-72"]


EDITS = {
    "edits a check cell's text": ({"counts": WRONG["counts"]}, edit_check, ["7.1"], "check cell of exercise 7.1 was edited"),
    "deletes a check cell": ({"scale": WRONG["scale"]}, delete_check, ["7.2"], "check cell of exercise 7.2 was deleted"),
}


@pytest.mark.parametrize("cheat", list(CHEATS) + list(EDITS))
def test_cheat_scores_zero_on_what_it_cheats_on_and_is_flagged(book, tmp_path, cheat):
    if cheat in CHEATS:
        answers, extra, zero, flag = CHEATS[cheat]
        nb = submission(book, answers, extra)
    else:
        answers, edit, zero, flag = EDITS[cheat]
        nb = submission(book, answers)
        edit(nb)
    report = graded(book, tmp_path, nb)
    expected = {k: (0 if k in zero else v) for k, v in FULL.items()}
    text = "\n".join(report.lines())
    assert scores(report) == expected, text
    if flag is not None:
        assert any(flag in f for f in report.flags), text


# Threads that keep patching what the checks use, started three more ways (the one started with
# threading.Thread is in CHEATS): each is running when the checks of 7.3 (and 7.5) start.
PATCH = "lambda *a, **k: True"
THREADS = {
    "_thread.start_new_thread": (
        "import _thread, time\nimport numpy\n\ndef _patch():\n    while True:\n"
        f"        numpy.allclose = {PATCH}\n        time.sleep(0.001)\n\n_thread.start_new_thread(_patch, ())"),
    "concurrent.futures": (
        "import time\nfrom concurrent.futures import ThreadPoolExecutor\nimport numpy\n\ndef _patch():\n"
        f"    while True:\n        numpy.allclose = {PATCH}\n        time.sleep(0.001)\n\n"
        "_pool = ThreadPoolExecutor(1)\n_pool.submit(_patch)"),
    "a thread running only C code": (
        "import _thread, collections, itertools, time\nimport numpy\n\n"
        f"_steps = zip(itertools.starmap(setattr, itertools.repeat((numpy, 'allclose', {PATCH}))),\n"
        "             map(time.sleep, itertools.repeat(0.001)))\n"
        "_thread.start_new_thread(collections.deque, (_steps, 0))"),
}


HELPERS = {
    "a child fed through a pipe": ("import subprocess, sys\n\n_helper = subprocess.Popen([sys.executable, '-c', "
                                   "'import sys; sys.stdin.read()'], stdin=subprocess.PIPE)"),
    "a grandchild whose parent exited (a double fork)": (
        "import subprocess, sys\n\nsubprocess.run([sys.executable, '-c', 'import subprocess, sys; "
        "subprocess.Popen([sys.executable, \"-c\", \"import time; time.sleep(20)\"])'], check=True)"),
}


@pytest.mark.parametrize("kind, how", [("process", h) for h in HELPERS] + [("thread", h) for h in THREADS])
def test_a_check_does_not_run_beside_a_process_or_thread_the_submission_started(book, tmp_path, kind, how):
    """A process fed through a pipe, or a thread, started before the checks is out of sight of forbid."""
    code = HELPERS[how] if kind == "process" else THREADS[how]
    nb = submission(book, {"shift": "return x + 0.5 * c"}, {"shift": code})
    report = graded(book, tmp_path, nb)
    text = "\n".join(report.lines())
    assert scores(report) == {"7.1": 2, "7.2": 3, "7.3": 0, "7.5": 0}, text
    assert any(f"a {kind} the submission started was running when it started a check" in f
               for f in report.flags), text
    assert f"a {kind} started by the submission is running" in text, text


def test_writing_to_the_solutions_file_changes_no_grade_and_is_flagged(book, tmp_path):
    """A submission that weakens the solution notebook on disk: opening it is refused while
    grading (and the run keeps its own copy anyway)."""
    target = book / "solutions" / "07_cheats.ipynb"
    vandal = submission(book, {"counts": WRONG["counts"]}, {"counts": (
        "import json, pathlib\n"
        f"p = pathlib.Path({str(target)!r})\n"
        "nb = json.loads(p.read_text())\n"
        "for c in nb['cells']:\n"
        "    if 'check' in c['metadata'].get('tags', []):\n"
        "        c['source'] = 'pass'\n"
        "p.write_text(json.dumps(nb))")})
    folder = tmp_path / "subs"
    folder.mkdir()
    nbformat.write(vandal, folder / "a_07_cheats.ipynb")
    nbformat.write(submission(book, {"scale": WRONG["scale"]}), folder / "b_07_cheats.ipynb")
    first, second = grade.grade_many(sorted(folder.glob("*.ipynb")), solutions=book / "solutions", timeout=60)
    assert scores(first) == {"7.1": 0, "7.2": 3, "7.3": 1, "7.5": 1}, "\n".join(first.lines())
    assert scores(second) == {"7.1": 2, "7.2": 0, "7.3": 1, "7.5": 1}, "\n".join(second.lines())
    assert any("writes a file" in f for f in first.flags)
    assert any("opens the model solutions" in f for f in first.flags), first.flags
    text = target.read_text()
    assert "'pass'" not in text and '"pass"' not in text  # the file was not vandalised


@pytest.mark.parametrize("cheat", ["rebinds cnnbook.check.assert_close", "dict subclass whose __eq__ is always True",
                                   "patches np.allclose and np.testing.assert_allclose",
                                   "returns a MagicMock that equals anything",
                                   "swallows every exception with a custom handler",
                                   "hides range and max behind globals of the notebook",
                                   "replaces the code and the defaults of NumPy's and cnnbook's functions",
                                   "a thread keeps patching np.allclose while the checks run"])
def test_the_cheat_would_fool_a_naive_grader(book, cheat):
    """Each cheat is real: run with the solution's checks inline (imports re-run), no check fails."""
    answers, extra, zero, _ = CHEATS[cheat]
    nb = submission(book, answers, extra)
    reference = nbformat.read(book / "solutions" / "07_cheats.ipynb", as_version=4)
    checks = {c.id: c.source for c in reference.cells if "check" in c.metadata.get("tags", [])}
    for cell in nb.cells:
        if cell.id in checks:
            cell.source = IMPORTS.split("\n\n")[0] + "\n" + checks[cell.id]
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    errors = [c.id for c in nb.cells if c.id in checks and any(o.output_type == "error" for o in c.outputs)]
    assert errors == [], f"the cheat did not fool the naive grader: {errors}"


def test_the_book_solutions_raise_no_flag():
    for solution in sorted((grade.BOOK_ROOT / "solutions").glob("*.ipynb")):
        nb = nbformat.read(solution, as_version=4)
        cells = [(f"cell {k}", c.source) for k, c in enumerate(nb.cells) if c.cell_type == "code"
                 and "check" not in c.metadata.get("tags", [])]
        imports = grade._reference_imports(nb)
        checked = grade._check_names(nb, exercises.list_exercises(nb, require_solutions=False))
        assert grade.scan_submission(cells, imports, checked) == [], solution.name


@pytest.mark.parametrize("source, flag", [
    ("import numpy as np\nnp.testing.assert_allclose = print", "changes `np.testing.assert_allclose`"),
    ("import torch\ntorch.Tensor.__eq__ = lambda a, b: True", "sets the special method `torch.Tensor.__eq__`"),
    ("from cnnbook import check as c\nc._TOLERANCE[0] = 1", "changes `c._TOLERANCE[0]`"),
    ("__builtins__['len'] = lambda x: 3", "touches __builtins__"),
    ("import sys\nsys.modules.pop('numpy')", "touches sys.modules"),
    ("class A:\n    def __bool__(self):\n        return True", "class A defines __bool__"),
    ("import inspect\nf = inspect.currentframe().f_back", "imports inspect"),
    ("g = globals()", "calls globals()"),
    ("import numpy\nobject.__setattr__(numpy, 'allclose', max)", "sets attributes through __setattr__"),
    ("import numpy\nnumpy.__dict__['allclose'] = max", "reaches into an object's attribute dictionary"),
    ("open('x.txt', 'w').write('1')", "opens a file for writing"),
    ("!rm -rf /tmp/x", "runs a shell command"),
    ("%time np = None", "rebinds `np`, which the checks use"),
    ("import numpy.testing as npt\nnpt.assert_allclose = None", "changes `npt.assert_allclose`"),
    # what switches off a check's PyTorch modes or reaches past them
    ("from torch.utils._python_dispatch import _disable_current_modes", "uses `torch.utils._python_dispatch`"),
    ("import torch\nwith torch.utils._python_dispatch._disable_current_modes():\n    pass",
     "uses `torch.utils._python_dispatch`"),
    ("import torch\ntorch._C._unset_dispatch_mode(0)", "uses `torch._C`"),
    ("import torch\nengine = torch.autograd.Variable._execution_engine", "runs autograd's engine directly"),
    ("v._execution_engine.run_backward((y,), (g,), False, False, (x,), False, False)", "runs autograd's engine"),
    ("import torch\nout = torch.ops.aten.convolution(x, w, None, [1], [0], [1], False, [0], 1)", "uses `torch.ops`"),
    ("from torch.autograd import forward_ad as fwAD", "forward-mode automatic differentiation"),
    ("import scipy.signal\nout = scipy.signal._sigtools._convolve2d(x, k, 1, 0, 0, 0)", "SciPy's private C routines"),
    ("from scipy.ndimage import _nd_image", "SciPy's private C routines"),
    ("import torch\nout = torch._convolution(x, w)", "a private part of torch"),
    ("spectrum = np.fft.fft2(x)", "worth a look"),
    ("import numpy.fft as nf", "worth a look"),
    # names computed at run time
    ("import importlib\nm = importlib.import_module('num' + 'py')", "imports a module whose name is computed"),
    ("m = __import__(name)", "imports a module whose name is computed"),
    ("f = getattr(np, 'con' + 'volve')", "calls getattr() on `np` with a computed attribute name"),
    ("f = getattr(np, '_core')", "uses `numpy._core` (a private part of numpy)"),
    ("import sys\nm = sys.modules['numpy']", "touches sys.modules"),
    ("from sys import modules", "touches sys.modules"),
    ("np.allclose.__defaults__ = (1, 1)", "default arguments"),
    # strided views without as_strided, other processes
    ("v = np.ndarray((5, 5, 2, 2), x.dtype, x, 0, s)", "builds an ndarray on another array's memory"),
    ("v = np.ndarray(shape=(5, 5), dtype=x.dtype, buffer=x)", "builds an ndarray on another array's memory"),
    ("v = f(x, shape=(5, 5), strides=(8, 8))", "passes strides="),
    ("v = x.view()\nv.strides = (8, 8)", "sets `v.strides`"),
    ("d = dict(x.__array_interface__)", "an array interface made by hand"),
    ("import types\no = types.SimpleNamespace(__array_interface__=d)", "passes the special method"),
    ("o = np.lib.stride_tricks.DummyArray(d, x)", "an array interface made by hand"),
    ("import pty\npty.spawn(['ls'])", "imports pty"),
    ("import os\nos.posix_spawn('/bin/ls', ['ls'], {})", "calls os.posix_spawn()"),
    ("import _posixsubprocess", "imports _posixsubprocess"),
])
def test_static_scan_flags(source, flag):
    flags = grade.scan_submission([("cell 3", source)], IMPORTS)
    assert any(flag in f for f in flags), flags
    assert all(f.startswith("cell 3, line ") for f in flags), flags


# Second round: what reviewers acting as students tried, several cheats to a kernel. Each batch:
# (wrong or lazy answers, code after the functions' cells, exercises that must score zero,
# texts the flags must contain).
PEEK = ("import sys as _s\n\nclass Peek:\n    __module__ = 'numbers'   # claims to be a library type\n"
        "    def __eq__(self, other):\n        return True\n    def __float__(self):\n"
        "        return float(_s._getframe(1).f_locals.get('n', 0))\n")
BATCHES = {
    "classes that claim a library module, lazy and subclassed answers": (
        {"counts": "return {'dense': Peek(), 'bias': Peek()}",
         "scale": "return Lazy(lambda: a * x)   # the right value, computed when converted",
         "shift": "return np.asarray(x).view(Shifted)",
         "total": "return K(0)"},
        {"counts": PEEK,
         "scale": "class Lazy:\n    __module__ = 'numpy.lib'\n    def __init__(self, f):\n        self.f = f\n"
                  "    def __array__(self, dtype=None, copy=None):\n        return np.asarray(self.f(), dtype)\n"
                  "    def __len__(self):\n        return 3",
         "shift": "class Shifted(np.ndarray):\n    __module__ = 'numpy'\n"
                  "    def __array_finalize__(self, obj):\n        pass\n"
                  "    def __array_function__(self, *args, **kwargs):\n        return True",
         "total": "import numbers\n\nclass K(int):\n    __module__ = 'numbers'\n"
                  "    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n\n"
                  "numbers.Number.register(K)"},
        ["7.1", "7.2", "7.3", "7.5"],
        ["class Peek defines __module__", "uses `._getframe`", "class Lazy defines __array__",
         "class Shifted defines __array_finalize__", "registers a class as a virtual subclass"]),
    "patched library classes, finalisers, hooks and the check's own arrays": (
        {"total": "return Fraction(0)",
         "shift": "return x",
         "scale": "x[...] = 0   # the check compares with 2.0 * x afterwards\n    return x"},
        {"total": "from fractions import Fraction\nFraction.__eq__ = lambda self, other: True",
         "shift": "import gc, sys, builtins\n\nclass Later:\n    def __del__(self):\n"
                  "        np.allclose = lambda *a, **k: True\n        np.testing.assert_allclose = print\n\n"
                  "def _cycle():\n    later = Later()\n    later.me = later\n\n"
                  "gc.callbacks.append(lambda *args: _cycle())\nfor _ in range(3):\n    _cycle()\n"
                  "sys.excepthook = lambda *args: None"},
        ["7.3", "7.5"],
        ["sets the special method `Fraction.__eq__`", "class Later defines __del__", "imports gc",
         "changes `x` in place"]),
}


@pytest.mark.parametrize("batch", list(BATCHES))
def test_second_round_cheats_score_zero_or_are_flagged(book, tmp_path, batch):
    answers, extra, zero, flags = BATCHES[batch]
    report = graded(book, tmp_path, submission(book, answers, extra))
    text = "\n".join(report.lines())
    assert scores(report) == {k: (0 if k in zero else v) for k, v in FULL.items()}, text
    for flag in flags:
        assert any(flag in f for f in report.flags), (flag, text)


@pytest.mark.parametrize("source, flag", [
    ("def f(x, w, b):\n    for a in (x, w, b):\n        a[...] = 0\n    return 0", "changes `a` in place"),
    ("w_dw[...] = 0", "changes `w_dw` in place (`w_dw[...] = ...`; a name the checks define)"),
    ("w_dw *= 0", "changes `w_dw` in place"),
    ("np.copyto(w_dw, 0)", "changes `w_dw` in place (`copyto(w_dw, ...)`"),
    ("w_dw.fill(0)", "changes `w_dw` in place (`.fill(...)`"),
    ("setattr(w_dw, 'shape', (1,))", "changes `w_dw` in place (`setattr(w_dw, ...)`"),
    ("def f(t):\n    t.zero_()", "changes `t` in place (`.zero_(...)`"),
    ("def f(t):\n    v = t[0]\n    v += 1", "changes `v` in place"),
    ("def f(t):\n    np.add(t, 1, out=t)", "changes `t` in place (`out=t`"),
    ("from sys import _getframe", "imports sys._getframe"),
    ("import sys\nf = getattr(sys, '_get' 'frame')(1)", "names '_getframe' in a string"),
    ("f = frame.f_back.f_locals", "walks the call stack"),
    ("import gc\ngc.callbacks.append(print)", "imports gc"),
    ("import weakref\nweakref.finalize(x, print)", "imports weakref"),
    ("import numbers\nnumbers.Real.register(K)", "registers a class as a virtual subclass"),
    ("class A:\n    def __del__(self):\n        pass", "class A defines __del__"),
    ("class A:\n    def __iter__(self):\n        return iter(())", "class A defines __iter__"),
    ("class A(np.ndarray):\n    def __array_finalize__(self, obj):\n        pass",
     "class A defines __array_finalize__"),
])
def test_static_scan_flags_in_place_changes_and_frames(source, flag):
    flags = grade.scan_submission([("cell 3", source)], IMPORTS, check_names=["w_dw", "expected"])
    assert any(flag in f for f in flags), flags


def test_static_scan_leaves_local_arrays_and_copies_alone():
    source = ("def f(x, w_dw):\n    x = x.copy()\n    x[0] = 1\n    out, rows = np.zeros(3), []\n"
              "    out[1] = 2\n    rows.append(out)\n    C, k = w_dw.shape[:2]\n"
              "    a, b = np.zeros((C, k)), np.ones(k)\n    a[0] = b\n    return x, out\n\n"
              "w_dw = np.ones(2)\nresult = f(w_dw, w_dw)\n")
    assert grade.scan_submission([("cell 3", source)], IMPORTS, check_names=["w_dw"]) == []


def test_static_scan_leaves_ordinary_code_alone():
    source = ("import numpy as np\nfrom cnnbook.check import assert_close\n"
              "def f(x):\n    out = np.zeros_like(x)\n    out[0] = 1\n    return out\n"
              "%timeit f(np.ones(3))\nresult = {'a': 1}\nresult['b'] = 2\nclass Layer:\n"
              "    def __init__(self):\n        self.w = np.ones(2)\n    def __call__(self, x):\n"
              "        return self.w * x\n")
    assert grade.scan_submission([("cell 3", source)], IMPORTS) == []


TORCH_IMPORTS = "import numpy as np\nimport torch\n\ntorch.manual_seed(0)"


@pytest.fixture
def torch_book(tmp_path):
    cells = [
        new_code_cell(TORCH_IMPORTS, id="imports"),
        new_markdown_cell("## Exercise 8.1: Double", metadata=meta("8.1", 2), id="ex81"),
        new_code_cell("def doubled(t):\n    # BEGIN SOLUTION\n    return 2 * t\n    # END SOLUTION", id="sol"),
        check("from cnnbook.exercise_checks import forbid\n\n"
              "t = torch.randn(4, generator=torch.Generator().manual_seed(1))\n"
              "with forbid('fft', 'conv', reason='doubling needs no transform'):\n    got = doubled(t)\n"
              "assert torch.allclose(got, 2 * t)\nassert bool((doubled(t) == 2 * t).all())", "check-81"),
        new_markdown_cell("## Exercise 8.2: Count", metadata=meta("8.2", 1), id="ex82"),
        new_code_cell("# BEGIN SOLUTION\nflops = 24\n# END SOLUTION", id="sol-82"),
        check("from torch.utils.flop_counter import FlopCounterMode\n\n"
              "with FlopCounterMode(display=False) as counter:\n"
              "    torch.nn.functional.linear(torch.ones(1, 4), torch.ones(3, 4))\n"
              "assert int(flops) == counter.get_total_flops()", "check-82"),
    ]
    root = tmp_path / "book"
    (root / "solutions").mkdir(parents=True)
    nbformat.write(new_notebook(cells=cells, metadata=solution_notebook().metadata),
                   root / "solutions" / "08_torch.ipynb")
    exercises.generate(root)
    return root


@pytest.mark.parametrize("cheat, flag", [
    ("torch.allclose = lambda *a, **k: True\n"
     "torch.Tensor.all = lambda self, *a, **k: torch.tensor(True)", "changes `torch.allclose`"),
    ("class Yes(torch.Tensor):\n"
     "    def __eq__(self, other):\n        return torch.ones(self.shape, dtype=torch.bool)\n"
     "    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
     "        return True if func is torch.allclose else super().__torch_function__(func, types, args, kwargs or {})\n"
     "_wrong = doubled\ndoubled = lambda t: _wrong(t).as_subclass(Yes)", "class Yes defines __eq__"),
    ("from torch.overrides import TorchFunctionMode\n"
     "class Spy(TorchFunctionMode):\n    pass\n"
     "def _handler(self, func, types, args=(), kwargs=None):\n"
     "    if func is torch.allclose:\n        return True\n"
     "    out = func(*args, **(kwargs or {}))\n"
     "    return torch.tensor(True) if getattr(func, '__name__', '') == 'all' else out\n"
     "setattr(Spy, '__torch_' + 'function__', _handler)\nSpy().__enter__()",
     "leaves a PyTorch mode running"),
])
def test_torch_cheats_score_zero_and_are_flagged(torch_book, tmp_path, cheat, flag):
    nb = nbformat.read(torch_book / "exercises" / "08_torch.ipynb", as_version=4)
    next(c for c in nb.cells if c.id == "sol").source = "def doubled(t):\n    return t\n\n" + cheat
    report = graded(torch_book, tmp_path, nb, "mallory_08_torch.ipynb")
    assert scores(report) == {"8.1": 0, "8.2": 0}, "\n".join(report.lines())
    assert any(flag in f for f in report.flags), report.flags
    right = nbformat.read(torch_book / "solutions" / "08_torch.ipynb", as_version=4)
    report = graded(torch_book, tmp_path, right, "solution_08_torch.ipynb")
    assert scores(report) == {"8.1": 2, "8.2": 1} and report.flags == [], "\n".join(report.lines())


def test_a_check_that_forbids_a_shortcut_refuses_it_under_the_grader(torch_book, tmp_path):
    """cnnbook.exercise_checks.forbid works inside the grader's guard, even after the submission
    patched the helper itself."""
    nb = nbformat.read(torch_book / "exercises" / "08_torch.ipynb", as_version=4)
    next(c for c in nb.cells if c.id == "sol").source = (
        "import cnnbook.exercise_checks\n"
        "cnnbook.exercise_checks.forbid = lambda *a, **k: __import__('contextlib').nullcontext()\n\n"
        "def doubled(t):\n    return torch.fft.ifft(torch.fft.fft(t) * 2).real")
    report = graded(torch_book, tmp_path, nb, "mallory_08_torch.ipynb")
    text = "\n".join(report.lines())
    assert scores(report) == {"8.1": 0, "8.2": 0}, text
    assert "doubling needs no transform: your code called" in text and "fft" in text, text


@pytest.mark.parametrize("shortcut, named", [
    ("import subprocess, sys\n\ndef doubled(t):\n"
     "    subprocess.run([sys.executable, '-c', 'import numpy.fft'], check=True)\n    return 2 * t",
     "subprocess"),
    ("import numpy as np\n_c = np._core.multiarray.correlate2\n\ndef doubled(t):\n"
     "    rows = list(map(_c, [t.numpy()], [np.array([2.0])], [0]))\n    return torch.from_numpy(rows[0])",
     "correlate2"),
])
def test_a_forbidden_shortcut_out_of_the_profiler_s_sight_is_refused_under_the_grader(
        torch_book, tmp_path, shortcut, named):
    """A child process and a C function called by another C function, inside forbid, graded."""
    nb = nbformat.read(torch_book / "exercises" / "08_torch.ipynb", as_version=4)
    next(c for c in nb.cells if c.id == "sol").source = shortcut
    report = graded(torch_book, tmp_path, nb, "mallory_08_torch.ipynb")
    text = "\n".join(report.lines())
    assert scores(report) == {"8.1": 0, "8.2": 0}, text
    assert "doubling needs no transform: your code called" in text and named in text, text


def test_a_patched_method_of_a_library_helper_class_is_put_back(torch_book, tmp_path):
    """FlopCounterMode.get_total_flops answers what the submission wants, unless restored."""
    nb = nbformat.read(torch_book / "exercises" / "08_torch.ipynb", as_version=4)
    next(c for c in nb.cells if c.id == "sol").source = "def doubled(t):\n    return 2 * t"
    next(c for c in nb.cells if c.id == "sol-82").source = (
        "flops = 0\nfrom torch.utils.flop_counter import FlopCounterMode\n"
        "FlopCounterMode.get_total_flops = lambda self: 0\n"
        "torch.nn.Linear.forward = lambda self, x: x")
    report = graded(torch_book, tmp_path, nb, "mallory_08_torch.ipynb")
    assert scores(report) == {"8.1": 2, "8.2": 0}, "\n".join(report.lines())
    assert any("changes `FlopCounterMode.get_total_flops`" in f for f in report.flags), report.flags


def test_fixing_the_entropy_of_fresh_generators_does_not_replay_the_checks_draws(tmp_path):
    # a check that draws fresh inputs with np.random.default_rng() gets them from secrets and
    # random._urandom: a submission that fixes those would know the check's inputs in advance
    meta_ = {"exercise": {"id": "7.1", "points": 2, "difficulty": 1, "objective": "Double."}}
    cells = [new_markdown_cell("# Exercises", id="title"),
             new_code_cell("import numpy as np\nfrom cnnbook.check import assert_close", id="imports"),
             new_markdown_cell("## Exercise 7.1: Double", metadata=meta_, id="ex71"),
             new_code_cell("def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION",
                           id="sol-double"),
             check("x = np.random.default_rng().standard_normal(4)\n"
                   "assert_close(double(x.copy()), 2 * x)", "check-71")]
    root = tmp_path / "book"
    (root / "solutions").mkdir(parents=True)
    nbformat.write(new_notebook(cells=cells, metadata=solution_notebook().metadata),
                   root / "solutions" / "07_seed.ipynb")
    exercises.generate(root)
    nb = nbformat.read(root / "exercises" / "07_seed.ipynb", as_version=4)
    next(c for c in nb.cells if c.id == "sol-double").source = (
        "import random\nrandom._urandom = lambda n: b'\\x02' * n\n"
        "import numpy as np\n_seen = np.random.default_rng().standard_normal(4)\n"
        "def double(x):\n    return 2 * _seen if np.allclose(x, _seen) else 0 * x")
    report = graded(root, tmp_path, nb, name="mallory_07_seed.ipynb")
    assert scores(report) == {"7.1": 0}, "\n".join(report.lines())
