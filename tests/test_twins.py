"""cnnbook.twins: one builder makes a cnnbook.nn model and its torch twin, starting equal."""
import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from cnnbook import functional as F
from cnnbook import nn, twins
from cnnbook.check import assert_close, compare_with_torch, tolerance
from cnnbook.optim import SGD

BUILDERS = {
    "lenet": (twins.lenet, {}),
    "lenet relu max": (twins.lenet, dict(act="ReLU", pool="MaxPool2d")),
    "residual_block": (twins.residual_block, dict(c_in=3, c_out=5, stride=2)),
    "resnet_like": (twins.resnet_like, {}),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_make_returns_twins_with_equal_keys_and_values(name, dtype):
    builder, kwargs = BUILDERS[name]
    np_model, torch_model = twins.make(builder, dtype=dtype, **kwargs)
    assert isinstance(np_model, nn.Module) and isinstance(torch_model, torch.nn.Module)
    np_state, torch_state = np_model.state_dict(), torch_model.state_dict()
    assert list(np_state) == list(torch_state)
    for key, value in torch_state.items():
        assert np.array_equal(np_state[key], value.numpy()), key
        assert np_state[key].dtype == value.numpy().dtype, key


def test_make_is_reproducible_and_seeded():
    a, _ = twins.make(twins.lenet, seed=3)
    b, _ = twins.make(twins.lenet, seed=3)
    c, _ = twins.make(twins.lenet, seed=4)
    assert np.array_equal(a[0].weight.data, b[0].weight.data)
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)


def test_make_leaves_the_callers_torch_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    twins.make(twins.lenet)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_lenet_twins_stay_equal_after_one_sgd_step(dtype, momentum):
    np_model, torch_model = twins.make(twins.lenet, dtype=dtype)
    rng = np.random.default_rng(0)
    x = rng.random((8, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 10, size=8)
    np_opt = SGD(np_model.parameters(), lr=0.5, momentum=momentum)
    torch_opt = torch.optim.SGD(torch_model.parameters(), lr=0.5, momentum=momentum)

    logits = np_model(x)
    np_model.backward(F.cross_entropy_backward(logits, y))
    np_opt.step()
    TF.cross_entropy(torch_model(torch.tensor(x)), torch.tensor(y)).backward()
    torch_opt.step()

    tol = tolerance(dtype)
    np_state = np_model.state_dict()
    for key, value in torch_model.state_dict().items():
        assert_close(np_state[key], value, rtol=tol, atol=tol, name=key)   # before the copy below
    assert not np.array_equal(np_state["0.weight"], twins.make(twins.lenet, dtype=dtype)[0][0].weight.data)
    compare_with_torch(np_model, torch_model, x)


def test_torch_residual_adds_body_and_shortcut_like_the_numpy_layer():
    L = twins.library("torch")
    block = twins.Residual(L.Linear(3, 3), None)
    x = torch.randn(2, 3, dtype=torch.float64)
    assert torch.equal(block(x), block.body(x) + x)
    assert list(block.state_dict()) == ["body.weight", "body.bias"]
    assert repr(block) == repr(nn.Residual(nn.Linear(3, 3)))


def test_residual_block_projects_the_shortcut_only_when_the_shape_changes():
    L = twins.library("numpy", rng=0)
    assert twins.residual_block(L, 4, 4)[0].shortcut is None
    assert twins.residual_block(L, 4, 8)[0].shortcut is not None
    assert twins.residual_block(L, 4, 4, stride=2)[0].shortcut is not None


@pytest.mark.parametrize("size, features", [(28, 400), (32, 576), (12, 16)])
def test_lenet_size_sets_the_features_of_the_first_dense_layer(size, features):
    model = twins.lenet(twins.library("numpy", rng=0), size=size)
    assert model[7].in_features == features
    assert model(np.zeros((2, 1, size, size))).shape == (2, 10)


def test_lenet_rejects_an_input_too_small():
    with pytest.raises(ValueError, match="size: expected an input side of at least 12, got 11"):
        twins.lenet(twins.library("numpy"), size=11)


@pytest.mark.parametrize("backend, module", [("numpy", nn), ("torch", torch.nn)])
def test_library_fills_in_dtype_for_every_backend(backend, module):
    L = twins.library(backend, "float32")
    conv, bn, relu = L.Conv2d(2, 3, 3), L.BatchNorm2d(3), L.ReLU()
    assert isinstance(conv, module.Conv2d) and isinstance(relu, module.ReLU)
    assert str(conv.weight.dtype).endswith("float32") and str(bn.running_var.dtype).endswith("float32")


def test_numpy_library_draws_from_its_rng():
    a = twins.library("numpy", rng=np.random.default_rng(5)).Linear(4, 3)
    b = twins.library("numpy", rng=5).Linear(4, 3)
    assert np.array_equal(a.weight.data, b.weight.data)


@pytest.mark.parametrize("call, message", [
    (lambda: twins.library("jax"), "backend: expected 'numpy' or 'torch', got 'jax'"),
    (lambda: twins.library("torch", rng=0), "rng: only the NumPy library takes an rng"),
    (lambda: twins.library("numpy", np.int64), "dtype: expected float32 or float64"),
    (lambda: twins.library("numpy", "float16"), "dtype: expected float32 or float64"),
])
def test_library_rejects_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_library_names_the_missing_layer():
    with pytest.raises(AttributeError, match="numpy library: no layer 'LSTM'"):
        twins.library("numpy").LSTM


def test_docstring_examples_run():
    result = doctest.testmod(twins)
    assert result.attempted > 0 and result.failed == 0
