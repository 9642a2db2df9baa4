"""Auto-grade exercise notebooks.

    python -m cnnbook.grade exercises/01_fully_connected.ipynb      # one submission
    python -m cnnbook.grade submissions/ --csv grades.csv -j 2      # a folder, two at a time

A submission is run top to bottom in a fresh kernel. Only the cells that hold a solution are the
student's: every other code cell (imports, set-up, checks) is taken from the solution notebook,
matched by cell id, and put back if it was deleted. An exercise earns its points when every one
of its check cells passes. A broken cell only costs the exercise it belongs to: the run goes on;
a cell that runs out of time is interrupted; a cell that kills the kernel is left out and the
notebook is run again from the top without it. Exercises without a check cell (conceptual
answers) are listed for a human reader and not counted in the automatic total. The last line
printed for a notebook is ``total: EARNED / POSSIBLE``.

Hidden tests (see :mod:`cnnbook.exercises`): a check cell of a solution notebook may hold lines
between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` that the student copy does not
show. The grader runs the check cell of the solution notebook, hidden lines included, and a
failure's detail never quotes a hidden line or its message ("a hidden test failed"). A student
copy's check cell (hidden lines replaced by a comment) is not counted as edited. In the student
edition, whose references are the blank ``exercises/`` copies, the hidden lines are not there to
run: an exercise with hidden tests is reported as ``hidden`` (its visible checks passed, its
values are checked only by the instructor's grader) or ``failed`` (a visible check failed), and
it is left out of the local total, so that a student never sees full marks the instructor's
grader would not give.

Wrong answers cannot pass by changing what a check relies on: each check runs against restored
references (functions, classes, code and defaults of the libraries, built-ins the notebook hid),
never beside a thread the submission started, and sees the answers as plain values (see
``cnnbook/_grade_guard.py``); what cannot be prevented is flagged for a human by a static scan of
the submitted code (:func:`scan_submission`) and by the guard while the checks run: the report
prints ``flagged:`` lines, the CSV has a ``flagged`` column. The kernel refuses sockets, named
pipes, changes of process limits and new audit hooks; a whole notebook has a time budget
(``--total-timeout``) after which its kernel is killed.
The grader runs submitted code with your permissions: grade in a sandbox or a throwaway container.
"""
from __future__ import annotations

import argparse
import ast
import copy
import csv
import re
import secrets
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat

from cnnbook import _grade_guard
from cnnbook.exercises import STUB_MESSAGE, Exercise, hidden_text, list_exercises

__all__ = ["ExerciseResult", "GradeReport", "grade_notebook", "grade_path", "scan_submission",
           "write_csv", "write_answers", "main"]

BOOK_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOT = Path(__file__).resolve().parent
CELL_TIMEOUT = 300
SETUP_ID = "cnnbook-grader-setup"


def default_solutions() -> Path:
    """The book's ``solutions/``; in the student edition (which has none) its blank ``exercises/``."""
    solutions = BOOK_ROOT / "solutions"
    return solutions if solutions.is_dir() else BOOK_ROOT / "exercises"


@dataclass
class ExerciseResult:
    id: str
    points: float
    earned: float
    status: str  # "ok", "failed", "manual", "not run", "hidden"
    detail: str = ""
    answer: str = ""  # for a conceptual ("manual") exercise: the submitted answer text
    hidden: bool = False  # student edition: values checked only by the instructor's grader

    @property
    def counted(self) -> bool:
        """True if the exercise counts in the automatic total."""
        return self.status != "manual" and not self.hidden


@dataclass
class GradeReport:
    path: Path
    results: list[ExerciseResult] = field(default_factory=list)
    error: str = ""
    flags: list[str] = field(default_factory=list)  # what a human should look at (see scan_submission)

    @property
    def earned(self) -> float:
        return sum(r.earned for r in self.results if r.counted)

    @property
    def possible(self) -> float:
        return sum(r.points for r in self.results if r.counted)

    def lines(self) -> list[str]:
        out = [f"{self.path}"]
        if self.error:
            out.append(f"  note: {self.error}")
        for r in self.results:
            score = ("manual" if r.status == "manual" else f"-/{_fmt(r.points)}" if r.hidden
                     else f"{_fmt(r.earned)}/{_fmt(r.points)}")
            detail = f"  {r.detail}" if r.detail else ""
            out.append(f"  Exercise {r.id:<6} {score:>7}  {r.status}{detail}")
        manual = [r for r in self.results if r.status == "manual"]
        if manual:
            points = sum(r.points for r in manual)
            out.append(f"  to grade by hand: {', '.join(r.id for r in manual)} "
                       f"({_fmt(points)} point{'' if points == 1 else 's'})")
        hidden = [r for r in self.results if r.hidden]
        if hidden:
            points = sum(r.points for r in hidden)
            out.append(f"  checked only by the instructor's grader (hidden tests): "
                       f"{', '.join(r.id for r in hidden)} ({_fmt(points)} point{'' if points == 1 else 's'}, "
                       f"not in this total)")
        for flag in self.flags:
            out.append(f"  flagged: {flag}")
        out.append(f"total: {_fmt(self.earned)} / {_fmt(self.possible)}")
        return out


def _fmt(x: float) -> str:
    return f"{x:g}"


def _id_key(exercise_id: str):
    return tuple(int(p) for p in exercise_id.split("."))


# -- matching a submission with its solution notebook ----------------------------------------------

def find_solution(submission, path: Path, solutions: Path) -> Path:
    """The solution notebook a submission belongs to: from its metadata, else by file name."""
    named = submission.metadata.get("cnnbook", {}).get("solution")
    candidates = [solutions / named] if named else []
    candidates += [s for s in sorted(solutions.glob("*.ipynb")) if path.name.endswith(s.name)]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{path}: no solution notebook in {solutions} matches it "
                            f"(name the submission ..._NN_slug.ipynb)")


def _give_cells_ids(submission, reference) -> None:
    """Make sure every submitted cell has an id that can be matched with the reference.

    Notebooks saved by older tools (nbformat < 4.5, some online services) have no cell ids; if
    the submission has the reference's cells in the reference's order, they get its ids by
    position, otherwise fresh ones (its check cells are then put back from the reference).
    """
    ids = [cell.get("id") for cell in submission.cells]
    reference_ids = {cell.id for cell in reference.cells}
    if all(ids) and reference_ids & set(ids):
        return
    same_layout = len(submission.cells) == len(reference.cells) and all(
        a.cell_type == b.cell_type for a, b in zip(submission.cells, reference.cells))
    for k, cell in enumerate(submission.cells):
        cell["id"] = reference.cells[k].id if same_layout else f"submitted-{k}"


def _reference_imports(reference) -> str:
    """The import lines of the reference's first code cell."""
    first = next((cell for cell in reference.cells if cell.cell_type == "code"), None)
    lines = first.source.splitlines() if first else []
    return "\n".join(line for line in lines if re.match(r"^(import|from)\s", line))


_STUB = re.compile(re.escape(STUB_MESSAGE.format(id="XXX")).replace("XXX", r"\d+\.\d+"))


class _TopLevelNames(ast.NodeVisitor):
    """The names a module's code binds at its top level (and those its functions declare global)."""

    def __init__(self):
        self.names: set[str] = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def _scope(self, node):  # a new scope: only its name and its `global` declarations count
        if not isinstance(node, ast.Lambda):
            self.names.add(node.name)
        for inner in ast.walk(node):
            if isinstance(inner, ast.Global):
                self.names.update(inner.names)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope

    def _comprehension(self, node):  # its variables are its own; a walrus inside binds outside
        for inner in ast.walk(node):
            if isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name):
                self.names.add(inner.target.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Import(self, node):
        self.names.update((a.asname or a.name).partition(".")[0] for a in node.names)

    def visit_ImportFrom(self, node):
        if node.module != "builtins":  # `from builtins import max` binds the built-in itself
            self.visit_Import(node)

    def visit_ExceptHandler(self, node):
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)


