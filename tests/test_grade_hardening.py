"""The grader's third round (issue 11): what this session's reviewers got past it.

Each test builds a small solution notebook of its own, a cheating submission that answers the
targeted exercises wrongly and cheats, and asserts that those exercises score zero and that the
cheat is refused or flagged; the solution notebook still gets full marks with no flag.
"""
import os
import socket
import threading

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnbook import exercise_checks, exercises, grade

KERNELSPEC = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def meta(id_, points):
    return {"exercise": {"id": id_, "points": points, "difficulty": 1, "objective": "An objective."}}


def check(source, id_):
    return new_code_cell(source, metadata={"tags": ["check"]}, id=id_)


def answer(id_, solution):
    return new_code_cell(f"# BEGIN SOLUTION\n{solution}\n# END SOLUTION", id=id_)


# Exercise 9.1's value is checked only by a hidden test; 9.2 and 9.3 bind `x` and `y` again in
# their checks (a name an answer cell may hold an object in); 9.4 runs under a memory budget.
NUMPY_CELLS = [
    new_code_cell("import numpy as np", id="imports"),
    new_markdown_cell("## Exercise 9.1: Predict", metadata=meta("9.1", 2), id="ex91"),
    answer("sol-91", "answer = 7919"),
    check("assert type(answer) is int, 'answer is an int'\n### BEGIN HIDDEN TESTS\n"
          "assert answer == 7919, 'the prediction is off'\n### END HIDDEN TESTS", "check-91"),
    new_markdown_cell("## Exercise 9.2: Scale", metadata=meta("9.2", 1), id="ex92"),
    answer("sol-92", "def scale(v, a):\n    return a * v"),
    check("x = np.random.default_rng(1).standard_normal(4)\nassert np.allclose(scale(x, 2.0), 2.0 * x)",
          "check-92"),
    new_markdown_cell("## Exercise 9.3: Shift", metadata=meta("9.3", 1), id="ex93"),
    answer("sol-93", "def shift(v, c):\n    return v + c"),
    check("y = np.random.default_rng(2).standard_normal(4)\nassert np.allclose(shift(y, 1.0), y + 1.0)",
          "check-93"),
    new_markdown_cell("## Exercise 9.4: Total", metadata=meta("9.4", 1), id="ex94"),
    answer("sol-94", "def total(v):\n    return float(np.sum(v))"),
    check("from cnnbook.exercise_checks import limit_memory\n\n"
          "z = np.arange(10.0)\nwith limit_memory(64):\n    got = total(z)\nassert got == 45.0", "check-94"),
]
NUMPY_FULL = {"9.1": 2, "9.2": 1, "9.3": 1, "9.4": 1}

TORCH_CELLS = [
    new_code_cell("import torch", id="imports"),
    new_markdown_cell("## Exercise 8.1: Double", metadata=meta("8.1", 1), id="ex81"),
    answer("sol-81", "def doubled(t):\n    return 2 * t"),
    check("t = torch.arange(5.0)\nassert torch.equal(doubled(t), 2 * t)", "check-81"),
    new_markdown_cell("## Exercise 8.2: A layer by hand", metadata=meta("8.2", 1), id="ex82"),
    answer("sol-82", "def linear_out(m, v):\n    return v @ m.weight.T + m.bias"),
    check("m = torch.nn.Linear(3, 2)\nv = torch.randn(4, 3)\n"
          "assert torch.allclose(linear_out(m, v), m(v))", "check-82"),
    new_markdown_cell("## Exercise 8.3: A gradient", metadata=meta("8.3", 1), id="ex83"),
    answer("sol-83", "def grad_of_square(v):\n    return 2 * v"),
    check("w = torch.randn(5, requires_grad=True)\n(w * w).sum().backward()\n"
          "assert torch.allclose(grad_of_square(w.detach()), w.grad)", "check-83"),
]
TORCH_FULL = {"8.1": 1, "8.2": 1, "8.3": 1}


