"""Exercises 11.1-11.4 (ResNet) under the instructor's grader: the model solutions earn full
marks, shortcuts the statements rule out earn nothing.

Each submission is the student copy with the model solutions pasted in and, for a cheat, one
function per exercise replaced after it. One graded notebook holds one cheat for each of
several exercises (each exercise is graded on its own), so four runs of the grader cover the
model solutions and all eight cheats.
"""
from pathlib import Path

import nbformat
import pytest

from cnnbook import grade

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "exercises" / "11_resnet.ipynb"
SOLUTIONS = ROOT / "solutions"
CELLS = {"11.1": "s11-03", "11.2": "s11-07", "11.3": "s11-10", "11.4": "s11-13"}
DEMO = {"11.1": "params_half = params_at(0.5)", "11.2": "print(f\"ResNet-18:",
        "11.3": "demo = models.Bottleneck", "11.4": "shallow = digit_net(2"}
POINTS = {"11.1": 3, "11.2": 3, "11.3": 4, "11.4": 3}

BUILD_AT_WIDTH = '''
def params_at(width_mult):                     # builds the model instead of arithmetic
    with torch.device("meta"):
        return models.param_count(models.resnet50(width_mult=width_mult))
'''

HALF_ONLY = '''
def params_at(width_mult):                     # the half-width count, built beforehand
    return 6_917_640
'''

INTERPOLATION = '''
from fractions import Fraction

with torch.device("meta"):                     # three zoo counts, taken before the check
    SAMPLES = [(Fraction(k, 64), models.param_count(models.resnet50(width_mult=k / 64)))
               for k in (1, 32, 64)]


def params_at(width_mult):                     # the exact quadratic through them (Lagrange)
    m, total = Fraction(width_mult), Fraction(0)
    for i, (m_i, count) in enumerate(SAMPLES):
        term = Fraction(count)
        for j, (m_j, _) in enumerate(SAMPLES):
            if j != i:
                term *= (m - m_j) / (m_i - m_j)
        total += term
    return int(total)
'''

BUILD_AND_COUNT = '''
def resnet_params(block, layers, width_mult=1.0, num_classes=1000, in_channels=3,
                  small_input=False):          # builds the model instead of a formula
    with torch.device("meta"):
        net = models.resnet(block, layers, num_classes=num_classes, in_channels=in_channels,
                            width_mult=width_mult, small_input=small_input)
    return models.param_count(net)
'''

AUTOGRAD = '''
def bottleneck_forward(x, p, stride=1):      # lets autograd do the work
    block = models.Bottleneck(x.shape[1], p["conv1.weight"].shape[0], stride=stride).double()
    block.load_state_dict({k: torch.from_numpy(v) for k, v in p.items()}, strict=False)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = block(x_t)
    return y_t.detach().numpy(), (block, x_t, y_t)


def bottleneck_backward(dy, cache, p, stride=1):
    block, x_t, y_t = cache
    y_t.backward(torch.from_numpy(dy))
    return x_t.grad.numpy(), {k: v.grad.numpy() for k, v in block.named_parameters()}
'''

ENGINE_LAYERS = '''
from cnnbook import nn as engine_nn


def bottleneck_forward(x, p, stride=1):      # the engine's layers do the backward pass
    def conv_bn(name, s=1, pad=0):
        w = p[name + ".weight"]
        conv = engine_nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], stride=s, padding=pad,
                                bias=False)
        return [conv, engine_nn.BatchNorm2d(w.shape[0])]
    body = engine_nn.Sequential(*conv_bn("conv1", stride), engine_nn.ReLU(),
                                *conv_bn("conv2", 1, 1), engine_nn.ReLU(), *conv_bn("conv3"))
    shortcut = (engine_nn.Sequential(*conv_bn("shortcut.0", stride))
                if "shortcut.0.weight" in p else None)
    model = engine_nn.Sequential(engine_nn.Residual(body, shortcut), engine_nn.ReLU())
    return model(x), model


def bottleneck_backward(dy, cache, p, stride=1):
    return cache.backward(dy), {}
'''

