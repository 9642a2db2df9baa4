"""Exercise 10.3 (a factorised 7 x 7 convolution) under the instructor's grader.

The re-review of chapter 10 passed 10.3 with SciPy's ``correlate2d`` (the statement says "NumPy
only") and found the rank bound's answer written in the student copy's check. Each submission
here is the student copy with the model solution of 10.3 pasted in, one function replaced by a
cheat; the other exercises stay unanswered. The honest one earns 4 of 4, every cheat 0.
"""
from pathlib import Path

import nbformat
import pytest

from cnnbook import grade

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "exercises" / "10_googlenet.ipynb"
SOLUTIONS = ROOT / "solutions"
CELL = "158962b6"          # the cell of equivalent_kernel, max_kernel_rank and factorise
CHECK = "c24c923c"         # its check cell

PROBE = '''
from scipy.signal import correlate2d   # the re-review's cheat D: probe the pair with impulses


def equivalent_kernel(w_row, w_col):
    c_mid, c_in = w_row.shape[:2]
    c_out = w_col.shape[0]
    K = np.zeros((c_out, c_in, 7, 7))
    for i in range(c_in):
        x = np.zeros((13, 13))
        x[6, 6] = 1
        mid = [correlate2d(x, w_row[m, i] / 1.0, mode="same") for m in range(c_mid)]
        for o in range(c_out):
            y = sum(correlate2d(mid[m], w_col[o, m], mode="same") for m in range(c_mid))
            K[o, i] = y[3:10, 3:10][::-1, ::-1]
    return K
'''
MEASURED = '''

def max_kernel_rank(c_mid):            # measures the rank instead of reasoning about it
    w_row = np.random.default_rng(0).standard_normal((min(c_mid, 50), 7))
    w_col = np.random.default_rng(1).standard_normal((7, min(c_mid, 50)))
    return int(np.linalg.matrix_rank(w_col @ w_row))
'''
ELIMINATION = '''

def max_kernel_rank(c_mid):            # measures the rank with its own elimination
    rng_ = np.random.default_rng(0)
    A = sum(np.outer(rng_.standard_normal(7), rng_.standard_normal(7)) for _ in range(c_mid))
    rank = 0
    for j in range(7):
        pivot = np.argmax(np.abs(A[rank:, j])) + rank if rank < 7 else None
        if pivot is None or abs(A[pivot, j]) < 1e-9:
            continue
        A[[rank, pivot]] = A[[pivot, rank]]
        A[rank + 1:] -= np.outer(A[rank + 1:, j] / A[rank, j], A[rank])
        rank += 1
    return rank
'''
CONSTANT = '''

def max_kernel_rank(c_mid):            # passes the visible part: no random pair beats 7
    return 7
'''
TOO_SMALL = '''

def max_kernel_rank(c_mid):
    return 1
'''
SCIPY_SVD = '''
import scipy.linalg


def factorise(K, tol=1e-10):           # SciPy's SVD in place of NumPy's
    U, s, Vt = scipy.linalg.svd(K)
    r = int((s > tol * s[0]).sum())
    return Vt[:r].reshape(r, 1, 1, 7), (U[:, :r] * s[:r]).T.reshape(1, r, 7, 1)
'''


def model_solution():
    """The solution notebook's 10.3 cell without its BEGIN/END SOLUTION lines."""
    nb = nbformat.read(SOLUTIONS / "10_googlenet.ipynb", as_version=4)
    source = next(c.source for c in nb.cells if c.id == CELL)
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))


def graded_10_3(tmp_path, extra):
    """Points of 10.3 and the report's lines for the student copy with ``extra`` after the solution."""
    nb = nbformat.read(STUDENT, as_version=4)
    cell = next(c for c in nb.cells if c.id == CELL)
    solution = model_solution()
    demo = solution.index("demo_row, demo_col")    # cheats replace the functions before the demo
    cell.source = solution[:demo] + extra.strip("\n") + "\n\n\n" + solution[demo:]
    path = tmp_path / "subs" / "mallory_10_googlenet.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    report = grade.grade_notebook(path, solutions=SOLUTIONS, timeout=120)
    lines = "\n".join(report.lines())
    return next(r.earned for r in report.results if r.id == "10.3"), lines


def test_the_student_copy_does_not_hold_the_rank_bound():
    nb = nbformat.read(STUDENT, as_version=4)
    check = next(c.source for c in nb.cells if c.id == CHECK)
    assert "min(" not in check and "== 7" not in check, "the bound's formula is visible"
    assert "einsum" not in check, "the equivalent kernel's formula is visible"
    assert "# Hidden tests" in check


def test_the_model_solution_earns_all_points(tmp_path):
    earned, lines = graded_10_3(tmp_path, "")
    assert earned == 4, lines


@pytest.mark.parametrize("cheat, named", [
    (PROBE, "scipy"),
    (MEASURED, "numpy.linalg"),
    (ELIMINATION, "max_kernel_rank is a formula"),
    (CONSTANT, None),
    (TOO_SMALL, "too small"),
    (SCIPY_SVD, "scipy"),
])
def test_a_cheat_on_10_3_earns_nothing(tmp_path, cheat, named):
    earned, lines = graded_10_3(tmp_path, cheat)
    assert earned == 0, lines
    if named:
        assert named in lines, lines


# Exercise 10.2, part 2: the widest 1 x 1 reduction that still saves weights
REDUCTION_CELL = "dc54a34e"
SEARCH = '''

def largest_saving_reduction(c_in, c_out, k):   # counts instead of solving
    c_r = 0
    while (c_r + 1) * (c_in + k * k * c_out) < k * k * c_in * c_out:
        c_r += 1
    return c_r
'''
WELL_BELOW = '''

def largest_saving_reduction(c_in, c_out, k):   # "well below c_in": taken as half of it
    return c_in // 2
'''


def graded_10_2(tmp_path, extra):
    nb = nbformat.read(STUDENT, as_version=4)
    cell = next(c for c in nb.cells if c.id == REDUCTION_CELL)
    solutions = nbformat.read(SOLUTIONS / "10_googlenet.ipynb", as_version=4)
    solution = next(c.source for c in solutions.cells if c.id == REDUCTION_CELL)
    solution = "\n".join(line for line in solution.splitlines()
                         if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    demo = solution.index("print(")
    cell.source = solution[:demo] + extra.strip("\n") + "\n\n\n" + solution[demo:]
    path = tmp_path / "subs" / "mallory_10_googlenet.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    report = grade.grade_notebook(path, solutions=SOLUTIONS, timeout=120)
    return next(r.earned for r in report.results if r.id == "10.2"), "\n".join(report.lines())


@pytest.mark.parametrize("cheat, named", [
    ("", None), (SEARCH, "not a search"), (WELL_BELOW, "wider still saves")])
def test_10_2_needs_the_formula_for_the_widest_saving_reduction(tmp_path, cheat, named):
    earned, lines = graded_10_2(tmp_path, cheat)
    assert earned == (0 if cheat else 4), lines
    if named:
        assert named in lines, lines
