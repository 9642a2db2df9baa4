"""cnnbook.models: the model zoo counted against the published figures, run, and trained a step.

The ImageNet-size models are built on PyTorch's "meta" device (shapes, no numbers), so counting
VGG-16's parameters and MACs takes milliseconds; real forward passes use the smallest input each
network accepts, or small widths.
"""
import doctest
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch.utils.flop_counter import FlopCounterMode

from cnnbook import models

BUILDERS = {
    "lenet5": models.lenet5, "alexnet": models.alexnet, "vgg16": models.vgg16,
    "nin": models.nin, "googlenet": models.googlenet, "resnet18": models.resnet18,
    "resnet34": models.resnet34, "resnet50": models.resnet50,
    "densenet121": models.densenet121, "mobilenet_v1": models.mobilenet_v1,
    "mobilenet_v2": models.mobilenet_v2, "efficientnet_b0": models.efficientnet_b0,
}


def meta(builder, **kwargs):
    with torch.device("meta"):
        return builder(**kwargs)


def image(name, side=224):
    return (1, side, side) if name == "lenet5" else (3, side, side)


# ---------------------------------------------------------------------------------------------
# Parameter counts: exact where the paper or its reference implementation gives one
# ---------------------------------------------------------------------------------------------
EXACT_PARAMS = [
    ("lenet5", {}, 61_706),                                   # d2l's simplified LeNet-5
    ("alexnet", {}, 60_965_224),                              # the paper's two groups
    ("alexnet", dict(groups=1), 62_378_344),                  # the same widths in one tower
    ("alexnet", dict(groups=1, widths=models.ALEXNET_ONE_TOWER_WIDTHS, lrn=False),
     61_100_840),                                             # torchvision's one tower
    ("vgg16", {}, 138_357_544),
    ("nin", {}, 7_439_608),                                   # our (d2l's) definition
    ("googlenet", {}, 6_998_552),                             # Table 1, no auxiliary heads
    ("resnet18", {}, 11_689_512),
    ("resnet34", {}, 21_797_672),
    ("resnet50", {}, 25_557_032),
    ("resnet50", dict(stride_in_3x3=True), 25_557_032),      # v1.5: same parameters
    ("densenet121", {}, 7_978_856),
    ("mobilenet_v1", {}, 4_231_976),                          # Keras' trainable parameters
    ("mobilenet_v2", {}, 3_504_872),
    ("efficientnet_b0", {}, 5_288_548),
]


@pytest.mark.parametrize("name, kwargs, expected", EXACT_PARAMS)
def test_parameter_count_equals_the_published_one(name, kwargs, expected):
    assert models.param_count(meta(BUILDERS[name], **kwargs)) == expected


def test_rounded_published_counts():
    # GoogLeNet: the paper's Table 1 adds up to about 6.8 M (rows rounded, ...): "about 7.0 M"
    assert round(models.param_count(meta(models.googlenet)) / 1e6, 1) == 7.0
    # MobileNet v1, Table 6 of the paper: width 1.0, 0.75, 0.5, 0.25 -> 4.2, 2.6, 1.3, 0.5 M
    for width, millions in [(1.0, 4.2), (0.75, 2.6), (0.5, 1.3), (0.25, 0.5)]:
        count = models.param_count(meta(models.mobilenet_v1, width_mult=width))
        assert round(count / 1e6, 1) == millions, width
    # MobileNet v2 and EfficientNet-B0: 3.5 M (torchvision; the paper says 3.4 M) and 5.3 M
    assert round(models.param_count(meta(models.mobilenet_v2)) / 1e6, 1) == 3.5
    assert round(models.param_count(meta(models.efficientnet_b0)) / 1e6, 1) == 5.3


def test_param_count_counts_shared_parameters_once_and_can_skip_frozen_ones():
    layer = torch.nn.Linear(3, 2)
    model = torch.nn.Sequential(layer, torch.nn.ReLU(), layer)
    assert models.param_count(model) == 8
    layer.bias.requires_grad_(False)
    assert models.param_count(model, trainable_only=True) == 6
    bn = torch.nn.BatchNorm2d(4)                  # running statistics are buffers, not counted
    assert models.param_count(bn) == 8


