"""The run-time page (runtimes.md, written by `make runtimes`) covers every notebook of the toc."""
import re

import nbformat
import pytest
from book_helpers import ROOT

from cnnbook import runtimes


def listed(page: str) -> dict[str, str]:
    """The notebooks a run-time page lists, with their times."""
    return dict(re.findall(r"^\| [^|]+ \| `([^`]+\.ipynb)` \| ([^|]+?) \|$", page, re.M))


def test_the_page_lists_every_notebook_of_the_toc_with_a_time():
    page = (ROOT / "runtimes.md").read_text(encoding="utf-8")
    times = listed(page)
    notebooks = runtimes.notebooks_of_toc(ROOT)
    missing = [path for path in notebooks if path not in times]
    assert not missing, f"runtimes.md lacks {missing}: run `make runtimes`"
    assert set(times) <= set(notebooks), f"runtimes.md lists notebooks not in the toc: {set(times) - set(notebooks)}"
    for path, time in times.items():
        assert re.fullmatch(r"(\d+ min )?\d+ s", time), f"{path}: {time!r}"
    assert re.search(r"Measured on \d{4}-\d\d-\d\d", page) and "cores" in page and "PyTorch" in page


def test_the_page_is_in_the_toc():
    assert "runtimes" in (ROOT / "_toc.yml").read_text(encoding="utf-8")


def test_render_lists_times_total_machine_and_load():
    info = {"cores": "2", "cpu": "Some CPU", "python": "3.11.7", "numpy": "2.0", "torch": "2.13.0",
            "torch_threads": "2", "load": "2.5"}
    timings = [runtimes.Timing("chapters/01_a.ipynb", "1. A", 75.4),
               runtimes.Timing("solutions/01_a.ipynb", "Exercises: A", 9.6)]
    page = runtimes.render(timings, info, date="2026-11-30")
    assert listed(page) == {"chapters/01_a.ipynb": "1 min 15 s", "solutions/01_a.ipynb": "10 s"}
    assert "**1 min 25 s**" in page and "2026-11-30" in page and "Some CPU" in page
    assert "load average was 2.5" in page


def test_measure_runs_a_scratch_copy_and_leaves_the_notebook_alone(tmp_path):
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 1. Tiny"),
                                         nbformat.v4.new_code_cell("open('written.txt', 'w').write('x')")])
    path = book / "chapters" / "01_tiny.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    (timing,) = runtimes.measure(book, ["chapters/01_tiny.ipynb"], log=lambda *a: None)
    assert timing.seconds is not None and timing.seconds > 0 and timing.title == "1. Tiny"
    assert path.read_bytes() == before and not (book / "chapters" / "written.txt").exists()


@pytest.mark.parametrize("seconds, text", [(4.4, "4 s"), (59.4, "59 s"), (61, "1 min 01 s"), (600, "10 min 00 s")])
def test_durations_read_naturally(seconds, text):
    assert runtimes._duration(seconds) == text


def test_merge_keeps_the_other_rows_and_takes_the_fresh_times():
    info = {"cores": "2", "cpu": "Some CPU", "python": "3.11.7", "numpy": "2.0", "torch": "2.13.0",
            "torch_threads": "2", "load": "0.1"}
    old = [runtimes.Timing("chapters/01_a.ipynb", "1. A", 75.4),
           runtimes.Timing("solutions/01_a.ipynb", "A", 9.6),
           runtimes.Timing("chapters/02_b.ipynb", "2. B", None)]
    page = runtimes.render(old, info, date="2026-11-30")
    fresh = [runtimes.Timing("chapters/02_b.ipynb", "2. B", 130.0)]
    order = ["chapters/01_a.ipynb", "solutions/01_a.ipynb", "chapters/02_b.ipynb", "chapters/03_c.ipynb"]
    merged = runtimes.merge(page, fresh, order)
    assert [(t.path, t.seconds) for t in merged] == [
        ("chapters/01_a.ipynb", 75), ("solutions/01_a.ipynb", 10), ("chapters/02_b.ipynb", 130.0)]
    assert listed(runtimes.render(merged, info))["solutions/01_a.ipynb"] == "10 s"
    assert [t.title for t in merged][:2] == ["1. A", "A"]