def _top_level_names(sources) -> list[str]:
    """The names these cells' code binds at the notebook's top level."""
    names = set()
    for source in sources:
        try:
            tree = ast.parse(_magic_free(source)[0])
        except SyntaxError:
            continue
        visitor = _TopLevelNames()
        visitor.visit(tree)
        names |= visitor.names
    return sorted(names)


def _reference_names(reference) -> list[str]:
    """The names the reference's code cells bind at the notebook's top level."""
    return _top_level_names(c.source for c in reference.cells if c.cell_type == "code")


def _check_names(reference, exercises: list[Exercise]) -> list[str]:
    """The names the reference's check cells bind at the notebook's top level."""
    return _top_level_names(reference.cells[i].source for e in exercises for i in e.check_cells)


def _student_cells(reference) -> set[str]:
    """Ids of the reference's code cells a student writes in: a solution region, or its stub."""
    ids = set()
    for cell in reference.cells:
        if cell.cell_type == "code" and (re.search(r"^\s*#\s*BEGIN SOLUTION\b", cell.source, re.M)
                                         or _STUB.search(cell.source)):
            ids.add(cell.id)
    return ids


@dataclass
class _Plan:
    """A submission made ready to run: the notebook, its checks and what was changed in it."""
    nb: object
    checks: dict[str, int]          # check cell id -> index into the guard's list of checks
    student: dict[str, str]         # id -> "cell N" for the cells whose code is the student's
    flags: list[str]
    guard: str = ""                 # the guard's name in the kernel


def _prepare(submission, reference, exercises: list[Exercise], guard: str, secret: str,
             protected: tuple[str, ...] = ()) -> _Plan:
    """The cells to run: the submission's solution cells; every other code cell from the reference.

    Check cells and locked cells (imports, set-up, demonstrations) are matched by id and take
    the reference's source; deleted ones are put back after the nearest earlier reference cell
    still present. A check cell counts as edited unless it ends with the reference's text (an
    nbgrader copy adds the import lines before it). A first cell installs the guard; each check cell becomes ``<guard>.check(k)``.
    """
    nb = copy.deepcopy(submission)
    _give_cells_ids(nb, reference)
    flags = []
    check_of = {reference.cells[i].id: e for e in exercises for i in e.check_cells}
    editable = _student_cells(reference)
    locked = {cell.id: cell for cell in reference.cells
              if cell.cell_type == "code" and cell.id not in editable}
    for cell in nb.cells:
        ref = locked.get(cell.get("id"))
        if ref is None:
            continue
        if cell.id in check_of and not any(mine.endswith(text) for mine in _shown(cell.source)
                                           for text in _shown(ref.source)):
            flags.append(f"a check cell of exercise {check_of[cell.id].id} was edited "
                         f"(the solution's check ran instead)")
        cell.cell_type = "code"
        cell.source = ref.source
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    student = {cell.id: f"cell {k}" for k, cell in enumerate(nb.cells)
               if cell.cell_type == "code" and cell.id not in locked}
    position = {cell.id: k for k, cell in enumerate(nb.cells)}
    first_exercise = min((e.cells[0] for e in exercises), default=len(reference.cells))
    front = 0  # where a missing cell from before the first exercise goes if nothing precedes it
    for k, ref_cell in enumerate(reference.cells):
        if ref_cell.id in locked and ref_cell.id not in position:
            if ref_cell.id in check_of:
                flags.append(f"a check cell of exercise {check_of[ref_cell.id].id} was deleted (put back)")
            anchor = next((position[reference.cells[j].id] for j in range(k - 1, -1, -1)
                           if reference.cells[j].id in position), None)
            if anchor is None:
                anchor = front - 1 if k < first_exercise else len(nb.cells) - 1
                front += k < first_exercise
            nb.cells.insert(anchor + 1, nbformat.v4.new_code_cell(ref_cell.source, id=ref_cell.id))
            position = {cell.id: n for n, cell in enumerate(nb.cells)}
    checks, sources = {}, []
    for e in exercises:
        for n, i in enumerate(e.check_cells):
            checks[reference.cells[i].id] = len(sources)
            sources.append((f"{e.id}" + (f" #{n + 1}" if len(e.check_cells) > 1 else ""),
                            reference.cells[i].source))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if cell.id in checks:  # the check's source (hidden tests too) goes in only now
                cell.source = f"{guard}.check({checks[cell.id]}, {sources[checks[cell.id]][1]!r})"
    # the guard gets only the checks' import lines when it is installed (to load those modules
    # before the submission runs): an answer cell finds no check's code in the kernel
    imports_only = [(label, _import_lines(source)) for label, source in sources]
    # compiled under the name of its file: library code, which a check's budget of lines
    # (exercise_checks.limit_lines) does not count
    setup = (f"exec(compile({_GUARD_SOURCE!r}, {str(_GUARD_FILE)!r}, 'exec'), __cnnbook_ns := {{}})\n"
             f"__cnnbook_ns['install'](globals(), {guard!r}, {secret!r}, {_reference_imports(reference)!r}, "
             f"{imports_only!r}, {_reference_names(reference)!r}, {tuple(protected)!r})\n"
             f"del __cnnbook_ns")
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup, id=SETUP_ID))
    return _Plan(nb, checks, student, flags, guard)


def _protected_folders(solutions: Path, reference_path: Path, submission: Path) -> tuple[str, ...]:
    """The folders of model solutions a submission may not read while it is graded: the
    solutions graded against and the book's ``solutions/``, unless the submission sits in one
    (grading the model solutions themselves, or a student edition's blank copies)."""
    here = submission.resolve().parent
    folders = {Path(solutions).resolve(), reference_path.parent, (BOOK_ROOT / "solutions").resolve()}
    return tuple(sorted(str(f) for f in folders
                        if f.is_dir() and here != f and f not in here.parents))


def _import_lines(source: str) -> str:
    """The import statements of a check cell (at any depth), one a line, and nothing else."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    return "\n".join(ast.unparse(node) for node in ast.walk(tree)
                     if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0))


def _shown(source: str) -> set[str]:
    """A check cell's text, with and without its hidden tests (stripped of outer blank space)."""
    texts = {source.strip()}
    try:
        texts.add(hidden_text(source).strip())
    except Exception:  # noqa: BLE001 - markers a student broke: the text as it is
        pass
    return texts


_GUARD_FILE = Path(_grade_guard.__file__).resolve()
_GUARD_SOURCE = _GUARD_FILE.read_text(encoding="utf-8")


# -- running --------------------------------------------------------------------------------------