# ---------------------------------------------------------------------------------------------
# MACs against the published figures
# ---------------------------------------------------------------------------------------------
# (name, kwargs, input side, published MACs, relative tolerance, source)
PUBLISHED_MACS = [
    ("alexnet", {}, 224, 724e6, 0.005, "Sze et al. 2017, Table 4: 724 M (two groups, 227^2)"),
    ("alexnet", dict(groups=1, widths=models.ALEXNET_ONE_TOWER_WIDTHS, lrn=False), 224,
     0.71e9, 0.01, "torchvision documentation: 0.71 GFLOPS (which are MACs)"),
    ("vgg16", {}, 224, 15.5e9, 0.01, "Sze et al. 2017, Table 4: 15.5 G"),
    ("googlenet", {}, 224, 1.5e9, 0.06, "Szegedy et al. 2015, text: 1.5 billion multiply-adds "
     "(Table 1's ops column sums to 1.50 G; its conv1 row, 34 M, is below the 118 M counted)"),
    ("resnet18", {}, 224, 1.8e9, 0.02, "He et al. 2016, Table 1: 1.8 x 10^9 'FLOPs'"),
    ("resnet34", {}, 224, 3.6e9, 0.02, "He et al. 2016, Table 1: 3.6 x 10^9"),
    ("resnet50", {}, 224, 3.8e9, 0.02, "He et al. 2016, Table 1: 3.8 x 10^9"),
    ("resnet50", dict(stride_in_3x3=True), 224, 4.09e9, 0.005,
     "torchvision documentation: 4.09 GFLOPS for its v1.5"),
    ("densenet121", {}, 224, 2.83e9, 0.005, "torchvision documentation: 2.83 GFLOPS"),
    ("mobilenet_v1", {}, 224, 569e6, 0.002, "Howard et al. 2017, Table 6: 569 M mult-adds"),
    ("mobilenet_v1", dict(width_mult=0.5), 224, 149e6, 0.01, "Howard et al. 2017, Table 6"),
    ("mobilenet_v1", {}, 128, 186e6, 0.01, "Howard et al. 2017, Table 7: 186 M at 128^2"),
    ("mobilenet_v2", {}, 224, 300e6, 0.01, "Sandler et al. 2018, Table 4: 300 M MAdds"),
    ("efficientnet_b0", {}, 224, 0.39e9, 0.02, "Tan & Le 2019, Table 2: 0.39 B 'FLOPS'"),
]


@pytest.mark.parametrize("name, kwargs, side, published, rtol, source", PUBLISHED_MACS,
                         ids=[f"{row[0]}-{row[5][:12]}" for row in PUBLISHED_MACS])
def test_macs_agree_with_the_published_figure(name, kwargs, side, published, rtol, source):
    counted = models.macs(meta(BUILDERS[name], **kwargs), image(name, side))
    assert abs(counted - published) <= rtol * published, (counted, source)


def test_macs_of_lenet_and_the_stride_placement_of_resnet50():
    assert models.macs(meta(models.lenet5), (1, 28, 28)) == 416_520      # counted by hand:
    assert 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10 == 416_520
    v1 = models.macs(meta(models.resnet50), (3, 224, 224))
    v15 = models.macs(meta(models.resnet50, stride_in_3x3=True), (3, 224, 224))
    assert v15 > v1


