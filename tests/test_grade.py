"""The auto-grader: full marks on a solution, zero on the untouched student copy, robust to
broken submissions, tampered checks and folders of submissions."""
import csv
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnbook import exercises, grade


def meta(id_, points, objective="An objective."):
    return {"exercise": {"id": id_, "points": points, "difficulty": 1, "objective": objective}}


def solution_notebook():
    cells = [
        new_markdown_cell("# Exercises"),
        new_code_cell("import numpy as np\nrng = np.random.default_rng(0)"),
        new_markdown_cell("**Exercise 9.1** Add.", metadata=meta("9.1", 2)),
        new_code_cell("def add(a, b):\n    # BEGIN SOLUTION\n    return a + b\n    # END SOLUTION"),
        new_code_cell("assert add(2, 3) == 5", metadata={"tags": ["check"]}),
        new_markdown_cell("**Exercise 9.2** Multiply.", metadata=meta("9.2", 3)),
        new_code_cell("def mul(a, b):\n    # BEGIN SOLUTION\n    return a * b\n    # END SOLUTION"),
        new_code_cell("assert mul(2, 3) == 6", metadata={"tags": ["check"]}),
        new_code_cell("assert mul(-1, 4) == -4", metadata={"tags": ["check"]}),
        new_markdown_cell("**Exercise 9.3** Why?", metadata=meta("9.3", 1)),
        new_markdown_cell("Because.", metadata={"tags": ["solution"]}),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


@pytest.fixture
def book(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook(), tmp_path / "solutions" / "09_demo.ipynb")
    exercises.generate(tmp_path)
    return tmp_path


def scores(report):
    return {r.id: (r.earned, r.status) for r in report.results}


def student_with(book, **answers):
    """The student copy with some stubs replaced by the given function bodies."""
    nb = nbformat.read(book / "exercises" / "09_demo.ipynb", as_version=4)
    for name, body in answers.items():
        for cell in nb.cells:
            if cell.source.startswith(f"def {name}("):
                cell.source = f"def {name}(a, b):\n    {body}"
    return nb


def graded(book, tmp_path, nb, name, **kwargs):
    """Save a submission under ``name`` and grade it against the demo book's solutions."""
    nbformat.write(nb, tmp_path / name)
    return grade.grade_notebook(tmp_path / name, solutions=book / "solutions", **kwargs)


def test_solution_gets_full_marks(book):
    report = grade.grade_notebook(book / "solutions" / "09_demo.ipynb", solutions=book / "solutions")
    assert scores(report) == {"9.1": (2, "ok"), "9.2": (3, "ok"), "9.3": (0, "manual")}
    assert report.lines()[-1] == "total: 5 / 5"


def test_untouched_student_copy_gets_zero(book):
    report = grade.grade_notebook(book / "exercises" / "09_demo.ipynb", solutions=book / "solutions")
    assert (report.earned, report.possible) == (0, 5)
    assert all(r.status in ("failed", "manual") for r in report.results)
    assert "NotImplementedError" in report.results[0].detail


def test_one_broken_exercise_does_not_cost_the_others(book, tmp_path):
    nb = student_with(book, add="return a +* b", mul="return a * b")
    report = graded(book, tmp_path, nb, "alice_09_demo.ipynb")
    assert scores(report)["9.1"] == (0, "failed") and scores(report)["9.2"] == (3, "ok")
    assert "SyntaxError" in report.results[0].detail


def test_edited_check_cells_are_replaced_by_the_reference(book, tmp_path):
    nb = student_with(book, add="return 0", mul="return a * b")
    for cell in nb.cells:
        if cell.source == "assert add(2, 3) == 5":
            cell.source = "assert True"
    report = graded(book, tmp_path, nb, "bob_09_demo.ipynb")
    assert scores(report)["9.1"] == (0, "failed")
    assert report.results[0].detail == "AssertionError: assert add(2, 3) == 5"  # names the failing check


def test_deleted_check_cells_are_put_back(book, tmp_path):
    nb = student_with(book, add="return a + b", mul="return a + b")
    nb.cells = [c for c in nb.cells if not c.source.startswith("assert mul")]
    report = graded(book, tmp_path, nb, "carol_09_demo.ipynb")
    assert scores(report) == {"9.1": (2, "ok"), "9.2": (0, "failed"), "9.3": (0, "manual")}


def test_a_dead_kernel_costs_only_its_own_exercise(book, tmp_path):
    nb = student_with(book, add="import os; os._exit(1)", mul="return a * b")
    nb.cells.insert(4, new_code_cell("add(1, 1)"))
    report = graded(book, tmp_path, nb, "dave_09_demo.ipynb")
    assert scores(report)["9.1"][0] == 0 and scores(report)["9.2"] == (3, "ok")
    assert "kernel died" in report.error


def test_a_cell_past_the_timeout_is_interrupted_and_named(book, tmp_path):
    nb = student_with(book, add="return a + b", mul="while True: pass")
    report = graded(book, tmp_path, nb, "fay_09_demo.ipynb", timeout=10)
    assert scores(report)["9.1"] == (2, "ok") and scores(report)["9.2"][0] == 0
    assert report.results[1].detail.startswith("timed out: the cell ran longer than 10 s")


def test_rebinding_a_checking_helper_does_not_pass_a_check(book, tmp_path):
    ref = nbformat.read(book / "solutions" / "09_demo.ipynb", as_version=4)
    ref.cells[4].source = "np.testing.assert_equal(add(2, 3), 5)"   # a check that relies on an import
    nbformat.write(ref, book / "solutions" / "09_demo.ipynb")
    exercises.generate(book)
    nb = student_with(book, add="return 0", mul="return a * b")
    fake = "import types\nnp = types.SimpleNamespace(testing=types.SimpleNamespace(assert_equal=lambda *a: None))"
    nb.cells[3].source += "\n" + fake                                  # the cheat: a do-nothing check helper
    report = graded(book, tmp_path, nb, "gil_09_demo.ipynb")
    assert scores(report)["9.1"] == (0, "failed") and scores(report)["9.2"] == (3, "ok")
    assert "AssertionError" in report.results[0].detail


def test_notebook_without_cell_ids_is_matched_by_position(book, tmp_path):
    nb = student_with(book, add="return a + b", mul="return a * b")
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 4
    for cell in data["cells"]:
        del cell["id"]
    (tmp_path / "hal_09_demo.ipynb").write_text(json.dumps(data))
    report = grade.grade_notebook(tmp_path / "hal_09_demo.ipynb", solutions=book / "solutions")
    assert scores(report) == {"9.1": (2, "ok"), "9.2": (3, "ok"), "9.3": (0, "manual")}


def test_unreadable_submission_scores_zero_with_a_note(book, tmp_path):
    (tmp_path / "eve_09_demo.ipynb").write_text("{not json")
    report = grade.grade_notebook(tmp_path / "eve_09_demo.ipynb", solutions=book / "solutions")
    assert report.earned == 0 and "cannot grade" in report.error


def test_submission_matching_no_solution_is_reported(book, tmp_path):
    nbformat.write(new_notebook(cells=[]), tmp_path / "unknown.ipynb")
    report = grade.grade_notebook(tmp_path / "unknown.ipynb", solutions=book / "solutions")
    assert "no solution notebook" in report.error and report.possible == 0


def test_folder_of_submissions_graded_two_at_a_time_to_csv(book, tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    nbformat.write(student_with(book, add="return a + b"), folder / "ann_09_demo.ipynb")
    nbformat.write(student_with(book, add="return a + b", mul="return a * b"), folder / "ben_09_demo.ipynb")
    out = tmp_path / "grades.csv"
    assert grade.main([str(folder), "--solutions", str(book / "solutions"), "--csv", str(out), "-j", "2"]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["notebook", "ex 9.1", "ex 9.2", "ex 9.3", "earned", "possible", "flagged", "note"]
    assert [r[1:6] for r in rows[1:]] == [["2", "0", "manual", "2", "5"], ["2", "3", "manual", "5", "5"]]
    printed = capsys.readouterr().out
    assert "total: 2 / 5" in printed and "total: 5 / 5" in printed


def test_answers_to_grade_by_hand_are_collected(book, tmp_path):
    nb = student_with(book, add="return a + b")
    for cell in nb.cells:
        if "answer" in cell.metadata.get("tags", []):
            cell.source = "Because the same pattern can appear anywhere."
    nbformat.write(nb, tmp_path / "ivy_09_demo.ipynb")
    out = tmp_path / "answers.md"
    assert grade.main([str(tmp_path / "ivy_09_demo.ipynb"), "--solutions", str(book / "solutions"),
                       "--answers", str(out)]) == 0
    text = out.read_text()
    assert "## Exercise 9.3" in text and "### ivy_09_demo.ipynb (1 point)" in text
    assert "Because the same pattern can appear anywhere." in text


def test_missing_path_is_a_clear_error(tmp_path, capsys):
    assert grade.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err


BOOK = grade.BOOK_ROOT
BOOK_SOLUTIONS = sorted((BOOK / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("solution", BOOK_SOLUTIONS, ids=[p.name for p in BOOK_SOLUTIONS])
def test_book_solutions_get_full_marks_and_student_copies_zero(solution):
    full = grade.grade_notebook(solution)
    assert full.possible > 0 and full.earned == full.possible, "\n".join(full.lines())
    empty = grade.grade_notebook(BOOK / "exercises" / solution.name)
    assert empty.possible == full.possible and empty.earned == 0, "\n".join(empty.lines())
    assert all(r.status == "failed" for r in empty.results if r.status != "manual")