def _run_once(nb, cwd: Path, timeout: int, skip: set[str], quiet: set[str],
              prepare: dict[str, str] | None = None, deadline: float | None = None,
              steps: list | None = None):
    """Run the code cells not in ``skip`` in one fresh kernel; return (ran ids, id of a killer
    cell, whether the time budget ran out).

    Cells in ``quiet`` (the guard's set-up and the checks) run without being stored in the
    kernel's input history, where a submission could read them. Before a cell whose id is in
    ``prepare``, that source runs in a cell of its own (the guard's preparation of the check),
    appended to ``steps`` (the guard's flags are read from its output too).
    At ``deadline`` (``time.monotonic()``) the kernel is killed, whatever it is doing (a
    submission that broke the kernel's messaging can hang the client past any cell timeout).
    """
    import os
    import signal
    import threading
    import time

    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    prepare = prepare or {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    ran: set[str] = set()
    expired = threading.Event()

    def kill():
        expired.set()
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None) if client.km else None
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    watchdog = None
    try:
        with client.setup_kernel():
            if deadline is not None:
                watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), kill)
                watchdog.daemon = True
                watchdog.start()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or cell.id in skip:
                    continue
                if expired.is_set():
                    return ran, None, True
                try:
                    if cell.id in prepare:
                        step = nbformat.v4.new_code_cell(prepare[cell.id])
                        if steps is not None:
                            steps.append(step)
                        try:
                            client.execute_cell(step, index, store_history=False)
                        finally:  # nbclient stores the cell it ran at its index
                            nb.cells[index] = cell
                    client.execute_cell(cell, index, store_history=cell.id not in quiet)
                except Exception:  # DeadKernelError, or a timeout the kernel did not survive
                    return ran, (None if expired.is_set() else cell.id), expired.is_set()
                ran.add(cell.id)
    except DeadKernelError:  # the kernel died while shutting down; what ran, ran
        pass
    finally:
        if watchdog is not None:
            watchdog.cancel()
    return ran, None, expired.is_set()


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.get("name") == "stdout")


def default_total_timeout(checks: int) -> float:
    """The time budget of a whole notebook, in seconds: 10 minutes, and 2 more per check cell,
    at most an hour."""
    return float(min(3600, 600 + 120 * checks))


def _run(plan: _Plan, cwd: Path, timeout: int, secret: str, max_restarts: int = 3,
         total_timeout: float | None = None) -> tuple[dict[str, str], str, list[str]]:
    """Run every code cell; return {cell id: error text} for the cells that failed, a note and
    the flags the guard raised while the checks ran (a hidden built-in, a running thread).

    A cell that kills the kernel (or hangs past the timeout and cannot be interrupted) is
    recorded as failed; the notebook is then run again from the top in a fresh kernel without
    that cell, so the exercises after it are still graded. A check cell passes only if it ran
    without an error *and* printed its token.
    """
    import time

    nb = plan.nb
    skip: dict[str, str] = {}
    notes = []
    quiet = set(plan.checks) | {SETUP_ID}
    prepare = {cell_id: f"{plan.guard}.prepare({k})" for cell_id, k in plan.checks.items()}
    budget = total_timeout if total_timeout is not None else default_total_timeout(len(plan.checks))
    deadline = time.monotonic() + budget
    out_of_time = False
    for _ in range(max_restarts + 1):
        steps: list = []
        ran, killer, out_of_time = _run_once(nb, cwd, timeout, set(skip), quiet, prepare, deadline,
                                             steps)
        if out_of_time:
            notes.append(f"the notebook ran past its time budget of {budget:g} s (--total-timeout): "
                         f"the kernel was killed; cells not reached were not run")
            break
        if killer is None:
            break
        if killer == SETUP_ID:
            skip[killer] = "the grader could not set up the kernel"
            break
        index = next(k for k, cell in enumerate(nb.cells) if cell.id == killer)
        skip[killer] = "the kernel died (or hung) running this cell"
        notes.append(f"the kernel died running cell {index - 1}; re-ran the notebook without it")
    else:
        notes.append(f"gave up after {max_restarts} restarts; cells not reached were not run")
    failures = dict(skip)
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.id in failures:
            continue
        if cell.id not in ran:
            failures[cell.id] = ("not run (the notebook's time budget ran out)" if out_of_time
                                 else "not run")
            continue
        error = next((o for o in cell.outputs if o.output_type == "error"), None)
        if error is not None:
            failures[cell.id] = _describe_error(error, timeout)
        elif cell.id in plan.checks and _grade_guard.token(secret, plan.checks[cell.id]) not in _stdout(cell):
            failures[cell.id] = "the check did not finish (something in the submission interfered with it)"
    setup_error = failures.get(SETUP_ID)
    if setup_error:
        notes.insert(0, f"the grader's set-up failed: {setup_error}")
    prefix = f"[cnnbook grader: flag {_grade_guard.token(secret, 'flag')}] "
    flags = []
    for cell in [*nb.cells, *steps]:
        if cell.cell_type == "code":
            for line in _stdout(cell).splitlines():
                if line.startswith(prefix) and line[len(prefix):] not in flags:
                    flags.append(line[len(prefix):])
    return failures, "; ".join(notes), flags


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _describe_error(output, timeout: int | None = None) -> str:
    """``Name: message``; for a bare ``assert``, the failing line, so a student knows which check."""
    if output.ename == "KeyboardInterrupt" and timeout is not None:
        return f"timed out: the cell ran longer than {timeout} s (--timeout) and was interrupted"
    text = f"{output.ename}: {output.evalue}".strip()
    if not output.evalue:
        arrows = [line for line in (_ANSI.sub("", frame) for frame in output.get("traceback", []))
                  for line in line.splitlines() if re.match(r"^-*>\s*\d+", line.strip())]
        if arrows:
            text += " " + re.sub(r"^-*>\s*\d+\s*", "", arrows[-1].strip())
    return text[:200]


# -- the static scan ------------------------------------------------------------------------------

# Modules whose attributes a submission has no reason to set, and whose names it has no reason
# to touch through sys.modules or setattr.
_PROTECTED_ROOTS = {"numpy", "torch", "cnnbook", "builtins", "sys", "math", "operator", "IPython",
                    "ipykernel", "importlib", "ast", "linecache", "types", "unittest", "os"}
# Special methods through which an object can pass a comparison, a truth test or a conversion
# without holding the right value.
DUNDERS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__len__",
           "__float__", "__int__", "__index__", "__complex__", "__abs__", "__round__", "__sub__",
           "__rsub__", "__hash__", "__contains__", "__array__", "__array_ufunc__",
           "__array_function__", "__array_interface__", "__array_struct__", "__array_priority__",
           "__torch_function__", "__torch_dispatch__", "__getattr__", "__getattribute__",
           "__instancecheck__", "__subclasscheck__", "__class__", "__setattr__", "__delattr__",
           "__module__", "__qualname__", "__iter__", "__next__", "__del__", "__init_subclass__",
           "__array_finalize__", "__array_wrap__", "__mro_entries__", "__set_name__", "__get__"}
_VALUE_BASES = {"dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "str", "bytes",
                "ndarray", "Tensor", "OrderedDict", "defaultdict", "UserDict", "UserList", "Mock",
                "MagicMock", "NonCallableMock"}
