"""Smoke test of the benchmark script: `bench/run.py --quick` runs and writes a complete table."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = ["conv2d 3x3 stride 1 forward", "conv2d 3x3 stride 1 backward", "conv2d 3x3 stride 2 forward",
        "conv2d 3x3 stride 2 backward", "conv2d 1x1 forward", "conv2d 1x1 backward",
        "conv2d 5x5 (LeNet) forward", "conv2d 5x5 (LeNet) backward", "max_pool2d forward",
        "max_pool2d backward", "batch_norm forward", "batch_norm backward", "LeNet epoch"]


def test_bench_quick_writes_a_table_with_every_row_in_both_dtypes(tmp_path):
    out = tmp_path / "results.md"
    subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--output", str(out)],
                   check=True, capture_output=True, text=True, timeout=300)
    lines = out.read_text(encoding="utf-8").splitlines()
    for name in ROWS:
        for dtype in ("float32", "float64"):
            matching = [line for line in lines if line.startswith(f"| {name} | {dtype} |")]
            assert len(matching) == 1, (name, dtype)
            cells = [c.strip() for c in matching[0].strip("|").split("|")]
            assert float(cells[3]) > 0 and float(cells[4]) > 0        # both times measured
            assert cells[6].startswith("≤") and cells[7] in ("yes", "**no**")
    assert any(line.startswith("| resident-set high-water mark") for line in lines)
    assert any("tracemalloc" in line for line in lines)
