"""Time every notebook of the book and write the page ``runtimes.md``, so instructors can plan.

    python -m cnnbook.runtimes [--write runtimes.md]      # what `make runtimes` runs
    python -m cnnbook.runtimes --write runtimes.md --only chapters/08_lenet.ipynb   # re-time one

Each notebook of ``_toc.yml`` (chapters and their exercise notebooks, with solutions) runs top to
bottom in a fresh kernel, one after the other, in a scratch copy of the book (a temporary folder:
the committed notebooks and their outputs are never touched). The page lists each notebook's wall
time, the total, the date and the machine (cores, CPU model, Python, NumPy and PyTorch versions,
and the load average, since other work on the machine slows the notebooks down).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["Timing", "machine", "measure", "merge", "notebooks_of_toc", "render", "main"]

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("chapters", "solutions", "exercises", "appendix")


@dataclass
class Timing:
    path: str            # e.g. "chapters/01_fully_connected.ipynb"
    title: str
    seconds: float | None  # None: the notebook failed
    error: str = ""


def notebooks_of_toc(root: str | Path = ROOT) -> list[str]:
    """The notebooks of the table of contents, in its order (paths relative to ``root``)."""
    from cnnbook.browser import toc_pages

    root = Path(root)
    return [f"{page}.ipynb" for page in toc_pages(root) if (root / f"{page}.ipynb").exists()]


def notebook_title(path: str | Path) -> str:
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown" and (match := re.search(r"^# (.+)$", cell.source, re.M)):
            return re.sub(r"\{[a-z]+\}`([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", match.group(1)).strip()
    return Path(path).stem


def machine() -> dict[str, str]:
    """What the times depend on: cores, CPU model, versions, load average."""
    import numpy
    import torch

    model = platform.processor() or platform.machine()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        if found := re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M):
            model = found.group(1).strip()
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"cores": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "numpy": numpy.__version__, "torch": torch.__version__,
            "torch_threads": str(torch.get_num_threads()), "load": f"{load[0]:.1f}"}


def measure(root: str | Path = ROOT, notebooks: list[str] | None = None, *, log=print) -> list[Timing]:
    """Run each notebook in a scratch copy of ``root`` and time it."""
    from cnnbook.notebooks import execute_notebook

    root = Path(root).resolve()
    notebooks = notebooks if notebooks is not None else notebooks_of_toc(root)
    timings = []
    with tempfile.TemporaryDirectory(prefix="cnnbook-runtimes-") as scratch:
        scratch = Path(scratch)
        for folder in COPIED:
            if (root / folder).is_dir():
                shutil.copytree(root / folder, scratch / folder,
                                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        for name in root.glob("*.*"):
            if name.is_file() and name.suffix in (".md", ".yml", ".bib"):
                shutil.copy2(name, scratch / name.name)
        for path in notebooks:
            title = notebook_title(root / path)
            log(f"running {path} ...")
            try:
                _, seconds = execute_notebook(scratch / path, write=False)
            except Exception as error:  # report it on the page and go on
                log(f"    FAILED: {type(error).__name__}")
                timings.append(Timing(path, title, None, f"{type(error).__name__}: {str(error)[-300:]}"))
                continue
            log(f"    {seconds:.1f} s")
            timings.append(Timing(path, title, seconds))
    return timings


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s"


PAGE = """# Notebook run times

How long each notebook of the book takes to run from top to bottom in a fresh kernel, on a CPU
with {cores} cores and no GPU: use it to plan a lab session or a grading run. The chapters' own
notebooks and their exercise notebooks (with the solutions) are listed in the order of the book;
a student's copy of an exercise notebook runs faster than the one with solutions until the
exercises are done.

| Notebook | File | Wall time |
|---|---|---:|
{rows}
| **Total** | | **{total}** |

*Measured on {date}, with `make runtimes`, one notebook at a time. Machine: {cores} cores
({cpu}), Python {python}, NumPy {numpy}, PyTorch {torch} (CPU, {torch_threads} threads).*
{note}
Regenerate this page with `make runtimes` (it runs every notebook in a scratch copy of the book,
so the committed notebooks are not touched); a test fails when a notebook of the table of contents
is missing from it.
"""


def render(timings: list[Timing], info: dict[str, str], *, date: str | None = None,
           load_after: str | None = None) -> str:
    """The Markdown page for ``timings`` measured on the machine ``info``."""
    rows = []
    for timing in timings:
        kind = "Exercises: " if timing.path.startswith("solutions/") and not timing.title.startswith("Exercises") else ""
        time = _duration(timing.seconds) if timing.seconds is not None else "failed"
        rows.append(f"| {kind}{timing.title} | `{timing.path}` | {time} |")
    total = sum(t.seconds for t in timings if t.seconds is not None)
    busy = max(float(info["load"]), float(load_after or 0))
    note = ""
    if busy > 0.5:
        note = (f"\n*The machine was not idle: its load average was {info['load']} when the run began"
                + (f" and {load_after} when it ended" if load_after else "")
                + " (other jobs shared the cores), so these times are upper bounds; on an idle "
                "machine of this kind they are shorter.*\n")
    return PAGE.format(rows="\n".join(rows), total=_duration(total), note=note,
                       date=date or _dt.date.today().isoformat(), **info)


_ROW = re.compile(r"^\| (?:Exercises: )?(.+?) \| `([^`]+\.ipynb)` \| ((?:\d+ min )?\d+ s|failed) \|$", re.M)


def _seconds(text: str) -> float | None:
    if text == "failed":
        return None
    minutes = re.search(r"(\d+) min", text)
    return (int(minutes.group(1)) * 60 if minutes else 0) + int(re.search(r"(\d+) s$", text).group(1))


def merge(page: str, fresh: list[Timing], notebooks: list[str]) -> list[Timing]:
    """The timings of ``notebooks`` (in that order): ``fresh`` ones where given, else the
    rows of an earlier ``page`` (a notebook in neither is left out)."""
    old = {path: Timing(path, title, _seconds(time)) for title, path, time in _ROW.findall(page)}
    new = {t.path: t for t in fresh}
    return [new.get(path) or old[path] for path in notebooks if path in new or path in old]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook.runtimes", description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="write the page here (e.g. runtimes.md)")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--only", nargs="+", metavar="NOTEBOOK",
                        help="re-time only these notebooks (e.g. the ones you changed) and keep "
                             "the other rows of the page given with --write")
    args = parser.parse_args(argv)
    if args.only and not (args.write and args.write.exists()):
        parser.error("--only needs --write with an existing page to keep the other rows of")
    info = machine()
    if args.only:
        unknown = [p for p in args.only if p not in notebooks_of_toc(args.root)]
        if unknown:
            parser.error(f"--only: not notebooks of the table of contents: {unknown}")
        fresh = measure(args.root, list(args.only))
        timings = merge(args.write.read_text(encoding="utf-8"), fresh, notebooks_of_toc(args.root))
    else:
        timings = measure(args.root)
    load_after = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else None
    page = render(timings, info, load_after=load_after)
    if args.write:
        args.write.write_text(page, encoding="utf-8")
        print(f"wrote {args.write}")
    else:
        print(page)
    failed = [t.path for t in timings if t.seconds is None]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