_SUSPICIOUS_IMPORTS = {
    "unittest.mock": "mock objects", "mock": "mock objects", "ctypes": "raw memory access",
    "gc": "the garbage collector's object lists", "inspect": "frames and source introspection",
    "IPython": "the kernel's internals", "ipykernel": "the kernel's internals",
    "builtins": "the built-ins", "importlib": "the import system", "subprocess": "other processes",
    "signal": "signals", "threading": "threads", "_thread": "threads",
    "multiprocessing": "other processes", "concurrent": "threads or processes",
    "nbformat": "notebook files", "nbclient": "notebook execution",
    "jupyter_client": "kernels", "shutil": "file operations", "pickle": "code in data",
    "_posixsubprocess": "other processes", "pty": "other processes",
    "marshal": "code objects", "atexit": "exit hooks", "weakref": "finalisers that run later",
    "sys._getframe": "reads the caller's frame", "sys._current_frames": "reads the threads' frames",
    "traceback": "frames of a traceback", "cnnbook.grade": "the grader",
    "cnnbook._grade_guard": "the grader", "cnnbook.exercises": "the exercise tools",
    "cnnbook.exercise_checks": "the helper through which checks switch shortcuts off",
    "pytest": "test helpers that compare loosely", "_pytest": "test helpers that compare loosely",
    "hashlib": "hash functions: a digest of a small answer space can be searched",
    "tracemalloc": "the memory counter of the checks' budgets",
    "resource": "process limits, such as the checks' memory budget",
    **dict.fromkeys(["socket", "urllib", "http", "requests", "urllib3", "httpx", "xmlrpc", "ftplib",
                     "asyncio", "ssl", "selectors", "multiprocessing.connection", "zmq"],
                    "the network or a local connection: an answer server outside the grader"),
    **dict.fromkeys(["code", "codeop", "runpy", "timeit", "pdb", "bdb", "cProfile", "profile",
                     "doctest", "trace"],
                    "runs code from a string or a file (hidden from this scan)"),
}
_SUSPICIOUS_CALLS = {
    "exec": "runs code from a string (hidden from this scan)", "eval": "evaluates a string",
    "compile": "compiles code from a string", "__import__": "imports by name",
    "globals": "reads the notebook's namespace", "vars": "reads a namespace",
    "get_ipython": "reaches into the kernel", "exit": "asks the kernel to exit",
    "quit": "asks the kernel to exit", "breakpoint": "starts a debugger",
}
_SUSPICIOUS_NAMES = {"In": "reads the input history", "Out": "reads the output history",
                     "_ih": "reads the input history", "_oh": "reads the output history",
                     "__builtins__": "touches __builtins__"}
_SUSPICIOUS_ATTRIBUTES = {
    "_exit": "kills the process", "modules": None, "meta_path": "changes the import system",
    "path_hooks": "changes the import system", "_getframe": "reads the caller's frame",
    "settrace": "installs a trace function", "setprofile": "installs a profile function",
    "__dict__": "reaches into an object's attribute dictionary", "__globals__": "reaches into a "
    "function's globals", "__closure__": "reaches into a closure", "__code__": "replaces or reads "
    "code objects", "__subclasses__": "walks the class hierarchy", "__builtins__": "touches __builtins__",
    "f_locals": "reads a frame", "f_globals": "reads a frame", "f_back": "walks the call stack",
    "tb_frame": "walks a traceback's frames", "gi_frame": "reads a generator's frame",
    "__setattr__": "sets attributes through __setattr__", "__delattr__": "deletes attributes",
    "write_text": "writes a file", "write_bytes": "writes a file", "unlink": "deletes a file",
    "rmdir": "deletes a folder", "rmtree": "deletes a folder tree",
    "__defaults__": "replaces or reads default arguments", "__kwdefaults__": "replaces or reads "
    "default arguments", "_execution_engine": "runs autograd's engine directly", "run_backward":
    "runs autograd's engine directly",
    **dict.fromkeys(["register_module_forward_hook", "register_module_forward_pre_hook",
                     "register_module_backward_hook", "register_module_full_backward_hook",
                     "register_module_full_backward_pre_hook", "register_module_buffer_registration_hook",
                     "register_module_module_registration_hook",
                     "register_module_parameter_registration_hook"],
                    "a global module hook: it sees every module's call, the checks' too"),
    **dict.fromkeys(["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"],
                    "saved-tensors hooks: they see what autograd saves for the checks"),
    **dict.fromkeys(["input_transformers_post", "input_transformers_cleanup", "ast_transformers",
                     "input_transformer_manager", "prefilter_manager"],
                    "the kernel's transformers: they see every cell's source, the checks' too"),
    "addaudithook": "an audit hook: it sees the checks' code", "setrlimit": "changes a process "
    "limit (the checks' memory budget)", "prlimit": "changes a process limit", "mkfifo": "makes a "
    "named pipe (a channel to a program outside the grader)",
    **dict.fromkeys(["__array_interface__", "__array_struct__", "DummyArray"], "an array interface made by "
                    "hand: a strided view (sliding windows) without as_strided"),
    **dict.fromkeys(["_disable_current_modes", "_unset_dispatch_mode", "_set_dispatch_mode", "_pop_mode",
                     "_pop_mode_temporarily", "_pop_torch_dispatch_stack", "_pop_torch_function_stack",
                     "DisableTorchFunction", "DisableTorchFunctionSubclass", "_DisableTorchDispatch"],
                    "switches off PyTorch's dispatch or function modes, through which checks refuse "
                    "shortcuts"),
    **dict.fromkeys(["_sigtools", "_convolve2d", "_nd_image", "_correlateND"], "calls SciPy's private C "
                    "routines"),
}
# Names of frame and interpreter internals: as strings, they reach frames through getattr.
_FRAME_NAMES = {"_getframe": "reads the caller's frame", "f_back": "walks the call stack",
                "f_locals": "reads a frame", "f_globals": "reads a frame",
                "_current_frames": "reads the threads' frames", "currentframe": "reads a frame",
                "get_referrers": "searches the interpreter's objects",
                "get_objects": "searches the interpreter's objects", "tb_frame": "a traceback's frames"}
# Parts of the libraries a submission has no reason to reach, by dotted path (after resolving
# import aliases): the first one that a path starts with is flagged. Private parts (a name with
# one leading underscore) of these libraries are flagged too.
_LIBRARY_ROOTS = {"numpy", "scipy", "torch", "cnnbook"}
_PATHS = {
    "torch.utils._python_dispatch": "PyTorch's dispatch-mode internals, which can switch off the mode "
                                    "through which a check refuses shortcuts",
    "torch._C": "PyTorch's C internals",
    "torch.ops": "PyTorch's operators called directly, past the function modes of the checks",
    "torch.library": "kernels registered over PyTorch's operators, which would answer the checks' calls",
    "torch.autograd.graph": "saved-tensors and gradient hooks, which see the checks' tensors",
    "torch.autograd.forward_ad": "forward-mode automatic differentiation",
    "torch.func": "automatic differentiation transforms (grad, vjp, jvp)",
    "functorch": "automatic differentiation transforms (grad, vjp, jvp)",
    "scipy.signal._sigtools": "SciPy's private C routines",
    "scipy.ndimage._nd_image": "SciPy's private C routines",
    # Worth a look, not more: an FFT is a fair tool in some exercises (a sum of dice); where an
    # exercise asks for loops, its check switches FFTs off while the student's function runs.
    "numpy.fft": "an FFT; worth a look where an exercise asks for loops",
    "scipy.fft": "an FFT; worth a look where an exercise asks for loops",
    "scipy.fftpack": "an FFT; worth a look where an exercise asks for loops",
    "torch.fft": "an FFT; worth a look where an exercise asks for loops",
}
_OS_CALLS = {"remove", "unlink", "rename", "replace", "system", "kill", "popen", "fork", "killpg",
             "execv", "execl", "execvp", "spawnv", "truncate", "rmdir", "removedirs", "abort",
             "forkpty", "posix_spawn", "posix_spawnp", "execve", "execle", "execlp", "execlpe",
             "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnve", "spawnvp", "spawnvpe"}
_MAGICS_WITH_CODE = {"time", "timeit", "capture", "prun"}
_HARMLESS_MAGICS = {"matplotlib", "precision", "pprint", "config"}