def make_book(tmp_path, cells, name):
    root = tmp_path / "book"
    (root / "solutions").mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells, metadata=KERNELSPEC), root / "solutions" / name)
    exercises.generate(root)
    return root


@pytest.fixture
def numpy_book(tmp_path):
    return make_book(tmp_path, NUMPY_CELLS, "09_hardening.ipynb")


@pytest.fixture
def torch_book(tmp_path):
    return make_book(tmp_path, TORCH_CELLS, "08_hardening.ipynb")


def graded(book, tmp_path, answers, name="09_hardening.ipynb", **kwargs):
    """Grade the student copy of ``name`` with the cells ``answers`` (id -> source) filled in."""
    nb = nbformat.read(book / "exercises" / name, as_version=4)
    solutions = nbformat.read(book / "solutions" / name, as_version=4)
    right = {c.id: c.source for c in solutions.cells}
    for cell in nb.cells:
        if cell.id.startswith("sol-"):
            source = answers.get(cell.id, right[cell.id])
            cell.source = source.replace("# BEGIN SOLUTION\n", "").replace("\n# END SOLUTION", "")
    folder = tmp_path / "subs"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / f"mallory_{name}")
    kwargs.setdefault("timeout", 60)
    return grade.grade_notebook(folder / f"mallory_{name}", solutions=book / "solutions", **kwargs)


def scores(report):
    return {r.id: r.earned for r in report.results if r.status != "manual"}


def flagged(report, text):
    return any(text in f for f in report.flags)


def test_the_solutions_get_full_marks_and_no_flag(numpy_book, torch_book, tmp_path):
    for book, name, full in ((numpy_book, "09_hardening.ipynb", NUMPY_FULL),
                             (torch_book, "08_hardening.ipynb", TORCH_FULL)):
        report = graded(book, tmp_path, {}, name)
        assert scores(report) == full and report.flags == [], "\n".join(report.lines())


# -- 1. the checks' code, and the kernel's hooks that see a cell's source ---------------------------

READ_CLOSURE = '''import re
_main = __import__("__main__")
answer = 0


def _texts(value, depth=0):
    yield repr(value)[:100_000]
    if depth < 3 and isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item, depth + 1)
    if hasattr(value, "co_consts"):
        for item in value.co_consts:
            yield from _texts(item, depth + 1)


for _v in list(vars(_main).values()):
    if type(_v).__name__ == "SimpleNamespace" and hasattr(_v, "check"):
        for _cell in getattr(_v.check, "__clos" + "ure__"):
            for _text in _texts(_cell.cell_contents):
                _found = re.search(r"answer == (\\d+)", _text)
                if _found:
                    answer = int(_found.group(1))
'''
# Each one reads the prediction from the check cell's source (hidden tests included) as the
# kernel receives it, and answers with it.
SPIES = {
    "an input transformer": '''import re
answer = 0

def _spy(lines):
    found = re.search(r"answer == (\\d+)", "".join(lines))
    if found:
        globals()["answer"] = int(found.group(1))
    return lines

get_ipython().input_transformers_post.append(_spy)''',
    "an event callback": '''import re
answer = 0

def _spy(info):
    found = re.search(r"answer == (\\d+)", info.raw_cell)
    if found:
        globals()["answer"] = int(found.group(1))

get_ipython().events.register("pre_run_cell", _spy)''',
    "an AST transformer": '''import ast
import re
answer = 0

class _Spy(ast.NodeTransformer):
    def visit_Module(self, node):
        found = re.search(r"answer == (\\d+)", ast.unparse(node))
        if found:
            globals()["answer"] = int(found.group(1))
        return node

get_ipython().ast_transformers.append(_Spy())''',
    # registers itself again in the cell that prepares the check: the check refuses to run
    "a transformer that comes back": '''import re
answer = 0

def _spy(lines):
    text = "".join(lines)
    found = re.search(r"answer == (\\d+)", text)
    if found:
        globals()["answer"] = int(found.group(1))
    if ".prepare(" in text:
        return [text.rstrip() + "; get_ipython().input_transformers_post.append(_spy)\\n"]
    return lines

get_ipython().input_transformers_post.append(_spy)''',
}


