"""Exercises 12.2 and 12.3 (Beyond ResNet) under the instructor's grader: the model solutions
earn full marks; the review's replay cheat earns nothing, and the student copy of 12.3's check
does not hold its references; nor does 12.1's (the re-review passed 12.1 by pasting the check's
references into the answer cell).

The fresh review of chapter 12 passed 12.2 by rebinding ``np.random.default_rng`` in the answer
cell to a seeded generator, replaying the check's draws, and looking the answers up by
``x.tobytes()`` (computed with PyTorch beforehand). The check now draws from
``Generator(PCG64(randbits(128)))``, seeded inside the check. Each submission is the student
copy with one exercise's model solution pasted in (and, for a cheat, code after it); the other
exercises stay unanswered.
"""
from pathlib import Path

import nbformat
import pytest

from cnnbook import grade

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "exercises" / "12_beyond_resnet.ipynb"
SOLUTIONS = ROOT / "solutions"
CELLS = {"12.2": "0750f727", "12.3": "2c559ae5"}
CHECK_12_3 = "f9ccf513"
CHECK_12_1 = "8d9e3895"

# the reviewer's cheat D: a replayable generator, the check's draws replayed, answers looked up
REPLAY = '''
_orig_rng = np.random.default_rng
np.random.default_rng = lambda *a, **k: _orig_rng(*(a or (12345,)), **k)
_answers = {}
check_rng = np.random.default_rng()
configs = [(6, 6, 1, 6), (8, 12, 2, 1), (5, 5, 1, 1)]
for _ in range(3):
    c_in, c_out = (int(v) for v in check_rng.integers(2, 9, size=2))
    configs.append((c_in, c_out, int(check_rng.choice([1, 2])),
                    int(check_rng.choice([1, 2, 3, 6]))))
for c_in, c_out, stride, t in configs:
    block = models.InvertedResidual(c_in, c_out, stride, t).double()
    with torch.no_grad():
        for name, param in block.named_parameters():
            param.copy_(torch.from_numpy(check_rng.normal(0, 0.5, param.shape)))
        for m in block.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.from_numpy(check_rng.normal(0, 0.5, c)))
                m.running_var.copy_(torch.from_numpy(check_rng.uniform(0.5, 2.0, c)))
    block.eval()
    x = check_rng.standard_normal((2, c_in, 9, 7)) * 2
    with torch.no_grad():
        _answers[x.tobytes()] = block(torch.from_numpy(x)).numpy()


def inverted_residual_forward(x, p, stride, expand_ratio):
    key = x.tobytes()
    if key in _answers:
        return _answers[key]
    return np.zeros((x.shape[0], 1, 1, 1))
'''


def model_solution(exercise):
    nb = nbformat.read(SOLUTIONS / "12_beyond_resnet.ipynb", as_version=4)
    source = next(c.source for c in nb.cells if c.id == CELLS[exercise])
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))


def graded(tmp_path, exercise, extra=""):
    """Points of ``exercise`` and the report's lines, for the student copy with its model
    solution followed by ``extra``."""
    nb = nbformat.read(STUDENT, as_version=4)
    cell = next(c for c in nb.cells if c.id == CELLS[exercise])
    cell.source = model_solution(exercise) + "\n\n\n" + extra.strip("\n") + "\n"
    path = tmp_path / "subs" / "mallory_12_beyond_resnet.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    report = grade.grade_notebook(path, solutions=SOLUTIONS, timeout=180)
    lines = "\n".join(report.lines())
    return next(r.earned for r in report.results if r.id == exercise), lines


@pytest.mark.parametrize("exercise, points", [("12.2", 4), ("12.3", 4)])
def test_the_model_solution_earns_all_points(tmp_path, exercise, points):
    earned, lines = graded(tmp_path, exercise)
    assert earned == points, lines


def test_replaying_the_checks_draws_earns_nothing(tmp_path):
    earned, lines = graded(tmp_path, "12.2", REPLAY)
    assert earned == 0, lines


def test_the_student_copy_of_the_12_3_check_holds_no_reference():
    nb = nbformat.read(STUDENT, as_version=4)
    check = next(c.source for c in nb.cells if c.id == CHECK_12_3)
    for leak in ("reference_growth", "a ** phi", "b ** phi", "g ** phi", "efficientnet_b0",
                 "MBConv"):
        assert leak not in check, leak
    assert "Hidden tests" in check
    # and no cell of the student copy explains 12.3's result before it is asked for
    assert not any("B0's 16\nblocks become 23" in c.source or "become 23" in c.source
                   for c in nb.cells)


def test_the_student_copy_of_the_12_1_check_holds_no_reference():
    nb = nbformat.read(STUDENT, as_version=4)
    check = next(c.source for c in nb.cells if c.id == CHECK_12_1)
    for leak in ("DenseBlock", "Transition", "Conv2d", "models.", "truth", "torch.zeros"):
        assert leak not in check, leak
    assert "Hidden tests" in check and "format checks passed" in check