def test_macs_of_a_tiny_model_equal_a_hand_count():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),                # 8 x 10 x 10 outputs x 3 x 3 x 3
        torch.nn.BatchNorm2d(8), torch.nn.ReLU(),           # not counted
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8),      # depthwise: 8 x 10 x 10 x 9
        torch.nn.Conv2d(8, 4, 1, groups=2),                 # grouped: 4 x 10 x 10 x 4
        torch.nn.ConvTranspose2d(4, 6, 2, stride=2),        # 4 x 10 x 10 inputs x 6 x 2 x 2
        torch.nn.MaxPool2d(2), torch.nn.Flatten(),          # not counted
        torch.nn.Linear(6 * 10 * 10, 5))                    # 600 x 5
    hand = 8 * 100 * 27 + 8 * 100 * 9 + 4 * 100 * 4 + 4 * 100 * 24 + 600 * 5
    assert models.macs(model, (3, 10, 10)) == hand
    assert models.macs(model, (2, 3, 10, 10)) == 2 * hand             # per batch
    x = torch.randn(1, 3, 10, 10)
    with FlopCounterMode(display=False) as counter:
        model.eval()(x)
    assert counter.get_total_flops() == 2 * hand


def test_macs_counts_a_layer_each_time_it_runs_and_conv3d():
    layer = torch.nn.Linear(4, 4)
    assert models.macs(torch.nn.Sequential(layer, layer, layer), (1, 1, 1, 4)) == 3 * 16
    conv3d = torch.nn.Sequential(torch.nn.Conv3d(2, 3, 3))
    assert models.macs(conv3d, (1, 2, 5, 5, 5)) == 3 * 27 * 2 * 27


@pytest.mark.parametrize("name", list(BUILDERS))
def test_macs_are_half_the_flops_of_torchs_flop_counter(name):
    model = meta(BUILDERS[name]).eval()
    with FlopCounterMode(display=False) as counter:
        out = model(torch.zeros((1,) + image(name, 28 if name == "lenet5" else 224),
                                device="meta"))
    assert out.shape == (1, 10 if name == "lenet5" else 1000)
    assert counter.get_total_flops() == 2 * models.macs(
        model, image(name, 28 if name == "lenet5" else 224))


def test_macs_leaves_the_models_mode_alone():
    model = models.lenet5().train()
    models.macs(model, (1, 28, 28))
    assert all(m.training for m in model.modules())
    model.eval()
    models.summary(model, (1, 28, 28))
    assert not any(m.training for m in model.modules())


# ---------------------------------------------------------------------------------------------
# Forward passes: each default gives (N, num_classes)
# ---------------------------------------------------------------------------------------------
SMALLEST_INPUT = {"lenet5": 28, "alexnet": 63, "vgg16": 32, "nin": 67, "googlenet": 32,
                  "resnet18": 32, "resnet34": 32, "resnet50": 32, "densenet121": 32,
                  "mobilenet_v1": 32, "mobilenet_v2": 32, "efficientnet_b0": 32}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_each_default_gives_one_row_of_logits_per_image(name):
    torch.manual_seed(0)
    model = BUILDERS[name]().eval()
    with torch.no_grad():
        out = model(torch.randn((1,) + image(name, SMALLEST_INPUT[name])))
    assert out.shape == (1, 10 if name == "lenet5" else 1000)
    assert torch.isfinite(out).all()


def test_the_cheap_networks_run_at_their_full_input_size():
    torch.manual_seed(0)
    for builder in (models.mobilenet_v2, models.efficientnet_b0):
        with torch.no_grad():
            out = builder(num_classes=7).eval()(torch.randn(1, 3, 224, 224))
        assert out.shape == (1, 7) and torch.isfinite(out).all()


def test_an_input_too_small_raises_a_value_error_naming_input_shape():
    with pytest.raises(ValueError, match=r"input_shape: the forward pass of a \(1, 3, 30, 30\)"):
        models.macs(meta(models.alexnet), (3, 30, 30))
    with pytest.raises(ValueError, match="input_shape: expected"):
        models.macs(meta(models.resnet18), (224, 224))
    with pytest.raises(ValueError, match="input_shape: expected"):
        models.macs(meta(models.resnet18), (3, 0, 224))


