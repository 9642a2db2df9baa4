"""Folding model solutions in the full edition (issue 10): ``python -m cnnbook.exercises --fold-solutions``."""
import nbformat
import pytest

from cnnbook import exercises as ex
from test_exercises import solution_notebook


def test_fold_tags_only_the_solution_code_cell_and_names_the_button():
    nb = solution_notebook()
    assert ex.fold_solutions(nb) == 1
    folded = [i for i, c in enumerate(nb.cells) if "hide-input" in c.metadata.get("tags", [])]
    assert folded == [3]
    assert nb.cells[3].metadata["mystnb"] == {"code_prompt_show": "Show the model solution",
                                              "code_prompt_hide": "Hide the model solution"}
    assert "mystnb" not in nb.cells[4].metadata  # the check cell stays visible


def test_fold_keeps_sources_and_outputs_and_is_idempotent():
    nb = solution_notebook()
    before = [(c.source, c.get("outputs"), c.get("execution_count")) for c in nb.cells]
    ex.fold_solutions(nb)
    once = nbformat.writes(nb)
    assert [(c.source, c.get("outputs"), c.get("execution_count")) for c in nb.cells] == before
    assert ex.fold_solutions(nb) == 0
    assert nbformat.writes(nb) == once
    nbformat.validate(nb)


def test_fold_keeps_the_cells_other_tags():
    nb = solution_notebook()
    nb.cells[3].metadata["tags"] = ["nbval-ignore-output"]
    ex.fold_solutions(nb)
    assert nb.cells[3].metadata["tags"] == ["nbval-ignore-output", "hide-input"]


def test_student_copy_of_a_folded_notebook_shows_the_students_cell():
    nb = solution_notebook()
    unfolded = ex.make_student_notebook(nb)
    ex.fold_solutions(nb)
    student = ex.make_student_notebook(nb)
    stub = student.cells[3]
    assert "hide-input" not in stub.metadata["tags"] and "mystnb" not in stub.metadata
    # folding the solutions leaves the student copies byte for byte as they were
    assert nbformat.writes(student) == nbformat.writes(unfolded)


def test_student_copy_keeps_a_fold_the_author_put_on_another_cell():
    nb = solution_notebook()
    nb.cells[1].metadata["tags"] = ["hide-input"]
    ex.fold_solutions(nb)
    assert ex.make_student_notebook(nb).cells[1].metadata["tags"] == ["hide-input"]


def test_nbgrader_source_is_not_folded():
    nb = solution_notebook()
    ex.fold_solutions(nb)
    cell = ex.nbgrader_notebook(nb).cells[3]
    assert "hide-input" not in cell.metadata.get("tags", []) and "mystnb" not in cell.metadata


@pytest.fixture
def book(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook(), tmp_path / "solutions" / "01_demo.ipynb")
    assert ex.main(["--root", str(tmp_path)]) == 0
    return tmp_path


def test_command_folds_solutions_in_place_and_keeps_exercises_in_sync(book, capsys):
    student_before = (book / "exercises" / "01_demo.ipynb").read_text(encoding="utf-8")
    assert ex.main(["--root", str(book), "--fold-solutions"]) == 0
    assert "solutions/: 1 file(s) changed" in capsys.readouterr().out
    nb = nbformat.read(book / "solutions" / "01_demo.ipynb", as_version=4)
    assert "hide-input" in nb.cells[3].metadata["tags"]
    assert nb.cells[3].outputs[0]["text"] == "8\n"
    text = (book / "solutions" / "01_demo.ipynb").read_text(encoding="utf-8")
    assert text == nbformat.writes(nb) + "\n"
    assert (book / "exercises" / "01_demo.ipynb").read_text(encoding="utf-8") == student_before
    assert ex.check(book) == []
    assert ex.main(["--root", str(book), "--fold-solutions"]) == 0
    assert "solutions/: 0 file(s) changed" in capsys.readouterr().out
