"""Time the NumPy engine against PyTorch on this machine and write bench/results.md.

Usage::

    python bench/run.py            # the full run (a few minutes)
    python bench/run.py --quick    # fewer repeats, for a smoke test

Everything runs single-threaded (BLAS and PyTorch), so the ratio compares algorithms, not core
counts. A time is the median over repeats; a ratio is NumPy time / PyTorch time. For a backward
pass it is the NumPy ``*_backward`` call / PyTorch forward + backward (the NumPy backward
recomputes what it needs from ``x``). Targets are those of DESIGN.md section 8.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

from cnnbook import functional as F  # noqa: E402
from cnnbook import nn  # noqa: E402
from cnnbook.data import load_digits  # noqa: E402
from cnnbook.optim import SGD  # noqa: E402
from cnnbook.train import train_epoch_numpy, train_epoch_torch  # noqa: E402

torch.set_num_threads(1)
HERE = Path(__file__).resolve().parent
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
DTYPE_NAME = {np.float32: "float32", np.float64: "float64"}

# Convolutions timed: name -> (op, input shape, weight shape, keyword arguments, target kind)
CONVS = {
    "conv2d 3x3 stride 1": ("conv2d", (16, 16, 32, 32), (32, 16, 3, 3), dict(padding=1), "conv2d"),
    "conv2d 3x3 stride 2": ("conv2d", (16, 16, 32, 32), (32, 16, 3, 3), dict(stride=2, padding=1), "conv2d"),
    "conv2d 1x1": ("conv2d", (16, 32, 32, 32), (64, 32, 1, 1), {}, "conv2d"),
    "conv2d 5x5 (LeNet)": ("conv2d", (64, 1, 28, 28), (6, 1, 5, 5), dict(padding=2), "conv2d"),
    "conv2d 5x5 (LeNet layer 2)": ("conv2d", (256, 6, 14, 14), (16, 6, 5, 5), {}, "conv2d (LeNet layer 2)"),
    "conv2d 3x3 depthwise": ("conv2d", (16, 32, 32, 32), (32, 1, 3, 3), dict(padding=1, groups=32), "conv2d"),
    "conv2d 3x3 dilation 2": ("conv2d", (16, 16, 32, 32), (32, 16, 3, 3), dict(padding=2, dilation=2), "conv2d"),
    "conv_transpose2d 4x4 stride 2": ("conv_transpose2d", (16, 32, 16, 16), (32, 16, 4, 4),
                                      dict(stride=2, padding=1), "conv_transpose2d"),
}
POOL_SHAPE = (16, 32, 32, 32)
ADAPTIVE_OUTPUT = 7            # 32 -> 7: overlapping windows of 5 and 6
BN_SHAPE = (16, 32, 32, 32)
# Targets (float32, float64): ratio NumPy / PyTorch to reach or beat
TARGETS = {
    "conv2d forward": (3, 1), "conv2d backward": (3, 1.5),
    "conv2d (LeNet layer 2) forward": (2.5, 1), "conv2d (LeNet layer 2) backward": (3, 1.5),
    "conv_transpose2d forward": (3, 1), "conv_transpose2d backward": (3, 1.5),
    "max_pool2d forward": (1, 1), "max_pool2d backward": (2, 2),
    "adaptive_max_pool2d forward": (1.5, 1.5), "adaptive_max_pool2d backward": (1.5, 1.5),
    "batch_norm forward": (1.5, 1.5), "batch_norm backward": (2, 2),
    "LeNet epoch": (2, 2),
}
MEMORY_CONV = ((16, 64, 56, 56), 64, 3, 1, 1)   # the conv whose peak memory is measured (float32)
MEMORY_TARGET = 2.0


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------
# Everything runs in this one thread, so its CPU time is the time of the computation; unlike the
# wall clock, it does not count the time other programs on the machine hold the core.
clock = time.process_time


def _calibrate(fn, min_time):
    """Warm ``fn`` up and return how many calls make one timed block of at least ``min_time`` s."""
    fn()                                     # warm-up: caches, lazy initialisation
    start = clock()
    fn()
    once = clock() - start
    return max(1, int(min_time / max(once, 1e-9)))


def paired_times(fn_np, fn_torch, repeats, min_time=0.02):
    """Median seconds per call of ``fn_np`` and of ``fn_torch``.

    The two are timed in alternating blocks, so that other work on the machine slows both alike.
    """
    n_np, n_torch = _calibrate(fn_np, min_time), _calibrate(fn_torch, min_time)
    t_np, t_torch = [], []
    for _ in range(repeats):
        for fn, number, times in ((fn_np, n_np, t_np), (fn_torch, n_torch, t_torch)):
            start = clock()
            for _ in range(number):
                fn()
            times.append((clock() - start) / number)
    return statistics.median(t_np), statistics.median(t_torch)


def conv_case(shape, c_out, k, stride, padding, dtype, rng):
    """Input, weight (scaled by 1/sqrt(fan-in)) and bias of a plain convolution."""
    return conv_arrays(shape, (c_out, shape[1], k, k), c_out, dtype, rng)


def conv_arrays(x_shape, w_shape, bias_size, dtype, rng):
    """Random input, weight (scaled by 1/sqrt(fan-in), as a layer initialises it) and bias."""
    x = rng.standard_normal(x_shape).astype(dtype)
    weight = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
    return x, weight, rng.standard_normal(bias_size).astype(dtype)


def bench_conv(name, dtype, repeats, rng):
    op, x_shape, w_shape, kwargs, kind = CONVS[name]
    forward, backward, torch_op = getattr(F, op), getattr(F, op + "_backward"), getattr(TF, op)
    c_out = w_shape[1] * kwargs.get("groups", 1) if op == "conv_transpose2d" else w_shape[0]
    x, weight, bias = conv_arrays(x_shape, w_shape, c_out, dtype, rng)
    dout = rng.standard_normal(forward(x, weight, bias, **kwargs).shape).astype(dtype)
    xt, wt, bt, dt = (torch.tensor(a) for a in (x, weight, bias, dout))
    xg, wg, bg = (t.clone().requires_grad_(True) for t in (xt, wt, bt))

    def torch_fwd():
        with torch.no_grad():
            torch_op(xt, wt, bt, **kwargs)

    def torch_fwd_bwd():
        xg.grad = wg.grad = bg.grad = None
        torch_op(xg, wg, bg, **kwargs).backward(dt)

    fwd = paired_times(lambda: forward(x, weight, bias, **kwargs), torch_fwd, repeats)
    bwd = paired_times(lambda: backward(dout, x, weight, **kwargs), torch_fwd_bwd, repeats)
    detail = ", ".join([f"x {x_shape}", f"C_out {c_out}"] + [f"{key} {value}" for key, value in kwargs.items()])
    return [(f"{name} forward", f"{kind} forward", detail, *fwd),
            (f"{name} backward", f"{kind} backward", detail, *bwd)]


def bench_max_pool(dtype, repeats, rng):
    x = rng.standard_normal(POOL_SHAPE).astype(dtype)
    dout = rng.standard_normal(F.max_pool2d(x, 2).shape).astype(dtype)
    xt, dt = torch.tensor(x), torch.tensor(dout)
    xg = xt.clone().requires_grad_(True)

    def torch_fwd():
        with torch.no_grad():
            TF.max_pool2d(xt, 2)

    def torch_fwd_bwd():
        xg.grad = None
        TF.max_pool2d(xg, 2).backward(dt)

    detail = f"x {POOL_SHAPE}, 2x2 stride 2"
    return [("max_pool2d forward", "max_pool2d forward", detail,
             *paired_times(lambda: F.max_pool2d(x, 2), torch_fwd, repeats)),
            ("max_pool2d backward", "max_pool2d backward", detail,
             *paired_times(lambda: F.max_pool2d_backward(dout, x, 2), torch_fwd_bwd, repeats))]


def bench_adaptive_max_pool(dtype, repeats, rng):
    x = rng.standard_normal(POOL_SHAPE).astype(dtype)
    size = ADAPTIVE_OUTPUT
    dout = rng.standard_normal((*POOL_SHAPE[:2], size, size)).astype(dtype)
    xt, dt = torch.tensor(x), torch.tensor(dout)
    xg = xt.clone().requires_grad_(True)

    def torch_fwd():
        with torch.no_grad():
            TF.adaptive_max_pool2d(xt, size)

    def torch_fwd_bwd():
        xg.grad = None
        TF.adaptive_max_pool2d(xg, size).backward(dt)

    detail = f"x {POOL_SHAPE}, output {size}x{size} (overlapping windows)"
    return [("adaptive_max_pool2d forward", "adaptive_max_pool2d forward", detail,
             *paired_times(lambda: F.adaptive_max_pool2d(x, size), torch_fwd, repeats)),
            ("adaptive_max_pool2d backward", "adaptive_max_pool2d backward", detail,
             *paired_times(lambda: F.adaptive_max_pool2d_backward(dout, x, size), torch_fwd_bwd, repeats))]


def bench_batch_norm(dtype, repeats, rng):
    C = BN_SHAPE[1]
    x = rng.standard_normal(BN_SHAPE).astype(dtype)
    weight, bias = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm, rv = np.zeros(C, dtype=dtype), np.ones(C, dtype=dtype)
    dout = rng.standard_normal(BN_SHAPE).astype(dtype)
    xt, wt, bt, dt = (torch.tensor(a) for a in (x, weight, bias, dout))
    rmt, rvt = torch.tensor(rm), torch.tensor(rv)
    xg, wg, bg = (t.clone().requires_grad_(True) for t in (xt, wt, bt))

    def torch_fwd():
        with torch.no_grad():
            TF.batch_norm(xt, rmt, rvt, wt, bt, training=True)

    def torch_fwd_bwd():
        xg.grad = wg.grad = bg.grad = None
        TF.batch_norm(xg, rmt, rvt, wg, bg, training=True).backward(dt)

    detail = f"x {BN_SHAPE}, training"
    return [("batch_norm forward", "batch_norm forward", detail,
             *paired_times(lambda: F.batch_norm(x, rm, rv, weight, bias, training=True), torch_fwd, repeats)),
            ("batch_norm backward", "batch_norm backward", detail,
             *paired_times(lambda: F.batch_norm_backward(dout, x, weight), torch_fwd_bwd, repeats))]


def bench_lenet_epoch(dtype, repeats):
    """One SGD epoch of LeNet-5 (d2l's: sigmoid, average pooling) on the 28x28 digits, both
    libraries starting from the same weights."""
    from cnnbook import twins          # the one LeNet of the book, tests and bench

    x, y = load_digits(size=28, dtype=dtype)
    np_model, torch_model = twins.make(twins.lenet, dtype=dtype, seed=0)
    np_opt = SGD(np_model.parameters(), lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD(torch_model.parameters(), lr=0.1, momentum=0.9)

    rng_np, rng_torch = np.random.default_rng(0), np.random.default_rng(0)
    fn_np = lambda: train_epoch_numpy(np_model, x, y, batch_size=64, optimizer=np_opt, rng=rng_np)  # noqa: E731
    fn_torch = lambda: train_epoch_torch(torch_model, x, y, batch_size=64, optimizer=torch_opt,  # noqa: E731
                                         rng=rng_torch)
    detail = f"{len(x)} digits 28x28, batch 64, SGD"
    return [("LeNet epoch", "LeNet epoch", detail, *paired_times(fn_np, fn_torch, repeats, min_time=0))]


# ---------------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------------
_MEMORY_CHILD = r"""
import os, sys, json
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
import numpy as np
import torch
torch.set_num_threads(1)
from cnnbook import functional as F
which, shape, c_out, k, stride, padding = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.standard_normal(shape).astype(np.float32)
weight = rng.standard_normal((c_out, shape[1], k, k)).astype(np.float32)
if which == "torch":
    xt, wt = torch.from_numpy(x), torch.from_numpy(weight)
    def run():
        with torch.no_grad():
            return torch.nn.functional.conv2d(xt, wt, stride=stride, padding=padding)
else:
    def run():
        return F.conv2d(x, weight, stride=stride, padding=padding)
out = run(); out_bytes = out.numel() * 4 if which == "torch" else out.nbytes; del out   # warm-up

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
try:
    with open("/proc/self/clear_refs", "w") as f:   # reset the high-water mark VmHWM to VmRSS
        f.write("5")
    exact = True
except OSError:
    exact = False
before = status("VmRSS")
out = run()
peak = status("VmHWM")
print(json.dumps({"extra": peak - before, "out_bytes": out_bytes, "exact": exact}))
"""


def memory_rss(which):
    """Peak extra resident memory (bytes) of one float32 conv forward, in a fresh subprocess."""
    shape, c_out, k, stride, padding = MEMORY_CONV
    arg = json.dumps([which, list(shape), c_out, k, stride, padding])
    # every block >= 64 KiB gets its own mmap and goes back to the OS when freed, so the resident
    # set follows the live allocations of both libraries (glibc would otherwise keep freed blocks)
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    res = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, arg], capture_output=True, text=True, check=True,
                         env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def memory_tracemalloc():
    """Peak extra NumPy memory (bytes) of the same conv forward, traced by tracemalloc."""
    shape, c_out, k, stride, padding = MEMORY_CONV
    x, weight, _ = conv_case(shape, c_out, k, stride, padding, np.float32, np.random.default_rng(0))
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    F.conv2d(x, weight, stride=stride, padding=padding)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def fmt_time(seconds):
    return f"{seconds * 1e3:.2f}" if seconds < 10 else f"{seconds * 1e3:.0f}"


def table(rows):
    lines = ["| operation | dtype | setting | NumPy (ms) | PyTorch (ms) | ratio | target | met |",
             "|---|---|---|---:|---:|---:|---:|:---:|"]
    for name, dtype, detail, t_np, t_torch, target in rows:
        ratio = t_np / t_torch
        met = "yes" if ratio <= target else "**no**"
        lines.append(f"| {name} | {dtype} | {detail} | {fmt_time(t_np)} | {fmt_time(t_torch)} | "
                     f"{ratio:.2f} | ≤ {target:g} | {met} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    parser.add_argument("--output", default=str(HERE / "results.md"), help="where to write the table")
    args = parser.parse_args(argv)
    repeats, epoch_repeats = (2, 1) if args.quick else (7, 3)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    load = os.getloadavg()[0]

    rows = []
    for dtype in (np.float32, np.float64):
        found = []
        for name in CONVS:
            found += bench_conv(name, dtype, repeats, rng)
        found += bench_max_pool(dtype, repeats, rng)
        found += bench_adaptive_max_pool(dtype, repeats, rng)
        found += bench_batch_norm(dtype, repeats, rng)
        found += bench_lenet_epoch(dtype, epoch_repeats)
        for name, kind, detail, t_np, t_torch in found:
            target = TARGETS[kind][0 if dtype == np.float32 else 1]
            rows.append((name, DTYPE_NAME[dtype], detail, t_np, t_torch, target))
            print(f"{name:<30} {DTYPE_NAME[dtype]}  ratio {t_np / t_torch:6.2f} (target {target:g})", flush=True)

    mem_np, mem_torch = memory_rss("numpy"), memory_rss("torch")
    mem_trace = memory_tracemalloc()
    mem_ratio = mem_np["extra"] / max(mem_torch["extra"], 1)
    MB = 2**20
    shape, c_out, k, stride, padding = MEMORY_CONV
    memory = "\n".join([
        "| peak extra memory of one conv2d forward | NumPy (MB) | PyTorch (MB) | ratio | target | met |",
        "|---|---:|---:|---:|---:|:---:|",
        f"| resident-set high-water mark, fresh process | {mem_np['extra'] / MB:.1f} | "
        f"{mem_torch['extra'] / MB:.1f} | {mem_ratio:.2f} | ≤ {MEMORY_TARGET:g} | "
        f"{'yes' if mem_ratio <= MEMORY_TARGET else '**no**'} |",
        f"| NumPy allocations traced by `tracemalloc` | {mem_trace / MB:.1f} | | | | |",
    ])
    n_met = sum(r[3] / r[4] <= r[5] for r in rows)
    header = (
        f"Measured by `bench/run.py{' --quick' if args.quick else ''}` on {platform.machine()} "
        f"({os.cpu_count()} cores, single thread), Python {platform.python_version()}, NumPy {np.__version__}, "
        f"PyTorch {torch.__version__.split('+')[0]}; load average {load:.1f} when the run started. Times are CPU times of the one thread that runs "
        f"both libraries (other work on the machine does not count), medians over {repeats} repeats "
        f"({epoch_repeats} for the epoch); ratio = NumPy time ÷ PyTorch time, and for a backward "
        f"the NumPy `*_backward` call ÷ PyTorch forward + backward. {n_met} of {len(rows)} speed targets met."
    )
    mem_note = (
        f"Memory: a float32 3×3 convolution, x {shape} → C_out {c_out} (output "
        f"{mem_np['out_bytes'] / MB:.1f} MB, included in both figures), measured as the rise of the "
        f"resident-set high-water mark (VmHWM, reset through `/proc/self/clear_refs`"
        f"{'' if mem_np['exact'] and mem_torch['exact'] else ' — reset unavailable here, figures are upper bounds'}"
        f") in a fresh process for each library."
    )
    text = "\n\n".join([header, table(rows), mem_note, memory]) + "\n"
    Path(args.output).write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
