"""Exercises of chapter 9 against the re-review's cheats (issue 13).

The student copy holds none of the truths (predicted numbers, receptive fields, references built
with ``cnnbook.models`` or autograd): they sit in hidden tests, run only by the instructor's
grader. Exercise 9.5 asks for the gradient itself, which a copied boolean-mask algorithm (the
reviewer's "cheat D", no back-propagation) cannot give. Predicting before computing cannot be
enforced: a prediction computed with the library still earns exercise 9.1's one point and 9.4's
(the saving of 9.3's head, split off the network of 9.3 so that a fit earns one point, not
three), so the counting is graded by hand in exercise 9.7.
"""
from pathlib import Path

import nbformat
import pytest

from cnnbook import exercises, grade

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "09_alexnet_vgg_nin.ipynb"
STUDENT = ROOT / "exercises" / "09_alexnet_vgg_nin.ipynb"

# Cheat D of the re-review, adapted to input_gradient: the check's former boolean-mask
# algorithm, no back-propagation; it marks the reached pixels with ones.
MASK_CHEAT = '''
def _field_mask(n, kernel):
    config = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512]
    sizes = [n]
    for v in config:
        sizes.append(sizes[-1] // 2 if v == "M" else sizes[-1])
    mask = np.zeros((sizes[-1], sizes[-1]), dtype=bool)
    mask[sizes[-1] // 2, sizes[-1] // 2] = True
    taps = [(int(a) - 1, int(b) - 1) for a, b in np.argwhere(np.asarray(kernel) != 0)]
    for v, size in zip(reversed(config), reversed(sizes[:-1])):
        new = np.zeros((size, size), dtype=bool)
        m = mask.shape[0]
        if v == "M":
            for di in (0, 1):
                for dj in (0, 1):
                    new[di:2 * m:2, dj:2 * m:2] |= mask
        else:
            for s, t in taps:
                new[max(s, 0):m + min(s, 0), max(t, 0):m + min(t, 0)] |= \\
                    mask[max(-s, 0):m - max(s, 0), max(-t, 0):m - max(t, 0)]
        mask = new
    return mask


def input_gradient(n, kernel):
    mask = _field_mask(n, kernel).astype(float)
    # scaled so that the visible sum property holds when the field is inside
    return mask * np.asarray(kernel).sum() ** 13 / mask.sum()


_rows = np.nonzero(_field_mask(400, np.ones((3, 3))).any(axis=1))[0]
rf_conv5_3 = int(_rows.max() - _rows.min() + 1)
rf_pool5 = rf_conv5_3 + 16
'''

# Cheat D on 9.1: the differences fitted with the library outside the checked function.
LIBRARY_FIT = '''
with torch.device("meta"):
    _d = {}
    for _w in (1, 2, 3):
        _c = {}
        for _depth in (11, 16, 19):
            _n = models.vgg(_depth, width_mult=_w / 64)
            _c[_depth] = (models.param_count(_n), models.macs(_n, IMAGENET))
        _d[_w] = (_c[11][0] - _c[16][0], _c[19][0] - _c[16][0], _c[19][1] - _c[16][1])
_coef = []
for _k in range(3):
    y1, y2, y3 = _d[1][_k], _d[2][_k], _d[3][_k]
    a = (y3 - 2 * y2 + y1) // 2
    b = y2 - y1 - 3 * a
    _coef.append((a, b, y1 - a - b))


def predict_vgg(vgg16_params, vgg16_macs, width=64):
    base = (vgg16_params, vgg16_params, vgg16_macs)
    return tuple(base[k] + a * width * width + b * width + c
                 for k, (a, b, c) in enumerate(_coef))
'''

# The second re-review's cheat on the saving (now 9.4): a line through library runs at 1 and
# 2 classes, with the student's own network of 9.3, outside the checked function.
SAVING_FIT = '''
with torch.device("meta"):
    _s = {}
    for _n in (1, 2):
        _full, _gap = models.vgg16(num_classes=_n), vgg16_gap(_n)
        _s[_n] = (models.param_count(_full) - models.param_count(_gap),
                  models.macs(_full, IMAGENET) - models.macs(_gap, IMAGENET))


def predict_saving(num_classes):
    return tuple(_s[1][k] + (_s[2][k] - _s[1][k]) * (num_classes - 1) for k in range(2))
'''


def solution_sources():
    """The model solution of every exercise cell, by cell id (the solution markers removed)."""
    nb = nbformat.read(SOLUTION, as_version=4)
    out = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and exercises.BEGIN in cell.source:
            out[cell.id] = "\n".join(line for line in cell.source.splitlines()
                                     if line.strip() not in (exercises.BEGIN, exercises.END))
    return out


def cell_of(nb, text):
    [cell] = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    return cell


def test_the_student_copy_holds_no_truth_and_no_reference_algorithm():
    student = nbformat.read(STUDENT, as_version=4)
    checks = [c.source for c in student.cells if "check" in c.metadata.get("tags", [])]
    assert sum(exercises.HIDDEN_NOTE in s for s in checks) == 3       # 9.1, 9.4, 9.5
    text = "\n".join(checks)
    for truth in ("196", "212", "models.vgg(", "expected_saved", "x.grad", "backward",
                  "argwhere", "pbkdf2"):
        assert truth not in text, truth
    solution = nbformat.read(SOLUTION, as_version=4)
    full = "\n".join(c.source for c in solution.cells if "check" in c.metadata.get("tags", []))
    assert "(196, 212)" in full and "backward()" in full and "models.vgg(" in full


def test_predictions_carry_few_points_and_their_counting_is_graded_by_hand():
    found = {e.id: e for e in exercises.list_exercises(nbformat.read(SOLUTION, as_version=4))}
    assert found["9.1"].points == 1 and found["9.1"].graded
    assert found["9.4"].points == 1 and found["9.4"].graded        # 9.3's saving
    assert found["9.3"].points == 2 and found["9.3"].graded        # the network
    assert found["9.7"].points == 3 and not found["9.7"].graded


@pytest.fixture(scope="module")
def cheat_report(tmp_path_factory):
    """Library fits on 9.1 and 9.4, cheat D (copied mask algorithm) on 9.5, honest elsewhere."""
    nb = nbformat.read(STUDENT, as_version=4)
    right = solution_sources()
    for cell in nb.cells:
        if cell.id in right:
            cell.source = right[cell.id]
    cell_of(nb, "def predict_vgg").source = LIBRARY_FIT
    cell_of(nb, "def predict_saving").source = SAVING_FIT
    cell_of(nb, "def input_gradient").source = MASK_CHEAT
    path = tmp_path_factory.mktemp("ch09") / "mallory_09_alexnet_vgg_nin.ipynb"
    nbformat.write(nb, path)
    return grade.grade_notebook(path, solutions=ROOT / "solutions")


def test_a_copied_mask_algorithm_scores_zero_on_9_5(cheat_report):
    scores = {r.id: (r.earned, r.status) for r in cheat_report.results}
    assert scores["9.5"] == (0, "failed"), cheat_report.lines()
    assert scores["9.2"] == (3, "ok") and scores["9.3"] == (2, "ok"), cheat_report.lines()


def test_a_prediction_computed_with_the_library_earns_only_the_number_s_point(cheat_report):
    scores = {r.id: (r.earned, r.points, r.status) for r in cheat_report.results}
    assert scores["9.1"] == (1, 1, "ok"), cheat_report.lines()        # cannot be told apart
    assert scores["9.4"] == (1, 1, "ok"), cheat_report.lines()        # nor this one
    assert scores["9.7"][1:] == (3, "manual")                          # the counting, by hand