def _magic_free(source: str) -> tuple[str, list[str]]:
    """``source`` with IPython magics removed (the code of ``%time``-like magics kept), and notes."""
    notes, lines = [], source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        name = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if name in _MAGICS_WITH_CODE:
            lines = [""] + lines[1:]
        else:
            return "", [f"line 1: runs the cell magic %%{name} (its content is not scanned)"]
    out = []
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        indent = line[:len(line) - len(stripped)]
        if stripped.startswith("!"):
            notes.append(f"line {number}: runs a shell command: {stripped[:60]!r}")
            out.append(indent + "pass")
        elif stripped.startswith("%"):
            name, _, rest = stripped.lstrip("%").partition(" ")
            if name in _MAGICS_WITH_CODE:
                out.append(indent + (re.sub(r"^(-\S+\s+)*", "", rest.strip()) or "pass"))
            else:
                if name not in _HARMLESS_MAGICS:
                    notes.append(f"line {number}: uses the magic %{name}")
                out.append(indent + "pass")
        else:
            out.append(line)
    return "\n".join(out), notes


def _dotted(node) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # an unusual node; the message only needs a name
        return type(node).__name__


def _root(node):
    """The name at the root of an attribute / subscript / call chain (``np`` in ``np.a.b[0]``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


class _Scanner(ast.NodeVisitor):
    """Collect what a human should look at in one cell of a submission."""

    def __init__(self, aliases: dict[str, str], checked: dict[str, str]):
        self.aliases = aliases      # name -> module path, for every import seen so far
        self.checked = checked      # names the checks import -> what they import
        self.found: list[tuple[int, str]] = []

    def flag(self, node, message: str) -> None:
        self.found.append((getattr(node, "lineno", 0), message))

    def protected(self, name) -> str | None:
        if name == "__builtins__":
            return "builtins"
        path = self.aliases.get(name)
        if path is not None and path.partition(".")[0] in _PROTECTED_ROOTS:
            return path
        return None

    # imports
    def _import(self, node, pairs):
        for bound, path in pairs:
            for module, why in _SUSPICIOUS_IMPORTS.items():
                if path == module or path.startswith(module + "."):
                    self.flag(node, f"imports {path} ({why})")
                    break
            if not self.library_path(node, path) and _SUSPICIOUS_ATTRIBUTES.get(path.rpartition(".")[2]):
                self.flag(node, f"imports {path} ({_SUSPICIOUS_ATTRIBUTES[path.rpartition('.')[2]]})")
            if path == "sys.modules":
                self.flag(node, "touches sys.modules")
            if bound in self.checked and self.checked[bound] != path:
                self.flag(node, f"rebinds `{bound}`, which the checks use, to {path}")
            self.aliases[bound] = path

    def visit_Import(self, node):
        for a in node.names:
            if not a.asname and "." in a.name:  # `import unittest.mock` binds `unittest`
                self._import(node, [(a.name, a.name)])
                del self.aliases[a.name]
        self._import(node, [(a.asname or a.name.partition(".")[0], a.name if a.asname else
                             a.name.partition(".")[0]) for a in node.names])

    def visit_ImportFrom(self, node):
        module = "." * node.level + (node.module or "")
        self._import(node, [(a.asname or a.name, f"{module}.{a.name}") for a in node.names])

    # bindings and stores
    def _store(self, target, node):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._store(element, node)
            return
        if isinstance(target, ast.Starred):
            self._store(target.value, node)
            return
        if isinstance(target, ast.Name):
            if target.id in self.checked:
                self.flag(node, f"rebinds `{target.id}`, which the checks use")
            elif target.id in ("__builtins__", "__name__"):
                self.flag(node, f"rebinds {target.id}")
            return
        if isinstance(target, ast.Attribute) and target.attr in DUNDERS:
            self.flag(node, f"sets the special method `{_dotted(target)}`")
        if isinstance(target, ast.Attribute) and target.attr == "strides":
            self.flag(node, f"sets `{_dotted(target)}` (a strided view: sliding windows without "
                            f"sliding_window_view)")
        root = _root(target)
        module = self.protected(root)
        if module is not None:
            self.flag(node, f"changes `{_dotted(target)}` (part of {module.partition('.')[0]})")

    def visit_Assign(self, node):
        for target in node.targets:
            self._store(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._store(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._store(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._store(target, node)

    def visit_For(self, node):
        self._store(node.target, node)
        self.generic_visit(node)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None:
                self._store(item.optional_vars, node)
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        self._store(node.target, node)
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in self.checked:
                self.flag(node, f"declares `{name}`, which the checks use, global")

    def _definition(self, node):
        if node.name in self.checked:
            self.flag(node, f"defines `{node.name}`, a name the checks use")

    def visit_FunctionDef(self, node):
        self._definition(node)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self._definition(node)
        for base in node.bases:
            name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
            if name in _VALUE_BASES:
                self.flag(node, f"class {node.name} subclasses {_dotted(base)}")
        for keyword in node.keywords:
            if keyword.arg == "metaclass":
                self.flag(node, f"class {node.name} has a metaclass")
        for item in node.body:
            names = []
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [item.name]
            elif isinstance(item, ast.Assign):
                names = [t.id for t in item.targets if isinstance(t, ast.Name)]
            for name in names:
                if name in DUNDERS:
                    self.flag(item, f"class {node.name} defines {name}")
        self.generic_visit(node)

    # uses
    def visit_Call(self, node):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in _SUSPICIOUS_CALLS and not (name == "vars" and node.args):
            self.flag(node, f"calls {name}() ({_SUSPICIOUS_CALLS[name]})")
        if name in ("setattr", "delattr") and node.args:
            module = self.protected(_root(node.args[0]))
            if module is not None:
                self.flag(node, f"calls {name}() on `{_dotted(node.args[0])}` (part of {module.partition('.')[0]})")
            if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value in DUNDERS:
                self.flag(node, f"calls {name}() on the special method {node.args[1].value}")
        if name in ("getattr", "hasattr") and len(node.args) > 1 and _root(node.args[0]) in self.aliases:
            attribute = node.args[1]
            if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
                base = self.path(node.args[0])
                self.library_path(node, base and f"{base}.{attribute.value}")
            else:
                self.flag(node, f"calls {name}() on `{_dotted(node.args[0])}` with a computed attribute name")
        called = self.path(func) if isinstance(func, (ast.Attribute, ast.Name)) else None
        if name == "__import__" or called in ("importlib.import_module", "importlib.__import__"):
            module = node.args[0] if node.args else None
            if isinstance(module, ast.Constant) and isinstance(module.value, str):
                self.library_path(node, module.value)
            else:
                self.flag(node, "imports a module whose name is computed")
        if name == "vars" and node.args and self.protected(_root(node.args[0])):
            self.flag(node, f"reads vars({_dotted(node.args[0])})")
        for keyword in node.keywords:
            if keyword.arg == "strides":
                self.flag(node, "passes strides= (a strided view: sliding windows without "
                                "sliding_window_view)")
            elif keyword.arg in DUNDERS:
                self.flag(node, f"passes the special method {keyword.arg} as a keyword")
        last = func.attr if isinstance(func, ast.Attribute) else name
        if last == "ndarray" and (len(node.args) > 2 or any(k.arg == "buffer" for k in node.keywords)):
            self.flag(node, "builds an ndarray on another array's memory (buffer=): a strided view")
        if name == "type" and len(node.args) == 3:
            self.flag(node, "creates a class with type(name, bases, namespace)")
        if name == "open" and _write_mode(node):
            self.flag(node, "opens a file for writing")
        last_name = func.attr if isinstance(func, ast.Attribute) else name
        if last_name in ("open", "Path", "fdopen") and node.args and _outside(node.args[0]):
            self.flag(node, f"opens {_dotted(node.args[0])[:60]}, outside the notebook's folder "
                            f"(a file or a named pipe another program may write)")
        if isinstance(func, ast.Attribute) and func.attr == "register" and node.args:
            self.flag(node, f"calls {_dotted(func)}() (registers a class as a virtual subclass: "
                            f"isinstance() then says yes)")
        if isinstance(func, ast.Attribute) and func.attr in _FRAME_NAMES and func.attr != "tb_frame":
            self.flag(node, f"calls .{func.attr}() ({_FRAME_NAMES[func.attr]})")
        if isinstance(func, ast.Attribute):
            root = _root(func)
            if self.aliases.get(root) == "os" and func.attr in _OS_CALLS:
                self.flag(node, f"calls os.{func.attr}()")
            if self.aliases.get(root) in ("sys",) and func.attr == "exit":
                self.flag(node, "calls sys.exit()")
        self.generic_visit(node)

    def path(self, node) -> str | None:
        """The dotted path an attribute chain names, with its root's import resolved, if known."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.aliases:
            return None
        return ".".join([self.aliases[node.id], *reversed(parts)])

    def library_path(self, node, path: str | None) -> bool:
        """Flag a path into a library part listed in _PATHS, or into a private part of one."""
        if not path or path.partition(".")[0] not in _LIBRARY_ROOTS | {"functorch"}:
            return False
        for prefix, why in _PATHS.items():
            if path == prefix or path.startswith(prefix + "."):
                self.flag(node, f"uses `{prefix}` ({why})")
                return True
        parts = path.split(".")
        for k, part in enumerate(parts):
            if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
                why = _SUSPICIOUS_ATTRIBUTES.get(part) or f"a private part of {parts[0]}"
                self.flag(node, f"uses `{'.'.join(parts[:k + 1])}` ({why})")
                return True
        return False

    def visit_Attribute(self, node):
        if self.library_path(node, self.path(node)):
            pass
        elif node.attr in _SUSPICIOUS_ATTRIBUTES:
            root = _root(node)
            if node.attr == "modules":
                if self.aliases.get(root) == "sys":
                    self.flag(node, "touches sys.modules")
            elif node.attr == "_exit" and self.aliases.get(root) != "os":
                pass
            elif not (node.attr in ("unlink", "rmdir") and self.aliases.get(root) == "os"):
                self.flag(node, f"uses `.{node.attr}` ({_SUSPICIOUS_ATTRIBUTES[node.attr]})")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in _SUSPICIOUS_NAMES:
            self.flag(node, _SUSPICIOUS_NAMES[node.id])

    def visit_Constant(self, node):
        if isinstance(node.value, str) and node.value in DUNDERS:
            self.flag(node, f"names the special method {node.value!r}")
        elif isinstance(node.value, str) and node.value in _FRAME_NAMES:
            self.flag(node, f"names {node.value!r} in a string (frames: {_FRAME_NAMES[node.value]})")