# ---------------------------------------------------------------------------------------------
# The EfficientNet-B0 stage table, read back from the definition
# ---------------------------------------------------------------------------------------------
def test_efficientnet_b0_stage_table_is_the_papers():
    rows = models.stage_table(meta(models.efficientnet_b0), 224)
    assert [(r.resolution, r.channels, r.layers) for r in rows] == [
        (224, 32, 1), (112, 16, 1), (112, 24, 2), (56, 40, 2), (28, 80, 3), (14, 112, 3),
        (14, 192, 4), (7, 320, 1), (7, 1280, 1)]
    assert [r.operator for r in rows] == [
        "Conv3x3", "MBConv1, k3x3", "MBConv6, k3x3", "MBConv6, k5x5", "MBConv6, k3x3",
        "MBConv6, k5x5", "MBConv6, k5x5", "MBConv6, k3x3", "Conv1x1"]
    assert [r.stage for r in rows] == list(range(1, 10))


def test_efficientnet_compound_scaling_widens_and_deepens():
    b1 = models.stage_table(meta(models.efficientnet_b0, depth_mult=1.1), 240)
    assert [r.layers for r in b1] == [1, 2, 3, 3, 4, 4, 5, 2, 1]      # ceil(n x 1.1)
    wide = models.stage_table(meta(models.efficientnet_b0, width_mult=1.1), 224)
    assert [r.channels for r in wide][:3] == [32, 16, 24]             # multiples of 8
    assert wide[-1].channels == 1408


def test_stage_table_rejects_other_models():
    with pytest.raises(ValueError, match="model: expected a model with a .features"):
        models.stage_table(meta(models.resnet18))