FRESH_BLOCKS = '''
def deepen(net, extra_blocks):                 # adds untrained blocks
    import copy
    layers = list(copy.deepcopy(net))
    k = len(layers) - 3
    extra = [models.BasicBlock(16, 16, shortcut=False) for _ in range(extra_blocks)]
    return nn.Sequential(*layers[:k], *extra, *layers[k:])
'''

FORWARD_OVERRIDE = '''
def deepen(net, extra_blocks):                 # extra blocks whose forward is the identity
    import copy
    layers = list(copy.deepcopy(net))
    k = len(layers) - 3
    extra = [models.BasicBlock(16, 16, shortcut=False) for _ in range(extra_blocks)]
    for block in extra:
        block.forward = lambda x: x
    return nn.Sequential(*layers[:k], *extra, *layers[k:])
'''

HOOKS = '''
def deepen(net, extra_blocks):                 # extra blocks whose hook returns the input
    import copy
    layers = list(copy.deepcopy(net))
    k = len(layers) - 3
    extra = [models.BasicBlock(16, 16, shortcut=False) for _ in range(extra_blocks)]
    for block in extra:
        block.register_forward_hook(lambda module, inputs, output: inputs[0])
    return nn.Sequential(*layers[:k], *extra, *layers[k:])
'''


def model_solution(exercise):
    nb = nbformat.read(SOLUTIONS / "11_resnet.ipynb", as_version=4)
    source = next(c.source for c in nb.cells if c.id == CELLS[exercise])
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))


def graded(tmp_path, cheats):
    """The results by exercise id and the report's lines, for the student copy with every
    model solution, followed in each exercise of ``cheats`` by its code (which replaces
    functions before the demo lines run)."""
    nb = nbformat.read(STUDENT, as_version=4)
    for exercise, cell_id in CELLS.items():
        cell = next(c for c in nb.cells if c.id == cell_id)
        solution = model_solution(exercise)
        demo = solution.index(DEMO[exercise])
        extra = cheats.get(exercise, "").strip("\n")
        cell.source = solution[:demo] + extra + "\n\n\n" + solution[demo:]
    path = tmp_path / "subs" / "mallory_11_resnet.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    report = grade.grade_notebook(path, solutions=SOLUTIONS, timeout=180)
    return {r.id: r for r in report.results}, "\n".join(report.lines())


def test_the_model_solutions_earn_all_points(tmp_path):
    results, lines = graded(tmp_path, {})
    for exercise, points in POINTS.items():
        assert results[exercise].earned == points, lines


# each run: {exercise: (cheat, a word its report names, or None)}
RUNS = {
    "build the models": {"11.1": (BUILD_AT_WIDTH, "torch"),
                         "11.2": (BUILD_AND_COUNT, "torch"),
                         "11.3": (AUTOGRAD, "torch"),
                         "11.4": (FRESH_BLOCKS, None)},
    "hard-coded or overridden": {"11.1": (HALF_ONLY, None),
                                 "11.3": (ENGINE_LAYERS, "cnnbook.nn"),
                                 "11.4": (FORWARD_OVERRIDE, "its own functions")},
    "hooks or interpolated": {"11.1": (INTERPOLATION, None),
                              "11.4": (HOOKS, "hooks")},
}


@pytest.mark.parametrize("run", RUNS)
def test_cheats_earn_nothing(tmp_path, run):
    cheats = RUNS[run]
    results, lines = graded(tmp_path, {ex: code for ex, (code, _) in cheats.items()})
    for exercise, (_, named) in cheats.items():
        assert results[exercise].earned == 0, (exercise, lines)
        if named:
            assert named in results[exercise].detail, (exercise, results[exercise].detail)
    for exercise in set(POINTS) - set(cheats):   # the honest answers in the same notebook
        assert results[exercise].earned == POINTS[exercise], (exercise, lines)
