"""Pooling in cnnbook.functional, checked against PyTorch.

Max, average and adaptive pooling, their ``*_backward`` twins and max-unpooling are compared with
``torch.nn.functional`` and autograd on random configurations (Hypothesis) — including inputs
with ties, where the gradient must go to the same maximum PyTorch picks — then with central
differences, edge cases and bad arguments.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbook.functional as F
from cnnbook.check import assert_close, gradcheck
from engine_helpers import check, torch_grad


ints_or_pairs = lambda lo, hi: st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


@st.composite
def pool_inputs(draw):
    """A random (N, C, H, W) input; with ``ties`` small integers, so that windows share maxima."""
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 10)), draw(st.integers(1, 10)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    if draw(st.booleans()):
        return rng.integers(0, 3, shape).astype(np.float64), rng
    return rng.standard_normal(shape), rng


@st.composite
def pool_configs(draw):
    return dict(kernel_size=draw(ints_or_pairs(1, 4)),
                stride=draw(st.one_of(st.none(), ints_or_pairs(1, 3))),
                padding=draw(ints_or_pairs(0, 2)), dilation=draw(ints_or_pairs(1, 2)),
                ceil_mode=draw(st.booleans()))


def only_padding_window(x, cfg):
    """True if some dilated window holds no input element (PyTorch then crashes in backward)."""
    try:
        F.max_pool2d(x, **cfg)
    except ValueError as error:
        return "covers only padding" in str(error)
    return False


def run_max_pool_against_torch(data, cfg, dtype):
    x, rng = data[0].astype(dtype), data[1]
    try:
        shape = TF.max_pool2d(torch.tensor(x), **cfg, return_indices=True)[0].shape
    except RuntimeError:   # padding above half the kernel, window larger than the padded input, ...
        with pytest.raises(ValueError, match="padding|kernel_size"):
            F.max_pool2d(x, **cfg)
        return
    if only_padding_window(x, cfg):
        return
    ref, ref_idx = TF.max_pool2d(torch.tensor(x), **cfg, return_indices=True)
    dout = rng.standard_normal(shape).astype(dtype)
    check(F.max_pool2d(x, **cfg), ref, dtype, "out")
    out, idx = F.max_pool2d(x, **cfg, return_indices=True)
    check(out, ref, dtype, "out with indices")
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    check(F.max_pool2d_backward(dout, x, **cfg), torch_grad(lambda t: TF.max_pool2d(t, **cfg), x, dout), dtype, "dx")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=pool_inputs(), cfg=pool_configs())
def test_max_pool2d_indices_and_backward_match_torch(dtype, data, cfg):
    run_max_pool_against_torch(data, cfg, dtype)


@st.composite
def avg_configs(draw):
    cfg = draw(pool_configs())
    del cfg["dilation"]   # PyTorch's avg_pool2d has none
    cfg["count_include_pad"] = draw(st.booleans())
    cfg["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 5)))
    return cfg


def run_avg_pool_against_torch(data, cfg, dtype):
    x, rng = data[0].astype(dtype), data[1]
    try:
        shape = TF.avg_pool2d(torch.tensor(x), **cfg).shape
    except RuntimeError:
        with pytest.raises(ValueError, match="padding|kernel_size"):
            F.avg_pool2d(x, **cfg)
        return
    dout = rng.standard_normal(shape).astype(dtype)
    check(F.avg_pool2d(x, **cfg), TF.avg_pool2d(torch.tensor(x), **cfg), dtype, "out")
    check(F.avg_pool2d_backward(dout, x, **cfg), torch_grad(lambda t: TF.avg_pool2d(t, **cfg), x, dout), dtype, "dx")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=pool_inputs(), cfg=avg_configs())
def test_avg_pool2d_and_backward_match_torch(dtype, data, cfg):
    run_avg_pool_against_torch(data, cfg, dtype)


@given(data=pool_inputs(), output_size=ints_or_pairs(1, 12))
def test_adaptive_avg_pool2d_and_backward_match_torch(data, output_size):
    x, rng = data
    ref = TF.adaptive_avg_pool2d(torch.tensor(x), output_size)
    dout = rng.standard_normal(ref.shape)
    check(F.adaptive_avg_pool2d(x, output_size), ref, np.float64, "out")
    check(F.adaptive_avg_pool2d_backward(dout, x, output_size),
          torch_grad(lambda t: TF.adaptive_avg_pool2d(t, output_size), x, dout), np.float64, "dx")


@st.composite
def adaptive_max_inputs(draw):
    """``pool_inputs``, sometimes with NaN, inf or -inf in random places (PyTorch picks the last NaN)."""
    x, rng = draw(pool_inputs())
    special = draw(st.sampled_from([None, np.nan, np.inf, -np.inf]))
    if special is not None:
        x = np.where(rng.random(x.shape) < draw(st.sampled_from([0.1, 0.5])), special, x)
    return x, rng


def run_adaptive_max_against_torch(data, output_size, dtype):
    x, rng = data[0].astype(dtype), data[1]
    ref, ref_idx = TF.adaptive_max_pool2d(torch.tensor(x), output_size, return_indices=True)
    dout = rng.standard_normal(ref.shape).astype(dtype)
    check(F.adaptive_max_pool2d(x, output_size), ref, dtype, "out")
    out, idx = F.adaptive_max_pool2d(x, output_size, return_indices=True)
    check(out, ref, dtype, "out with indices")
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    check(F.adaptive_max_pool2d_backward(dout, x, output_size),
          torch_grad(lambda t: TF.adaptive_max_pool2d(t, output_size), x, dout), dtype, "dx")


@pytest.mark.filterwarnings("ignore:invalid value encountered in subtract")   # inf - inf in the comparison
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=adaptive_max_inputs(), output_size=ints_or_pairs(1, 12))
def test_adaptive_max_pool2d_indices_and_backward_match_torch(dtype, data, output_size):
    run_adaptive_max_against_torch(data, output_size, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, output_size", [
    ((2, 3, 32, 32), 7),          # overlapping windows of 5 and 6
    ((2, 3, 12, 12), 4),          # uniform windows, no overlap
    ((1, 2, 9, 7), (4, 10)),      # non-divisible height, output wider than the input
    ((2, 9, 11), (3, 2)),         # unbatched
])
def test_adaptive_max_pool2d_with_ties_matches_torch(dtype, shape, output_size):
    """Values 0, 1, 2 only: most windows hold their maximum several times, across rows and columns."""
    x = np.random.default_rng(16).integers(0, 3, shape).astype(dtype)
    ref, ref_idx = TF.adaptive_max_pool2d(torch.tensor(x), output_size, return_indices=True)
    out, idx = F.adaptive_max_pool2d(x, output_size, return_indices=True)
    check(out, ref, dtype, "out")
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    dout = np.random.default_rng(17).standard_normal(ref.shape).astype(dtype)
    check(F.adaptive_max_pool2d_backward(dout, x, output_size),
          torch_grad(lambda t: TF.adaptive_max_pool2d(t, output_size), x, dout), dtype, "dx")


def test_adaptive_max_pool2d_picks_the_last_nan_of_a_window_like_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan       # both in the top-left window of a 2x2 output
    x[0, 0, 3, 3] = 5.0
    ref, ref_idx = TF.adaptive_max_pool2d(torch.tensor(x), 2, return_indices=True)
    out, idx = F.adaptive_max_pool2d(x, 2, return_indices=True)
    check(out, ref, np.float64, "out")
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    assert idx[0, 0, 0, 0] == 1 * 4 + 0 and np.isnan(out[0, 0, 0, 0])


@given(data=pool_inputs(), kernel_size=ints_or_pairs(1, 3), stride=st.one_of(st.none(), ints_or_pairs(1, 3)),
       padding=st.integers(0, 1))
def test_max_unpool2d_matches_torch(data, kernel_size, stride, padding):
    x, _ = data
    try:
        pooled, idx = TF.max_pool2d(torch.tensor(x), kernel_size, stride, padding, return_indices=True)
    except RuntimeError:
        return   # an invalid pooling is covered by the max_pool2d tests
    ref = TF.max_unpool2d(pooled, idx, kernel_size, stride, padding, output_size=x.shape[2:])
    ours = F.max_unpool2d(pooled.numpy(), idx.numpy(), kernel_size, stride, padding, output_size=x.shape[2:])
    check(ours, ref, np.float64, "unpooled")


# ---- central differences --------------------------------------------------------------------------

def distinct_values(shape, seed):
    """Well-separated values (a shuffled 0, 1, 2, ... over the size), so max pooling has no kink within eps."""
    size = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(size).reshape(shape) / size


def test_max_pool2d_backward_passes_gradcheck():
    x = distinct_values((2, 2, 7, 6), 0)
    kw = dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2), ceil_mode=True)
    dout = np.random.default_rng(1).standard_normal(F.max_pool2d(x, **kw).shape)
    gradcheck(lambda a: F.max_pool2d(a, **kw), x, dout, F.max_pool2d_backward(dout, x, **kw), name="dx")


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_backward_passes_gradcheck(count_include_pad):
    x = np.random.default_rng(2).standard_normal((2, 2, 7, 6))
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=count_include_pad)
    dout = np.random.default_rng(3).standard_normal(F.avg_pool2d(x, **kw).shape)
    gradcheck(lambda a: F.avg_pool2d(a, **kw), x, dout, F.avg_pool2d_backward(dout, x, **kw), name="dx")


def test_adaptive_pool_backwards_pass_gradcheck():
    x = distinct_values((1, 2, 7, 5), 4)
    dout = np.random.default_rng(5).standard_normal((1, 2, 3, 4))
    gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 4)), x, dout, F.adaptive_avg_pool2d_backward(dout, x, (3, 4)),
              name="adaptive avg dx")
    gradcheck(lambda a: F.adaptive_max_pool2d(a, (3, 4)), x, dout, F.adaptive_max_pool2d_backward(dout, x, (3, 4)),
              name="adaptive max dx")


# ---- ties, NaN, edge cases ------------------------------------------------------------------------------

def test_max_pool2d_backward_routes_ties_to_the_maximum_torch_picks():
    x = np.ones((1, 1, 4, 4))          # every element ties: the gradient must go to one of them
    x[0, 0, 1:3, 1:3] = 2.0
    dout = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    dx = F.max_pool2d_backward(dout, x, kernel_size=2, stride=1)
    check(dx, torch_grad(lambda t: TF.max_pool2d(t, 2, 1), x, dout), np.float64, "dx")
    assert dx.sum() == dout.sum()      # nothing lost, nothing counted twice


def test_max_pool2d_with_nan_matches_torch():
    x = np.random.default_rng(6).standard_normal((1, 2, 5, 5))
    x[0, 0, 1, 1] = x[0, 1, 3, 2] = x[0, 1, 3, 4] = np.nan
    kw = dict(kernel_size=3, stride=1, padding=1)
    ref, ref_idx = TF.max_pool2d(torch.tensor(x), **kw, return_indices=True)
    out, idx = F.max_pool2d(x, **kw, return_indices=True)
    check(out, ref, np.float64, "out")
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    dout = np.random.default_rng(7).standard_normal(out.shape)
    check(F.max_pool2d_backward(dout, x, **kw), torch_grad(lambda t: TF.max_pool2d(t, **kw), x, dout), np.float64, "dx")


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, stride=1, padding=1)])
def test_max_pool2d_of_minus_infinity_picks_the_first_input_element_not_padding_like_torch(kw):
    x = np.full((1, 1, 4, 5), -np.inf)
    x[0, 0, 2, 3] = 1.0
    ref, ref_idx = TF.max_pool2d(torch.tensor(x), **kw, return_indices=True)
    out, idx = F.max_pool2d(x, **kw, return_indices=True)
    np.testing.assert_array_equal(out, ref.numpy())
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    dout = np.arange(1.0, out.size + 1).reshape(out.shape)
    dx = F.max_pool2d_backward(dout, x, **kw)
    check(dx, torch_grad(lambda t: TF.max_pool2d(t, **kw), x, dout), np.float64, "dx")
    assert dx.sum() == dout.sum()


def test_max_pool2d_book_example_3x3_gives_4_5_7_8_like_torch():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out = F.max_pool2d(x, kernel_size=2, stride=1)
    check(out, TF.max_pool2d(torch.tensor(x), 2, 1), np.float64, "out")
    assert out[0, 0, 0, 0] == max(x[0, 0, 0, 0], x[0, 0, 0, 1], x[0, 0, 1, 0], x[0, 0, 1, 1])


@pytest.mark.parametrize("size, kernel, stride, padding", [(5, 2, 2, 0), (4, 2, 2, 1), (6, 3, 2, 1), (2, 2, 3, 1),
                                                           (7, 3, 3, 0)])
def test_ceil_mode_keeps_a_last_window_only_if_it_starts_inside_the_input_or_left_padding(size, kernel, stride, padding):
    x = np.random.default_rng(8).standard_normal((1, 1, size, size))
    for ceil_mode in (False, True):
        kw = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
        check(F.max_pool2d(x, **kw), TF.max_pool2d(torch.tensor(x), **kw), np.float64, "max")
        check(F.avg_pool2d(x, **kw), TF.avg_pool2d(torch.tensor(x), **kw), np.float64, "avg")
        ho = F.max_pool2d(x, **kw).shape[2]
        assert (ho - 1) * stride < size + padding     # the rule itself


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("shape, kernel, stride", [((1, 1, 1, 1), 1, None), ((2, 3, 4, 5), (4, 5), None),
                                                   ((1, 2, 3, 8), (2, 3), (1, 2)), ((1, 1, 6, 6), 2, None)])
def test_pooling_edge_cases_match_torch(op, shape, kernel, stride):
    x = np.random.default_rng(9).standard_normal(shape)
    fwd, bwd, ref = {"max": (F.max_pool2d, F.max_pool2d_backward, TF.max_pool2d),
                     "avg": (F.avg_pool2d, F.avg_pool2d_backward, TF.avg_pool2d)}[op]
    out = ref(torch.tensor(x), kernel, stride)
    dout = np.random.default_rng(10).standard_normal(out.shape)
    check(fwd(x, kernel, stride), out, np.float64, "out")
    check(bwd(dout, x, kernel, stride), torch_grad(lambda t: ref(t, kernel, stride), x, dout), np.float64, "dx")


def test_pooling_accepts_an_unbatched_input_like_torch():
    x = np.random.default_rng(11).standard_normal((2, 6, 5))
    dout = np.random.default_rng(12).standard_normal((2, 3, 2))
    check(F.max_pool2d(x, 2), TF.max_pool2d(torch.tensor(x), 2), np.float64, "max")
    check(F.max_pool2d_backward(dout, x, 2), torch_grad(lambda t: TF.max_pool2d(t, 2), x, dout), np.float64, "max dx")
    check(F.avg_pool2d_backward(dout, x, 2), torch_grad(lambda t: TF.avg_pool2d(t, 2), x, dout), np.float64, "avg dx")
    check(F.adaptive_avg_pool2d(x, (3, 2)), TF.adaptive_avg_pool2d(torch.tensor(x), (3, 2)), np.float64, "adaptive")
    check(F.adaptive_max_pool2d(x, 1), TF.adaptive_max_pool2d(torch.tensor(x), 1), np.float64, "adaptive max")


def test_adaptive_pooling_accepts_none_for_keeping_a_size():
    x = np.random.default_rng(13).standard_normal((1, 2, 6, 5))
    check(F.adaptive_avg_pool2d(x, (None, 2)), TF.adaptive_avg_pool2d(torch.tensor(x), (None, 2)), np.float64, "avg")


def test_pooling_keeps_float32():
    x = np.random.default_rng(14).standard_normal((1, 2, 6, 6)).astype(np.float32)
    dout = np.ones((1, 2, 3, 3), dtype=np.float32)
    for out in (F.max_pool2d(x, 2), F.avg_pool2d(x, 2), F.adaptive_avg_pool2d(x, 3), F.adaptive_max_pool2d(x, 3),
                F.max_pool2d_backward(dout, x, 2), F.avg_pool2d_backward(dout, x, 2),
                F.adaptive_avg_pool2d_backward(dout, x, 3), F.adaptive_max_pool2d_backward(dout, x, 3)):
        assert out.dtype == np.float32


def test_max_pool2d_backward_with_infinite_dout_matches_torch():
    x = np.random.default_rng(15).standard_normal((1, 1, 4, 4))
    dout = np.array([[[[np.inf, 1.0, -np.inf], [2.0, 3.0, 4.0], [5.0, 6.0, 7.0]]]])
    dx = F.max_pool2d_backward(dout, x, 2, 1)
    np.testing.assert_array_equal(dx, torch_grad(lambda t: TF.max_pool2d(t, 2, 1), x, dout).numpy())
    assert np.isinf(dx).sum() == 2


# ---- bad input -----------------------------------------------------------------------------------

X = np.zeros((2, 3, 8, 8))


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: F.max_pool2d(X, 3, padding=2), ValueError, r"padding: must be at most half of the kernel size"),
    (lambda: F.avg_pool2d(X, 2, padding=(0, 2)), ValueError, r"padding: must be at most half"),
    (lambda: F.max_pool2d(np.zeros((8, 8)), 2), ValueError, r"x: expected a 4-D array \(N, C, H, W\) or one unbatched 3-D image \(C, H, W\), got shape \(8, 8\)"),
    (lambda: F.avg_pool2d(np.zeros((1, 1, 1, 8, 8)), 2), ValueError, r"x: expected a 4-D array"),
    (lambda: F.max_pool2d(X, 2, stride=0), ValueError, r"stride: expected values >= 1, got 0"),
    (lambda: F.max_pool2d(X, 2, dilation=0), ValueError, r"dilation: expected values >= 1"),
    (lambda: F.max_pool2d(X, 0), ValueError, r"kernel_size: expected values >= 1"),
    (lambda: F.max_pool2d(X, 2, padding=-1), ValueError, r"padding: expected values >= 0"),
    (lambda: F.max_pool2d(X, 9), ValueError, r"kernel_size: the pooling window .* larger than the padded input height 8"),
    (lambda: F.max_pool2d(X, 3, dilation=4), ValueError, r"kernel_size: .*dilation 4"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 1, 4)), (2, 3), (1, 3), (1, 1), (2, 2)), ValueError,
     r"dilation: .* a pooling window covers only padding"),
    (lambda: F.max_pool2d(X, 2.5), TypeError, r"kernel_size: expected an int or a pair"),
    (lambda: F.max_pool2d_backward(np.zeros((2, 3, 3, 3)), X, 2), ValueError, r"dout: expected shape \(2, 3, 4, 4\)"),
    (lambda: F.avg_pool2d_backward(np.zeros((2, 3, 4)), X, 2), ValueError, r"dout: expected shape \(2, 3, 4, 4\)"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=0), ValueError, r"divisor_override: expected a non-zero int"),
    (lambda: F.adaptive_avg_pool2d(X, 0), ValueError, r"output_size: expected values >= 1"),
    (lambda: F.adaptive_max_pool2d(X, (2, 2, 2)), TypeError, r"output_size: expected an int or a pair"),
    (lambda: F.adaptive_max_pool2d_backward(np.zeros((2, 3, 2, 3)), X, 2), ValueError, r"dout: expected shape \(2, 3, 2, 2\)"),
    (lambda: F.adaptive_avg_pool2d_backward(np.zeros((2, 3, 2, 3)), X, 2), ValueError, r"dout: expected shape"),
    (lambda: F.max_unpool2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 3), dtype=int), 2), ValueError,
     r"indices: expected shape \(1, 1, 2, 2\)"),
    (lambda: F.max_unpool2d(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), 2), ValueError,
     r"indices: expected values in \[0, 16\)"),
    (lambda: F.max_unpool2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), dtype=int), 2, output_size=(7, 4)),
     ValueError, r"output_size: expected each size within the stride"),
])
def test_bad_arguments_raise_an_error_naming_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
