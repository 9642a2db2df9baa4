"""cnnbook.optim.SGD equals torch.optim.SGD step for step."""
import itertools

import numpy as np
import pytest
import torch

from cnnbook import nn
from cnnbook.optim import SGD

COMBOS = [
    dict(momentum=m, dampening=d, weight_decay=wd, nesterov=n)
    for m, d, wd, n in itertools.product([0, 0.9], [0, 0.3], [0, 0.01], [False, True])
    if not (n and (m == 0 or d != 0))
]


def _twins(dtype=np.float64):
    np_model = nn.Sequential(nn.Linear(5, 4, rng=np.random.default_rng(0), dtype=dtype), nn.Tanh(),
                             nn.Linear(4, 3, rng=np.random.default_rng(1), dtype=dtype))
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    torch_model = torch.nn.Sequential(torch.nn.Linear(5, 4, dtype=torch_dtype), torch.nn.Tanh(),
                                      torch.nn.Linear(4, 3, dtype=torch_dtype))
    np_model.load_state_dict(torch_model.state_dict())
    return np_model, torch_model


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("options", COMBOS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_sgd_steps_equal_torch(options, dtype, tol):
    np_model, torch_model = _twins(dtype)
    opt = SGD(np_model.parameters(), lr=0.1, **options)
    topt = torch.optim.SGD(torch_model.parameters(), lr=0.1, **options)
    rng = np.random.default_rng(2)
    for step in range(5):
        x = rng.standard_normal((6, 5)).astype(dtype)
        dout = rng.standard_normal((6, 3)).astype(dtype)
        opt.zero_grad()
        np_model(x)
        np_model.backward(dout)
        opt.step()
        topt.zero_grad()
        torch_model(torch.tensor(x)).backward(torch.tensor(dout))
        topt.step()
        for name, p in torch_model.named_parameters():
            np.testing.assert_allclose(dict(np_model.named_parameters())[name].data, p.detach().numpy(),
                                       rtol=tol, atol=tol, err_msg=f"{name} after step {step + 1}")


def test_sgd_without_momentum_is_plain_gradient_descent():
    p = nn.Parameter(np.array([1.0, 2.0]))
    p.grad = np.array([0.5, -1.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, 2.1])


def test_sgd_skips_parameters_without_gradient():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    a.grad = np.ones(2)
    SGD([a, b], lr=0.5, momentum=0.9).step()
    assert np.array_equal(b.data, np.ones(2)) and np.array_equal(a.data, [0.5, 0.5])


def test_sgd_zero_grad_resets_gradients_to_none():
    p = nn.Parameter(np.ones(2))
    p.grad = np.ones(2)
    opt = SGD([p], lr=0.1)
    opt.zero_grad()
    assert p.grad is None


def _torch_error(**kwargs):
    with pytest.raises(ValueError) as err:
        torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], **kwargs)
    return str(err.value)


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.1, nesterov=True),
    dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
    dict(lr=-1.0),
    dict(lr=0.1, momentum=-0.5),
    dict(lr=0.1, weight_decay=-1e-4),
], ids=["nesterov-without-momentum", "nesterov-with-dampening", "negative-lr", "negative-momentum",
        "negative-weight-decay"])
def test_sgd_rejects_bad_options_with_torchs_message(kwargs):
    with pytest.raises(ValueError) as err:
        SGD([nn.Parameter(np.ones(1))], **kwargs)
    assert str(err.value) == _torch_error(**kwargs)


def test_sgd_rejects_an_empty_parameter_list():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        SGD([], lr=0.1)


def test_sgd_rejects_things_that_are_not_parameters():
    with pytest.raises(TypeError, match="params: expected Parameter objects .* got ndarray at position 0"):
        SGD([np.ones(3)], lr=0.1)