def _outside(node) -> bool:
    """Whether a path given as a constant string leaves the notebook's folder (``/``, ``~``, ``..``)."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    path = node.value.strip()
    return path.startswith(("/", "~", "\\")) or ".." in Path(path).parts


def _write_mode(call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and bool(set(mode.value) & set("wax+"))


def _aliases(source: str) -> dict[str, str]:
    """Names bound by the import statements of ``source`` -> the module path each one names."""
    names = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.partition(".")[0]] = a.name if a.asname else a.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


_IN_PLACE_METHODS = {"fill", "resize", "sort", "put", "itemset", "setfield", "partition", "byteswap",
                     "setflags", "clear", "update", "append", "extend", "insert", "pop", "popitem",
                     "remove", "setdefault", "__setitem__", "__delitem__", "__iadd__", "__imul__"}
_IN_PLACE_FUNCTIONS = {"copyto", "put", "place", "putmask", "put_along_axis", "fill_diagonal",
                       "setattr", "delattr"}


class _InPlace(ast.NodeVisitor):
    """Flag code that changes in place an object the checks hold: a name a check cell defines
    (``w_dw[...] = 0`` at the top level of a cell), or an argument a function of the notebook is
    given (``x[...] = 0``, ``for a in (x, w): a.fill(0)``: the check's arrays, when a check calls
    it, which it may compare with afterwards)."""

    def __init__(self, check_names):
        self.check_names = set(check_names)
        self.tainted = [set(self.check_names)]  # per scope: names that hold the checks' objects
        self.found: list[tuple[int, str]] = []

    def _held(self, node) -> str | None:
        root = _root(node)
        return root if root in self.tainted[-1] else None

    def _flag(self, node, root, how):
        what = ("a name the checks define" if root in self.check_names and len(self.tainted) == 1
                else "an argument of the function: the caller's object, a check's array")
        self.found.append((node.lineno, f"changes `{root}` in place ({how}; {what})"))

    def visit_ClassDef(self, node):
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.visit_FunctionDef(statement, method=True)
            else:
                self.visit(statement)

    def visit_FunctionDef(self, node, method=False):
        params = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
        params = params[1:] if method else params  # a method's self: the object's own state
        params += [a.arg for a in (node.args.vararg, node.args.kwarg) if a is not None]
        local = set()
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                local.add(inner.id)
        declared = {n for inner in ast.walk(node) if isinstance(inner, ast.Global) for n in inner.names}
        outer = {n for n in self.tainted[0] if n not in local or n in declared}
        self.tainted.append(outer | {p for p in params if p not in local})
        for statement in node.body:
            self.visit(statement)
        self.tainted.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    def _alias(self, targets, value):
        """``a = x``, ``a = x[0]``, ``a, b = x, w``, ``for a in (x, w)``: ``a`` holds ``x``."""
        held = self.tainted[-1]
        for target in targets:
            if isinstance(target, ast.Name):
                values = value.elts if isinstance(value, (ast.Tuple, ast.List, ast.Set)) else [value]
                if any(isinstance(v, (ast.Name, ast.Subscript, ast.Starred)) and _root(v) in held
                       for v in values):
                    held.add(target.id)
            elif isinstance(target, (ast.Tuple, ast.List)):
                if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                    for t, v in zip(target.elts, value.elts):
                        self._alias([t], v)
                elif isinstance(value, ast.Name) and value.id in held:
                    self._alias(target.elts, value)

    def visit_For(self, node):
        held = self.tainted[-1]
        if isinstance(node.iter, (ast.Tuple, ast.List, ast.Set)) and isinstance(node.target, ast.Name):
            if any(_root(v) in held for v in node.iter.elts if isinstance(v, (ast.Name, ast.Subscript))):
                held.add(node.target.id)
        elif isinstance(node.target, ast.Name):
            self._alias([node.target], node.iter)
        self.generic_visit(node)

    def _stores(self, targets, node, how):
        for target in targets:
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if isinstance(t, (ast.Subscript, ast.Attribute)) and self._held(t):
                    self._flag(node, self._held(t), how(t))

    def visit_Assign(self, node):
        self._stores(node.targets, node, lambda t: f"`{_dotted(t)} = ...`")
        self._alias(node.targets, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if self._held(node.target):
            self._flag(node, self._held(node.target), f"`{_dotted(node.target)} "
                                                     f"{_dotted(node).split()[1]} ...`")
        self.generic_visit(node)

    def visit_Delete(self, node):
        self._stores(node.targets, node, lambda t: f"`del {_dotted(t)}`")

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute) and self._held(func.value) and (
                func.attr in _IN_PLACE_METHODS or (func.attr.endswith("_") and not func.attr.endswith("__"))):
            self._flag(node, self._held(func.value), f"`.{func.attr}(...)`")
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if last in _IN_PLACE_FUNCTIONS and node.args and self._held(node.args[0]):
            self._flag(node, self._held(node.args[0]), f"`{last}({_dotted(node.args[0])}, ...)`")
        for keyword in node.keywords:
            if keyword.arg == "out" and self._held(keyword.value):
                self._flag(node, self._held(keyword.value), f"`out={_dotted(keyword.value)}`")
        self.generic_visit(node)


def scan_submission(cells: list[tuple[str, str]], reference_imports: str = "",
                    check_names=()) -> list[str]:
    """Flag what a human should look at in the submitted code ``cells`` (``(label, source)`` pairs).

    The scan does not change a score: it points an instructor at code that rebinds attributes of
    ``numpy``, ``torch``, ``cnnbook``, ``sys`` or the built-ins, edits ``sys.modules``, rebinds a
    name the checks use, defines comparison or conversion special methods (``__eq__``,
    ``__bool__``, ``__float__``, ``__array__``, ...), subclasses a value type, imports mock
    objects or the kernel's internals, reads frames or namespaces, runs code from strings,
    writes or deletes files, or exits the process. It also flags what reaches past the checks'
    switched-off shortcuts: PyTorch's dispatch-mode internals (``torch.utils._python_dispatch``),
    ``torch._C``, ``torch.ops``, autograd's engine (``_execution_engine``, ``run_backward``),
    ``torch.autograd.forward_ad``, ``torch.func``, private parts of NumPy, SciPy, PyTorch and
    ``cnnbook`` (SciPy's ``_sigtools``, ``_nd_image``, ...), imports of computed module names,
    ``getattr`` on a module with a computed name, the default arguments of functions, strided
    views built by hand (``strides=``, ``.strides = ...``, ``np.ndarray`` on another array's
    buffer, ``__array_interface__``, ``DummyArray``) and other processes (``pty``,
    ``_posixsubprocess``, ``os.posix_spawn``, ``os.exec*``). FFT
    modules (``np.fft``, ``scipy.fft``, ``torch.fft``) are flagged as worth a look only: an FFT
    is a fair tool in some exercises, and the checks of those that ask for loops switch it off
    (:mod:`cnnbook.exercise_checks`).
    """
    checked = _aliases(reference_imports) if reference_imports else {}
    aliases = dict(checked)
    aliases.setdefault("sys", "sys")
    flags = []
    for label, source in cells:
        code, notes = _magic_free(source)
        flags += [f"{label}, {note}" for note in notes]
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        scanner = _Scanner(aliases, checked)
        scanner.visit(tree)
        in_place = _InPlace(check_names)
        in_place.visit(tree)
        seen = set()
        for line, message in sorted(scanner.found + in_place.found, key=lambda found: found[0]):
            if (line, message) not in seen:
                seen.add((line, message))
                flags.append(f"{label}, line {line}: {message}")
    return flags


# -- files a submission must not change -----------------------------------------------------------

class _Baseline:
    """The bytes of the files a submission must not change, to name the ones it changed.

    The grader does not write them back (someone may be editing them on purpose); the solution
    notebooks are read before any submission runs, so a changed one does not affect the grades
    of the run, but a changed ``cnnbook`` file affects every later kernel: restore it and grade
    again, in a sandbox.
    """

    def __init__(self, files):
        self.files, self.reported = {}, set()
        for path in files:
            try:
                self.files[Path(path).resolve()] = Path(path).read_bytes()
            except OSError:
                pass

    @classmethod
    def of(cls, solutions: Path, submissions=()):
        files = list(Path(solutions).glob("*.ipynb")) + [p for p in PACKAGE_ROOT.rglob("*.py")
                                                         if "__pycache__" not in p.parts]
        return cls(files + [Path(p) for p in submissions])

    def changed(self) -> list[str]:
        """The files that changed or disappeared since the baseline was taken."""
        changed = []
        for path, data in self.files.items():
            try:
                same = path.read_bytes() == data
            except OSError:
                same = False
            if not same:
                changed.append(str(path))
        return changed


# -- grading --------------------------------------------------------------------------------------

def _read(path: Path):
    return nbformat.read(path, as_version=4)


def grade_notebook(path: str | Path, *, solutions: str | Path | None = None,
                   timeout: int = CELL_TIMEOUT, references: dict | None = None,
                   baseline: _Baseline | None = None,
                   total_timeout: float | None = None) -> GradeReport:
    """Run one submission and score it exercise by exercise.

    ``references`` maps solution notebook paths to notebooks already read (a grading run reads
    them once, before any submission runs); ``baseline`` holds the files a submission must not
    change (by default: the solution notebooks, the cnnbook package and the submission itself).
    ``total_timeout`` is the time budget of the whole notebook in seconds (by default
    :func:`default_total_timeout`): when it runs out the kernel is killed, the cells not reached
    score nothing and the report's note says so.
    """
    path = Path(path)
    solutions = Path(solutions) if solutions else default_solutions()
    references = {} if references is None else references
    report = GradeReport(path)
    reference_path = None
    try:
        submission = nbformat.read(path, as_version=4)
        reference_path = find_solution(submission, path, solutions).resolve()
        if reference_path not in references:
            references[reference_path] = _read(reference_path)
        reference = references[reference_path]
        exercises = list_exercises(reference, name=str(reference_path), require_solutions=False)
    except Exception as error:
        report.error = f"cannot grade: {type(error).__name__}: {error}"
        if reference_path is not None:
            try:
                exercises = list_exercises(_read(reference_path), require_solutions=False)
                report.results = [ExerciseResult(e.id, e.points, 0, "failed" if e.graded else "manual")
                                  for e in exercises]
            except Exception:
                pass
        return report
    baseline = baseline or _Baseline.of(solutions, [path])
    plan = None
    secret, guard = secrets.token_hex(16), f"_cnnbook_guard_{secrets.token_hex(6)}"
    try:
        plan = _prepare(submission, reference, exercises, guard, secret,
                        _protected_folders(solutions, reference_path, path))
        report.flags += plan.flags
        labelled = [(plan.student[cell.id], cell.source) for cell in plan.nb.cells
                    if cell.get("id") in plan.student]
        report.flags += scan_submission(labelled, _reference_imports(reference), _check_names(reference, exercises))
        failures, report.error, found = _run(plan, path.parent.resolve(), timeout, secret,
                                                total_timeout=total_timeout)
        report.flags += found
    except Exception as error:  # whatever goes wrong with one submission stays with it
        report.error = f"cannot run: {type(error).__name__}: {error}"
        failures = {reference.cells[i].id: "not run" for e in exercises for i in e.cells}
    finally:
        changed = [c for c in baseline.changed() if c not in baseline.reported]
        if changed:
            baseline.reported.update(changed)
            report.flags.append(f"files changed while this submission ran: {', '.join(changed)}")
    submitted = {cell.get("id"): cell for cell in plan.nb.cells} if plan is not None else {}
    for e in exercises:
        if e.graded and e.hidden_here:  # the student edition: the hidden lines are not here
            check_ids = [reference.cells[i].id for i in e.check_cells]
            problems = [failures[c] for c in check_ids if c in failures]
            if not problems:
                report.results.append(ExerciseResult(
                    e.id, e.points, 0, "hidden", "visible checks passed; the values are checked only "
                    "by the instructor's grader", hidden=True))
            else:
                first = next(failures[reference.cells[i].id] for i in e.cells
                             if reference.cells[i].id in failures)
                status = "not run" if all(p == "not run" for p in problems) else "failed"
                report.results.append(ExerciseResult(e.id, e.points, 0, status, first, hidden=True))
            continue
        if not e.graded:
            answer = "\n\n".join(submitted[reference.cells[i].id].source.strip() for i in e.solution_cells
                                 if reference.cells[i].id in submitted)
            report.results.append(ExerciseResult(e.id, e.points, 0, "manual", answer=answer))
            continue
        check_ids = [reference.cells[i].id for i in e.check_cells]
        problems = [failures[c] for c in check_ids if c in failures]
        if not problems:
            report.results.append(ExerciseResult(e.id, e.points, e.points, "ok"))
        else:
            status = "not run" if all(p == "not run" for p in problems) else "failed"
            # Name the first error in the exercise (often the solution cell), not only its symptom.
            first = next(failures[reference.cells[i].id] for i in e.cells
                         if reference.cells[i].id in failures)
            if any(_quotes_hidden(first, reference.cells[i].source) for i in e.hidden_cells):
                first = "a hidden test failed (the values are checked by the instructor's grader)"
            report.results.append(ExerciseResult(e.id, e.points, 0, status, first))
    return report


def _hidden_lines(source: str) -> str:
    """The text of the hidden-test lines of a check cell (empty if it has none)."""
    full, shown = source.splitlines(), set(hidden_text(source).splitlines())
    return "\n".join(line for line in full if line not in shown)


def _quotes_hidden(detail: str, source: str) -> bool:
    """True if a failure's ``detail`` quotes a hidden line of check ``source`` or its message."""
    hidden = _hidden_lines(source)
    if not hidden:
        return False
    shown = hidden_text(source)
    message = detail.partition(": ")[2].strip()
    if len(message) >= 4 and message[:60] in hidden and message[:60] not in shown:
        return True
    quoted = [line.strip() for line in hidden.splitlines() if len(line.strip()) >= 6
              and not line.strip().startswith("#") and line.strip() not in shown]
    return any(line[:60] in detail for line in quoted)


def _notebooks(path: Path) -> list[Path]:
    if path.is_dir():
        notebooks = sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
        if not notebooks:
            raise FileNotFoundError(f"{path}: no .ipynb files to grade")
        return notebooks
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such notebook or folder")
    return [path]


_WORKER: dict = {}


def _init_worker(references, baseline, kwargs) -> None:
    _WORKER.update(references=references, baseline=baseline, kwargs=kwargs)


def _grade_in_worker(path: Path) -> GradeReport:
    return grade_notebook(path, references=_WORKER["references"], baseline=_WORKER["baseline"],
                          **_WORKER["kwargs"])


def grade_many(paths, *, solutions: str | Path | None = None, timeout: int = CELL_TIMEOUT,
               jobs: int = 1, progress: bool = False, on_report=None,
               total_timeout: float | None = None) -> list[GradeReport]:
    """Grade notebooks ``jobs`` at a time (each in its own process); reports in the given order.

    Every solution notebook is read before any submission runs, and the files a submission must
    not change are compared after each one (with ``jobs > 1`` a change may be flagged on a
    submission that ran at the same time as the culprit: grade flagged ones again with jobs=1).
    ``on_report(report)`` is called as each notebook finishes. With ``jobs > 1`` the workers
    are started with ``spawn``: a script that calls this must guard its top level with
    ``if __name__ == "__main__":`` (``python -m cnnbook.grade`` does).
    """
    from tqdm import tqdm

    paths = [Path(p) for p in paths]
    solutions = Path(solutions) if solutions else default_solutions()
    references = {p.resolve(): _read(p) for p in sorted(solutions.glob("*.ipynb"))}
    baseline = _Baseline.of(solutions, paths)
    kwargs = {"solutions": solutions, "timeout": timeout, "total_timeout": total_timeout}
    bar = tqdm(total=len(paths), desc="grading", unit="notebook", disable=not progress, file=sys.stderr)
    reports: dict[Path, GradeReport] = {}
    try:
        if jobs <= 1 or len(paths) <= 1:
            for path in paths:
                reports[path] = grade_notebook(path, references=references, baseline=baseline, **kwargs)
                bar.update()
                if on_report:
                    on_report(reports[path])
        else:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                                     initializer=_init_worker,
                                     initargs=(references, baseline, kwargs)) as pool:
                futures = {pool.submit(_grade_in_worker, p): p for p in paths}
                for future in as_completed(futures):
                    reports[futures[future]] = future.result()
                    bar.update()
                    if on_report:
                        on_report(reports[futures[future]])
    finally:
        bar.close()
    return [reports[p] for p in paths]