def test_an_answer_cell_finds_no_check_code_in_the_guard(numpy_book, tmp_path):
    report = graded(numpy_book, tmp_path, {"sol-91": READ_CLOSURE})
    assert scores(report)["9.1"] == 0, "\n".join(report.lines())


@pytest.mark.parametrize("spy", list(SPIES))
def test_the_kernel_s_hooks_do_not_see_a_check_s_source(numpy_book, tmp_path, spy):
    report = graded(numpy_book, tmp_path, {"sol-91": SPIES[spy]})
    assert scores(report) == {**NUMPY_FULL, "9.1": 0}, "\n".join(report.lines())
    assert flagged(report, "put back as they were before each check") or flagged(
        report, "registered again just before a check"), report.flags


# -- 2. no network, no named pipe -------------------------------------------------------------------

def serve_once(server, reply=b"7919"):
    def run():
        try:
            connection, _ = server.accept()
            with connection:
                connection.sendall(reply)
        except OSError:
            pass
    threading.Thread(target=run, daemon=True).start()


FETCH = '''import socket
answer = 0
try:
    with socket.socket({family}) as _s:
        _s.settimeout(5)
        _s.connect({address!r})
        answer = int(_s.recv(16))
except Exception as error:
    print("no answer:", error)
'''


@pytest.mark.parametrize("family", ["AF_INET", "AF_UNIX"])
def test_an_answer_server_outside_the_grader_is_not_reached(numpy_book, tmp_path, family):
    if family == "AF_INET":
        server = socket.create_server(("127.0.0.1", 0))
        address = server.getsockname()
    else:
        address = str(tmp_path / "answers.sock")
        server = socket.socket(socket.AF_UNIX)
        server.bind(address)
        server.listen()
    with server:
        serve_once(server)
        report = graded(numpy_book, tmp_path, {"sol-91": FETCH.format(
            family=f"socket.{family}", address=address)})
    assert scores(report) == {**NUMPY_FULL, "9.1": 0}, "\n".join(report.lines())
    assert flagged(report, "uses a socket (socket.connect"), report.flags
    assert flagged(report, "imports socket (the network"), report.flags


def test_a_named_pipe_made_outside_is_not_opened(numpy_book, tmp_path):
    fifo = tmp_path / "answers.fifo"
    os.mkfifo(fifo)

    def write():
        try:
            fd = os.open(fifo, os.O_WRONLY)  # waits for a reader
            os.write(fd, b"7919")
            os.close(fd)
        except OSError:
            pass
    threading.Thread(target=write, daemon=True).start()
    cheat = f"answer = 0\ntry:\n    answer = int(open({str(fifo)!r}).read())\nexcept OSError as e:\n    print(e)"
    report = graded(numpy_book, tmp_path, {"sol-91": cheat})
    assert scores(report)["9.1"] == 0, "\n".join(report.lines())
    assert flagged(report, "opens a named pipe (FIFO)"), report.flags
    assert flagged(report, "outside the notebook's folder"), report.flags
    try:  # let the writer go
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    except OSError:
        pass


@pytest.mark.parametrize("source, flag", [
    ("import urllib.request", "imports urllib.request (the network"),
    ("from http.client import HTTPConnection", "imports http.client.HTTPConnection (the network"),
    ("import requests", "imports requests (the network"),
    ("from multiprocessing.connection import Client", "imports multiprocessing.connection"),
    ("data = open('/tmp/answers').read()", "outside the notebook's folder"),
    ("data = open('../answers.txt').read()", "outside the notebook's folder"),
    ("import os\nos.mkfifo('p')", "makes a named pipe"),
    ("import sys\nsys.addaudithook(print)", "an audit hook"),
    ("import torch\nlib = torch.library.Library('aten', 'IMPL')", "uses `torch.library`"),
    ("from torch.nn.modules.module import register_module_forward_hook",
     "a global module hook"),
    ("import torch\nh = torch.autograd.graph.saved_tensors_hooks(id, id)", "torch.autograd.graph"),
    ("get_ipython().ast_transformers.append(t)", "the kernel's transformers"),
    ("import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))", "changes a process limit"),
])
def test_the_scan_flags_the_third_round_s_routes(source, flag):
    found = grade.scan_submission([("cell 1", source)])
    assert any(flag in f for f in found), found


