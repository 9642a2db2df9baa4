"""Chapter 11's additions to cnnbook.models: ResNet-101/152, ResNeXt-50 (32x4d), and the
"plain" twin (``shortcut=False``) of the degradation experiment."""
import pytest
import torch
import torch.nn.functional as TF

from cnnbook import models


def meta(builder, **kwargs):
    with torch.device("meta"):
        return builder(**kwargs)


@pytest.mark.parametrize("builder, kwargs, expected", [
    (models.resnet101, {}, 44_549_160),
    (models.resnet152, {}, 60_192_808),
    (models.resnext50_32x4d, {}, 25_028_904),
    (models.resnext50_32x4d, dict(stride_in_3x3=True), 25_028_904),
    (models.resnet, dict(block="bottleneck", layers=(3, 4, 6, 3), groups=32,
                         width_per_group=4), 25_028_904),
    (models.resnet50, dict(groups=1, width_per_group=64), 25_557_032),  # the defaults
])
def test_parameter_counts_equal_the_reference_implementation(builder, kwargs, expected):
    assert models.param_count(meta(builder, **kwargs)) == expected


@pytest.mark.parametrize("builder, paper_stride_in_3x3, paper, torchvision", [
    # He et al. 2016, Table 1 (stride in the first 1x1) / torchvision's documentation (v1.5)
    (models.resnet101, False, 7.6e9, 7.80e9),
    (models.resnet152, False, 11.3e9, 11.51e9),
    # Xie et al. 2017, Table 1: 4.2 x 10^9 (their code, like torchvision, strides the 3x3)
    (models.resnext50_32x4d, True, 4.2e9, 4.23e9),
])
def test_macs_equal_the_published_figures(builder, paper_stride_in_3x3, paper, torchvision):
    ours = models.macs(meta(builder, stride_in_3x3=paper_stride_in_3x3), (3, 224, 224))
    v15 = models.macs(meta(builder, stride_in_3x3=True), (3, 224, 224))
    assert abs(ours / paper - 1) < 0.02
    assert abs(v15 / torchvision - 1) < 0.005


def test_resnext_bottleneck_is_grouped_with_torchvisions_width_rule():
    net = meta(models.resnext50_32x4d)
    widths = [128, 256, 512, 1024]          # int(c * 4 / 64) * 32 for c = 64 ... 512
    for i, width in enumerate(widths):
        block = getattr(net, f"layer{i + 1}")[0]
        assert block.conv2.groups == 32
        assert tuple(block.conv2.weight.shape) == (width, width // 32, 3, 3)
        assert block.conv3.out_channels == 256 * 2 ** i
    # int(8 * 32 / 64) * 4 = 16 and int(8 * 8 / 64) * 4 = 4; a ResNet keeps `channels`
    assert models.Bottleneck(16, 8, groups=4, width_per_group=32).conv2.out_channels == 16
    assert models.Bottleneck(16, 8, groups=4, width_per_group=8).conv2.out_channels == 4
    assert models.Bottleneck(16, 8).conv2.out_channels == 8
    assert models.Bottleneck(16, 8).conv2.groups == 1


def test_grouped_bottleneck_computes_grouped_convolutions():
    torch.manual_seed(0)
    block = models.Bottleneck(8, 4, groups=4, width_per_group=32).eval()   # width 8
    x = torch.randn(2, 8, 6, 6)
    bn = lambda m, t: TF.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias)
    out = TF.relu(bn(block.bn1, TF.conv2d(x, block.conv1.weight)))
    out = TF.relu(bn(block.bn2, TF.conv2d(out, block.conv2.weight, padding=1, groups=4)))
    out = bn(block.bn3, TF.conv2d(out, block.conv3.weight))
    shortcut = bn(block.shortcut[1], TF.conv2d(x, block.shortcut[0].weight))
    with torch.no_grad():
        assert torch.allclose(block(x), TF.relu(out + shortcut), atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda s: models.BasicBlock(8, 8, shortcut=s),
    lambda s: models.BasicBlock(8, 16, stride=2, shortcut=s),
    lambda s: models.Bottleneck(16, 4, shortcut=s),
    lambda s: models.Bottleneck(8, 4, stride=2, shortcut=s, groups=2, width_per_group=32),
])
def test_plain_block_is_the_same_layers_without_the_addition(make):
    torch.manual_seed(0)
    residual, plain = make(True), make(False)
    assert plain.shortcut is None and not plain.use_shortcut and residual.use_shortcut
    shared = {k: v for k, v in residual.state_dict().items()
              if not k.startswith("shortcut.")}
    assert [(k, v.shape) for k, v in plain.state_dict().items()] == \
        [(k, v.shape) for k, v in shared.items()]
    plain.load_state_dict(shared)
    residual.eval(), plain.eval()
    x = torch.randn(2, residual.conv1.in_channels, 8, 8)
    # the branch F(x): the block's output before the last ReLU, shortcut removed
    last_relu = residual.relu2 if isinstance(residual, models.BasicBlock) else residual.relu3
    captured = {}
    hook = last_relu.register_forward_hook(lambda m, i, o: captured.update(pre=i[0]))
    with torch.no_grad():
        y_res = residual(x)
        pre = captured["pre"]
        short = x if residual.shortcut is None else residual.shortcut(x)
        branch = pre - short
        assert torch.allclose(plain(x), torch.relu(branch), atol=1e-6)
        assert torch.allclose(y_res, torch.relu(branch + short), atol=1e-6)
        assert not torch.allclose(plain(x), y_res, atol=1e-3)
    hook.remove()


def test_plain_resnet_has_the_residual_nets_layers_minus_the_projections():
    res, plain = meta(models.resnet18), meta(models.resnet18, shortcut=False)
    projection = sum(p.numel() for n, p in res.named_parameters() if ".shortcut." in n)
    assert projection > 0
    assert models.param_count(plain) == models.param_count(res) - projection == 11_515_688
    assert models.macs(plain, (3, 224, 224)) < models.macs(res, (3, 224, 224))
    small = models.resnet(layers=(1, 1, 1, 1), num_classes=3, in_channels=1,
                          width_mult=1 / 8, small_input=True, shortcut=False)
    assert small(torch.randn(2, 1, 16, 16)).shape == (2, 3)
    assert all(not m.use_shortcut for m in small.modules()
               if isinstance(m, models.BasicBlock))


@pytest.mark.parametrize("call, message", [
    (lambda: models.resnet(groups=0), "groups: expected a positive integer"),
    (lambda: models.resnet("bottleneck", width_per_group=1.5),
     "width_per_group: expected a positive integer"),
    (lambda: models.resnet("basic", groups=32), "the basic block has no grouped conv"),
    (lambda: models.Bottleneck(8, 1, width_per_group=4), "leaves no channels"),
    (lambda: models.Bottleneck(8, 4, groups=0), "groups: expected a positive integer"),
])
def test_bad_arguments_raise_value_errors_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()
