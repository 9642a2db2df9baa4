"""Exercises 11.2-11.4 (ResNet) under the instructor's grader: the model solutions earn full
marks, shortcuts the statements rule out earn nothing.

Each submission is the student copy with one exercise's model solution pasted in and, for a
cheat, one function replaced after it; the other exercises stay unanswered.
"""
from pathlib import Path

import nbformat
import pytest

from cnnbook import grade

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "exercises" / "11_resnet.ipynb"
SOLUTIONS = ROOT / "solutions"
CELLS = {"11.2": "s11-07", "11.3": "s11-10", "11.4": "s11-13"}
DEMO = {"11.2": "print(f\"ResNet-18:", "11.3": "demo = models.Bottleneck",
        "11.4": "shallow = digit_net(2"}

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


def graded(tmp_path, exercise, extra):
    """Points of ``exercise`` and the report, for the student copy with its model solution
    (followed by ``extra``, which replaces functions before the demo lines run)."""
    nb = nbformat.read(STUDENT, as_version=4)
    cell = next(c for c in nb.cells if c.id == CELLS[exercise])
    solution = model_solution(exercise)
    demo = solution.index(DEMO[exercise])
    cell.source = solution[:demo] + extra.strip("\n") + "\n\n\n" + solution[demo:]
    path = tmp_path / "subs" / "mallory_11_resnet.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    report = grade.grade_notebook(path, solutions=SOLUTIONS, timeout=180)
    lines = "\n".join(report.lines())
    return next(r.earned for r in report.results if r.id == exercise), lines


@pytest.mark.parametrize("exercise, points", [("11.2", 3), ("11.3", 4), ("11.4", 3)])
def test_the_model_solution_earns_all_points(tmp_path, exercise, points):
    earned, lines = graded(tmp_path, exercise, "")
    assert earned == points, lines


@pytest.mark.parametrize("exercise, cheat, named", [
    ("11.2", BUILD_AND_COUNT, "torch"),
    ("11.3", AUTOGRAD, "torch"),
    ("11.3", ENGINE_LAYERS, "cnnbook.nn"),
    ("11.4", FRESH_BLOCKS, None),
    ("11.4", FORWARD_OVERRIDE, "its own functions"),
    ("11.4", HOOKS, "hooks"),
])
def test_a_cheat_earns_nothing(tmp_path, exercise, cheat, named):
    earned, lines = graded(tmp_path, exercise, cheat)
    assert earned == 0, lines
    if named:
        assert named in lines, lines
