"""Hidden tests: lines of a check cell between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS`` are left out of the student copy, run by the instructor's grader (which
takes its check cells from the solution notebook) and, in the student edition (which has only
the blank copies), turn an exercise's score into "hidden", out of the local total."""
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
