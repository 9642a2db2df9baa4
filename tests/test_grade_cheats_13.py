"""Exercise 13.3 (shifts that keep the whole digit) under the instructor's grader.

The offset checks of 13.3 are hidden tests: the student copy must not show the helper that
lists the allowed offsets (pasted into an answer, it was half the solution), a submission
that calls the check's helpers by name must lose the points, so must a sampler that is not
uniform over the allowed offsets, and the model solution must earn them all.
"""
from pathlib import Path

import nbformat

from cnnbook import grade

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "exercises" / "13_training_in_practice.ipynb"
SOLUTIONS = ROOT / "solutions"
CELL = "977816f4"                      # the answer cell of 13.3
DEMO = "digits, _ = data.load_digits(16)"

# the answer that uses the check's own helper, which the old student copy showed
CALLS_THE_CHECK = '''
def shift_within(xb, rng, max_shift):
    out = np.zeros_like(xb)
    for i, image in enumerate(xb):
        options = sorted(allowed(image, max_shift))
        dy, dx = options[rng.integers(len(options))]
        out[i] = np.roll(image, (dy, dx), axis=(1, 2))
    return out
'''

# cuts nothing out because it never moves anything: fails "every allowed offset reached"
NEVER_MOVES = '''
def shift_within(xb, rng, max_shift):
    rng.integers(0, 2, size=len(xb))
    return np.array(xb, copy=True)
'''


# draws from [-m, m] and clips to the allowed range: every allowed offset is reached and
# nothing is cut, but the offsets at the edges of the range come up far too often
CLIPPED = '''
def shift_within(xb, rng, max_shift):
    out = np.zeros_like(xb)
    _, _, h, w = xb.shape
    for i, image in enumerate(xb):
        ink = np.argwhere((image != 0).any(axis=0))
        if len(ink) == 0:
            rng.integers(0, 1, size=2)
            out[i] = image
            continue
        (r0, c0), (r1, c1) = ink.min(axis=0), ink.max(axis=0)
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        dy, dx = int(np.clip(dy, -r0, h - 1 - r1)), int(np.clip(dx, -c0, w - 1 - c1))
        out[i] = np.roll(image, (dy, dx), axis=(1, 2))
    return out
'''


def model_solution():
    nb = nbformat.read(SOLUTIONS / "13_training_in_practice.ipynb", as_version=4)
    source = next(c.source for c in nb.cells if c.id == CELL)
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))


def graded(tmp_path, cheat=""):
    nb = nbformat.read(STUDENT, as_version=4)
    cell = next(c for c in nb.cells if c.id == CELL)
    solution = model_solution()
    demo = solution.index(DEMO)
    cell.source = solution[:demo] + cheat.strip("\n") + "\n\n\n" + solution[demo:]
    path = tmp_path / "subs" / "mallory_13_training_in_practice.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    report = grade.grade_notebook(path, solutions=SOLUTIONS, timeout=180)
    return {r.id: r for r in report.results}, "\n".join(report.lines())


def test_the_student_copy_hides_the_offset_helpers():
    nb = nbformat.read(STUDENT, as_version=4)
    checks = [c.source for c in nb.cells if "shift_within keeps" in c.source]
    assert len(checks) == 1
    for leak in ("def allowed", "def offsets_of", "rows[-1] + dy", "cols[0] + dx"):
        assert leak not in checks[0], leak


def test_the_model_solution_earns_all_points(tmp_path):
    results, lines = graded(tmp_path)
    assert results["13.3"].earned == 4, lines


def test_calling_the_check_helper_earns_nothing(tmp_path):
    results, lines = graded(tmp_path, CALLS_THE_CHECK)
    assert results["13.3"].earned == 0, lines


def test_an_augmentation_that_never_moves_earns_nothing(tmp_path):
    results, lines = graded(tmp_path, NEVER_MOVES)
    assert results["13.3"].earned == 0, lines


def test_a_clipped_not_uniform_draw_earns_nothing(tmp_path):
    results, lines = graded(tmp_path, CLIPPED)
    assert results["13.3"].earned == 0, lines
    assert "uniformly" in lines, lines          # failed on the draw, not on anything else
