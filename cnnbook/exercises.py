"""Generate the student copies in ``exercises/`` from the notebooks in ``solutions/``.

    python -m cnnbook.exercises                  # (re)write exercises/ from solutions/
    python -m cnnbook.exercises --check          # fail if exercises/ is out of date
    python -m cnnbook.exercises --stage-student DIR   # a copy of the book without solutions
    python -m cnnbook.exercises --nbgrader DIR   # an nbgrader course: DIR/source/chNN/, config
    python -m cnnbook.exercises --fold-solutions # tag solution code cells hide-input, in place

``solutions/NN_slug.ipynb`` is the only edited source. In it:

* each exercise starts with a cell whose ``metadata.exercise`` holds ``id``, ``points``,
  ``difficulty`` (1-3) and ``objective``;
* the solution code sits between a line ``# BEGIN SOLUTION`` and a line ``# END SOLUTION``; the
  student copy replaces the region with ``raise NotImplementedError("Exercise N.M: ...")`` at the
  indentation of the ``# BEGIN SOLUTION`` line;
* a prose answer is a Markdown cell tagged ``solution``; the student copy has a "your answer"
  cell (tagged ``answer``) in its place;
* cells tagged ``check`` hold the asserts that grade the exercise before them;
* in a check cell, the lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``
  are *hidden tests*: the student copy replaces them by the one comment line
  ``# Hidden tests: the instructor's grader checks the values.`` (at the indentation of the
  ``### BEGIN HIDDEN TESTS`` line).

Hidden tests (the design, as nbgrader's): a check cell shows the student what is checked (types,
shapes, properties, timing) but the values that would give the answer away (a prediction's
number, a reference computed by the function the exercise forbids, a digest of a small answer
space) go in its hidden part. Hidden markers are allowed only in check cells; they must be
balanced, not nested, stand alone on their lines and leave code that still parses once removed,
else ``ExerciseError`` names the notebook and the cell. The instructor's grader
(``python -m cnnbook.grade``) takes every check cell from the solution notebook, so it runs the
hidden lines too; in the student edition, which has only the blank ``exercises/`` copies, the
grader runs the visible part and reports such an exercise as ``hidden`` (format checks passed,
values checked only by the instructor's grader), out of the local total. The nbgrader export
keeps the markers, which nbgrader itself understands: ``generate_assignment`` removes the hidden
lines from the release copy and ``autograde`` puts the locked check cell back whole.

In the student copy all outputs are stripped, every cell keeps the id it has in the solution
notebook, and every code cell of an exercise from its first stub on is tagged
``raises-exception`` so that the untouched copy still runs to the end. In the full edition each
solution code cell is tagged ``hide-input`` (folded behind a "Show the model solution" button);
the student copy takes that fold off its stub cells, which hold the student's own code.
"""
from __future__ import annotations

import argparse
import ast
import copy
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = [
    "BEGIN",
    "END",
    "ExerciseError",
    "Exercise",
    "exercise_metadata",
    "list_exercises",
    "make_student_notebook",
    "student_text",
    "HIDDEN_BEGIN",
    "HIDDEN_END",
    "HIDDEN_NOTE",
    "hidden_text",
    "has_hidden_tests",
    "generate",
    "check",
    "stage_student_book",
    "nbgrader_notebook",
    "nbgrader_course",
    "fold_solutions",
    "fold_solution_notebooks",
    "main",
]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
STUB_MESSAGE = "Exercise {id}: replace this line with your solution"
ANSWER_TEXT = "**Your answer (Exercise {id}):**\n\n*Write your answer here.*"
ANSWER_TAG = "answer"
FOLD_TAG = "hide-input"  # the full edition folds the code of a model solution behind a button
FOLD_PROMPTS = {"code_prompt_show": "Show the model solution",
                "code_prompt_hide": "Hide the model solution"}
REQUIRED_KEYS = {"id": str, "points": (int, float), "difficulty": int, "objective": str}

_MARKER = re.compile(r"^(?P<indent>[ \t]*)#\s*(?P<kind>BEGIN|END)\s+SOLUTION\b(?P<rest>.*)$")

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
HIDDEN_NOTE = "# Hidden tests: the instructor's grader checks the values."
_HIDDEN_MARKER = re.compile(r"^(?P<indent>[ \t]*)#+\s*(?P<kind>BEGIN|END)\s+HIDDEN\s+TESTS\b(?P<rest>.*)$")
_HIDDEN_NOTE_LINE = re.compile(r"^[ \t]*" + re.escape(HIDDEN_NOTE) + r"[ \t]*$", re.M)