def test_the_scan_leaves_a_file_in_the_notebook_s_folder_alone():
    assert grade.scan_submission([("cell 1", "rows = open('data/rows.csv').read()")]) == []


# -- 3. a whole-notebook time budget; built-ins put back after each cell -----------------------------

def test_a_patched_int_does_not_hang_the_grader(numpy_book, tmp_path):
    cheat = ("import builtins\n\nclass _Yes(int):\n    def __eq__(self, other):\n        return True\n"
             "    __hash__ = int.__hash__\n\nbuiltins.int = _Yes\nanswer = _Yes(1)")
    report = graded(numpy_book, tmp_path, {"sol-91": cheat}, total_timeout=150)
    assert "time budget" not in report.error, "\n".join(report.lines())
    assert scores(report) == {**NUMPY_FULL, "9.1": 0}, "\n".join(report.lines())
    assert flagged(report, "replaces the built-in int"), report.flags


def test_a_notebook_past_its_time_budget_is_stopped_and_reported(numpy_book, tmp_path):
    report = graded(numpy_book, tmp_path, {"sol-93": "import time\ntime.sleep(600)"},
                    total_timeout=25)
    assert "time budget of 25 s" in report.error, "\n".join(report.lines())
    assert scores(report) == {"9.1": 2, "9.2": 1, "9.3": 0, "9.4": 0}, "\n".join(report.lines())
    assert "time budget ran out" in {r.id: r for r in report.results}["9.4"].detail


def test_the_default_time_budget_grows_with_the_checks_and_is_capped():
    assert grade.default_total_timeout(0) == 600
    assert grade.default_total_timeout(10) == 1800
    assert grade.default_total_timeout(100) == 3600


# -- 4. PyTorch's kernel overrides, saved-tensors hooks and global module hooks ----------------------

TORCH_CHEATS = {
    "sol-81": ("def doubled(t):\n    return t\n\n"
               "_lib = torch.library.Library('aten', 'IMPL')\n"
               "_lib.impl('equal', lambda a, b: True, 'CPU')"),
    "sol-82": ("def linear_out(m, v):\n    return torch.zeros(v.shape[0], m.out_features)\n\n"
               "from torch.nn.modules.module import register_module_forward_hook\n"
               "register_module_forward_hook(lambda module, args, out: torch.zeros_like(out))"),
    "sol-83": ("def grad_of_square(v):\n    return torch.zeros_like(v)\n\n"
               "torch.autograd.graph.saved_tensors_hooks(lambda t: t, torch.zeros_like).__enter__()"),
}


def test_the_torch_cheats_would_work_without_the_guard():
    import torch
    from torch.nn.modules.module import register_module_forward_hook

    lib = torch.library.Library("aten", "IMPL")
    lib.impl("equal", lambda a, b: True, "CPU")
    try:
        assert torch.equal(torch.zeros(2), torch.ones(2))
    finally:
        lib._destroy()
    handle = register_module_forward_hook(lambda module, args, out: torch.zeros_like(out))
    try:
        assert not torch.nn.Linear(2, 2)(torch.ones(1, 2)).any()
    finally:
        handle.remove()
    w = torch.ones(3, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, torch.zeros_like):
        (w * w).sum().backward()
    assert not w.grad.any()


def test_the_torch_hooks_are_removed_before_each_check(torch_book, tmp_path):
    report = graded(torch_book, tmp_path, TORCH_CHEATS, "08_hardening.ipynb")
    assert scores(report) == {"8.1": 0, "8.2": 0, "8.3": 0}, "\n".join(report.lines())
    for text in ("registers a kernel over PyTorch's operator aten/equal",
                 "registers a global module hook", "leaves a saved-tensors hook running"):
        assert flagged(report, text), (text, report.flags)


