"""The book's notebook rules (DESIGN.md sections 3-5), checked on every committed notebook."""
import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from cnnbook import exercises

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
STUDENT = sorted((ROOT / "exercises").glob("*.ipynb"))
EXECUTED = CHAPTERS + SOLUTIONS
ALL = EXECUTED + STUDENT
KNOWN_TAGS = {"nbval-ignore-output", "nbval-skip", "raises-exception", "check", "solution", "answer",
              "hide-input", "hide-output", "hide-cell", "remove-input", "remove-output", "remove-cell"}
NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
MAX_NOTEBOOK_BYTES = 2_000_000


def ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_book_has_chapters_and_solutions():
    assert CHAPTERS, "chapters/ holds no notebook"
    assert SOLUTIONS, "solutions/ holds no notebook"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_notebook_is_valid_nbformat_with_cell_ids(path):
    nb = read(path)
    nbformat.validate(nb)
    assert all(cell.get("id") for cell in nb.cells), "every cell needs an id (nbformat >= 4.5)"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_notebook_name_and_size(path):
    assert NAME.match(path.name), f"{path.name}: name notebooks NN_slug.ipynb (lower case)"
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{path.name}: {path.stat().st_size} bytes; shrink the figures"


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_executed_top_to_bottom_in_one_kernel(path):
    counts = [c.execution_count for c in code_cells(read(path))]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}: run `make execute`"


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_no_stored_error_outside_raises_exception_cells(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type != "code" or "raises-exception" in cell.metadata.get("tags", []):
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"cell {index} stores an error: {errors[0].get('ename')}"


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_no_warnings_or_addresses_in_stored_outputs(path):
    for index, cell in enumerate(code_cells(read(path))):
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr" and \
                    "nbval-ignore-output" not in cell.metadata.get("tags", []):
                assert "Warning" not in output.text, f"code cell {index} prints a warning: {output.text[:200]}"
            text = output.get("text", "") or output.get("data", {}).get("text/plain", "")
            assert not re.search(r"at 0x[0-9a-f]{6,}", text), f"code cell {index} prints a memory address"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_first_code_cell_seeds_the_generators(path):
    nb = read(path)
    first = code_cells(nb)[0].source
    assert "np.random.default_rng(0)" in first, "the first code cell must create rng = np.random.default_rng(0)"
    uses_torch = any(re.search(r"^\s*(import torch|from torch)", c.source, re.M) for c in code_cells(nb))
    if uses_torch:
        assert "torch.manual_seed(0)" in first, "a notebook using torch seeds it in the first code cell"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_only_known_tags(path):
    for index, cell in enumerate(read(path).cells):
        unknown = set(cell.metadata.get("tags", [])) - KNOWN_TAGS
        assert not unknown, f"cell {index} has unknown tags {unknown} (typo?)"


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_figure_cells_end_with_plt_show(path):
    for index, cell in enumerate(code_cells(read(path))):
        lines = [line for line in cell.source.strip().splitlines() if line.strip()]
        if lines and re.match(r"^(plt|ax|fig)\b.*;\s*$", lines[-1]):
            pytest.fail(f"code cell {index} ends with a ';' after a plot call: end it with plt.show()")


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_figure_cells_store_their_figure(path):
    for index, cell in enumerate(code_cells(read(path))):
        if re.search(r"^\s*plt\.show\(\)", cell.source, re.M):
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert images, f"code cell {index} calls plt.show() but stores no PNG (was MPLBACKEND set?)"


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_no_execution_timestamps_are_stored(path):
    stamped = [i for i, cell in enumerate(read(path).cells) if "execution" in cell.metadata]
    assert not stamped, f"cells {stamped} store execution timestamps: run `make execute`"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_chapter_checks_against_pytorch(path):
    nb = read(path)
    sources = "\n".join(c.source for c in code_cells(nb))
    assert re.search(r"^\s*import torch", sources, re.M), "a chapter checks its NumPy code against PyTorch"
    assert re.search(r"assert_close\(", sources), "a chapter asserts with cnnbook.check.assert_close"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_chapter_structure(path):
    nb = read(path)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert markdown and markdown[0].lstrip().startswith("# "), "a chapter opens with one '# ' title"
    titles = [line for text in markdown for line in text.splitlines() if re.match(r"^# ", line)]
    assert len(titles) == 1, f"one '# ' title per notebook, found {titles}"
    text = "\n".join(markdown)
    assert re.search(r"learning objectives", text, re.I), "a chapter opens with learning objectives"
    assert re.search(r"^## Summary", text, re.M), "a chapter ends with a '## Summary'"
    assert re.search(r"[\u4e00-\u9fff]", text), "key terms carry their Chinese name at first use"
    if (ROOT / "solutions" / path.name).exists():
        assert f"../solutions/{path.name}" in text, "the chapter links to its exercises"


def _literalincludes():
    found = []
    for path in EXECUTED + sorted(ROOT.glob("*.md")) + sorted(ROOT.glob("appendix/*.md")):
        if path.suffix == ".ipynb":
            texts = [c.source for c in read(path).cells if c.cell_type == "markdown"]
        else:
            texts = [path.read_text(encoding="utf-8")]
        for text in texts:
            for match in re.finditer(r"```\{literalinclude\}\s+(\S+)\s*\n((?::\w+:.*\n)*)", text):
                options = dict(re.findall(r":(\w+):\s*(.*)", match.group(2)))
                found.append((path, match.group(1), options.get("pyobject")))
    return found


def test_literalinclude_targets_exist():
    for path, target, pyobject in _literalincludes():
        file = (path.parent / target).resolve()
        assert file.exists(), f"{path.name}: literalinclude target {target} does not exist"
        if pyobject:
            tree = ast.parse(file.read_text(encoding="utf-8"))
            names = {node.name for node in ast.walk(tree)
                     if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
            assert pyobject.split(".")[-1] in names, f"{path.name}: {target} has no {pyobject}"


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files


def test_every_toc_entry_exists():
    for entry in _toc_files():
        assert any((ROOT / f"{entry}{suffix}").exists() for suffix in (".md", ".ipynb")), f"_toc.yml: {entry} missing"


def test_every_chapter_and_solution_is_in_the_toc():
    listed = set(_toc_files())
    for path in EXECUTED:
        assert path.relative_to(ROOT).with_suffix("").as_posix() in listed, f"{path.name} is not in _toc.yml"


def test_every_chapter_has_a_solution_notebook():
    assert {p.name for p in CHAPTERS} == {p.name for p in SOLUTIONS}


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_solution_notebook_follows_the_exercise_conventions(path):
    found = exercises.list_exercises(read(path), name=path.name)
    assert len(found) >= 3, "at least three exercises per chapter"
    assert any(e.graded for e in found), "at least one auto-graded coding exercise"
    assert any(not e.graded for e in found), "at least one conceptual exercise"
    chapter = path.name[:2].lstrip("0")
    nb = read(path)
    for e in found:
        assert e.id.split(".")[0] == chapter, f"exercise {e.id} in chapter {chapter}'s notebook"
        statement = nb.cells[e.cells[0]].source
        assert re.match(rf"## Exercise {re.escape(e.id)}: ", statement), f"exercise {e.id}: heading"
        shown = f"{e.points:g} point{'s' if e.points != 1 else ''} · difficulty {e.difficulty} of 3"
        assert shown in statement, f"exercise {e.id}: the statement shows {shown!r} (its metadata)"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_model_solutions_are_folded_in_the_full_edition(path):
    # the web book hides a model solution's code behind a "Show the model solution" button so
    # that a reader tries first; `python -m cnnbook.exercises --fold-solutions` adds the fold
    unfolded = [index for index, cell in enumerate(read(path).cells)
                if cell.cell_type == "code" and exercises.BEGIN in cell.source
                and "hide-input" not in cell.metadata.get("tags", [])]
    assert not unfolded, (f"solution code cells {unfolded} lack the tag 'hide-input': run "
                          "`python -m cnnbook.exercises --fold-solutions`")


def test_exercises_are_in_sync_with_solutions():
    problems = exercises.check(ROOT)
    assert not problems, "\n".join(problems) + "\nrun `make exercises`"


@pytest.mark.parametrize("path", STUDENT, ids=ids(STUDENT))
def test_student_copies_hold_no_solutions_and_no_outputs(path):
    nb = read(path)
    for cell in nb.cells:
        assert "BEGIN SOLUTION" not in cell.source
        assert "solution" not in cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


def test_config_builds_offline_and_does_not_execute():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["only_build_toc_files"] is True
    assert "sphinx-mathjax-offline" in config["sphinx"]["extra_extensions"]


def test_lock_pins_every_package_exactly():
    lines = [line for line in (ROOT / "requirements.lock").read_text().splitlines() if line and not line.startswith("#")]
    assert all(re.match(r"^[A-Za-z0-9_.\-\[\]]+==[^=\s]+$", line) for line in lines), "only exact == pins"
    pins = dict(line.split("==") for line in lines)
    assert pins.get("torch") == "2.13.0", "torch is pinned as 2.13.0 (not +cpu)"
    assert pins.get("jupyter-book") == "1.0.4.post1"
    assert "torchvision" not in pins
    for required in ("numpy", "matplotlib", "nbval", "pytest", "pytest-xdist", "hypothesis", "tqdm",
                     "scikit-learn", "scikit-image", "sphinx-mathjax-offline", "nbclient"):
        assert required in pins, f"{required} missing from requirements.lock"


def test_notebook_json_is_formatted_as_nbformat_writes_it():
    for path in ALL:
        text = path.read_text(encoding="utf-8")
        assert text == nbformat.writes(read(path)) + "\n", f"{path.name}: write notebooks with nbformat"
        json.loads(text)


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_code_cells_fit_the_page(path):
    # DESIGN.md section 3: a code line over 88 characters makes its cell scroll sideways
    wide = [(index, len(line)) for index, cell in enumerate(read(path).cells)
            if cell.cell_type == "code" for line in cell.source.splitlines() if len(line) > 88]
    assert not wide, f"{path.name}: code lines over 88 characters (cell index, length): {wide}"


def test_code_shown_with_literalinclude_fits_the_page():
    # a listing wider than 88 characters scrolls sideways on the web page, as a code cell would
    for path, target, pyobject in _literalincludes():
        if not pyobject:
            continue
        file = (path.parent / target).resolve()
        source = file.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if getattr(node, "name", None) == pyobject.split(".")[-1]:
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                wide = [n for n in range(first, node.end_lineno + 1) if len(lines[n - 1]) > 88]
                assert not wide, f"{path.name}: {target}:{pyobject} has lines over 88 characters: {wide}"


# -- reader aids: glossary links and citations (issue 10) ------------------------------------------

MIN_GLOSSARY_TERMS = 60
PROPER_NAMES = {"NetVLAD", "MNIST-1D"}  # glossary terms that keep their name in Chinese text
# Markdown that is not prose: code blocks and directives, math, inline code, roles, link targets.
_NOT_PROSE = re.compile(r"```[\s\S]*?```|\$\$[\s\S]*?\$\$|(?<!\\)\$[^$\n]+?\$|\{[a-z:]+\}`[^`]*`"
                        r"|`[^`\n]*`|\]\([^)\n]*\)", re.M)


def glossary_terms():
    text = (ROOT / "glossary.md").read_text(encoding="utf-8")
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert block, "glossary.md holds a {glossary} directive"
    return [line.strip() for line in block.group(1).splitlines()
            if line.strip() and not line[0].isspace()]


def chapter_markdown(path):
    return "\n\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")


def term_links(text):
    """The glossary terms that {term}`text` or {term}`text <target>` roles point to (casefolded)."""
    targets = []
    for role in re.findall(r"\{term\}`([^`]*)`", text):
        explicit = re.fullmatch(r"(?s)(.*?)\s*<(.+)>", role)
        targets.append(" ".join((explicit.group(2) if explicit else role).split()).casefold())
    return targets


def test_glossary_is_large_enough_and_alphabetical():
    terms = glossary_terms()
    assert len(terms) >= MIN_GLOSSARY_TERMS, f"{len(terms)} glossary terms, Part I needs {MIN_GLOSSARY_TERMS}"
    assert len(set(t.casefold() for t in terms)) == len(terms), "a glossary term appears twice"
    order = [t.casefold() for t in terms]
    wrong = [(a, b) for a, b in zip(terms, terms[1:]) if a.casefold() > b.casefold()]
    assert order == sorted(order), f"glossary terms out of alphabetical order: {wrong}"
    unnamed = [t for t in terms if not re.search(r"[\u4e00-\u9fff]", t) and t not in PROPER_NAMES]
    assert not unnamed, f"glossary terms without their Chinese name: {unnamed}"


def test_every_glossary_term_is_linked_from_a_chapter():
    terms = {t.casefold(): t for t in glossary_terms()}
    linked = {target for path in CHAPTERS for target in term_links(chapter_markdown(path))}
    unlinked = [terms[t] for t in terms if t not in linked]
    assert not unlinked, ("glossary terms that no chapter links to with {term}`text <Term>` "
                          f"at their first use: {unlinked}")


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_term_links_name_glossary_terms(path):
    terms = {t.casefold() for t in glossary_terms()}
    unknown = [t for t in term_links(chapter_markdown(path)) if t not in terms]
    assert not unknown, f"{{term}} links to terms the glossary lacks: {unknown}"


# A paper the text names must be cited in the same chapter: (what the text says, accepted keys).
PAPERS = [
    (r"\bLeNet", {"lecun1998gradient", "lecun1989backpropagation"}),
    (r"\bAlexNet", {"krizhevsky2012imagenet"}),
    (r"\bVGG", {"simonyan2015very"}),
    (r"\bNiN\b|Network in Network", {"lin2014network"}),
    (r"GoogLeNet|\bInception\b", {"szegedy2015going"}),
    (r"(?i:batch normali[sz]ation)|\bBatchNorm", {"ioffe2015batch"}),
    (r"\bResNet", {"he2016deep"}),
    (r"\bResNeXt", {"xie2017aggregated"}),
    (r"\bDenseNet", {"huang2017densely"}),
    (r"\bMobileNet", {"howard2017mobilenets", "sandler2018mobilenetv2"}),
    (r"\bEfficientNet", {"tan2019efficientnet"}),
    (r"\bFCN\b|(?i:fully convolutional network)", {"long2015fully"}),
    (r"\bU-Net", {"ronneberger2015unet", "cicek2016unet"}),
    (r"\bDeepLab", {"chen2018deeplab", "chen2017deeplab", "chen2017rethinking"}),
    (r"\bESPCN", {"shi2016real"}),
    (r"\bFasterNet", {"chen2023run"}),
    (r"\bXception", {"chollet2017xception"}),
    (r"\bSPP\b|SPPNet|(?i:spatial pyramid pooling)", {"he2015spatial"}),
    (r"\bNetVLAD", {"arandjelovic2016netvlad"}),
    (r"\bVLAD\b", {"jegou2010aggregating"}),
    (r"\bSegNet", {"badrinarayanan2017segnet"}),
    (r"\bConvNeXt", {"liu2022convnet"}),
    (r"Vision Transformer|\bViT\b", {"dosovitskiy2021image"}),
    (r"\bZeiler", {"zeiler2014visualizing"}),
    (r"\bSpringenberg", {"springenberg2015striving"}),
    (r"\bZhang\b", {"zhang2019making", "zhang2023dive"}),
    (r"\bAzulay", {"azulay2019why"}),
    (r"\bHubel", {"hubel1962receptive"}),
    (r"\bFukushima|[Nn]eocognitron", {"fukushima1980neocognitron"}),
    (r"\bHarris\b", {"harris1988combined"}),
    (r"\bPrewitt", {"prewitt1970object"}),
    (r"\bMarr\b", {"marr1980theory"}),
    (r"\bBeaudet", {"beaudet1978rotationally"}),
    (r"\bLuo et al", {"luo2016understanding"}),
    (r"\bDumoulin", {"dumoulin2016guide"}),
    (r"\bGeirhos", {"geirhos2020shortcut"}),
    (r"\bDeepFace", {"taigman2014deepface"}),
    (r"\bCoordConv", {"liu2018intriguing"}),
    (r"\bAdam\b", {"kingma2015adam"}),
    (r"(?i:\bdropout\b)", {"srivastava2014dropout"}),
    (r"\bAdamW\b", {"loshchilov2019decoupled"}),
    (r"\bGoyal\b", {"goyal2017accurate"}),
    (r"\bKeskar\b", {"keskar2017large"}),
    (r"\bYosinski\b", {"yosinski2014transferable"}),
    (r"\bSGDR\b|(?i:warm restarts)", {"loshchilov2017sgdr"}),
]


def cited_keys(text):
    return {key.strip() for keys in re.findall(r"\{cite[a-z:]*\}`([^`]*)`", text) for key in keys.split(",")}


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_papers_named_in_a_chapter_are_cited_in_it(path):
    text = chapter_markdown(path)
    linked = re.sub(r"\{term\}`([^`<]*?)\s*(?:<[^`]*>)?`", r"\1", text)   # a term link's text is prose
    prose, cited = _NOT_PROSE.sub(" ", linked), cited_keys(text)
    uncited = [(re.search(pattern, prose).group(0), sorted(keys)) for pattern, keys in PAPERS
               if re.search(pattern, prose) and not keys & cited]
    assert not uncited, f"papers named without a {{cite}} in this chapter (name, keys): {uncited}"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_cited_keys_exist_in_the_bibliography(path):
    bib = set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(encoding="utf-8"), re.M))
    missing = sorted(cited_keys(chapter_markdown(path)) - bib)
    assert not missing, f"cited keys missing from references.bib: {missing}"
