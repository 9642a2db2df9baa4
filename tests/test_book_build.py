"""The web book builds offline with zero warnings (jupyter-book build -W -n --keep-going)."""
import re

import nbformat
import pytest
from book_helpers import ROOT, build, build_warnings


def page_words(page: str) -> str:
    """The words of an HTML page, tags and punctuation removed."""
    return " ".join(re.sub(r"[^A-Za-z]+", " ", re.sub(r"<[^>]+>", " ", page)).split())


def model_answer_openings(solution):
    """The first eight words of each model answer (Markdown cells tagged 'solution')."""
    for cell in nbformat.read(solution, as_version=4).cells:
        if "solution" in cell.metadata.get("tags", []):
            prose = "\n".join(line for line in cell.source.splitlines() if not line.startswith((":::", "```")))
            yield " ".join(re.sub(r"[^A-Za-z]+", " ", prose).split()[:8])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    return build(ROOT, out), out / "_build" / "html"


def test_book_builds_with_zero_warnings(built):
    result, _ = built
    warnings = build_warnings(result)
    assert result.returncode == 0 and not warnings, "\n".join(warnings) or (result.stdout + result.stderr)[-3000:]


def test_every_toc_page_is_rendered(built):
    _, html = built
    for page in ["index.html", "intro.html", "glossary.html", "notation.html", "references.html",
                 "instructors.html", "exercise_index.html"]:
        assert (html / page).exists(), page
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb")):
        assert (html / notebook.parent.name / f"{notebook.stem}.html").exists(), notebook.name


def test_full_book_shows_the_model_answers(built):
    _, html = built
    for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
        words = page_words((html / "solutions" / f"{solution.stem}.html").read_text(encoding="utf-8"))
        for opening in model_answer_openings(solution):
            assert opening in words, f"model answer missing from the web book: {opening!r}"


def test_exercise_index_links_to_every_exercise_heading(built):
    _, html = built
    index = (html / "exercise_index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(solutions/[^"#]+\.html)#([^"]+)"', index)
    assert links, "the exercise index links to no exercise"
    for page, anchor in links:
        assert f'id="{anchor}"' in (html / page).read_text(encoding="utf-8"), f"{page}#{anchor}"


def test_math_is_served_locally(built):
    _, html = built
    page = (html / "notation.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', page, re.I)
    assert scripts, "no MathJax script on a page with math"
    assert all(not s.startswith(("http:", "https:", "//")) for s in scripts), scripts
    assert any((html / s.split("?")[0]).exists() for s in scripts), scripts


def test_chapter_figures_are_embedded_as_local_images(built):
    _, html = built
    chapter = sorted((ROOT / "chapters").glob("*.ipynb"))[0]
    page = (html / "chapters" / f"{chapter.stem}.html").read_text(encoding="utf-8")
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    local = [src for src in images if src.startswith("../_images/")]
    assert len(local) >= 3, f"the first chapter shows {len(local)} figures"
    for src in local:
        assert (html / "chapters" / src).resolve().exists(), src


def test_student_edition_is_runnable_and_holds_no_solution(tmp_path):
    from cnnbook.exercises import stage_student_book

    staged = stage_student_book(ROOT, tmp_path / "student")
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "README.md", "cnnbook/functional/conv.py"):
        assert (staged / name).exists(), name
    assert "student edition" in (staged / "README.md").read_text(encoding="utf-8")
    for path in staged.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".md", ".py", ".yml"):
            text = path.read_text(encoding="utf-8")
            assert "# BEGIN SOLUTION" not in text or path.name == "exercises.py", path


def test_student_copy_can_grade_itself(tmp_path):
    from cnnbook import grade

    for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
        student = ROOT / "exercises" / solution.name
        report = grade.grade_notebook(student, solutions=ROOT / "exercises")
        full = grade.grade_notebook(solution, solutions=ROOT / "exercises")
        # an exercise whose values are hidden tests is left out of the student's local total
        # ("hidden"), but the blank copy must still fail its visible checks and the model
        # solution pass them
        graded = [r for r in report.results if r.status != "manual"]
        assert graded and report.earned == 0, "\n".join(report.lines())
        assert all(r.status == "failed" for r in graded), "\n".join(report.lines())
        assert full.earned == full.possible, "\n".join(full.lines())
        assert all(r.status in ("ok", "hidden", "manual") for r in full.results), \
            "\n".join(full.lines())
        assert all(r.status == "hidden" for r in full.results if r.hidden), "\n".join(full.lines())


def test_student_edition_builds_without_solutions(tmp_path):
    from cnnbook.exercises import stage_student_book

    staged = stage_student_book(ROOT, tmp_path / "student")
    result = build(staged)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    html = staged / "_build" / "html"
    assert not (html / "solutions").exists() and not (html / "instructors.html").exists()
    for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
        page = (html / "exercises" / f"{solution.stem}.html").read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in page
        assert "NotImplementedError" in page and "Your answer" in page
        words = page_words(page)
        for opening in model_answer_openings(solution):
            assert opening not in words, f"the student edition shows a solution: {opening!r}"


def test_every_page_declares_each_script_once_and_loads_nothing_remote(built):
    # Without a browser: a repeated inline script (Jupyter Book's THEBE_JS_URL, issue 10) is a
    # SyntaxError on every page; scripts and style sheets come from the book's own files.
    _, html = built
    pages = sorted(html.rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        inline = re.findall(r"<script>(.*?)</script>", text, re.S)
        repeated = {body for body in inline if inline.count(body) > 1}
        assert not repeated, f"{page.relative_to(html)} declares twice: {sorted(repeated)[:2]}"
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not remote, f"{page.relative_to(html)} loads {remote}"
