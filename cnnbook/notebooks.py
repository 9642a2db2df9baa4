"""Run the book's notebooks in place, top to bottom, in one fresh kernel each.

    python -m cnnbook.notebooks execute chapters/01_fully_connected.ipynb [more.ipynb ...]

This is what ``make execute`` calls. Outputs in the committed notebooks come only from here; CI
re-runs them with nbval and compares. Cells tagged ``raises-exception`` may raise (nbclient's
convention); any other error stops the run and leaves the notebook file untouched.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

__all__ = ["execute_notebook", "main"]

CELL_TIMEOUT = 900  # seconds for one cell; a chapter should take < 2 minutes in total


def execute_notebook(path: str | Path, *, timeout: int = CELL_TIMEOUT, write: bool = True):
    """Execute the notebook at ``path`` in a fresh kernel and (by default) save it in place.

    Returns the executed notebook node and the wall time in seconds. Raises
    ``nbclient.exceptions.CellExecutionError`` if a cell not tagged ``raises-exception`` fails.
    """
    from nbclient import NotebookClient

    os.environ.pop("MPLBACKEND", None)  # inherited by the kernel, a non-inline backend drops every figure
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:                       # timestamps would make every re-run a diff
        cell.metadata.pop("execution", None)
    if write:
        nbformat.write(nb, path)
    return nb, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook.notebooks", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="execute notebooks in place")
    run.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)

    failures = 0
    for path in args.paths:
        if not path.exists() or path.suffix != ".ipynb":
            print(f"{path}: not a notebook file", file=sys.stderr)
            failures += 1
            continue
        print(f"executing {path} ...", flush=True)
        try:
            _, seconds = execute_notebook(path)
        except Exception as error:  # report and go on with the other notebooks
            print(f"FAILED {path}: {type(error).__name__}: {str(error)[-2000:]}", file=sys.stderr)
            failures += 1
            continue
        print(f"    {path}: {seconds:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
