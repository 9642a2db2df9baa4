"""Auto-grade exercise notebooks.

    python -m cnnbook.grade exercises/01_fully_connected.ipynb     # one submission
    python -m cnnbook.grade submissions/ --csv grades.csv          # a folder of submissions

A submission is run top to bottom in a fresh kernel. The check cells are taken from the solution
notebook (matched by cell id, so editing an ``assert`` in a submission changes nothing; a deleted
check cell is put back). An exercise earns its points when every one of its check cells runs
without error. A broken cell only costs the exercise it belongs to: the run goes on; a cell
that runs out of time is interrupted; a cell that kills the kernel is left out and the notebook
is run again from the top without it. Exercises
without a check cell (conceptual answers) are listed for a human reader and not counted in the
automatic total. The last line printed for a notebook is ``total: EARNED / POSSIBLE``.
"""
from __future__ import annotations

import argparse
import copy
import csv
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cnnbook.exercises import Exercise, list_exercises

__all__ = ["ExerciseResult", "GradeReport", "grade_notebook", "grade_path", "main"]

BOOK_ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 300


@dataclass
class ExerciseResult:
    id: str
    points: float
    earned: float
    status: str  # "ok", "failed", "manual", "not run"
    detail: str = ""
    answer: str = ""  # for a conceptual ("manual") exercise: the submitted answer text


@dataclass
class GradeReport:
    path: Path
    results: list[ExerciseResult] = field(default_factory=list)
    error: str = ""

    @property
    def earned(self) -> float:
        return sum(r.earned for r in self.results if r.status != "manual")

    @property
    def possible(self) -> float:
        return sum(r.points for r in self.results if r.status != "manual")

    def lines(self) -> list[str]:
        out = [f"{self.path}"]
        if self.error:
            out.append(f"  note: {self.error}")
        for r in self.results:
            score = "manual" if r.status == "manual" else f"{_fmt(r.earned)}/{_fmt(r.points)}"
            detail = f"  {r.detail}" if r.detail else ""
            out.append(f"  Exercise {r.id:<6} {score:>7}  {r.status}{detail}")
        manual = [r for r in self.results if r.status == "manual"]
        if manual:
            out.append(f"  to grade by hand: {', '.join(r.id for r in manual)} "
                       f"({_fmt(sum(r.points for r in manual))} points)")
        out.append(f"total: {_fmt(self.earned)} / {_fmt(self.possible)}")
        return out


def _fmt(x: float) -> str:
    return f"{x:g}"


@functools.lru_cache(maxsize=None)
def _read_reference(path: Path):
    """Read a solution notebook once per grading run (later submissions cannot change it)."""
    return nbformat.read(path, as_version=4)


def find_solution(submission, path: Path, solutions: Path) -> Path:
    """The solution notebook a submission belongs to: from its metadata, else by file name."""
    named = submission.metadata.get("cnnbook", {}).get("solution")
    candidates = [solutions / named] if named else []
    candidates += [s for s in sorted(solutions.glob("*.ipynb")) if path.name.endswith(s.name)]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{path}: no solution notebook in {solutions} matches it "
                            f"(name the submission ..._NN_slug.ipynb)")


def _give_cells_ids(submission, reference) -> None:
    """Make sure every submitted cell has an id that can be matched with the reference.

    Notebooks saved by older tools (nbformat < 4.5, some online services) have no cell ids; if
    the submission has the reference's cells in the reference's order, they get its ids by
    position, otherwise fresh ones (its check cells are then put back from the reference).
    """
    ids = [cell.get("id") for cell in submission.cells]
    reference_ids = {cell.id for cell in reference.cells}
    if all(ids) and reference_ids & set(ids):
        return
    same_layout = len(submission.cells) == len(reference.cells) and all(
        a.cell_type == b.cell_type for a, b in zip(submission.cells, reference.cells))
    for k, cell in enumerate(submission.cells):
        cell["id"] = reference.cells[k].id if same_layout else f"submitted-{k}"


def _reference_imports(reference) -> str:
    """The import lines of the reference's first code cell."""
    first = next((cell for cell in reference.cells if cell.cell_type == "code"), None)
    lines = first.source.splitlines() if first else []
    return "\n".join(line for line in lines if re.match(r"^(import|from)\s", line))