# -- 5 and 6. finalisers, process limits ----------------------------------------------------------

FINALISERS = {
    # `x` is bound again by 9.2's check: its old object dies there, and its __del__ would make
    # np.allclose say yes after the guard restored it
    "sol-92": ("def scale(v, a):\n    return v\n\n"
               "class _Bomb:\n    def __del__(self):\n        np.allclose = lambda *a, **k: True\n\n"
               "x = _Bomb()"),
    # the same with weakref.finalize on `y`, bound again by 9.3's check
    "sol-93": ("import weakref\n\ndef shift(v, c):\n    return v\n\n"
               "class _Box:\n    pass\n\ny = _Box()\n"
               "weakref.finalize(y, setattr, np, 'allclose', lambda *a, **k: True)"),
    # a higher memory cap, from inside the function the check runs under its budget
    "sol-94": ("import resource\n\ndef total(v):\n"
               "    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, "
               "resource.RLIM_INFINITY))\n    return float(np.sum(v))"),
}


def test_finalisers_and_process_limits(numpy_book, tmp_path):
    report = graded(numpy_book, tmp_path, FINALISERS)
    assert scores(report) == {**NUMPY_FULL, "9.2": 0, "9.3": 0, "9.4": 0}, "\n".join(report.lines())
    assert flagged(report, "registers a finaliser (weakref.finalize)"), report.flags
    assert flagged(report, "changes a process limit (resource.setrlimit): refused"), report.flags
    assert "refuses changes of process limits" in {r.id: r for r in report.results}["9.4"].detail


# -- 7. forbid(calls=("scipy",)) --------------------------------------------------------------------

def test_a_bare_module_name_forbids_the_whole_package():
    import numpy as np
    import scipy.signal

    for calls in (("scipy",), ("scipy.",)):
        with pytest.raises(AssertionError, match="scipy.signal.correlate2d"):
            with exercise_checks.forbid(calls=calls):
                scipy.signal.correlate2d(np.ones((3, 3)), np.ones((2, 2)))


def test_a_bare_name_that_is_no_module_still_names_a_function():
    def _row_normalize():
        return 1

    with pytest.raises(AssertionError, match="_row_normalize"):
        with exercise_checks.forbid(calls=("_row_normalize",)):
            _row_normalize()


@pytest.mark.parametrize("route", ["path", "symlink", "os.open"])
def test_a_submission_cannot_read_the_model_solutions(numpy_book, tmp_path, route):
    # a reviewer's answer cell opened the solution notebook on the grader's disk and ran its
    # cells: reading any file under the solutions folder is refused and flagged
    target = numpy_book / "solutions" / "09_hardening.ipynb"
    if route == "symlink":
        (tmp_path / "subs").mkdir(exist_ok=True)
        (tmp_path / "subs" / "notes").symlink_to(numpy_book / "solutions")
        target = tmp_path / "subs" / "notes" / "09_hardening.ipynb"
    read = (f"os.read(os.open({str(target)!r}, os.O_RDONLY), 10**6).decode()" if route == "os.open"
            else f"open({str(target)!r}).read()")
    cheat = (f"import os\nanswer = 0\ntry:\n    text = {read}\n"
             f"    answer = 7919 if '7919' in text else 0\nexcept OSError as e:\n    print(e)")
    report = graded(numpy_book, tmp_path, {"sol-91": cheat})
    assert scores(report)["9.1"] == 0, "\n".join(report.lines())
    assert flagged(report, "opens the model solutions"), report.flags


@pytest.mark.parametrize("source", [
    "import code\ncode.InteractiveInterpreter({}).runsource(text)",
    "from runpy import run_path",
    "import timeit\ntimeit.timeit(text, number=1)",
    "import doctest",
    "from cProfile import run",
])
def test_the_scan_flags_code_run_from_a_string_without_exec(source):
    # a reviewer hid a search from the scan (and from limit_lines) in code.InteractiveInterpreter
    found = grade.scan_submission([("cell 1", source)])
    assert any("runs code from a string or a file" in f for f in found), found
