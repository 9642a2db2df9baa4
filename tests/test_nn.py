"""cnnbook.nn layers against their torch.nn twins (built by cnnbook.twins): outputs, gradients,
running stats, state_dict."""
import numpy as np
import pytest
import torch

from cnnbook import nn, twins
from cnnbook.check import compare_with_torch
from cnnbook.twins import lenet, resnet_like

DTYPES = ["float64", "float32"]


def _scramble_bn(torch_model, seed=1):
    """Give batch-norm layers non-trivial weights and running statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in torch_model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(1 + torch.rand(m.running_var.shape, generator=g))
                m.num_batches_tracked.fill_(3)


# --------------------------------------------------------------------------------------------
# twins: outputs, input gradients, parameter gradients and running statistics
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("act, pool", [("Sigmoid", "AvgPool2d"), ("ReLU", "MaxPool2d"), ("Tanh", "MaxPool2d")])
def test_lenet_like_stack_equals_its_torch_twin(act, pool, mode, dtype):
    np_model, torch_model = twins.make(lenet, dtype, act=act, pool=pool)
    getattr(np_model, mode)()
    getattr(torch_model, mode)()
    x = np.random.default_rng(1).random((5, 1, 28, 28))
    report = compare_with_torch(np_model, torch_model, x)
    assert {"output", "grad x", "grad 0.weight", "grad 0.bias", "grad 11.bias"} <= set(report)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_resnet_like_stack_equals_its_torch_twin(mode, dtype):
    np_model, torch_model = twins.make(resnet_like, dtype)
    _scramble_bn(torch_model)
    getattr(np_model, mode)()
    getattr(torch_model, mode)()
    x = np.random.default_rng(2).standard_normal((4, 1, 8, 8))
    report = compare_with_torch(np_model, torch_model, x)
    assert "grad 4.0.shortcut.0.weight" in report
    assert "buffer 4.0.shortcut.1.running_var" in report
    assert "buffer 3.0.body.1.num_batches_tracked" in report


def test_resnet_running_stats_follow_torch_over_several_batches():
    np_model, torch_model = twins.make(resnet_like)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.standard_normal((4, 1, 8, 8))
        np_model(x)
        torch_model(torch.tensor(x))
    for key, value in torch_model.state_dict().items():
        np.testing.assert_allclose(np_model.state_dict()[key], value.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=key)
    assert int(np_model.state_dict()["1.num_batches_tracked"]) == 3


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose2d_layer_equals_torch(dtype):
    np_model, torch_model = twins.make(
        lambda L: L.Sequential(L.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), L.ReLU()),
        dtype)
    compare_with_torch(np_model, torch_model, np.random.default_rng(4).standard_normal((2, 3, 5, 5)))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm1d_with_cumulative_momentum_equals_torch(mode):
    builder = lambda L: L.Sequential(L.Linear(6, 4), L.BatchNorm1d(4, momentum=None), L.Tanh())  # noqa: E731
    np_model, torch_model = twins.make(builder)
    _scramble_bn(torch_model)
    getattr(np_model, mode)()
    getattr(torch_model, mode)()
    compare_with_torch(np_model, torch_model, np.random.default_rng(5).standard_normal((7, 6)))


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval_like_torch():
    builder = lambda L: L.Sequential(L.BatchNorm2d(3, track_running_stats=False, affine=False))  # noqa: E731
    np_model, torch_model = twins.make(builder)
    np_model.eval()
    torch_model.eval()
    report = compare_with_torch(np_model, torch_model, np.random.default_rng(6).standard_normal((2, 3, 4, 4)))
    assert set(report) == {"output", "grad x"}


def test_layers_with_groups_dilation_and_adaptive_max_pool_equal_torch():
    builder = lambda L: L.Sequential(  # noqa: E731
        L.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2), L.ReLU(), L.AdaptiveMaxPool2d((2, 3)),
        L.Flatten(), L.Linear(36, 3))
    np_model, torch_model = twins.make(builder)
    compare_with_torch(np_model, torch_model, np.random.default_rng(7).standard_normal((2, 4, 9, 9)))


def test_compare_with_torch_names_the_worst_entry_when_models_differ():
    np_model, torch_model = twins.make(lenet)
    np_model._modules["1"] = nn.ReLU()
    with pytest.raises(AssertionError, match=r"output|grad"):
        compare_with_torch(np_model, torch_model, np.random.default_rng(8).random((2, 1, 28, 28)))


# --------------------------------------------------------------------------------------------
# parameters, buffers, state_dict
# --------------------------------------------------------------------------------------------
def test_state_dict_keys_equal_the_torch_twin_including_num_batches_tracked():
    np_model, torch_model = twins.make(resnet_like)
    assert list(np_model.state_dict()) == list(torch_model.state_dict())
    assert [n for n, _ in np_model.named_parameters()] == [n for n, _ in torch_model.named_parameters()]
    assert [n for n, _ in np_model.named_buffers()] == [n for n, _ in torch_model.named_buffers()]
    assert np_model.state_dict()["1.num_batches_tracked"].dtype == np.int64


def test_state_dict_round_trips_between_numpy_and_torch():
    np_model = resnet_like(twins.library("numpy", rng=0))      # NumPy's own weights, not torch's
    torch_model = resnet_like(twins.library("torch"))
    state = np_model.state_dict()
    torch_model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    fresh = resnet_like(twins.library("numpy", rng=1))
    fresh.load_state_dict(torch_model.state_dict())
    for key, value in state.items():
        assert np.array_equal(fresh.state_dict()[key], value), key


def test_state_dict_returns_copies():
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    state = model.state_dict()
    state["weight"][...] = 0
    assert np.any(model.weight.data != 0)


def test_load_state_dict_casts_to_the_model_dtype():
    model = nn.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float32)
    model.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(2)})
    assert model.weight.data.dtype == np.float32 and np.all(model.weight.data == 1)


def test_load_state_dict_lists_missing_unexpected_and_mismatched_keys():
    model = nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0)), nn.BatchNorm1d(2))
    state = model.state_dict()
    del state["1.running_var"]
    state["2.weight"] = np.zeros(2)
    state["0.weight"] = np.zeros((3, 3))
    with pytest.raises(ValueError) as err:
        model.load_state_dict(state)
    msg = str(err.value)
    assert "missing keys ['1.running_var']" in msg
    assert "unexpected keys ['2.weight']" in msg
    assert "0.weight: expected shape (2, 3), got (3, 3)" in msg


def test_repr_reads_like_torch():
    np_model, torch_model = twins.make(resnet_like)
    assert repr(np_model) == repr(torch_model)
    np_model, torch_model = twins.make(lenet, act="ReLU", pool="MaxPool2d")
    assert repr(np_model) == repr(torch_model)
    assert repr(nn.Dropout(0.25)) == repr(torch.nn.Dropout(0.25))


@pytest.mark.parametrize("layer, args", [
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=3, padding="valid")),
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=3, padding="same", dilation=2, bias=False)),
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=(3, 1), stride=2, padding=1, groups=2)),
    ("ConvTranspose2d", dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1,
                             output_padding=1, dilation=2, groups=2, bias=False)),
])
def test_conv_layer_repr_reads_like_torch(layer, args):
    assert repr(getattr(nn, layer)(**args)) == repr(getattr(torch.nn, layer)(**args))


# --------------------------------------------------------------------------------------------
# initialisation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer, fan_in", [
    (lambda rng: nn.Linear(50, 40, rng=rng), 50),
    (lambda rng: nn.Conv2d(6, 16, 5, rng=rng), 150),
    (lambda rng: nn.Conv2d(8, 16, 3, groups=4, rng=rng), 18),
    (lambda rng: nn.ConvTranspose2d(6, 8, 3, rng=rng), 72),
])
def test_initialisation_is_uniform_within_one_over_sqrt_fan_in(layer, fan_in):
    m = layer(np.random.default_rng(0))
    bound = 1 / np.sqrt(fan_in)
    for p in (m.weight.data, m.bias.data):
        assert np.abs(p).max() <= bound
    w = m.weight.data
    assert np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.15 * bound


def test_initialisation_matches_torch_statistics():
    t = torch.nn.Conv2d(6, 16, 5)
    m = nn.Conv2d(6, 16, 5, rng=np.random.default_rng(0))
    assert abs(m.weight.data.std() - t.weight.detach().std().item()) < 0.1 * t.weight.detach().std().item()


def test_same_rng_seed_gives_the_same_weights():
    a, b = (lenet(twins.library("numpy", rng=np.random.default_rng(0))) for _ in range(2))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and np.array_equal(va, vb)


def test_batchnorm_starts_at_weight_one_bias_zero_and_unit_running_var():
    bn = nn.BatchNorm2d(3)
    assert np.all(bn.weight.data == 1) and np.all(bn.bias.data == 0)
    assert np.all(bn.running_mean == 0) and np.all(bn.running_var == 1)
    assert int(bn.num_batches_tracked) == 0


def test_float32_layers_keep_float32():
    model = lenet(twins.library("numpy", np.float32, rng=0))
    out = model(np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32))
    assert out.dtype == np.float32
    assert all(p.data.dtype == np.float32 for p in model.parameters())


# --------------------------------------------------------------------------------------------
# Module protocol
# --------------------------------------------------------------------------------------------
TORCH_NAMES = [name for name in nn.__all__ if hasattr(torch.nn, name)]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_class_hierarchy_agrees_with_torch(name):
    """issubclass (so isinstance) between any two layer classes is what torch.nn says."""
    ours = {other: issubclass(getattr(nn, name), getattr(nn, other)) for other in TORCH_NAMES}
    torchs = {other: issubclass(getattr(torch.nn, name), getattr(torch.nn, other)) for other in TORCH_NAMES}
    assert ours == torchs


def test_adaptive_max_pool_is_not_an_adaptive_avg_pool():
    assert not isinstance(nn.AdaptiveMaxPool2d(1), nn.AdaptiveAvgPool2d)


def test_adaptive_max_pool_layer_can_return_indices_like_torch():
    x = np.random.default_rng(11).standard_normal((1, 2, 5, 5))
    out, indices = nn.AdaptiveMaxPool2d((2, 3), return_indices=True)(x)
    out_t, indices_t = torch.nn.AdaptiveMaxPool2d((2, 3), return_indices=True)(torch.tensor(x))
    assert np.array_equal(out, out_t.numpy()) and np.array_equal(indices, indices_t.numpy())


def test_backward_before_forward_raises_a_clear_runtime_error():
    with pytest.raises(RuntimeError, match="Linear.backward called before forward"):
        nn.Linear(3, 2, rng=np.random.default_rng(0)).backward(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Sequential(nn.ReLU()).backward(np.ones(2))


def test_parameter_gradients_accumulate_until_zero_grad():
    model = nn.Sequential(nn.Linear(4, 3, rng=np.random.default_rng(0)), nn.Tanh())
    x, dout = np.ones((2, 4)), np.ones((2, 3))
    model(x)
    model.backward(dout)
    first = model[0].weight.grad.copy()
    model(x)
    model.backward(dout)
    np.testing.assert_allclose(model[0].weight.grad, 2 * first)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_switch_every_submodule():
    model = resnet_like(twins.library("numpy", rng=0))
    model.eval()
    assert not any(m.training for _, m in model.named_modules())
    model.train()
    assert all(m.training for _, m in model.named_modules())


def test_sequential_supports_len_indexing_and_slicing():
    layers = [nn.Linear(4, 3, rng=np.random.default_rng(0)), nn.ReLU(), nn.Linear(3, 2, rng=np.random.default_rng(1))]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and model[1] is layers[1] and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is layers[0]
    assert list(model) == layers


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="layers: expected cnnbook.nn.Module instances, got int at position 1"):
        nn.Sequential(nn.ReLU(), 3)


def test_residual_with_identity_shortcut_adds_the_input():
    body = nn.Linear(3, 3, rng=np.random.default_rng(0))
    block = nn.Residual(body)
    x = np.random.default_rng(1).standard_normal((2, 3))
    np.testing.assert_allclose(block(x), body(x) + x)
    dx = block.backward(np.ones((2, 3)))
    np.testing.assert_allclose(dx, np.ones((2, 3)) @ body.weight.data + 1)


def test_dropout_layer_is_reproducible_and_off_in_eval():
    x = np.ones((4, 50))
    a = nn.Dropout(0.5, rng=np.random.default_rng(3))
    b = nn.Dropout(0.5, rng=np.random.default_rng(3))
    out = a(x)
    assert np.array_equal(out, b(x))
    np.testing.assert_array_equal(a.backward(np.ones_like(x)), out)   # dx = mask / (1 - p)
    a.eval()
    assert np.array_equal(a(x), x) and np.array_equal(a.backward(x), x)


def test_batchnorm2d_rejects_input_of_wrong_rank_or_channels():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"x: BatchNorm2d expects shape \(N, C, H, W\), got \(2, 3\)"):
        bn(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x: expected 3 channels \(axis 1\), got shape \(2, 4, 5, 5\)"):
        bn(np.zeros((2, 4, 5, 5)))


def test_conv2d_rejects_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match="groups: expected a divisor of in_channels=4, got groups=3"):
        nn.Conv2d(4, 6, 3, groups=3)


def test_dropout_layer_rejects_p_outside_0_1():
    with pytest.raises(ValueError, match=r"p: expected a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


def test_pool_layers_take_torchs_positional_arguments():
    x = np.random.default_rng(9).standard_normal((2, 3, 7, 7))
    np_model = nn.Sequential(nn.MaxPool2d(3, 2, 1, 1, False, True), nn.AvgPool2d(2, 1, 1, True, False, 3))
    torch_model = torch.nn.Sequential(torch.nn.MaxPool2d(3, 2, 1, 1, False, True),
                                      torch.nn.AvgPool2d(2, 1, 1, True, False, 3))
    compare_with_torch(np_model, torch_model, x)


def test_max_pool_layer_can_return_indices_like_torch():
    x = np.random.default_rng(10).standard_normal((1, 2, 4, 4))
    out, indices = nn.MaxPool2d(2, return_indices=True)(x)
    out_t, indices_t = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    assert np.array_equal(out, out_t.numpy()) and np.array_equal(indices, indices_t.numpy())


def test_conv_layers_reject_padding_modes_other_than_zeros():
    with pytest.raises(ValueError, match="padding_mode: only 'zeros' is implemented, got 'reflect'"):
        nn.Conv2d(1, 1, 3, padding_mode="reflect")


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Conv2d(1, 2, 0), r"kernel_size: expected values >= 1, got 0"),
    (lambda: nn.Conv2d(1, 2, 3, stride=(1, 0)), r"stride: expected values >= 1"),
    (lambda: nn.ConvTranspose2d(1, 2, 3, padding=-1), r"padding: expected values >= 0"),
])
def test_conv_layers_reject_bad_sizes_when_built(make, message):
    with pytest.raises(ValueError, match=message):
        make()
