"""Root pytest configuration: notebooks in exercises/ are checked leniently.

`make test` runs nbval in strict mode (outputs must reproduce) on chapters/ and solutions/. The
student copies in exercises/ are committed without outputs, so for them only one thing is
checked: every cell runs, and only cells tagged ``raises-exception`` (the exercise stubs and their
checks) may raise. This is nbval's ``--nbval-lax`` behaviour, applied per folder.
"""
import os

import pytest

# Notebook kernels inherit the environment: a non-inline MPLBACKEND would drop every figure and
# make nbval report differences that are not in the book.
os.environ.pop("MPLBACKEND", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_collect_file(file_path, parent):
    outcome = yield
    if file_path.suffix == ".ipynb" and file_path.parent.name == "exercises":
        for collector in outcome.get_result() or []:
            if hasattr(collector, "compare_outputs"):
                collector.compare_outputs = False


# The suite fails rather than skips: a test that cannot run (a missing package, a missing file)
# is a failure of the set-up, and CI must say so. One exception: the browser and PDF tests need
# Debian packages (Chromium, TeX Live; tests/book_helpers.py), and without them they are skipped
# with the install line, reported below; CI installs the packages and fails instead of skipping.
_SYSTEM_SKIP = "[system packages missing]"
_skipped = []
_system_skips = {}


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
        if _SYSTEM_SKIP in reason:
            _system_skips.setdefault(reason.split(_SYSTEM_SKIP, 1)[1].strip(), []).append(report.nodeid)
        else:
            _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    for reason, nodeids in _system_skips.items():
        terminalreporter.write_line(f"NOT RUN ({len(nodeids)} tests): {reason}", yellow=True)
    if _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) were skipped; the book's suite must run everything: "
            + ", ".join(_skipped[:5]), red=True)