def grade_path(path: str | Path, *, jobs: int = 1, progress: bool = False, **kwargs) -> list[GradeReport]:
    """Grade one notebook, or every notebook in a folder (sorted by name)."""
    return grade_many(_notebooks(Path(path)), jobs=jobs, progress=progress, **kwargs)


def write_csv(reports: list[GradeReport], out: Path) -> None:
    ids = sorted({r.id for report in reports for r in report.results}, key=_id_key)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["notebook", *[f"ex {i}" for i in ids], "earned", "possible", "flagged", "note"])
        for report in reports:
            by_id = {r.id: ("manual" if r.status == "manual" else r.status if r.hidden else _fmt(r.earned))
                     for r in report.results}
            writer.writerow([str(report.path), *[by_id.get(i, "") for i in ids],
                             _fmt(report.earned), _fmt(report.possible), " | ".join(report.flags),
                             report.error])


def write_answers(reports: list[GradeReport], out: Path) -> None:
    """One Markdown file with every submission's answer to each exercise graded by hand."""
    lines = ["# Answers to grade by hand", ""]
    ids = sorted({r.id for report in reports for r in report.results if r.status == "manual"}, key=_id_key)
    for exercise_id in ids:
        lines += [f"## Exercise {exercise_id}", ""]
        for report in reports:
            for r in report.results:
                if r.id == exercise_id:
                    lines += [f"### {report.path.name} ({_fmt(r.points)} point{'' if r.points == 1 else 's'})", "",
                              r.answer or "*(no answer found)*", ""]
    out.write_text("\n".join(lines), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook.grade",
                                     description="Run exercise notebooks and print points per exercise.")
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    parser.add_argument("--solutions", type=Path, default=None,
                        help="folder of solution notebooks (default: the book's solutions/)")
    parser.add_argument("--csv", type=Path, default=None, help="also write one row per notebook to this CSV file")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds allowed per cell")
    parser.add_argument("--total-timeout", type=float, default=None,
                        help="seconds allowed for a whole notebook, after which its kernel is killed "
                             "(default: 600 + 120 per check cell, at most 3600)")
    parser.add_argument("--answers", type=Path, default=None,
                        help="also write the answers to the exercises graded by hand to this Markdown file")
    parser.add_argument("-j", "--jobs", type=int, default=1,
                        help="grade this many notebooks at a time, each in its own process (default: 1)")
    args = parser.parse_args(argv)
    try:
        paths = [notebook for path in args.paths for notebook in _notebooks(path)]
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("error: -j must be at least 1", file=sys.stderr)
        return 2
    show = (lambda report: print("\n".join(report.lines()), flush=True)) if args.jobs == 1 else None
    reports = grade_many(paths, solutions=args.solutions, timeout=args.timeout, jobs=args.jobs,
                         total_timeout=args.total_timeout,
                         progress=len(paths) > 1 and sys.stderr.isatty(), on_report=show)
    if show is None:
        for report in reports:
            print("\n".join(report.lines()), flush=True)
    flagged = [r for r in reports if r.flags]
    if len(reports) > 1:
        print(f"graded {len(reports)} notebooks; {len(flagged)} flagged for a human to look at")
    if args.csv:
        write_csv(reports, args.csv)
        print(f"wrote {args.csv} ({len(reports)} notebooks)")
    if args.answers:
        write_answers(reports, args.answers)
        print(f"wrote {args.answers} (answers to grade by hand)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