def _with_reference_checks(submission, reference, exercises: list[Exercise]):
    """The cells to run: the submission's, with every check cell taken from the reference.

    Each check cell starts by importing again what the reference imports, so that a submission
    cannot weaken a check by rebinding a name such as ``assert_close`` in its own cells.
    """
    nb = copy.deepcopy(submission)
    _give_cells_ids(nb, reference)
    imports = _reference_imports(reference)
    checks = {reference.cells[i].id: reference.cells[i] for e in exercises for i in e.check_cells}
    position = {cell.id: k for k, cell in enumerate(nb.cells)}
    for cell in nb.cells:
        if cell.get("id") in checks:
            cell.cell_type = "code"
            cell.source = checks[cell.id].source
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    # Put back deleted check cells, right after the nearest earlier reference cell still present.
    for k, ref_cell in enumerate(reference.cells):
        if ref_cell.id in checks and ref_cell.id not in position:
            anchor = next((position[reference.cells[j].id] for j in range(k - 1, -1, -1)
                           if reference.cells[j].id in position), len(nb.cells) - 1)
            nb.cells.insert(anchor + 1, nbformat.v4.new_code_cell(ref_cell.source, id=ref_cell.id))
            position = {cell.id: n for n, cell in enumerate(nb.cells)}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if cell.id in checks and imports:
                cell.source = f"{imports}\n{cell.source}"
    return nb


def _run_once(nb, cwd: Path, timeout: int, skip: set[str]):
    """Run the code cells not in ``skip`` in one fresh kernel; return (ran ids, id of a killer cell)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    ran: set[str] = set()
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or cell.id in skip:
                    continue
                try:
                    client.execute_cell(cell, index)
                except Exception:  # DeadKernelError, or a timeout the kernel did not survive
                    return ran, cell.id
                ran.add(cell.id)
    except DeadKernelError:  # the kernel died while shutting down; what ran, ran
        pass
    return ran, None


def _run(nb, cwd: Path, timeout: int, max_restarts: int = 3) -> tuple[dict[str, str], str]:
    """Run every code cell; return {cell id: error text} for the cells that failed, and a note.

    A cell that kills the kernel (or hangs past the timeout and cannot be interrupted) is
    recorded as failed; the notebook is then run again from the top in a fresh kernel without
    that cell, so the exercises after it are still graded.
    """
    skip: dict[str, str] = {}
    notes = []
    for _ in range(max_restarts + 1):
        ran, killer = _run_once(nb, cwd, timeout, set(skip))
        if killer is None:
            break
        index = next(k for k, cell in enumerate(nb.cells) if cell.id == killer)
        skip[killer] = "the kernel died (or hung) running this cell"
        notes.append(f"the kernel died running cell {index}; re-ran the notebook without it")
    else:
        notes.append(f"gave up after {max_restarts} restarts; cells not reached were not run")
    failures = dict(skip)
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.id in failures:
            continue
        if cell.id not in ran:
            failures[cell.id] = "not run"
            continue
        for output in cell.outputs:
            if output.output_type == "error":
                failures[cell.id] = _describe_error(output, timeout)
                break
    return failures, "; ".join(notes)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _describe_error(output, timeout: int | None = None) -> str:
    """``Name: message``; for a bare ``assert``, the failing line, so a student knows which check."""
    if output.ename == "KeyboardInterrupt" and timeout is not None:
        return f"timed out: the cell ran longer than {timeout} s (--timeout) and was interrupted"
    text = f"{output.ename}: {output.evalue}".strip()
    if not output.evalue:
        arrows = [line for line in (_ANSI.sub("", frame) for frame in output.get("traceback", []))
                  for line in line.splitlines() if re.match(r"^-*>\s*\d+", line.strip())]
        if arrows:
            text += " " + re.sub(r"^-*>\s*\d+\s*", "", arrows[-1].strip())
    return text[:200]


def grade_notebook(path: str | Path, *, solutions: str | Path | None = None,
                   timeout: int = CELL_TIMEOUT) -> GradeReport:
    """Run one submission and score it exercise by exercise."""
    path = Path(path)
    solutions = Path(solutions) if solutions else BOOK_ROOT / "solutions"
    report = GradeReport(path)
    reference_path = None
    try:
        submission = nbformat.read(path, as_version=4)
        reference_path = find_solution(submission, path, solutions)
        reference = _read_reference(reference_path.resolve())
        exercises = list_exercises(reference, name=str(reference_path), require_solutions=False)
    except Exception as error:
        report.error = f"cannot grade: {type(error).__name__}: {error}"
        if reference_path is not None:
            try:
                exercises = list_exercises(nbformat.read(reference_path, as_version=4), require_solutions=False)
                report.results = [ExerciseResult(e.id, e.points, 0, "failed" if e.graded else "manual")
                                  for e in exercises]
            except Exception:
                pass
        return report
    nb = None
    try:
        nb = _with_reference_checks(submission, reference, exercises)
        failures, report.error = _run(nb, path.parent.resolve(), timeout)
    except Exception as error:  # whatever goes wrong with one submission stays with it
        report.error = f"cannot run: {type(error).__name__}: {error}"
        failures = {reference.cells[i].id: "not run" for e in exercises for i in e.cells}
    submitted = {cell.get("id"): cell for cell in nb.cells} if nb is not None else {}
    for e in exercises:
        if not e.graded:
            answer = "\n\n".join(submitted[reference.cells[i].id].source.strip() for i in e.solution_cells
                                 if reference.cells[i].id in submitted)
            report.results.append(ExerciseResult(e.id, e.points, 0, "manual", answer=answer))
            continue
        check_ids = [reference.cells[i].id for i in e.check_cells]
        problems = [failures[c] for c in check_ids if c in failures]
        if not problems:
            report.results.append(ExerciseResult(e.id, e.points, e.points, "ok"))
        else:
            status = "not run" if all(p == "not run" for p in problems) else "failed"
            # Name the first error in the exercise (often the solution cell), not only its symptom.
            first = next(failures[reference.cells[i].id] for i in e.cells
                         if reference.cells[i].id in failures)
            report.results.append(ExerciseResult(e.id, e.points, 0, status, first))
    return report


def grade_path(path: str | Path, **kwargs) -> list[GradeReport]:
    """Grade one notebook, or every notebook in a folder (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        notebooks = sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
        if not notebooks:
            raise FileNotFoundError(f"{path}: no .ipynb files to grade")
        return [grade_notebook(p, **kwargs) for p in notebooks]
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such notebook or folder")
    return [grade_notebook(path, **kwargs)]


def write_csv(reports: list[GradeReport], out: Path) -> None:
    ids = sorted({r.id for report in reports for r in report.results},
                 key=lambda s: tuple(int(p) for p in s.split(".")))
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["notebook", *[f"ex {i}" for i in ids], "earned", "possible", "note"])
        for report in reports:
            by_id = {r.id: ("manual" if r.status == "manual" else _fmt(r.earned)) for r in report.results}
            writer.writerow([str(report.path), *[by_id.get(i, "") for i in ids],
                             _fmt(report.earned), _fmt(report.possible), report.error])