# ---------------------------------------------------------------------------------------------
# Small CPU configurations train
# ---------------------------------------------------------------------------------------------
SMALL = {
    "lenet5": (models.lenet5, dict(num_classes=3), (1, 28, 28)),
    "alexnet": (models.alexnet, dict(num_classes=3, widths=(8, 16, 16, 16, 8), hidden=32),
                (3, 63, 63)),
    "vgg16": (models.vgg16, dict(num_classes=3, width_mult=1 / 16, hidden=32, in_channels=1),
              (1, 32, 32)),
    "nin": (models.nin, dict(num_classes=3, widths=(8, 16, 16)), (3, 67, 67)),
    "googlenet": (models.googlenet, dict(num_classes=3, width_mult=1 / 8), (3, 32, 32)),
    "googlenet bn": (models.googlenet, dict(num_classes=3, width_mult=1 / 8, batch_norm=True,
                                            lrn=False), (3, 32, 32)),
    "resnet18": (models.resnet18, dict(num_classes=3, width_mult=1 / 8, small_input=True,
                                       in_channels=1), (1, 16, 16)),
    "resnet50": (models.resnet50, dict(num_classes=3, width_mult=1 / 8), (3, 32, 32)),
    "densenet": (models.densenet, dict(growth_rate=4, block_config=(2, 2), num_init_features=8,
                                       num_classes=3, small_input=True), (3, 16, 16)),
    "mobilenet_v1": (models.mobilenet_v1, dict(num_classes=3, width_mult=0.125), (3, 32, 32)),
    "mobilenet_v2": (models.mobilenet_v2, dict(num_classes=3, width_mult=0.25), (3, 32, 32)),
    "efficientnet_b0": (models.efficientnet_b0, dict(num_classes=3, width_mult=0.25,
                                                     depth_mult=0.5), (3, 32, 32)),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_small_configuration_trains_a_step(name):
    builder, kwargs, shape = SMALL[name]
    torch.manual_seed(0)
    model = builder(**kwargs).train()
    x, y = torch.randn((4,) + shape), torch.tensor([0, 1, 2, 1])
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = TF.cross_entropy(model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
    first = next(model.parameters())
    assert first.grad.abs().sum() > 0                   # the gradient reaches the first layer
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    assert model(x).shape == (4, 3)


def test_width_options_scale_the_widths():
    full = models.param_count(meta(models.resnet18))
    half = models.param_count(meta(models.resnet18, width_mult=0.5))
    assert 0.25 < half / full < 0.27     # conv weights scale with the width squared, fc linearly
    assert meta(models.resnet18, width_mult=0.25).fc.in_features == 128
    assert meta(models.vgg16, width_mult=0.5)[0][0].out_channels == 32
    assert meta(models.mobilenet_v2, width_mult=0.5)[0][0][0].out_channels == 16
    assert meta(models.resnet50, in_channels=1).conv1.in_channels == 1
    assert meta(models.googlenet, width_mult=0.5).fc.in_features == 512


def test_alexnet_groups_split_the_grouped_convs():
    one, two = meta(models.alexnet, groups=1), meta(models.alexnet)
    groups = [m.groups for m in two.modules() if isinstance(m, torch.nn.Conv2d)]
    assert groups == [1, 2, 1, 2, 2]
    assert models.param_count(one) - models.param_count(two) == (
        256 * 96 * 25 + 384 * 384 * 9 + 256 * 384 * 9) // 2


@pytest.mark.parametrize("call, message", [
    (lambda: models.resnet18(num_classes=0), "num_classes: expected a positive integer"),
    (lambda: models.vgg16(num_classes=2.5), "num_classes: expected a positive integer"),
    (lambda: models.mobilenet_v2(width_mult=0), "width_mult: expected a positive number"),
    (lambda: models.efficientnet_b0(depth_mult=-1), "depth_mult: expected a positive number"),
    (lambda: models.alexnet(groups=3), "groups: 3 must divide"),
    (lambda: models.alexnet(widths=(96, 256)), "widths: expected 5 positive integers"),
    (lambda: models.nin(dropout=1.0), r"dropout: expected a probability in \[0, 1\)"),
    (lambda: models.resnet("wide"), "block: expected 'basic' or 'bottleneck'"),
    (lambda: models.resnet(layers=(2, 2)), "layers: expected 4 positive integers"),
    (lambda: models.vgg(depth=15), r"depth: expected one of \[11, 13, 16, 19\]"),
    (lambda: models.lenet5(size=11), "size: expected an input side of at least 12"),
    (lambda: models.lenet5(act="softmax"), "act: expected"),
    (lambda: models.densenet(compression=0), r"compression: expected a number in \(0, 1\]"),
    (lambda: models.googlenet(in_channels=0), "in_channels: expected a positive integer"),
    (lambda: models.param_count([1, 2]), "model: expected a torch.nn.Module"),
    (lambda: models.summary(models.lenet5(), (1, 28, 28), depth=0), "depth: expected"),
])
def test_bad_arguments_raise_value_errors_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------
def test_inception_block_concatenates_its_four_branches():
    block = models.Inception(192, *models.GOOGLENET_BLOCKS["3a"])
    out = block(torch.randn(2, 192, 28, 28))
    assert out.shape == (2, 256, 28, 28) and block.out_channels == 256
    # weights by hand (the paper's Table 1 lists 159 K: its table undercounts, summing to 6.8 M)
    weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, torch.nn.Conv2d))
    assert weights == 192 * 64 + 192 * 96 + 96 * 9 * 128 + 192 * 16 + 16 * 25 * 32 + 192 * 32
    assert models.param_count(block) == weights + 64 + 96 + 128 + 16 + 32 + 32


def test_blocks_keep_or_project_the_shortcut():
    x = torch.randn(2, 8, 8, 8)
    assert models.BasicBlock(8, 8).shortcut is None
    assert models.BasicBlock(8, 16, stride=2)(x).shape == (2, 16, 4, 4)
    assert models.Bottleneck(8, 4)(x).shape == (2, 16, 8, 8)
    assert models.InvertedResidual(8, 8, 1, 6).use_residual
    assert not models.InvertedResidual(8, 8, 2, 6).use_residual
    assert models.MBConv(8, 16, 5, 2, 6)(x).shape == (2, 16, 4, 4)
    assert models.DenseLayer(8, 4)(x).shape == (2, 12, 8, 8)
    assert models.DenseBlock(3, 8, 4)(x).shape == (2, 20, 8, 8)
    assert models.DepthwiseSeparable(8, 16, 2)(x).shape == (2, 16, 4, 4)


