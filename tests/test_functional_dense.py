"""Dense, activation, normalisation, dropout and loss ops of cnnbook.functional against PyTorch autograd."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

from cnnbook import functional as F
from cnnbook.check import assert_close, gradcheck
from engine_helpers import close as _close

DTYPES = [np.float64, np.float32]


def _t(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)
seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from(DTYPES)


# --------------------------------------------------------------------------------------------
# linear
# --------------------------------------------------------------------------------------------
@given(N=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2), fin=st.integers(1, 6),
       fout=st.integers(1, 6), use_bias=st.booleans(), dtype=dtypes, seed=seeds)
def test_linear_forward_and_backward_match_autograd(N, extra, fin, fout, use_bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, *extra, fin)).astype(dtype)
    weight = rng.standard_normal((fout, fin)).astype(dtype)
    bias = rng.standard_normal(fout).astype(dtype) if use_bias else None
    dout = rng.standard_normal((N, *extra, fout)).astype(dtype)
    xt, wt = _t(x, True), _t(weight, True)
    bt = _t(bias, True) if use_bias else None
    out_t = TF.linear(xt, wt, bt)
    out_t.backward(_t(dout))
    _close(F.linear(x, weight, bias), out_t, dtype, "out")
    dx, dweight, dbias = F.linear_backward(dout, x, weight)
    _close(dx, xt.grad, dtype, "dx")
    _close(dweight, wt.grad, dtype, "dweight")
    if use_bias:
        _close(dbias, bt.grad, dtype, "dbias")


def test_linear_backward_passes_gradcheck():
    rng = np.random.default_rng(0)
    x, weight, bias = rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)
    dout = rng.standard_normal((3, 2))
    dx, dweight, dbias = F.linear_backward(dout, x, weight)
    gradcheck(lambda v: F.linear(v, weight, bias), x, dout, dx)
    gradcheck(lambda w: F.linear(x, w, bias), weight, dout, dweight)
    gradcheck(lambda b: F.linear(x, weight, b), bias, dout, dbias)


# --------------------------------------------------------------------------------------------
# elementwise activations
# --------------------------------------------------------------------------------------------
ACTIVATIONS = {
    "relu": (F.relu, F.relu_backward, torch.relu),
    "sigmoid": (F.sigmoid, F.sigmoid_backward, torch.sigmoid),
    "tanh": (F.tanh, F.tanh_backward, torch.tanh),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@given(shape=shapes, scale=st.sampled_from([1.0, 30.0, 800.0]), dtype=dtypes, seed=seeds)
def test_activation_forward_and_backward_match_autograd(name, shape, scale, dtype, seed):
    f, f_backward, tf = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    x = (scale * rng.standard_normal(shape)).astype(dtype)
    x.flat[0] = 0.0                 # the kink of relu: PyTorch's gradient there is 0
    dout = rng.standard_normal(shape).astype(dtype)
    xt = _t(x, True)
    out_t = tf(xt)
    out_t.backward(_t(dout))
    out = f(x)
    assert out.dtype == dtype
    _close(out, out_t, dtype, "out")
    _close(f_backward(dout, x), xt.grad, dtype, "dx")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward_passes_gradcheck(name):
    f, f_backward, _ = ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)) + 0.05  # keep relu's inputs away from 0
    x[np.abs(x) < 0.01] = 0.5
    dout = rng.standard_normal((3, 4))
    gradcheck(f, x, dout, f_backward(dout, x))


def test_sigmoid_does_not_overflow_for_huge_inputs():
    with np.errstate(over="raise"):
        out = F.sigmoid(np.array([-1e4, -800.0, 0.0, 800.0, 1e4]))
    assert_close(out, [0.0, 0.0, 0.5, 1.0, 1.0], rtol=0, atol=1e-300, name="sigmoid")


# --------------------------------------------------------------------------------------------
# softmax / log_softmax
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=shapes, data=st.data(), scale=st.sampled_from([1.0, 50.0, 1e4]), dtype=dtypes, seed=seeds)
def test_softmax_family_matches_autograd(name, shape, data, scale, dtype, seed):
    f, f_backward = getattr(F, name), getattr(F, name + "_backward")
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    rng = np.random.default_rng(seed)
    x = (scale * rng.standard_normal(shape)).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    xt = _t(x, True)
    out_t = getattr(TF, name)(xt, dim=dim)
    out_t.backward(_t(dout))
    out = f(x, dim)
    assert np.all(np.isfinite(out))
    # log_softmax of logits of size 1e4 is itself of size 1e4: compare relative to that scale
    _close(out, out_t, dtype, "out", scale=max(1.0, scale / 100) if name == "log_softmax" else 1.0)
    _close(f_backward(dout, x, dim), xt.grad, dtype, "dx")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_backward_passes_gradcheck(name):
    rng = np.random.default_rng(2)
    x, dout = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    f, f_backward = getattr(F, name), getattr(F, name + "_backward")
    for dim in (0, 1):
        gradcheck(lambda v: f(v, dim), x, dout, f_backward(dout, x, dim))


def test_softmax_rows_sum_to_one_for_huge_logits():
    out = F.softmax(np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]]), dim=1)
    assert_close(out.sum(axis=1), [1.0, 1.0], name="row sums")
    assert_close(out[1], [1 / 3] * 3, name="equal logits")


def test_softmax_rejects_dim_out_of_range():
    with pytest.raises(ValueError, match=r"dim: expected .* got 2"):
        F.softmax(np.zeros((2, 3)), dim=2)


# --------------------------------------------------------------------------------------------
# dropout
# --------------------------------------------------------------------------------------------
@given(shape=shapes, p=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), dtype=dtypes, seed=seeds)
def test_dropout_equals_torch_given_the_same_mask(shape, p, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    out, mask = F.dropout(x, p, training=True, rng=np.random.default_rng(seed), return_mask=True)
    # PyTorch's dropout is input * (mask / (1 - p)); rebuild it with our mask
    noise = _t(mask.astype(dtype)) / (1 - p) if p < 1 else torch.zeros(shape, dtype=_t(x).dtype)
    xt = _t(x, True)
    out_t = xt * noise
    out_t.backward(_t(dout))
    assert out.dtype == dtype
    _close(out, out_t, dtype, "out")
    _close(F.dropout_backward(dout, mask, p), xt.grad, dtype, "dx")


def test_dropout_keeps_the_expected_fraction_and_mean():
    x = np.ones((200, 500))
    out, mask = F.dropout(x, 0.3, rng=np.random.default_rng(0), return_mask=True)
    assert abs(mask.mean() - 0.7) < 0.01
    assert abs(out.mean() - 1.0) < 0.02
    assert set(np.unique(out)) <= {0.0, 1 / 0.7}


def test_dropout_is_the_identity_in_evaluation_mode():
    x = np.random.default_rng(0).standard_normal((4, 5))
    out, mask = F.dropout(x, 0.5, training=False, return_mask=True)
    assert np.array_equal(out, x) and mask is None
    assert np.array_equal(F.dropout_backward(x, mask, 0.5), x)


def test_dropout_with_the_same_seed_gives_the_same_mask():
    x = np.ones((10, 10))
    a = F.dropout(x, 0.5, rng=np.random.default_rng(7))
    b = F.dropout(x, 0.5, rng=np.random.default_rng(7))
    assert np.array_equal(a, b)


def test_dropout_backward_passes_gradcheck():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    _, mask = F.dropout(x, 0.4, rng=np.random.default_rng(0), return_mask=True)
    f = lambda v: F.dropout(v, 0.4, rng=np.random.default_rng(0))  # noqa: E731 (same mask every call)
    gradcheck(f, x, dout, F.dropout_backward(dout, mask, 0.4))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5"])
def test_dropout_rejects_p_outside_0_1(p):
    with pytest.raises(ValueError, match=r"p: expected a probability in \[0, 1\]"):
        F.dropout(np.ones(3), p)


# --------------------------------------------------------------------------------------------
# cross_entropy
# --------------------------------------------------------------------------------------------
@given(N=st.integers(1, 6), C=st.integers(1, 6), scale=st.sampled_from([1.0, 100.0, 1e4]), dtype=dtypes,
       seed=seeds)
def test_cross_entropy_and_backward_match_autograd(N, C, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    logits = (scale * rng.standard_normal((N, C))).astype(dtype)
    target = rng.integers(0, C, N)
    lt = _t(logits, True)
    loss_t = TF.cross_entropy(lt, torch.tensor(target))
    loss_t.backward()
    loss = F.cross_entropy(logits, target)
    assert np.isfinite(loss)
    _close(np.float64(loss), loss_t.detach().double(), dtype, "loss", scale=max(1.0, scale / 100))
    _close(F.cross_entropy_backward(logits, target), lt.grad, dtype, "dlogits")


def test_cross_entropy_backward_passes_gradcheck():
    rng = np.random.default_rng(4)
    logits, target = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    gradcheck(lambda z: np.array(F.cross_entropy(z, target)), logits, np.array(1.0),
              F.cross_entropy_backward(logits, target))


def test_cross_entropy_of_uniform_logits_is_log_C():
    assert abs(F.cross_entropy(np.zeros((4, 10)), np.array([0, 3, 9, 5])) - np.log(10)) < 1e-12


@pytest.mark.parametrize("target, match", [
    (np.array([0, 3]), r"target: expected labels in \[0, 2\], got values in \[0, 3\]"),
    (np.array([-1, 0]), r"target: expected labels in \[0, 2\]"),
    (np.array([0.0, 1.0]), r"target: expected integer class labels, got dtype float64"),
    (np.array([0.0, np.nan]), r"target: expected integer .* NaN"),
    (np.array([0, 1, 2]), r"target: expected shape \(2,\) .* got \(3,\)"),
])
def test_cross_entropy_rejects_bad_targets(target, match):
    with pytest.raises(ValueError, match=match):
        F.cross_entropy(np.zeros((2, 3)), target)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_cross_entropy_rejects_non_finite_logits(bad):
    logits = np.zeros((2, 3))
    logits[1, 2] = bad
    with pytest.raises(ValueError, match=r"logits: expected finite values, got 1 NaN/inf"):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"logits: expected finite values"):
        F.cross_entropy_backward(logits, np.array([0, 1]))


def test_cross_entropy_rejects_logits_that_are_not_2d():
    with pytest.raises(ValueError, match=r"logits: expected shape \(N, C\), got \(2, 3, 4\)"):
        F.cross_entropy(np.zeros((2, 3, 4)), np.array([0, 1]))


# --------------------------------------------------------------------------------------------
# batch_norm
# --------------------------------------------------------------------------------------------
bn_shapes = st.one_of(
    st.tuples(st.integers(2, 4), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
).filter(lambda s: int(np.prod(s)) // s[1] > 1)


@given(shape=bn_shapes, affine=st.booleans(), momentum=st.sampled_from([0.1, 0.5, 1.0]),
       eps=st.sampled_from([1e-5, 1e-3]), dtype=dtypes, seed=seeds)
def test_batch_norm_training_matches_autograd_and_running_stats(shape, affine, momentum, eps, dtype, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = (3 * rng.standard_normal(shape) + 1).astype(dtype)
    weight = rng.standard_normal(C).astype(dtype) if affine else None
    bias = rng.standard_normal(C).astype(dtype) if affine else None
    rm, rv = rng.standard_normal(C).astype(dtype), (rng.random(C) + 0.5).astype(dtype)
    rm_t, rv_t = _t(rm.copy()), _t(rv.copy())
    dout = rng.standard_normal(shape).astype(dtype)
    xt = _t(x, True)
    wt, bt = (_t(weight, True), _t(bias, True)) if affine else (None, None)
    out_t = TF.batch_norm(xt, rm_t, rv_t, wt, bt, training=True, momentum=momentum, eps=eps)
    out_t.backward(_t(dout))
    out = F.batch_norm(x, rm, rv, weight, bias, training=True, momentum=momentum, eps=eps)
    assert out.dtype == dtype
    # The output is weight * (x - mean) / std + bias: where the terms nearly cancel, rounding in x
    # (and torch's different float32 formula, x * a + b) shows up relative to the terms' size, so
    # the tolerance is relative to that size, not to the (possibly tiny) result.
    axes = tuple(a for a in range(x.ndim) if a != 1)
    x64 = x.astype(np.float64)
    terms = np.abs(x64).max(axis=axes) / np.sqrt(x64.var(axis=axes) + eps)
    if affine:
        terms = terms * np.abs(weight) + np.abs(bias)
    _close(out, out_t, dtype, "out", scale=max(1.0, float(terms.max())))
    _close(rm, rm_t, dtype, "running_mean")
    _close(rv, rv_t, dtype, "running_var")
    dx, dweight, dbias = F.batch_norm_backward(dout, x, weight, eps)
    # dx of a normalised input is a difference of O(1) terms divided by a small std: allow 100x
    _close(dx, xt.grad, dtype, "dx", scale=100 if dtype == np.float32 else 1)
    if affine:
        _close(dweight, wt.grad, dtype, "dweight", scale=10)
        _close(dbias, bt.grad, dtype, "dbias", scale=10)


@given(shape=bn_shapes, dtype=dtypes, seed=seeds)
def test_batch_norm_evaluation_uses_running_stats_and_matches_autograd(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = rng.standard_normal(shape).astype(dtype)
    weight, bias = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm, rv = rng.standard_normal(C).astype(dtype), (rng.random(C) + 0.5).astype(dtype)
    rm0, rv0 = rm.copy(), rv.copy()
    dout = rng.standard_normal(shape).astype(dtype)
    xt, wt, bt = _t(x, True), _t(weight, True), _t(bias, True)
    out_t = TF.batch_norm(xt, _t(rm), _t(rv), wt, bt, training=False)
    out_t.backward(_t(dout))
    _close(F.batch_norm(x, rm, rv, weight, bias, training=False), out_t, dtype, "out")
    assert np.array_equal(rm, rm0) and np.array_equal(rv, rv0)
    dx, dweight, dbias = F.batch_norm_backward(dout, x, weight, training=False, running_mean=rm,
                                               running_var=rv)
    _close(dx, xt.grad, dtype, "dx")
    _close(dweight, wt.grad, dtype, "dweight", scale=10)
    _close(dbias, bt.grad, dtype, "dbias", scale=10)


def test_batch_norm_backward_passes_gradcheck():
    rng = np.random.default_rng(5)
    x, dout = rng.standard_normal((3, 2, 2, 3)), rng.standard_normal((3, 2, 2, 3))
    weight, bias = rng.standard_normal(2), rng.standard_normal(2)
    f = lambda v: F.batch_norm(v, None, None, weight, bias, training=True)  # noqa: E731
    dx, dweight, dbias = F.batch_norm_backward(dout, x, weight)
    gradcheck(f, x, dout, dx)
    gradcheck(lambda w: F.batch_norm(x, None, None, w, bias, training=True), weight, dout, dweight)
    gradcheck(lambda b: F.batch_norm(x, None, None, weight, b, training=True), bias, dout, dbias)


def test_batch_norm_training_output_has_zero_mean_unit_variance_per_channel():
    x = np.random.default_rng(6).standard_normal((8, 3, 4, 4)) * 5 + 2
    out = F.batch_norm(x, None, None, training=True, eps=0.0)
    assert_close(out.mean(axis=(0, 2, 3)), np.zeros(3), atol=1e-12, name="mean")
    assert_close(out.var(axis=(0, 2, 3)), np.ones(3), atol=1e-12, name="variance")


@pytest.mark.parametrize("kwargs, match", [
    (dict(running_mean=np.zeros(2)), r"running_mean: expected shape \(3,\) .* got \(2,\)"),
    (dict(running_var=np.ones(4)), r"running_var: expected shape \(3,\) .* got \(4,\)"),
    (dict(weight=np.ones(2)), r"weight: expected shape \(3,\) .* got \(2,\)"),
    (dict(bias=np.ones((3, 1))), r"bias: expected shape \(3,\) .* got \(3, 1\)"),
])
def test_batch_norm_rejects_per_channel_arrays_of_wrong_length(kwargs, match):
    args = dict(running_mean=np.zeros(3), running_var=np.ones(3))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        F.batch_norm(np.zeros((2, 3, 4, 4)), training=True, **args)


def test_batch_norm_rejects_a_single_value_per_channel_in_training():
    with pytest.raises(ValueError, match=r"x: expected more than 1 value per channel when training"):
        F.batch_norm(np.zeros((1, 3)), np.zeros(3), np.ones(3), training=True)


def test_batch_norm_rejects_missing_running_stats_in_evaluation():
    with pytest.raises(ValueError, match=r"running_mean, running_var: expected arrays"):
        F.batch_norm(np.zeros((2, 3)), None, None, training=False)


def test_batch_norm_rejects_5d_input():
    with pytest.raises(ValueError, match=r"x: expected shape \(N, C\), \(N, C, L\) or \(N, C, H, W\), got"):
        F.batch_norm(np.zeros((2, 3, 1, 1, 1)), None, None, training=True)


# --------------------------------------------------------------------------------------------
# flatten and shape checks shared by the ops
# --------------------------------------------------------------------------------------------
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=5).map(tuple), data=st.data())
def test_flatten_matches_torch(shape, data):
    start = data.draw(st.integers(-len(shape), len(shape) - 1), label="start_dim")
    end = data.draw(st.integers(start % len(shape), len(shape) - 1), label="end_dim")
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    out = F.flatten(x, start, end)
    expected = torch.flatten(_t(x), start, end)
    assert out.shape == tuple(expected.shape)
    assert np.array_equal(out, expected.numpy())
    assert F.flatten_backward(out, x.shape).shape == x.shape


def test_flatten_rejects_start_after_end():
    with pytest.raises(ValueError, match="start_dim: expected start_dim <= end_dim"):
        F.flatten(np.zeros((2, 3, 4)), 2, 1)


def test_linear_rejects_mismatched_features():
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., 4\) .* got \(2, 3\)"):
        F.linear(np.zeros((2, 3)), np.zeros((5, 4)))


def test_linear_rejects_bias_of_wrong_length():
    with pytest.raises(ValueError, match=r"bias: expected shape \(5,\), got \(4,\)"):
        F.linear(np.zeros((2, 4)), np.zeros((5, 4)), np.zeros(4))


def test_linear_backward_rejects_dout_of_wrong_shape():
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 5\), got \(2, 4\)"):
        F.linear_backward(np.zeros((2, 4)), np.zeros((2, 4)), np.zeros((5, 4)))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activation_backward_rejects_dout_of_wrong_shape(name):
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3\) \(the shape of x\), got \(3, 2\)"):
        getattr(F, name + "_backward")(np.zeros((3, 2)), np.zeros((2, 3)))


def test_dropout_backward_rejects_mask_of_wrong_shape():
    with pytest.raises(ValueError, match=r"mask: expected shape \(2, 3\)"):
        F.dropout_backward(np.zeros((2, 3)), np.ones((3, 2), dtype=bool), 0.5)


def test_batch_norm_backward_rejects_dout_of_wrong_shape():
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3\) \(the shape of x\), got \(2, 4\)"):
        F.batch_norm_backward(np.zeros((2, 4)), np.zeros((2, 3)), np.ones(3))


def test_ops_reject_non_numeric_input_naming_the_argument():
    with pytest.raises(TypeError, match=r"x: expected a real numeric array \(float32, float64, integer or bool\), got dtype <U1"):
        F.relu(np.array(["a", "b"]))


def test_log_softmax_rejects_dim_out_of_range():
    with pytest.raises(ValueError, match=r"dim: expected an integer in \[-2, 1\] .* got -3"):
        F.log_softmax(np.zeros((2, 3)), dim=-3)


def test_batch_norm_backward_rejects_weight_of_wrong_length():
    with pytest.raises(ValueError, match=r"weight: expected shape \(3,\) .* got \(4,\)"):
        F.batch_norm_backward(np.zeros((2, 3)), np.zeros((2, 3)), np.ones(4))


def test_cross_entropy_backward_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"target: expected labels in \[0, 2\], got values in \[0, 5\]"):
        F.cross_entropy_backward(np.zeros((2, 3)), np.array([5, 0]))


def test_linear_rejects_weight_that_is_not_2d():
    with pytest.raises(ValueError, match=r"weight: expected shape \(out_features, in_features\), got \(4,\)"):
        F.linear(np.zeros((2, 4)), np.zeros(4))


def test_int_input_is_promoted_to_float64():
    assert F.sigmoid(np.array([0, 1])).dtype == np.float64


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_backward_from_the_kept_output_equals_backward_from_x(name):
    rng = np.random.default_rng(9)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    f, f_backward = getattr(F, name), getattr(F, name + "_backward")
    assert_close(f_backward(dout, x, out=f(x)), f_backward(dout, x), name="dx")


def test_batch_norm_evaluation_backward_passes_gradcheck():
    rng = np.random.default_rng(11)
    x, dout = rng.standard_normal((3, 2, 2, 2)), rng.standard_normal((3, 2, 2, 2))
    weight, bias = rng.standard_normal(2), rng.standard_normal(2)
    rm, rv = rng.standard_normal(2), rng.random(2) + 0.5
    dx, dweight, dbias = F.batch_norm_backward(dout, x, weight, training=False, running_mean=rm, running_var=rv)
    gradcheck(lambda v: F.batch_norm(v, rm, rv, weight, bias), x, dout, dx)
    gradcheck(lambda w: F.batch_norm(x, rm, rv, w, bias), weight, dout, dweight)
    gradcheck(lambda b: F.batch_norm(x, rm, rv, weight, b), bias, dout, dbias)
