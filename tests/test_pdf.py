"""The PDF edition (``make pdf``): every chapter with its outputs and figures, typeset math, Chinese,
a table of contents and working internal links.

The PDF is built afresh (``jupyter-book build --builder pdflatex``, XeLaTeX with xeCJK) into a
temporary folder and read back with poppler's ``pdftotext``, ``pdfinfo`` and ``pdfimages``.
Needs Debian's TeX Live, poppler and Noto CJK packages (skipped with the install line otherwise).
"""
import re
import subprocess
import unicodedata
import zlib

import nbformat
import pytest
from book_helpers import PDF_PACKAGES, ROOT, build, build_warnings, missing_system_tools

from cnnbook import browser

CHINESE_TERMS = ["卷积神经网络", "填充"]  # convolutional neural network, padding
FORMULA = r"Y\s*=\s*X\s*⋆\s*W\s*\+\s*b"  # chapter 2's convolutional layer, in its section title


def normalise(text: str) -> str:
    """Text as pdftotext gives it, comparable with the source: math letters (𝑏) become plain
    letters (b), typographic quotes plain ones, and runs of white space one space."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.replace("\u00ad", "").split())


def source_title(page: str) -> str:
    """The first heading of a toc page (a notebook or a Markdown file)."""
    path = ROOT / f"{page}.ipynb"
    if path.exists():
        sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
    else:
        sources = [(ROOT / f"{page}.md").read_text(encoding="utf-8")]
    for source in sources:
        if match := re.search(r"^# (.+)$", source, re.M):
            title = re.sub(r"\{[a-z]+\}`([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", match.group(1))
            return normalise(re.sub(r"[`*$]", "", title))
    raise AssertionError(f"{page} has no title")


def first_printed_line(page: str) -> str | None:
    """The first long line a notebook printed (a stream output), to find in the PDF."""
    path = ROOT / f"{page}.ipynb"
    if not path.exists():
        return None
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for line in output["text"].splitlines():
                    if 30 <= len(line.strip()) <= 70 and line.isascii():  # not wrapped in the PDF
                        return normalise(line)
    return None


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    missing_system_tools("The PDF test", PDF_PACKAGES,
                         commands=["xelatex", "latexmk", "pdftotext", "pdfinfo", "pdfimages"],
                         fonts=["Noto Serif CJK SC", "Noto Sans CJK SC", "FreeSerif"])
    out = tmp_path_factory.mktemp("pdf-book")
    result = build(ROOT, out, builder="pdflatex")
    path = out / "_build" / "latex" / "book.pdf"
    assert result.returncode == 0 and path.exists(), (result.stdout + result.stderr)[-4000:]
    assert not build_warnings(result), "\n".join(build_warnings(result))
    return path


@pytest.fixture(scope="module")
def text(pdf):
    # -layout keeps a line of output on one line, as the book prints it
    return normalise(subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"],
                                    capture_output=True, text=True, check=True).stdout)


def pdf_objects(pdf) -> bytes:
    """The PDF's bytes with every Flate-compressed stream (object streams too) decompressed."""
    data = pdf.read_bytes()
    chunks = [data]
    for match in re.finditer(rb"/FlateDecode[^>]*>>\s*stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        try:
            chunks.append(zlib.decompressobj().decompress(data[match.end():end]))
        except zlib.error:
            pass
    return b"\n".join(chunks)


def test_every_toc_page_is_in_the_pdf_under_its_title(text):
    for page in browser.toc_pages(ROOT):
        if page == "intro":  # the root page: the PDF's front matter, titled by the book
            continue
        assert source_title(page) in text, f"{page}: {source_title(page)!r} not in the PDF"


def test_each_chapter_brings_its_outputs_and_figures(pdf, text):
    notebooks = [page for page in browser.toc_pages(ROOT) if (ROOT / f"{page}.ipynb").exists()]
    for page in notebooks:
        line = first_printed_line(page)
        if line:
            assert line in text, f"{page}: its output {line!r} is not in the PDF"
    figures = sum(1 for page in notebooks
                  for cell in nbformat.read(ROOT / f"{page}.ipynb", as_version=4).cells
                  for output in cell.get("outputs", []) if "image/png" in output.get("data", {}))
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True)
    count = len(images.stdout.splitlines()) - 2  # two header lines
    assert count >= figures > 10, f"{count} images in the PDF for {figures} figures in the notebooks"


def test_math_and_chinese_are_typeset(text):
    assert re.search(FORMULA, text), "the formula Y = X ⋆ W + b is not in the PDF"
    for term in CHINESE_TERMS:
        assert term in text, f"{term} is not in the PDF"


def test_the_pdf_has_a_table_of_contents_and_an_outline(pdf, text):
    start = text.lower().find("contents")
    assert 0 <= start < 3000, "no table of contents at the start"
    chapters = [page for page in browser.toc_pages(ROOT) if page.startswith("chapters/")]
    first_page = text.index(source_title(chapters[0]), text.index(source_title("glossary"), start))
    contents = text[start:first_page]  # the contents end where the first chapter's page begins
    for page in chapters + ["glossary"]:
        assert source_title(page) in contents, f"{page} is not in the table of contents"
    assert "Part I" in contents
    assert b"/Outlines" in pdf_objects(pdf), "no bookmarks (PDF outline)"


def test_internal_links_lead_to_existing_destinations(pdf):
    objects = pdf_objects(pdf)
    links = [m.start() for m in re.finditer(rb"/Subtype\s*/Link", objects)]
    internal = [start for start in links if re.search(rb"/GoTo|/Dest", objects[max(0, start - 400):start + 400])]
    assert len(internal) > 100, f"only {len(internal)} internal links"
    targets = {name.decode("latin-1") for name in re.findall(rb"/S\s*/GoTo\s*/D\s*\(([^)]*)\)", objects)}
    dests = pdfinfo_dests(pdf)
    assert targets and targets <= dests, f"links to missing destinations: {sorted(targets - dests)[:5]}"
    # the contents and bookmarks link to parts, chapters and sections; the text's citations link
    # to the references (hyperref's cite.* names), so links in the running text work too
    assert any(name.startswith("cite.") for name in targets), "no citation links to the references"


def pdfinfo_dests(pdf) -> set[str]:
    listing = subprocess.run(["pdfinfo", "-dests", str(pdf)], capture_output=True, text=True, check=True)
    return set(re.findall(r'"(.*)"\s*$', listing.stdout, re.M))


def test_the_install_line_of_the_tests_is_the_makefiles():
    # one list of Debian packages: the Makefile's (which .ci/run installs) = what a skip tells
    from book_helpers import BROWSER_PACKAGES

    listed = subprocess.run(["make", "-s", "--no-print-directory", "system-packages"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    assert sorted(listed) == sorted(set(f"{BROWSER_PACKAGES} {PDF_PACKAGES}".split()))
    assert all(package in (ROOT / "README.md").read_text(encoding="utf-8") for package in listed)
