"""cnnbook.optim.SGD and cnnbook.optim.Adam equal torch.optim.SGD and torch.optim.Adam step for step."""
import itertools

import numpy as np
import pytest
import torch

from cnnbook import nn, twins
from cnnbook.check import assert_close, tolerance
from cnnbook.optim import SGD, Adam, Optimizer

COMBOS = [
    dict(momentum=m, dampening=d, weight_decay=wd, nesterov=n)
    for m, d, wd, n in itertools.product([0, 0.9], [0, 0.3], [0, 0.01], [False, True])
    if not (n and (m == 0 or d != 0))
]


def _mlp(L):
    return L.Sequential(L.Linear(5, 4), L.Tanh(), L.Linear(4, 3))


def _twins(dtype=np.float64):
    return twins.make(_mlp, dtype=dtype)


@pytest.mark.parametrize("dtype, tol", [(d, tolerance(d)) for d in (np.float64, np.float32)])
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


# ---------------------------------------------------------------------------------------------
# Adam
# ---------------------------------------------------------------------------------------------

ADAM_CONFIGS = [
    dict(),
    dict(lr=0.1),
    dict(lr=0.05, betas=(0.5, 0.9)),
    dict(lr=0.01, betas=(0.0, 0.5), eps=1e-3),
    dict(lr=0.02, weight_decay=0.1),
    dict(lr=0.05, amsgrad=True),
    dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True),
    dict(lr=0.0),
]
SHAPES = [(4, 3), (3,), (2, 3, 2, 2)]
ADAM_STEPS = 12


def _adam_twins(options, dtype, steps=ADAM_STEPS, skip=lambda step, i: False):
    """Run Adam and torch.optim.Adam on the same parameters with the same random gradients.

    ``skip(step, i)`` says when parameter ``i`` gets no gradient (grad None) at that step.
    """
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    params = [nn.Parameter(v.copy()) for v in values]
    tparams = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    opt, topt = Adam(params, **options), torch.optim.Adam(tparams, foreach=False, **options)
    for step in range(steps):
        opt.zero_grad()
        topt.zero_grad()
        for i, (p, tp) in enumerate(zip(params, tparams)):
            g = (rng.standard_normal(p.shape) * 10.0 ** rng.integers(-3, 2)).astype(dtype)
            if not skip(step, i):
                p.grad, tp.grad = g.copy(), torch.tensor(g)
        opt.step()
        topt.step()
    return params, tparams, opt, topt


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)], ids=["float64", "float32"])
@pytest.mark.parametrize("options", ADAM_CONFIGS,
                         ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_adam_steps_equal_torch(options, dtype, tol):
    params, tparams, _, _ = _adam_twins(options, dtype)
    for i, (p, tp) in enumerate(zip(params, tparams)):
        assert p.data.dtype == dtype
        assert_close(p.data, tp.detach(), rtol=tol, atol=tol, name=f"parameter {i} after {ADAM_STEPS} steps")


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_state_equals_torch(amsgrad):
    _, tparams, opt, topt = _adam_twins(dict(lr=0.05, amsgrad=amsgrad), np.float64)
    for i, tp in enumerate(tparams):
        tstate = topt.state[tp]
        assert opt.state[i]["step"] == int(tstate["step"]) == ADAM_STEPS
        for key in ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ()):
            assert_close(opt.state[i][key], tstate[key], rtol=1e-12, atol=1e-12, name=f"{key} of parameter {i}")


def test_adam_skips_parameters_without_gradient_and_does_not_count_their_steps():
    # parameter 1 never gets a gradient, parameter 2 only on every third step
    def skip(step, i):
        return i == 1 or (i == 2 and step % 3 != 0)

    params, tparams, opt, topt = _adam_twins(dict(lr=0.1), np.float64, skip=skip)
    assert opt.state[1] == {} and tparams[1] not in topt.state
    np.testing.assert_array_equal(params[1].data, tparams[1].detach().numpy())
    assert opt.state[2]["step"] == int(topt.state[tparams[2]]["step"]) == 4
    for i, (p, tp) in enumerate(zip(params, tparams)):
        assert_close(p.data, tp.detach(), rtol=1e-12, atol=1e-12, name=f"parameter {i}")


def test_adam_first_step_moves_every_weight_by_lr():
    # with bias correction, the first update is lr * g / (|g| + eps'), i.e. lr * sign(g)
    p = nn.Parameter(np.array([1.0, 2.0, -3.0]))
    p.grad = np.array([0.5, -4.0, 1e-3])
    Adam([p], lr=0.1, eps=0).step()
    np.testing.assert_allclose(p.data, [0.9, 2.1, -3.1], rtol=0, atol=1e-15)


def _torch_adam_error(**kwargs):
    with pytest.raises(ValueError) as err:
        torch.optim.Adam([torch.nn.Parameter(torch.ones(1))], **kwargs)
    return str(err.value)


@pytest.mark.parametrize("kwargs", [
    dict(lr=-1e-3), dict(eps=-1e-8), dict(betas=(1.0, 0.999)), dict(betas=(-0.1, 0.999)),
    dict(betas=(0.9, 1.0)), dict(betas=(0.9, -0.5)), dict(weight_decay=-0.1),
], ids=["negative-lr", "negative-eps", "beta1-one", "beta1-negative", "beta2-one", "beta2-negative",
        "negative-weight-decay"])
def test_adam_rejects_bad_options_with_torchs_message(kwargs):
    with pytest.raises(ValueError) as err:
        Adam([nn.Parameter(np.ones(1))], **kwargs)
    assert str(err.value) == _torch_adam_error(**kwargs)


def test_adam_rejects_betas_that_are_not_a_pair():
    with pytest.raises(ValueError, match=r"betas: expected a pair of floats, got 0.9"):
        Adam([nn.Parameter(np.ones(1))], betas=0.9)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_optimizers_share_the_parameter_list_checks(optimizer):
    assert issubclass(optimizer, Optimizer)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optimizer([], lr=0.1)
    with pytest.raises(TypeError, match="params: expected Parameter objects .* got ndarray at position 1"):
        optimizer([nn.Parameter(np.ones(1)), np.ones(3)], lr=0.1)
    with pytest.raises(TypeError, match="params: expected an iterable of Parameter objects, got a single "
                                        "Parameter"):
        optimizer(nn.Parameter(np.ones(1)), lr=0.1)
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    opt = optimizer(model.parameters(), lr=0.1)
    model(np.ones((1, 3)))
    model.backward(np.ones((1, 2)))
    assert all(p.grad is not None for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_optimizer_reprs():
    p = [nn.Parameter(np.ones(1))]
    assert repr(Adam(p)) == "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False)"
    assert repr(SGD(p, lr=0.1, momentum=0.9)) == ("SGD(lr=0.1, momentum=0.9, dampening=0, weight_decay=0, "
                                                   "nesterov=False)")


def test_optim_imports_numpy_only():
    import ast
    import inspect

    from cnnbook import optim

    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(optim))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "numpy"}, imported
