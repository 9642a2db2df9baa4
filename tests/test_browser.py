"""Every page of the web book opened in a real browser (headless Chromium), as a reader sees it.

The checks are those of ``cnnbook.browser`` (console errors, local MathJax, local images, no
traceback, no code cell that scrolls sideways, Chinese drawn with a CJK font). The book is built
afresh into a temporary folder; a screenshot of each page is saved in ``_build/screenshots/``.
Needs Debian's ``chromium`` and ``fonts-noto-cjk`` (skipped with the install line otherwise).
"""
import pytest
from book_helpers import BROWSER_PACKAGES, ROOT, build, build_warnings, missing_system_tools

from cnnbook import browser

PAGES = browser.toc_pages(ROOT)
SCREENSHOTS = ROOT / "_build" / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    missing_system_tools("The browser test", BROWSER_PACKAGES, commands=["chromium"],
                         fonts=["Noto Sans CJK SC"])
    return browser.find_chromium()


@pytest.fixture(scope="module")
def reports(chromium, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser-book")
    result = build(ROOT, out)
    assert result.returncode == 0 and not build_warnings(result), (result.stdout + result.stderr)[-3000:]
    checked = browser.check_book(out / "_build" / "html", PAGES, SCREENSHOTS, executable=chromium)
    return {report.page: report for report in checked}


def test_every_page_of_the_toc_is_opened_and_photographed(reports):
    assert list(reports) == PAGES
    for report in reports.values():
        assert report.screenshot and report.screenshot.stat().st_size > 10_000, report.page


@pytest.mark.parametrize("page", PAGES)
def test_page_is_clean_in_chromium(reports, page):
    problems = reports[page].problems
    assert not problems, f"{page}:\n" + "\n".join(problems)


def test_math_and_chinese_are_rendered(reports):
    # notation and glossary hold formulas and Chinese terms: a vacuous check would find neither
    for page in ("notation", "glossary"):
        assert reports[page].math > 20, page
        assert any(browser.CJK_FONT.search(font) for font in reports[page].cjk_fonts), reports[page].cjk_fonts
    chapters = [page for page in PAGES if page.startswith("chapters/")]
    assert chapters and all(reports[page].images > 0 for page in chapters[:5])


BROKEN_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>broken</title>
<link rel="icon" href="data:,"></head><body><main>
<p>Raw math \\(x^2\\) and $y$ left for MathJax.</p>
<img src="missing.png" alt="a figure that is not there">
<img src="https://example.invalid/remote.png" alt="a figure from the web">
<div class="cell_input"><div class="highlight-ipython3"><pre style="width: 300px; overflow: auto">
x = "a line of code far too long for a column of three hundred pixels, so it scrolls sideways"
</pre></div></div>
<div class="cell_output"><pre>Traceback (most recent call last):
ValueError: boom</pre></div>
<script>console.error("something broke"); undefinedFunction();</script>
</main></body></html>
"""


def test_a_broken_page_fails_every_check(chromium, tmp_path):
    (tmp_path / "broken.html").write_text(BROKEN_PAGE, encoding="utf-8")
    (report,) = browser.check_book(tmp_path, ["broken"], executable=chromium)
    problems = "\n".join(report.problems)
    for expected in ("console.error: something broke", "uncaught exception: ReferenceError",
                     "TeX left raw", "image did not load", "HTTP 404",
                     "request leaves the book: https://example.invalid/remote.png",
                     "code cell scrolls sideways", "traceback in an output"):
        assert expected in problems, f"{expected!r} not reported:\n{problems}"