def test_squeeze_excitation_scales_each_channel_by_a_gate_in_0_1():
    torch.manual_seed(0)
    se = models.SqueezeExcitation(6, 2)
    x = torch.rand(3, 6, 5, 5) + 0.1
    ratio = se(x) / x
    assert torch.allclose(ratio, ratio[..., :1, :1].expand_as(ratio))   # one factor per channel
    assert ((ratio > 0) & (ratio < 1)).all()


def test_basic_block_computes_the_twins_residual_block():
    from cnnbook import twins
    torch.manual_seed(0)
    twin = twins.residual_block(twins.library("torch", np.float32), 4, 8, stride=2).eval()
    block = models.BasicBlock(4, 8, stride=2).eval()
    assert [v.shape for v in block.state_dict().values()] == \
        [v.shape for v in twin.state_dict().values()]
    block.load_state_dict(dict(zip(block.state_dict(), twin.state_dict().values())))
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        assert torch.allclose(block(x), twin(x), atol=1e-6)


def test_lenet5_is_the_twins_lenet():
    from cnnbook import twins
    np_model = twins.lenet(twins.library("numpy", rng=0))
    model = models.lenet5()
    assert {k: v.shape for k, v in np_model.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in model.state_dict().items()}
    np_model.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert np.allclose(np_model(x), expected, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# summary and the appendix page
# ---------------------------------------------------------------------------------------------
def test_summary_rows_add_up_to_the_model():
    model = meta(models.resnet18)
    leaves = models.summary(model, (3, 224, 224))
    assert sum(r.params for r in leaves) == 11_689_512
    assert sum(r.macs for r in leaves) == models.macs(model, (3, 224, 224))
    assert leaves[0] == models.LayerRow("conv1", "Conv2d", (1, 64, 112, 112), 9408, 118_013_952)
    stages = models.summary(model, (3, 224, 224), depth=1)
    assert [r.name for r in stages] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                        "layer3", "layer4", "avgpool", "flatten", "fc"]
    assert stages[5].output_shape == (1, 128, 28, 28)
    assert sum(r.params for r in stages) == 11_689_512
    assert sum(r.macs for r in stages) == sum(r.macs for r in leaves)
    table = models.summary_table(stages)
    assert "| `layer2` | Sequential | 128 × 28 × 28 |" in table
    assert table.splitlines()[-1].startswith("| **total** | | | 11,689,512 |")


def test_lenet_summary_is_a_layer_table():
    rows = models.summary(models.lenet5(), (1, 28, 28))
    assert [(r.name, r.output_shape[1:], r.params) for r in rows if r.params] == [
        ("0", (6, 28, 28), 156), ("3", (16, 10, 10), 2416), ("7", (120,), 48120),
        ("9", (84,), 10164), ("11", (10,), 850)]


def test_appendix_page_is_up_to_date():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    committed = (root / models.PAGE).read_text(encoding="utf-8")
    assert committed == models.appendix_page(), \
        "run: python -m cnnbook.models --table > appendix/models.md"
    assert models.main(["--check", "--root", str(root)]) == 0


def test_appendix_page_cites_keys_of_the_bibliography():
    from pathlib import Path
    import re
    root = Path(__file__).resolve().parents[1]
    bib = (root / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited = set(re.findall(r"\{cite\}`([^`]+)`", models.appendix_page()))
    assert cited and cited <= keys, cited - keys


def test_main_check_fails_on_a_stale_page(tmp_path, capsys):
    (tmp_path / "appendix").mkdir()
    (tmp_path / models.PAGE).write_text("old\n", encoding="utf-8")
    assert models.main(["--check", "--root", str(tmp_path)]) == 1
    assert "out of date" in capsys.readouterr().err


def test_docstring_examples_run():
    result = doctest.testmod(models)
    assert result.attempted > 0 and result.failed == 0