def write_answers(reports: list[GradeReport], out: Path) -> None:
    """One Markdown file with every submission's answer to each exercise graded by hand."""
    lines = ["# Answers to grade by hand", ""]
    ids = sorted({r.id for report in reports for r in report.results if r.status == "manual"},
                 key=lambda s: tuple(int(p) for p in s.split(".")))
    for exercise_id in ids:
        lines += [f"## Exercise {exercise_id}", ""]
        for report in reports:
            for r in report.results:
                if r.id == exercise_id:
                    lines += [f"### {report.path.name} ({_fmt(r.points)} point{'' if r.points == 1 else 's'})", "",
                              r.answer or "*(no answer found)*", ""]
    out.write_text("\n".join(lines), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook.grade",
                                     description="Run exercise notebooks and print points per exercise.")
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    parser.add_argument("--solutions", type=Path, default=None,
                        help="folder of solution notebooks (default: the book's solutions/)")
    parser.add_argument("--csv", type=Path, default=None, help="also write one row per notebook to this CSV file")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds allowed per cell")
    parser.add_argument("--answers", type=Path, default=None,
                        help="also write the answers to the exercises graded by hand to this Markdown file")
    args = parser.parse_args(argv)
    reports = []
    for path in args.paths:
        try:
            found = grade_path(path, solutions=args.solutions, timeout=args.timeout)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for report in found:
            print("\n".join(report.lines()), flush=True)
        reports += found
    if args.csv:
        write_csv(reports, args.csv)
        print(f"wrote {args.csv} ({len(reports)} notebooks)")
    if args.answers:
        write_answers(reports, args.answers)
        print(f"wrote {args.answers} (answers to grade by hand)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
