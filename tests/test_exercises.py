"""The exercise generator: solution notebooks in, student copies out (DESIGN.md section 5)."""
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cnnbook import exercises as ex


def meta(id_="1.1", points=2, difficulty=1, objective="Count the weights of a dense layer."):
    return {"exercise": {"id": id_, "points": points, "difficulty": difficulty, "objective": objective}}


def solution_notebook():
    """A small solution notebook: one coding exercise with a check cell, one prose exercise."""
    code = new_code_cell(
        "def dense_params(n_in, n_out):\n"
        "    \"\"\"Weights plus biases.\"\"\"\n"
        "    # BEGIN SOLUTION\n"
        "    weights = n_in * n_out\n"
        "    return weights + n_out\n"
        "    # END SOLUTION\n"
        "\n"
        "print(dense_params(3, 2))",
        execution_count=2,
        outputs=[new_output("stream", name="stdout", text="8\n")],
    )
    cells = [
        new_markdown_cell("# Exercises"),
        new_code_cell("import numpy as np\nrng = np.random.default_rng(0)", execution_count=1),
        new_markdown_cell("**Exercise 1.1.** Count the parameters.", metadata=meta()),
        code,
        new_code_cell("assert dense_params(3, 2) == 8", metadata={"tags": ["check"]}, execution_count=3),
        new_markdown_cell("**Exercise 1.2.** Why share weights?", metadata=meta("1.2", 1, 2, "Explain weight sharing.")),
        new_markdown_cell("Because a pattern can appear anywhere.", metadata={"tags": ["solution"]}),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_solution_region_becomes_a_stub_at_its_indentation():
    student = ex.make_student_notebook(solution_notebook())
    source = student.cells[3].source
    assert '    raise NotImplementedError("Exercise 1.1: replace this line with your solution")' in source.splitlines()
    assert "weights = n_in * n_out" not in source
    assert "BEGIN SOLUTION" not in source and "END SOLUTION" not in source


def test_code_outside_the_region_is_kept():
    source = ex.make_student_notebook(solution_notebook()).cells[3].source
    assert source.startswith("def dense_params(n_in, n_out):\n    \"\"\"Weights plus biases.\"\"\"")
    assert source.endswith("print(dense_params(3, 2))")


def test_stub_and_its_check_cell_are_tagged_raises_exception():
    student = ex.make_student_notebook(solution_notebook())
    assert "raises-exception" in student.cells[3].metadata["tags"]
    assert set(student.cells[4].metadata["tags"]) == {"check", "raises-exception"}
    assert "raises-exception" not in student.cells[1].metadata.get("tags", [])


def test_markdown_solution_becomes_an_answer_cell():
    cell = ex.make_student_notebook(solution_notebook()).cells[6]
    assert cell.cell_type == "markdown"
    assert "Because a pattern" not in cell.source
    assert "Your answer (Exercise 1.2)" in cell.source
    assert cell.metadata["tags"] == ["answer"]


def test_outputs_and_execution_counts_are_stripped():
    student = ex.make_student_notebook(solution_notebook())
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_cell_ids_are_kept():
    nb = solution_notebook()
    student = ex.make_student_notebook(nb)
    assert [c.id for c in student.cells] == [c.id for c in nb.cells]


def test_solution_notebook_is_not_modified():
    nb = solution_notebook()
    before = nbformat.writes(nb)
    ex.make_student_notebook(nb)
    assert nbformat.writes(nb) == before


def test_student_copy_is_a_valid_notebook():
    nbformat.validate(ex.make_student_notebook(solution_notebook()))


def test_list_exercises_reports_metadata_and_cells():
    first, second = ex.list_exercises(solution_notebook())
    assert (first.id, first.points, first.difficulty) == ("1.1", 2, 1)
    assert first.cells == (2, 3, 4) and first.check_cells == (4,) and first.graded
    assert second.id == "1.2" and not second.graded and second.solution_cells == (6,)


def test_missing_end_marker_names_notebook_and_cell():
    nb = solution_notebook()
    nb.cells[3].source = nb.cells[3].source.replace("    # END SOLUTION\n", "")
    with pytest.raises(ex.ExerciseError, match=r"demo\.ipynb, cell 3 .*never closed"):
        ex.make_student_notebook(nb, name="demo.ipynb")


def test_end_marker_without_begin_is_an_error():
    nb = solution_notebook()
    nb.cells[3].source = nb.cells[3].source.replace("    # BEGIN SOLUTION\n", "")
    with pytest.raises(ex.ExerciseError, match=r"cell 3 .*without a '# BEGIN SOLUTION'"):
        ex.make_student_notebook(nb, name="demo.ipynb")


def test_nested_begin_is_an_error():
    nb = solution_notebook()
    nb.cells[3].source = nb.cells[3].source.replace("    weights", "    # BEGIN SOLUTION\n    weights")
    with pytest.raises(ex.ExerciseError, match="inside the solution region"):
        ex.make_student_notebook(nb)


def test_marker_with_trailing_text_is_an_error():
    nb = solution_notebook()
    nb.cells[3].source = nb.cells[3].source.replace("# END SOLUTION", "# END SOLUTION here")
    with pytest.raises(ex.ExerciseError, match="unexpected text after the marker"):
        ex.make_student_notebook(nb)


def test_marker_in_markdown_cell_is_an_error():
    nb = solution_notebook()
    nb.cells[5].source += "\n# BEGIN SOLUTION"
    with pytest.raises(ex.ExerciseError, match="cell 5 .*markdown cell"):
        ex.make_student_notebook(nb, name="demo.ipynb")


def test_solution_before_first_exercise_is_an_error():
    nb = solution_notebook()
    nb.cells[1].source += "\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION"
    with pytest.raises(ex.ExerciseError, match="cell 1 .*before the first exercise"):
        ex.make_student_notebook(nb, name="demo.ipynb")


def test_coding_exercise_without_check_cell_is_an_error():
    nb = solution_notebook()
    del nb.cells[4]
    with pytest.raises(ex.ExerciseError, match="exercise 1.1 has solution code but no cell tagged 'check'"):
        ex.make_student_notebook(nb)


def test_exercise_without_solution_is_an_error():
    nb = solution_notebook()
    nb.cells[6].metadata = {}
    with pytest.raises(ex.ExerciseError, match="exercise 1.2 has no solution"):
        ex.make_student_notebook(nb)


@pytest.mark.parametrize("key, value, message", [
    ("difficulty", 4, "difficulty must be 1, 2 or 3"),
    ("points", 0, "must be worth > 0 points"),
    ("id", "one", "id must look like '3.2'"),
    ("objective", "  ", "empty objective"),
    ("points", "2", "wrong type"),
])
def test_invalid_metadata_is_an_error(key, value, message):
    nb = solution_notebook()
    nb.cells[2].metadata["exercise"][key] = value
    with pytest.raises(ex.ExerciseError, match=message):
        ex.make_student_notebook(nb)


def test_missing_metadata_key_is_an_error():
    nb = solution_notebook()
    del nb.cells[2].metadata["exercise"]["objective"]
    with pytest.raises(ex.ExerciseError, match="lacks objective"):
        ex.make_student_notebook(nb)


def test_duplicate_exercise_id_is_an_error():
    nb = solution_notebook()
    nb.cells[5].metadata["exercise"]["id"] = "1.1"
    with pytest.raises(ex.ExerciseError, match="duplicate exercise id"):
        ex.make_student_notebook(nb)


@pytest.fixture
def book(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook(), tmp_path / "solutions" / "01_demo.ipynb")
    return tmp_path


def test_generate_writes_student_copies_and_then_check_passes(book):
    changed = ex.generate(book)
    assert changed == [book / "exercises" / "01_demo.ipynb", book / ex.INDEX]
    assert ex.check(book) == []
    assert ex.generate(book) == []  # idempotent


def test_check_detects_a_stale_copy(book):
    ex.generate(book)
    nb = nbformat.read(book / "solutions" / "01_demo.ipynb", as_version=4)
    nb.cells[4].source = "assert dense_params(1, 1) == 2"
    nbformat.write(nb, book / "solutions" / "01_demo.ipynb")
    assert ex.check(book) == [f"{book / 'exercises' / '01_demo.ipynb'} is out of date with {book / 'solutions' / '01_demo.ipynb'}"]


def test_check_detects_missing_and_orphan_copies(book):
    (book / "exercises").mkdir()
    (book / "exercises" / "99_orphan.ipynb").write_text("{}")
    problems = ex.check(book)
    assert any("01_demo.ipynb is missing" in p for p in problems)
    assert any("99_orphan.ipynb has no solutions/99_orphan.ipynb" in p for p in problems)


def test_check_reports_a_broken_solution_notebook(book):
    path = book / "solutions" / "01_demo.ipynb"
    data = json.loads(path.read_text())
    data["cells"][3]["source"] = "# BEGIN SOLUTION\nx = 1\n"
    path.write_text(json.dumps(data))
    [problem] = ex.check(book)
    assert "01_demo.ipynb, cell 3" in problem and "never closed" in problem


def test_main_check_exit_codes(book, capsys):
    assert ex.main(["--root", str(book), "--check"]) == 1
    assert ex.main(["--root", str(book)]) == 0
    assert ex.main(["--root", str(book), "--check"]) == 0


def test_stage_student_book_replaces_solutions(book):
    for name in ("_config.yml", "_toc.yml", "references.bib", "intro.md"):
        (book / name).write_text("x")
    dest = ex.stage_student_book(book, book / "_build" / "student")
    staged = nbformat.read(dest / "exercises" / "01_demo.ipynb", as_version=4)
    assert "raise NotImplementedError" in staged.cells[3].source
    assert (dest / "intro.md").exists() and (dest / "_toc.yml").exists()
    assert not (dest / "solutions").exists()


def test_stage_student_book_refuses_the_book_folder(book):
    with pytest.raises(ValueError, match="dest"):
        ex.stage_student_book(book, book)


def test_generate_does_not_overwrite_a_student_copy_that_was_run(book):
    ex.generate(book)
    target = book / "exercises" / "01_demo.ipynb"
    worked = nbformat.read(target, as_version=4)
    worked.cells[3].source = "def dense_params(n_in, n_out):\n    return n_in * n_out + n_out"
    worked.cells[3].execution_count = 2
    nbformat.write(worked, target)
    with pytest.raises(ex.ExerciseError, match=r"has been run and may hold your work: move it"):
        ex.generate(book)
    assert "return n_in * n_out + n_out" in target.read_text()
    assert ex.main(["--root", str(book)]) == 2
    assert ex.generate(book, force=True) == [target]
    assert ex.check(book) == []


def test_exercise_index_lists_every_exercise_with_its_metadata_and_link(book):
    nb = nbformat.read(book / "solutions" / "01_demo.ipynb", as_version=4)
    nb.cells[0].source = "# Exercises: Counting"
    nb.cells[2].source = "## Exercise 1.1: Dense layers\n\n*2 points*"
    nbformat.write(nb, book / "solutions" / "01_demo.ipynb")
    text = ex.exercise_index(book)
    assert "## Chapter 1: Counting" in text
    assert ('| <a href="solutions/01_demo.html#exercise-1-1-dense-layers">1.1</a> | Dense layers | 1 | 2 | '
            'automatically | Count the weights of a dense layer. |') in text
    assert ('| <a href="solutions/01_demo.html">1.2</a> | Why share weights? | 2 | 1 | by hand | '
            'Explain weight sharing. |') in text
    assert "2 exercises, 2 points graded automatically, 1 by hand" in text
    assert 'href="exercises/01_demo.html#exercise-1-1' in ex.exercise_index(book, folder="exercises")


def test_a_stale_exercise_index_fails_the_check_until_regenerated(book):
    ex.generate(book)
    nb = nbformat.read(book / "solutions" / "01_demo.ipynb", as_version=4)
    nb.cells[2].metadata["exercise"]["points"] = 5
    nbformat.write(nb, book / "solutions" / "01_demo.ipynb")
    ex.generate(book)
    (book / ex.INDEX).write_text((book / ex.INDEX).read_text().replace("| 5 |", "| 2 |"))
    assert ex.check(book) == [f"{book / ex.INDEX} is out of date with the exercises' metadata"]
    assert ex.generate(book) == [book / ex.INDEX] and ex.check(book) == []


def test_student_edition_moves_exercise_pages_to_exercises(book):
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: Part I\n    chapters:\n"
        "      - file: chapters/01_demo\n        sections:\n          - file: solutions/01_demo\n"
        "  - caption: Teaching with this book\n    chapters:\n      - file: instructors\n"
        "      - file: exercise_index\n")
    (book / "_config.yml").write_text("exclude_patterns: [_build, tests, exercises, README.md]\n")
    (book / "chapters").mkdir()
    chapter = new_notebook(cells=[new_markdown_cell("[the exercises](../solutions/01_demo.ipynb)")])
    nbformat.write(chapter, book / "chapters" / "01_demo.ipynb")
    (book / "instructors.md").write_text("# Guide")
    (book / "intro.md").write_text("See [the exercises](solutions/01_demo.ipynb).")
    ex.generate(book)
    dest = ex.stage_student_book(book, book / "_build" / "student")
    toc = (dest / "_toc.yml").read_text()
    assert "file: exercises/01_demo" in toc and "solutions" not in toc
    assert "instructors" not in toc and "caption: Exercises" in toc and not (dest / "instructors.md").exists()
    assert (dest / "_config.yml").read_text() == "exclude_patterns: [_build, tests, README.md]\n"
    assert "(../exercises/01_demo.ipynb)" in (dest / "chapters" / "01_demo.ipynb").read_text()
    assert "(exercises/01_demo.ipynb)" in (dest / "intro.md").read_text()
    assert 'href="exercises/01_demo.html' in (dest / ex.INDEX).read_text()


def test_generate_and_check_leave_a_student_edition_alone(book):
    ex.generate(book)
    dest = ex.stage_student_book(book, book / "_build" / "student")
    assert ex.generate(dest) == [] and ex.check(dest) == []
    assert (dest / "exercises" / "01_demo.ipynb").exists()
