"""Hidden tests: lines of a check cell between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS`` are left out of the student copy, run by the instructor's grader (which
takes its check cells from the solution notebook) and, in the student edition (which has only
the blank copies), turn an exercise's score into "hidden", out of the local total."""
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnbook import exercises, grade

HIDDEN = ("assert type(predicted()) is int, 'predicted() returns an int'\n"
          "### BEGIN HIDDEN TESTS\n"
          "assert predicted() == 4 * 10 + 2, 'the prediction is off by a few'\n"
          "### END HIDDEN TESTS")


def meta(id_, points):
    return {"exercise": {"id": id_, "points": points, "difficulty": 1, "objective": "An objective."}}


def solution_notebook(check=HIDDEN):
    cells = [
        new_markdown_cell("# Exercises", id="title"),
        new_code_cell("import numpy as np", id="imports"),
        new_markdown_cell("**Exercise 8.1** Predict.", metadata=meta("8.1", 2), id="ex81"),
        new_code_cell("def predicted():\n    # BEGIN SOLUTION\n    return 42\n    # END SOLUTION", id="sol81"),
        new_code_cell(check, metadata={"tags": ["check"]}, id="check81"),
        new_markdown_cell("**Exercise 8.2** Add.", metadata=meta("8.2", 1), id="ex82"),
        new_code_cell("def add(a, b):\n    # BEGIN SOLUTION\n    return a + b\n    # END SOLUTION", id="sol82"),
        new_code_cell("assert add(2, 3) == 5", metadata={"tags": ["check"]}, id="check82"),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def test_hidden_lines_are_stripped_from_the_student_copy():
    student = exercises.make_student_notebook(solution_notebook())
    check = next(c for c in student.cells if c.id == "check81").source
    assert check.splitlines() == ["assert type(predicted()) is int, 'predicted() returns an int'",
                                  exercises.HIDDEN_NOTE]
    assert "4 * 10" not in nbformat.writes(student) and "HIDDEN TESTS" not in nbformat.writes(student)
    assert "4 * 10" in next(c for c in solution_notebook().cells if c.id == "check81").source
    [e81, e82] = exercises.list_exercises(solution_notebook())
    assert (e81.hidden_cells, e81.stripped_cells, e82.hidden_cells) == ((4,), (), ())
    [s81, s82] = exercises.list_exercises(student, require_solutions=False)
    assert (s81.stripped_cells, s81.hidden_here, s82.hidden_here) == ((4,), True, False)


def test_indented_hidden_lines_keep_their_indentation():
    check = ("for n in (1, 2):\n    assert n > 0\n    ### BEGIN HIDDEN TESTS\n    assert n < 3\n"
             "    ### END HIDDEN TESTS")
    text = exercises.hidden_text(check)
    assert text == f"for n in (1, 2):\n    assert n > 0\n    {exercises.HIDDEN_NOTE}"


@pytest.mark.parametrize("check, message", [
    ("assert True\n### BEGIN HIDDEN TESTS\nassert 1", "never closed"),
    ("assert True\n### END HIDDEN TESTS", "without a '### BEGIN HIDDEN TESTS'"),
    ("### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "inside the hidden tests"),
    ("### BEGIN HIDDEN TESTS here\nassert 1\n### END HIDDEN TESTS", "unexpected text"),
    ("x = 1  # BEGIN HIDDEN TESTS\nassert x", "must stand alone"),
    ("if True:\n    ### BEGIN HIDDEN TESTS\n    assert 1\n    ### END HIDDEN TESTS", "does not parse"),
])
def test_bad_hidden_markers_name_the_notebook_and_the_cell(check, message):
    with pytest.raises(exercises.ExerciseError, match=message) as error:
        exercises.make_student_notebook(solution_notebook(check), name="solutions/08_demo.ipynb")
    assert "solutions/08_demo.ipynb, cell 4 (id 'check81')" in str(error.value)


def test_hidden_markers_outside_a_check_cell_are_an_error():
    nb = solution_notebook()
    nb.cells[3].source += "\n### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS"
    with pytest.raises(exercises.ExerciseError, match="cell 3 .*belong in a code cell tagged 'check'"):
        exercises.list_exercises(nb, "demo")


def test_nbgrader_source_keeps_nbgraders_own_markers():
    nb = exercises.nbgrader_notebook(solution_notebook())
    check = next(c for c in nb.cells if c.id == "check81")
    assert "### BEGIN HIDDEN TESTS\nassert predicted() == 4 * 10 + 2" in check.source
    assert check.metadata["nbgrader"]["grade"] is True  # nbgrader accepts hidden tests in grade cells


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    (root / "solutions").mkdir()
    nbformat.write(solution_notebook(), root / "solutions" / "08_demo.ipynb")
    exercises.generate(root)
    return root


def submission(book, folder, body81=None, body82=None):
    nb = nbformat.read(book / "exercises" / "08_demo.ipynb", as_version=4)
    for cell in nb.cells:
        if body81 and cell.id == "sol81":
            cell.source = f"def predicted():\n    {body81}"
        if body82 and cell.id == "sol82":
            cell.source = f"def add(a, b):\n    {body82}"
    path = folder / "08_demo.ipynb"
    nbformat.write(nb, path)
    return path


def scores(report):
    return {r.id: (r.earned, r.status) for r in report.results}


def test_the_instructors_grader_runs_the_hidden_lines(book, tmp_path):
    full = grade.grade_notebook(book / "solutions" / "08_demo.ipynb", solutions=book / "solutions")
    assert scores(full) == {"8.1": (2, "ok"), "8.2": (1, "ok")} and not full.flags
    (tmp_path / "wrong").mkdir()
    wrong = grade.grade_notebook(submission(book, tmp_path / "wrong", "return 41", "return a + b"),
                                 solutions=book / "solutions")
    assert scores(wrong) == {"8.1": (0, "failed"), "8.2": (1, "ok")}
    assert (wrong.earned, wrong.possible) == (1, 3)
    detail = wrong.results[0].detail
    assert "hidden test failed" in detail and "42" not in detail and "off by a few" not in detail
    assert not wrong.flags  # the student copy's check cell (hidden lines removed) is not "edited"
    (tmp_path / "format").mkdir()
    visible = grade.grade_notebook(submission(book, tmp_path / "format", "return '42'"),
                                   solutions=book / "solutions")
    assert visible.results[0].status == "failed" and "returns an int" in visible.results[0].detail


def test_the_student_edition_reports_hidden_and_leaves_it_out_of_the_total(book, tmp_path):
    (tmp_path / "wrong").mkdir()
    wrong = grade.grade_notebook(submission(book, tmp_path / "wrong", "return 41", "return a + b"),
                                 solutions=book / "exercises")
    assert scores(wrong) == {"8.1": (0, "hidden"), "8.2": (1, "ok")}
    assert wrong.results[0].hidden and (wrong.earned, wrong.possible) == (1, 1)
    lines = wrong.lines()
    assert any("8.1" in line and "-/2" in line and "hidden" in line for line in lines)
    assert any("checked only by the instructor's grader" in line and "8.1" in line for line in lines)
    assert lines[-1] == "total: 1 / 1" and not wrong.flags
    untouched = grade.grade_notebook(book / "exercises" / "08_demo.ipynb", solutions=book / "exercises")
    assert scores(untouched) == {"8.1": (0, "failed"), "8.2": (0, "failed")}
    assert (untouched.earned, untouched.possible) == (0, 1)
    out = tmp_path / "grades.csv"
    grade.write_csv([wrong], out)
    assert out.read_text().splitlines()[1].startswith(f"{tmp_path / 'wrong' / '08_demo.ipynb'},hidden,1,1,1")


# -- the book's chapters 1-3: the cheats of the review of issue 11 lose their points ----------------

ROOT = Path(__file__).resolve().parents[1]

CHEATS_1 = {
    3: '''
def weight_counts(in_shape, out_shape, kernel_size, stride=1, padding=0):
    # measured with PyTorch's unfold instead of counted
    C_in, H, W = in_shape
    C_out, H_out, W_out = out_shape
    K = kernel_size
    patches = F.unfold(torch.ones(1, C_in, H, W), K, stride=stride, padding=padding)
    return {"dense": C_in * H * W * C_out * H_out * W_out,
            "convolution": C_out * C_in * K * K,
            "locally connected": C_out * H_out * W_out * C_in * K * K,
            "locally connected, on the image": C_out * int(patches[0].sum())}
''',
    9: '''
import scipy.sparse

def conv_as_matrix(kernel, H, W):
    K_h, K_w = kernel.shape
    H_out, W_out = H - K_h + 1, W - K_w + 1
    M = np.zeros((H_out, W_out, H, W))
    for i in range(H_out):
        for j in range(W_out):
            M[i, j, i:i + K_h, j:j + K_w] = kernel
    return M.reshape(H_out * W_out, H * W)

def nonzero_fraction(K_h, K_w, H, W):
    return (K_h * K_w) / (H * W)

def _sparse_m(kernel, H, W):      # conv_as_matrix under another name, vectorised, sparse
    K_h, K_w = kernel.shape
    H_out, W_out = H - K_h + 1, W - K_w + 1
    o = np.arange(H_out * W_out)
    oi, oj = o // W_out, o % W_out
    a, b = np.meshgrid(np.arange(K_h), np.arange(K_w), indexing="ij")
    rows = np.repeat(o, K_h * K_w)
    cols = ((oi[:, None] + a.ravel()) * W + oj[:, None] + b.ravel()).ravel()
    vals = np.tile(kernel.ravel(), H_out * W_out)
    return scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(H_out * W_out, H * W))

def conv_transpose(y, kernel):
    K_h, K_w = kernel.shape
    H, W = y.shape[0] + K_h - 1, y.shape[1] + K_w - 1
    return (_sparse_m(kernel, H, W).T @ y.ravel()).reshape(H, W)

fraction_28 = nonzero_fraction(3, 3, 28, 28)
''',
    13: '''
def matching_first_layer(weight, perm, C):
    # numerical: shuffle the identity, invert the matrix, no derivation
    n = weight.shape[1]
    eye = np.eye(n).reshape(n, C, 1, len(perm))
    P = data.permute_pixels(eye, perm).reshape(n, n)
    return torch.as_tensor(weight.numpy() @ np.linalg.inv(P).T)
''',
}


def book_submission(folder, name, cells):
    """The book's blank copy of ``name`` with the code cells at the given indices replaced."""
    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    for index, source in cells.items():
        assert nb.cells[index].cell_type == "code"
        nb.cells[index].source = source.strip("\n")
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("name, cells, expected", [
    ("01_fully_connected.ipynb", CHEATS_1, {
        "1.1": "your code called torch.ones",                 # unfold to count: PyTorch is off
        "1.3": "more than 64 MB",                              # a sparse M does not fit
        "1.4": "MemoryError",                                  # a 750,000 x 750,000 identity
    }),
])
def test_the_reviews_cheats_lose_their_points(tmp_path, name, cells, expected):
    report = grade.grade_notebook(book_submission(tmp_path, name, cells), solutions=ROOT / "solutions")
    results = {r.id: r for r in report.results}
    for exercise_id, reason in expected.items():
        assert results[exercise_id].earned == 0, exercise_id
        assert reason in results[exercise_id].detail, (exercise_id, results[exercise_id].detail)
