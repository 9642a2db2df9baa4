"""`python -m cnnbook.exercises --nbgrader DIR` makes an nbgrader course that the real nbgrader
releases and autogrades: full automatic points for the solution, zero for the untouched release
copy, one exercise's points for a copy with that exercise done (read from the gradebook)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnbook import exercises

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent   # nbgrader, and the alembic it calls from PATH


def meta(id_, points):
    return {"exercise": {"id": id_, "points": points, "difficulty": 1, "objective": "An objective."}}


def solution_notebook():
    cells = [
        new_markdown_cell("# Exercises", id="title"),
        new_code_cell("import numpy as np\nfrom cnnbook.check import assert_close", id="imports"),
        new_markdown_cell("## Exercise 7.1: Count", metadata=meta("7.1", 2), id="ex71"),
        new_code_cell("def counts(n_in, n_out):\n    # BEGIN SOLUTION\n    return {'dense': n_in * n_out}\n"
                      "    # END SOLUTION", id="sol-71"),
        new_code_cell("assert counts(3, 2) == {'dense': 6}", metadata={"tags": ["check"]}, id="check-71"),
        new_markdown_cell("## Exercise 7.2: Scale", metadata=meta("7.2", 3), id="ex72"),
        new_code_cell("def scale(x, a):\n    # BEGIN SOLUTION\n    return a * x\n    # END SOLUTION", id="sol-72"),
        new_code_cell("x = np.arange(4.0)\nassert_close(scale(x, 2.0), 2.0 * x)\n### BEGIN HIDDEN TESTS\n"
                      "assert_close(scale(x, 7.0), 7.0 * x)\n### END HIDDEN TESTS",
                      metadata={"tags": ["check"]}, id="check-72a"),
        new_code_cell("import sys\nprint('a warning on stderr does not cost points', file=sys.stderr)\n"
                      "assert_close(scale(x, -1.0), -x)", metadata={"tags": ["check"]}, id="check-72b"),
        new_markdown_cell("## Exercise 7.3: Why?", metadata=meta("7.3", 1), id="ex73"),
        new_markdown_cell("Because.", metadata={"tags": ["solution"]}, id="answer-73"),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def nbgrader(course, *args):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def submit(course, assignment, student, nb_path, edit=None):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    nb = nbformat.read(nb_path, as_version=4)
    if edit:
        edit(nb)
    nbformat.write(nb, folder / nb_path.name)


def scores(course, assignment, notebook, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(notebook, assignment, student)
        grades = {g.name: g.auto_score for g in nb.grades}
        return nb.code_score, nb.max_code_score, nb.max_score, grades


def test_nbgrader_source_metadata():
    nb = exercises.nbgrader_notebook(solution_notebook())
    by_id = {c.id: c.metadata["nbgrader"] for c in nb.cells}
    assert by_id["sol-71"] == {"grade": False, "solution": True, "locked": False, "grade_id": "ex7_1_solution",
                               "schema_version": 3}
    assert by_id["check-71"] == {"grade": True, "solution": False, "locked": True, "grade_id": "ex7_1_check",
                                 "points": 2, "schema_version": 3}
    assert (by_id["check-72a"]["points"], by_id["check-72b"]["points"]) == (1.5, 1.5)
    assert by_id["check-72b"]["grade_id"] == "ex7_2_check2"
    assert by_id["answer-73"] == {"grade": True, "solution": True, "locked": False, "grade_id": "ex7_3_answer",
                                  "points": 1, "schema_version": 3}
    assert by_id["imports"]["locked"] and by_id["title"]["grade_id"] == "cell_title"
    check = next(c for c in nb.cells if c.id == "check-72a").source
    assert check.startswith(exercises.NBGRADER_REIMPORT + "\nimport numpy as np\nfrom cnnbook.check import")


def test_nbgrader_round_trip(tmp_path):
    book = tmp_path / "book"
    (book / "solutions").mkdir(parents=True)
    nbformat.write(solution_notebook(), book / "solutions" / "07_demo.ipynb")
    (book / "solutions" / "01_fully_connected.ipynb").write_bytes(
        (ROOT / "solutions" / "01_fully_connected.ipynb").read_bytes())
    course = tmp_path / "course"
    assert exercises.main(["--root", str(book), "--nbgrader", str(course)]) == 0
    assert (course / "nbgrader_config.py").exists()

    nbgrader(course, "generate_assignment", "ch07", "--create")
    release = course / "release" / "ch07" / "07_demo.ipynb"
    assert "BEGIN SOLUTION" not in release.read_text() and "Because." not in release.read_text()
    assert "7.0" not in release.read_text()  # nbgrader takes the hidden tests out of the release

    def visible_only(nb):  # passes the visible checks of 7.2, not its hidden test
        do_71(nb)
        next(c for c in nb.cells if c.id == "sol-72").source = (
            "def scale(x, a):\n    return a * x if a in (2.0, -1.0) else x")

    def do_71(nb):  # the partly done copy: exercise 7.1 only
        cell = next(c for c in nb.cells if c.id == "sol-71")
        cell.source = cell.source.replace('raise NotImplementedError("replace this line with your solution")',
                                          "return {'dense': n_in * n_out}")

    def weaken_and_delete(nb):  # edits a check and deletes another: nbgrader puts the originals back
        do_71(nb)
        next(c for c in nb.cells if c.id == "check-72a").source = "pass"
        nb.cells = [c for c in nb.cells if c.id != "check-72b"]
        next(c for c in nb.cells if c.id == "sol-72").source = "def scale(x, a):\n    return x"

    submit(course, "ch07", "solution", course / "source" / "ch07" / "07_demo.ipynb")
    submit(course, "ch07", "untouched", release)
    submit(course, "ch07", "partly", release, do_71)
    submit(course, "ch07", "tampered", release, weaken_and_delete)
    submit(course, "ch07", "visible", release, visible_only)
    nbgrader(course, "autograde", "ch07", "--create")
    assert scores(course, "ch07", "07_demo", "solution")[:3] == (5, 5, 6)
    assert scores(course, "ch07", "07_demo", "untouched")[0] == 0
    partly = scores(course, "ch07", "07_demo", "partly")
    assert partly[0] == 2 and partly[3]["ex7_1_check"] == 2 and partly[3]["ex7_2_check"] == 0
    assert scores(course, "ch07", "07_demo", "tampered")[0] == 2
    visible = scores(course, "ch07", "07_demo", "visible")  # autograde ran the hidden test
    assert visible[0] == 3.5 and visible[3]["ex7_2_check"] == 0 and visible[3]["ex7_2_check2"] == 1.5

    # the book's chapter 1: full automatic points for the solution, zero for the release copy
    nbgrader(course, "generate_assignment", "ch01", "--create")
    submit(course, "ch01", "solution", course / "source" / "ch01" / "01_fully_connected.ipynb")
    submit(course, "ch01", "untouched", course / "release" / "ch01" / "01_fully_connected.ipynb")
    nbgrader(course, "autograde", "ch01", "--create")
    earned, possible, _, _ = scores(course, "ch01", "01_fully_connected", "solution")
    assert possible > 0 and earned == possible
    assert scores(course, "ch01", "01_fully_connected", "untouched")[0] == 0


def test_nbgrader_course_keeps_a_gradebook_and_rejects_unnumbered_names(tmp_path):
    book = tmp_path / "book"
    (book / "solutions").mkdir(parents=True)
    nbformat.write(solution_notebook(), book / "solutions" / "07_demo.ipynb")
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("kept")
    files = exercises.nbgrader_course(book, course)
    assert files == [course / "source" / "ch07" / "07_demo.ipynb", course / "nbgrader_config.py"]
    assert (course / "gradebook.db").read_text() == "kept"
    shutil.copy(book / "solutions" / "07_demo.ipynb", book / "solutions" / "demo.ipynb")
    with pytest.raises(exercises.ExerciseError, match="NN_slug"):
        exercises.nbgrader_course(book, course)