class ExerciseError(ValueError):
    """A solution notebook breaks the exercise conventions; the message names notebook and cell."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: its metadata and the indices of its cells."""

    id: str
    points: float
    difficulty: int
    objective: str
    cells: tuple[int, ...]  # from the statement to the cell before the next exercise
    check_cells: tuple[int, ...] = ()
    solution_cells: tuple[int, ...] = ()
    hidden_cells: tuple[int, ...] = ()    # check cells with hidden tests (a solution notebook)
    stripped_cells: tuple[int, ...] = ()  # check cells whose hidden tests were removed (a student copy)

    @property
    def hidden_here(self) -> bool:
        """True if this notebook is a student copy whose checks lost their hidden tests."""
        return bool(self.stripped_cells)

    @property
    def graded(self) -> bool:
        """Auto-graded exercises are those with at least one ``check`` cell."""
        return bool(self.check_cells)


def _where(name: str, index: int, cell) -> str:
    return f"{name}, cell {index} (id {cell.get('id', '?')!r})"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def exercise_metadata(cell, *, where: str = "cell") -> dict | None:
    """Return the validated ``metadata.exercise`` dict of ``cell``, or None if it has none."""
    meta = cell.get("metadata", {}).get("exercise")
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise ExerciseError(f"{where}: metadata.exercise must be a mapping, got {type(meta).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise ExerciseError(f"{where}: metadata.exercise lacks {', '.join(missing)}")
    for key, kind in REQUIRED_KEYS.items():
        if isinstance(meta[key], bool) or not isinstance(meta[key], kind):
            raise ExerciseError(f"{where}: metadata.exercise.{key} has the wrong type ({meta[key]!r})")
    if not re.fullmatch(r"\d+\.\d+", meta["id"]):
        raise ExerciseError(f"{where}: exercise id must look like '3.2', got {meta['id']!r}")
    if meta["points"] <= 0:
        raise ExerciseError(f"{where}: exercise {meta['id']} must be worth > 0 points, got {meta['points']}")
    if meta["difficulty"] not in (1, 2, 3):
        raise ExerciseError(f"{where}: exercise {meta['id']} difficulty must be 1, 2 or 3, got {meta['difficulty']}")
    if not meta["objective"].strip():
        raise ExerciseError(f"{where}: exercise {meta['id']} has an empty objective")
    return meta


def _marked_regions(source: str, where: str, marker, begin: str, end: str, words: tuple[str, str],
                    region: str) -> list[tuple[int, int, str]]:
    """Return ``(begin_line, end_line, indent)`` for each region of ``source`` that the lines
    ``begin`` and ``end`` (matched by ``marker``) enclose; ``words`` are the marker texts a
    malformed marker line still holds, ``region`` names the region in an error."""
    regions, open_at = [], None
    for number, line in enumerate(source.splitlines()):
        match = marker.match(line)
        if not match:
            if any(word in line for word in words):
                raise ExerciseError(f"{where}, line {number + 1}: a {region} marker must stand alone "
                                    f"on its line as '{begin}' or '{end}', got {line.strip()!r}")
            continue
        if match["rest"].strip():
            raise ExerciseError(f"{where}, line {number + 1}: unexpected text after the marker: {line.strip()!r}")
        if match["kind"] == "BEGIN":
            if open_at is not None:
                raise ExerciseError(f"{where}, line {number + 1}: '{begin}' inside the {region} "
                                    f"region opened on line {open_at[0] + 1} (missing '{end}')")
            open_at = (number, match["indent"])
        else:
            if open_at is None:
                raise ExerciseError(f"{where}, line {number + 1}: '{end}' without a '{begin}' before it")
            regions.append((open_at[0], number, open_at[1]))
            open_at = None
    if open_at is not None:
        raise ExerciseError(f"{where}, line {open_at[0] + 1}: '{begin}' is never closed by '{end}'")
    return regions


def _solution_regions(source: str, where: str) -> list[tuple[int, int, str]]:
    """Return ``(begin_line, end_line, indent)`` for each marked solution region of ``source``."""
    return _marked_regions(source, where, _MARKER, BEGIN, END,
                           ("BEGIN SOLUTION", "END SOLUTION"), "solution")


def _has_marker_text(source: str) -> bool:
    return "BEGIN SOLUTION" in source or "END SOLUTION" in source


def _hidden_regions(source: str, where: str) -> list[tuple[int, int, str]]:
    """Return ``(begin_line, end_line, indent)`` for each hidden-test region of ``source``
    (nbgrader's markers)."""
    return _marked_regions(source, where, _HIDDEN_MARKER, HIDDEN_BEGIN, HIDDEN_END,
                           ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"), "hidden-test")


def has_hidden_tests(source: str, *, where: str = "cell") -> bool:
    """True if ``source`` holds a (balanced) hidden-test region."""
    return bool(_hidden_regions(source, where))


def hidden_text(source: str, *, where: str = "cell") -> str:
    """``source`` with each hidden-test region replaced by the line ``HIDDEN_NOTE``."""
    lines = source.splitlines()
    regions = _hidden_regions(source, where)
    for begin, end, indent in reversed(regions):
        lines[begin:end + 1] = [f"{indent}{HIDDEN_NOTE}"]
    text = "\n".join(lines)
    if regions:
        try:
            ast.parse(source)
        except SyntaxError:
            return text  # the solution's own syntax error is reported when it runs
        try:
            ast.parse(text)
        except SyntaxError as error:
            raise ExerciseError(f"{where}: without its hidden tests the check cell does not parse "
                                f"({error.msg}, line {error.lineno}): keep a visible statement in "
                                f"every block that holds hidden tests") from None
    return text


def student_text(source: str, exercise_id: str, *, where: str = "cell") -> str:
    """Replace every solution region of ``source`` by a ``raise NotImplementedError`` stub."""
    lines = source.splitlines()
    regions = _solution_regions(source, where)
    for begin, end, indent in reversed(regions):
        stub = f'{indent}raise NotImplementedError("{STUB_MESSAGE.format(id=exercise_id)}")'
        lines[begin:end + 1] = [stub]
    return "\n".join(lines)


def list_exercises(nb, name: str = "notebook", *, require_solutions: bool = True) -> list[Exercise]:
    """Validate the exercise structure of a solution notebook and describe its exercises.

    Raises ``ExerciseError`` (naming the notebook and the cell) for a misplaced or unbalanced
    marker, a marker in a Markdown cell, a ``check`` or ``solution`` cell outside an exercise,
    invalid metadata, a duplicate id, a coding exercise without a check cell, or (unless
    ``require_solutions`` is false, as for a student copy) an exercise without a solution.
    """
    exercises: list[dict] = []
    for index, cell in enumerate(nb.cells):
        where = _where(name, index, cell)
        meta = exercise_metadata(cell, where=where)
        if meta is not None:
            if any(e["id"] == meta["id"] for e in exercises):
                raise ExerciseError(f"{where}: duplicate exercise id {meta['id']!r}")
            exercises.append({**meta, "cells": [], "check": [], "solution": [], "hidden": [],
                              "stripped": []})
        current = exercises[-1] if exercises else None
        tags = _tags(cell)
        source = cell.get("source", "")
        if cell.cell_type != "code" and _has_marker_text(source):
            raise ExerciseError(f"{where}: solution markers belong in code cells, found one in a "
                                f"{cell.cell_type} cell (tag a Markdown answer 'solution' instead)")
        is_solution = (cell.cell_type == "code" and bool(_solution_regions(source, where))) or (
            cell.cell_type == "markdown" and "solution" in tags)
        if "solution" in tags and cell.cell_type != "markdown":
            raise ExerciseError(f"{where}: the 'solution' tag is for Markdown answers; mark code with '{BEGIN}'")
        hidden = _hidden_regions(source, where)
        if hidden and not ("check" in tags and cell.cell_type == "code"):
            raise ExerciseError(f"{where}: hidden tests ('{HIDDEN_BEGIN}') belong in a code cell "
                                f"tagged 'check'")
        if current is None:
            if is_solution or "check" in tags:
                raise ExerciseError(f"{where}: a solution or check cell before the first exercise "
                                    f"(give the exercise's first cell metadata.exercise)")
            continue
        current["cells"].append(index)
        if "check" in tags:
            if cell.cell_type != "code":
                raise ExerciseError(f"{where}: a 'check' cell must be a code cell")
            current["check"].append(index)
            if hidden:
                hidden_text(source, where=where)  # the student copy must still parse
                current["hidden"].append(index)
            elif _HIDDEN_NOTE_LINE.search(source):
                current["stripped"].append(index)
        if is_solution:
            current["solution"].append(index)
    result = []
    for e in exercises:
        code_solution = any(nb.cells[i].cell_type == "code" for i in e["solution"])
        if code_solution and not e["check"]:
            raise ExerciseError(f"{name}: exercise {e['id']} has solution code but no cell tagged 'check'")
        if not e["solution"] and require_solutions:
            raise ExerciseError(f"{name}: exercise {e['id']} has no solution (no '{BEGIN}' region "
                                f"and no Markdown cell tagged 'solution')")
        result.append(Exercise(id=e["id"], points=e["points"], difficulty=e["difficulty"],
                               objective=e["objective"], cells=tuple(e["cells"]),
                               check_cells=tuple(e["check"]), solution_cells=tuple(e["solution"]),
                               hidden_cells=tuple(e["hidden"]), stripped_cells=tuple(e["stripped"])))
    return result


def _add_tag(cell, tag: str) -> None:
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def _unfold(cell) -> None:
    """Take the fold of a model solution (``--fold-solutions``) off ``cell``."""
    tags = [t for t in _tags(cell) if t != FOLD_TAG]
    if "tags" in cell.get("metadata", {}):
        if tags:
            cell.metadata["tags"] = tags
        else:
            del cell.metadata["tags"]
    prompts = cell.get("metadata", {}).get("mystnb")
    if isinstance(prompts, dict):
        for key in FOLD_PROMPTS:
            prompts.pop(key, None)
        if not prompts:
            del cell.metadata["mystnb"]


def fold_solutions(nb) -> int:
    """Fold every model-solution code cell of ``nb`` in place; return how many cells changed.

    A code cell holding a ``# BEGIN SOLUTION`` line gets the tag ``hide-input`` (the web book
    shows its code behind a "Show the model solution" button, its outputs stay visible) and the
    button's text in ``metadata.mystnb``. Sources and outputs are untouched.
    """
    changed = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or not any(
                (m := _MARKER.match(line)) and m["kind"] == "BEGIN" for line in cell.source.splitlines()):
            continue
        before = copy.deepcopy(dict(cell.metadata))
        _add_tag(cell, FOLD_TAG)
        cell.metadata.setdefault("mystnb", {}).update(FOLD_PROMPTS)
        changed += dict(cell.metadata) != before
    return changed


def fold_solution_notebooks(root: Path | str = ".") -> list[Path]:
    """``fold_solutions`` on every notebook of ``root/solutions``; return the files changed."""
    changed = []
    for solution, _ in _pairs(Path(root)):
        nb = nbformat.read(solution, as_version=4)
        if fold_solutions(nb):
            solution.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
            changed.append(solution)
    return changed


def make_student_notebook(nb, name: str = "notebook"):
    """Return the student copy of solution notebook ``nb`` (``nb`` itself is not modified)."""
    exercises = list_exercises(nb, name)
    student = copy.deepcopy(nb)
    for exercise in exercises:
        stubbed = False
        for index in exercise.cells:
            cell = student.cells[index]
            where = _where(name, index, cell)
            if cell.cell_type == "markdown" and "solution" in _tags(cell):
                cell.source = ANSWER_TEXT.format(id=exercise.id)
                tags = [t for t in _tags(cell) if t != "solution"] + [ANSWER_TAG]
                cell.metadata["tags"] = tags
            elif cell.cell_type == "code":
                if index in exercise.solution_cells:
                    cell.source = student_text(cell.source, exercise.id, where=where)
                    _unfold(cell)  # the student's own answer cell is never folded away
                    stubbed = True
                if index in exercise.hidden_cells:
                    cell.source = hidden_text(cell.source, where=where)
                if stubbed:
                    _add_tag(cell, "raises-exception")
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    student.metadata["cnnbook"] = {"edition": "student", "solution": Path(name).name,
                                    "generated_by": "python -m cnnbook.exercises"}
    return student


# -- the exercise index ---------------------------------------------------------------------------

INDEX = "exercise_index.md"
_HEADING = re.compile(r"^#+\s*Exercise\s+(?P<id>\d+\.\d+)\s*[:.]?\s*(?P<title>.*?)\s*$")


def _title(cell, exercise_id: str) -> tuple[str, str | None]:
    """The exercise's title and the HTML id of its heading (None if it has no heading)."""
    lines = [line for line in cell.source.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    match = _HEADING.match(first)
    if match:
        return match["title"] or f"Exercise {exercise_id}", _make_id(first.lstrip("#").strip())
    text = re.sub(r"[*_`#]", "", first)
    text = re.sub(rf"^\s*Exercise\s+{re.escape(exercise_id)}\s*[:.]?\s*", "", text).strip()
    return text or f"Exercise {exercise_id}", None


def _make_id(title: str) -> str:
    """The HTML id Sphinx gives a section with this title (docutils' ``make_id``)."""
    try:
        from docutils.nodes import make_id
    except ImportError:  # the same rule, for an environment without the book's build tools
        import unicodedata

        text = unicodedata.normalize("NFKD", title.lower()).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"^[-0-9]+|-+$", "", re.sub(r"[^a-z0-9]+", "-", " ".join(text.split())))
    return make_id(title)


def _cell_text(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def exercise_index(root: Path | str = ".", folder: str = "solutions") -> str:
    """The Markdown of the exercise index page: every exercise of every notebook in ``solutions/``.

    Links point to the exercise pages in ``folder`` (``exercises`` in the student edition).
    """
    root = Path(root)
    sections, total, auto, manual = [], 0, 0.0, 0.0
    for solution, _ in _pairs(root):
        nb = nbformat.read(solution, as_version=4)
        exercises = list_exercises(nb, str(solution))
        heading = next((c.source.splitlines()[0] for c in nb.cells
                        if c.cell_type == "markdown" and c.source.startswith("# ")), f"# {solution.stem}")
        chapter = re.sub(r"^#\s*(Exercises\s*[:\u2014-]\s*)?", "", heading).strip()
        number = re.match(r"\d+", solution.name)
        title = f"Chapter {int(number.group(0))}: {chapter}" if number else chapter
        page = f"{folder}/{solution.stem}"
        links = [f"[the exercises]({page}.ipynb)"]
        if (root / "chapters" / solution.name).exists():
            links.insert(0, f"[the chapter](chapters/{solution.stem}.ipynb)")
        links[0] = links[0][:2].upper() + links[0][2:]
        points = sum(e.points for e in exercises if e.graded)
        by_hand = sum(e.points for e in exercises if not e.graded)
        rows = ["| Exercise | Title | Difficulty | Points | Graded | Objective |",
                "|---|---|:-:|:-:|---|---|"]
        for e in exercises:
            name, anchor = _title(nb.cells[e.cells[0]], e.id)
            link = f'<a href="{page}.html{"#" + anchor if anchor else ""}">{e.id}</a>'
            rows.append(f"| {link} | {_cell_text(name)} | {e.difficulty} | {e.points:g} | "
                        f"{'automatically' if e.graded else 'by hand'} | {_cell_text(e.objective)} |")
        sections += [f"## {title}", "",
                     f"{' · '.join(links)} · {len(exercises)} exercises, {points:g} points graded "
                     f"automatically, {by_hand:g} by hand", "", *rows, ""]
        total, auto, manual = total + len(exercises), auto + points, manual + by_hand
    intro = [f"# Exercise index", "",
             "Every exercise of the book, chapter by chapter: its points, its difficulty (1 easy, 3 hard), "
             "its learning objective, and whether the grader checks it automatically or a person grades "
             f"it by hand. In all: {total} exercises, {auto:g} points graded automatically and "
             f"{manual:g} by hand.", "",
             "<!-- Generated from the exercises' metadata by `python -m cnnbook.exercises` "
             "(`make exercises`): do not edit by hand. -->", ""]
    return "\n".join(intro + sections).rstrip() + "\n"


def _student_json(solution_path: Path) -> str:
    nb = nbformat.read(solution_path, as_version=4)
    student = make_student_notebook(nb, name=str(solution_path))
    return nbformat.writes(student) + "\n"


def _pairs(root: Path):
    for solution in sorted((root / "solutions").glob("*.ipynb")):
        yield solution, root / "exercises" / solution.name


def _has_student_work(path: Path) -> bool:
    """True if a student copy has been run (it holds outputs or execution counts)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return False
    return any(cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
               for cell in nb.cells)


def generate(root: Path | str = ".", *, force: bool = False) -> list[Path]:
    """Write ``exercises/`` from ``solutions/``; return the files that changed.

    A student copy that has been run (it has outputs) is somebody's work: it is not overwritten
    unless ``force`` is true; an ``ExerciseError`` says where to move it.
    """
    root = Path(root)
    if not (root / "solutions").is_dir():  # the student edition: exercises/ is the source
        return []
    (root / "exercises").mkdir(exist_ok=True)
    changed = []
    for solution, target in _pairs(root):
        text = _student_json(solution)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            if not force and target.exists() and _has_student_work(target):
                raise ExerciseError(
                    f"{target} has been run and may hold your work: move it (e.g. to work/{target.name}, "
                    f"a folder git ignores) and run again, or pass --force to overwrite it")
            target.write_text(text, encoding="utf-8")
            changed.append(target)
    expected = {target.name for _, target in _pairs(root)}
    for stale in sorted((root / "exercises").glob("*.ipynb")):
        if stale.name not in expected:
            stale.unlink()
            changed.append(stale)
    index = exercise_index(root)
    if not (root / INDEX).exists() or (root / INDEX).read_text(encoding="utf-8") != index:
        (root / INDEX).write_text(index, encoding="utf-8")
        changed.append(root / INDEX)
    return changed


def check(root: Path | str = ".") -> list[str]:
    """Return a list of problems: student copies missing, stale or without a solution notebook."""
    root = Path(root)
    if not (root / "solutions").is_dir():  # the student edition: exercises/ is the source
        return []
    problems = []
    expected = set()
    for solution, target in _pairs(root):
        expected.add(target.name)
        try:
            text = _student_json(solution)
        except ExerciseError as error:
            problems.append(str(error))
            continue
        if not target.exists():
            problems.append(f"{target} is missing")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{target} is out of date with {solution}")
    for extra in sorted((root / "exercises").glob("*.ipynb")):
        if extra.name not in expected:
            problems.append(f"{extra} has no solutions/{extra.name}")
    if not problems:
        if not (root / INDEX).exists():
            problems.append(f"{root / INDEX} is missing")
        elif (root / INDEX).read_text(encoding="utf-8") != exercise_index(root):
            problems.append(f"{root / INDEX} is out of date with the exercises' metadata")
    return problems


_BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib", "Makefile", "pyproject.toml", "requirements.lock",
               ".gitignore")
_BOOK_DIRS = ("chapters", "appendix", "bench", "cnnbook")

STUDENT_README = """# Convolutional Networks from Scratch: student edition

This is the student edition of the book: the chapters, and an exercise notebook for each chapter
with a `raise NotImplementedError(...)` stub where your code goes. You need Python 3.11, `make`
and a Unix shell (Linux, macOS, or WSL on Windows).

```bash
make book                     # set up .venv (about 1.5 min) and build the web book: _build/html/index.html
mkdir -p work && cp exercises/01_fully_connected.ipynb work/
.venv/bin/jupyter lab work/01_fully_connected.ipynb
```

Run each exercise cell and the **check** cell after it: the check passes when your answer is
right. Conceptual exercises are answered in the "Your answer" cells. Work in `work/`, not in
`exercises/` (which holds the blank exercise notebooks the web book shows). To see your points:

```bash
.venv/bin/python -m cnnbook.grade work/01_fully_connected.ipynb
```
"""


INSTRUCTOR_PAGES = ("instructors.md", "runtimes.md")  # left out of the student edition


def _student_toc(text: str) -> str:
    """The table of contents of the student edition: exercise pages under exercises/, no guide."""
    lines = []
    for line in text.splitlines():
        if line.strip() in {f"- file: {Path(page).stem}" for page in INSTRUCTOR_PAGES}:
            continue
        lines.append(line.replace("file: solutions/", "file: exercises/")
                     .replace("caption: Teaching with this book", "caption: Exercises"))
    return "\n".join(lines) + "\n"


def _student_config(text: str) -> str:
    """``_config.yml`` of the student edition: the pages in exercises/ are part of the book."""
    out = re.sub(r"^(exclude_patterns:.*?),\s*exercises\b", r"\1", text, count=1, flags=re.M)
    if re.search(r"^exclude_patterns:.*\bexercises\b", out, flags=re.M):
        raise ExerciseError("_config.yml: cannot take exercises out of exclude_patterns for the student edition")
    return out


def _student_links(text: str) -> str:
    """Links to exercise pages point to exercises/ instead of solutions/."""
    for before in ("](../solutions/", "](solutions/", "<../solutions/", "`../solutions/", 'href="solutions/'):
        text = text.replace(before, before.replace("solutions/", "exercises/"))
    return text


def stage_student_book(root: Path | str, dest: Path | str) -> Path:
    """Copy the book into ``dest`` without solutions: the exercise pages are the student copies.

    They live under ``exercises/`` (so a student's URL reads ``exercises/NN_slug.html``); the
    table of contents, the chapters' links and the exercise index point there, and the
    instructor's guide is left out. The student edition builds with the same zero-warning
    settings as the full book. With the Makefile, the package and the lock file alongside,
    ``dest`` is also what a student needs to run the notebooks (``make book``), with no solution
    anywhere in it.
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if dest == root or dest in root.parents or dest.parent == root:
        raise ValueError(f"dest: stage the student edition in a build folder such as _build/student, not {dest}")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in _BOOK_FILES:
        if (root / name).exists():
            shutil.copy2(root / name, dest / name)
    if (dest / "_toc.yml").exists():
        (dest / "_toc.yml").write_text(_student_toc((dest / "_toc.yml").read_text(encoding="utf-8")), encoding="utf-8")
    if (dest / "_config.yml").exists():
        (dest / "_config.yml").write_text(_student_config((dest / "_config.yml").read_text(encoding="utf-8")),
                                          encoding="utf-8")
    for md in root.glob("*.md"):
        if md.name != "README.md" and md.name not in INSTRUCTOR_PAGES:
            (dest / md.name).write_text(_student_links(md.read_text(encoding="utf-8")), encoding="utf-8")
    (dest / "README.md").write_text(STUDENT_README, encoding="utf-8")
    for folder in _BOOK_DIRS:
        if (root / folder).is_dir():
            shutil.copytree(root / folder, dest / folder,
                            ignore=shutil.ignore_patterns("__pycache__"))
    for notebook in (dest / "chapters").glob("*.ipynb"):
        notebook.write_text(_student_links(notebook.read_text(encoding="utf-8")), encoding="utf-8")
    (dest / "exercises").mkdir()
    for solution, _ in _pairs(root):
        (dest / "exercises" / solution.name).write_text(_student_json(solution), encoding="utf-8")
    if (root / "solutions").is_dir() and list(_pairs(root)):
        (dest / INDEX).write_text(exercise_index(root, folder="exercises"), encoding="utf-8")
    return dest


# -- nbgrader ----------------------------------------------------------------------------------------

NBGRADER_SCHEMA = 3
NBGRADER_REIMPORT = "# The notebook's imports again: this check uses the real ones, whatever a cell rebound."

NBGRADER_CONFIG = '''"""nbgrader configuration for the exercises of *Convolutional Networks from Scratch*.

Written by `python -m cnnbook.exercises --nbgrader DIR`. The notebooks in source/ are made from
the book's solutions/ notebooks: edit those, and run the command again. In this folder:

    nbgrader generate_assignment ch01 --create   # release/ch01/: stubs instead of solutions
    # students fetch, work and submit (nbgrader's exchange on JupyterHub), or put their
    # notebooks in submitted/STUDENT_ID/ch01/ yourself
    nbgrader autograde ch01 --create             # run every submission and score its checks
    # the Formgrader tab (or `nbgrader formgrade`): grade the written answers by hand
    nbgrader export                              # every grade to grades.csv

`nbgrader` starts `alembic` from PATH: activate the environment it is installed in (or put its
bin/ folder on PATH). The kernel that autogrades must import the book's package `cnnbook`:
install the book (or its student edition) into the environment of that kernel.
"""
c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.course_id = "cnn-from-scratch"

# The book marks solution code with "# BEGIN SOLUTION" / "# END SOLUTION" lines, like nbgrader.
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": 'raise NotImplementedError("replace this line with your solution")'}
c.ClearSolutions.text_stub = "*Write your answer here.*"

# Some exercises train a small network: allow a cell {timeout} s (nbgrader's default is 30 s).
c.Execute.timeout = {timeout}

# A check fails by raising an error. Text on stderr (a warning, a progress bar) would otherwise
# cost the cell its points: ignore it.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\\s\\S]*"

# Put back a check cell a student deleted (locked cells that were edited are restored anyway).
c.OverwriteCells.add_missing_cells = True
'''


def _grade_id(*parts: str) -> str:
    """An nbgrader grade_id (letters, digits, ``_`` and ``-`` only): ``ex1_2_check``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", "_".join(parts))


def _nbgrader_meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
            "schema_version": NBGRADER_SCHEMA}
    if grade:
        meta["points"] = points
    return meta


def _import_lines(nb) -> str:
    first = next((cell for cell in nb.cells if cell.cell_type == "code"), None)
    lines = first.source.splitlines() if first else []
    return "\n".join(line for line in lines if re.match(r"^(import|from)\s", line))


def nbgrader_notebook(nb, name: str = "notebook"):
    """The nbgrader source version of solution notebook ``nb`` (``nb`` itself is not modified).

    Solution code cells become nbgrader solution cells (the ``# BEGIN SOLUTION`` lines are
    nbgrader's own markers); each check cell becomes a locked, autograded test cell worth the
    exercise's points (shared equally if it has several), beginning with the notebook's import
    lines so that a name the student rebinds cannot weaken it; a prose answer becomes a manually
    graded answer cell worth the exercise's points; every other cell is read-only. Grade ids are
    ``ex{N}_{M}_solution``, ``ex{N}_{M}_check``, ``ex{N}_{M}_answer`` (numbered from the second on)
    and ``cell_{id}``.
    """
    exercises = list_exercises(nb, name)
    source = copy.deepcopy(nb)
    imports = _import_lines(nb)
    owner = {i: e for e in exercises for i in e.cells}
    for index, cell in enumerate(source.cells):
        e = owner.get(index)
        tag = e.id.replace(".", "_") if e else ""
        if e and index in e.check_cells:
            k = e.check_cells.index(index)
            share = e.points / len(e.check_cells)
            meta = _nbgrader_meta(_grade_id(f"ex{tag}", "check" + (f"{k + 1}" if k else "")),
                                  grade=True, locked=True, points=share)
            if imports:
                cell.source = f"{NBGRADER_REIMPORT}\n{imports}\n\n{cell.source}"
        elif e and index in e.solution_cells:
            k = e.solution_cells.index(index)
            suffix = f"{k + 1}" if k else ""
            if cell.cell_type == "markdown":
                written = [i for i in e.solution_cells if source.cells[i].cell_type == "markdown"]
                points = 0 if e.graded else e.points / len(written)
                meta = _nbgrader_meta(_grade_id(f"ex{tag}", "answer" + suffix), grade=True,
                                      solution=True, points=points)
            else:
                meta = _nbgrader_meta(_grade_id(f"ex{tag}", "solution" + suffix), solution=True)
                _unfold(cell)  # nbgrader's release replaces it with the student's stub
        else:
            meta = _nbgrader_meta(_grade_id("cell", cell.get("id") or str(index)), locked=True)
        cell.metadata["nbgrader"] = meta
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    return source


def nbgrader_course(root: Path | str, dest: Path | str, *, timeout: int = 600) -> list[Path]:
    """Write an nbgrader course folder: ``dest/source/chNN/NN_slug.ipynb`` and ``nbgrader_config.py``.

    One assignment per solution notebook, named ``chNN`` after its number. Existing files of
    ``dest`` (a gradebook, submissions) are kept; the source notebooks and the configuration are
    rewritten. Returns the files written.
    """
    root, dest = Path(root), Path(dest)
    written = []
    for solution, _ in _pairs(root):
        number = re.match(r"\d+", solution.name)
        if not number:
            raise ExerciseError(f"{solution}: name solution notebooks NN_slug.ipynb for nbgrader")
        nb = nbformat.read(solution, as_version=4)
        target = dest / "source" / f"ch{number.group(0)}" / solution.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(nbformat.writes(nbgrader_notebook(nb, str(solution))) + "\n", encoding="utf-8")
        written.append(target)
    config = dest / "nbgrader_config.py"
    config.write_text(NBGRADER_CONFIG.replace("{timeout}", str(timeout)), encoding="utf-8")
    return written + [config]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook.exercises",
                                     description="Generate exercises/ (student copies) from solutions/.")
    parser.add_argument("--root", type=Path, default=Path("."), help="the book's folder (default: .)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="only check that exercises/ is up to date")
    group.add_argument("--stage-student", type=Path, metavar="DIR",
                       help="copy the book into DIR with solutions replaced by student copies")
    group.add_argument("--nbgrader", type=Path, metavar="DIR",
                       help="write an nbgrader course into DIR (source/chNN/ and nbgrader_config.py)")
    group.add_argument("--fold-solutions", action="store_true",
                       help="tag every model-solution code cell of solutions/ 'hide-input' in place "
                            "(outputs untouched), then regenerate exercises/")
    parser.add_argument("--force", action="store_true",
                        help="overwrite student copies even if they have been run (outputs are lost)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(args.root)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print(f"run `make exercises` (python -m cnnbook.exercises) and commit exercises/ and {INDEX}",
                      file=sys.stderr)
                return 1
            print(f"exercises/ is up to date ({len(list(_pairs(args.root)))} notebooks)")
            return 0
        if args.fold_solutions:
            folded = fold_solution_notebooks(args.root)
            for path in folded:
                print(f"folded the model solutions of {path}")
            print(f"solutions/: {len(folded)} file(s) changed")
            changed = generate(args.root, force=args.force)
            print(f"exercises/: {len(changed)} file(s) changed")
            return 0
        if args.nbgrader:
            files = nbgrader_course(args.root, args.nbgrader)
            print(f"nbgrader course written to {args.nbgrader} ({len(files) - 1} notebooks); "
                  f"next: cd {args.nbgrader} && nbgrader generate_assignment ch01 --create")
            return 0
        if args.stage_student:
            dest = stage_student_book(args.root, args.stage_student)
            print(f"student edition staged in {dest}")
            return 0
        changed = generate(args.root, force=args.force)
        for path in changed:
            print(f"wrote {path}")
        print(f"exercises/: {len(changed)} file(s) changed")
        return 0
    except ExerciseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
