"""Helpers shared by the tests that grade a student copy with one answer cell filled in."""
import nbformat

from cnnbook import grade


def grade_answer(tmp_path, slug, starts_with, answer, *, timeout=120):
    """Grade ``exercises/<slug>.ipynb`` with the one answer cell whose stub starts with
    ``starts_with`` replaced by ``answer``; return ({exercise id: result}, report)."""
    nb = nbformat.read(grade.BOOK_ROOT / "exercises" / f"{slug}.ipynb", as_version=4)
    cells = [cell for cell in nb.cells if cell.cell_type == "code"
             and cell.source.startswith(starts_with)]
    assert len(cells) == 1, f"{slug}: {len(cells)} cells start with {starts_with!r}"
    cells[0].source = answer.strip() + "\n"
    path = tmp_path / f"student_{slug}.ipynb"
    nbformat.write(nb, path)
    report = grade.grade_notebook(path, timeout=timeout)
    return {r.id: r for r in report.results}, report
