"""cnnbook.check.compare_with_torch: copies weights, compares everything, names the worst entry."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from cnnbook import twins
from cnnbook.check import compare_with_torch


def _small(L):
    return L.Sequential(L.Conv2d(2, 3, 3, padding=1), L.BatchNorm2d(3), L.ReLU(), L.Flatten(),
                        L.Linear(3 * 4 * 4, 2))


def _pair(dtype=torch.float64):
    """Twins with DIFFERENT initial weights (not twins.make): compare_with_torch must copy them."""
    return _small(twins.library("numpy", dtype, rng=0)), _small(twins.library("torch", dtype))


X = np.random.default_rng(0).standard_normal((3, 2, 4, 4))


def test_report_lists_output_input_grad_every_param_grad_and_buffer():
    np_model, torch_model = _pair()
    report = compare_with_torch(np_model, torch_model, X)
    expected = {"output", "grad x"} | {f"grad {n}" for n, _ in torch_model.named_parameters()} | {
        f"buffer {n}" for n, _ in torch_model.named_buffers()}
    assert set(report) == expected
    assert max(report.values()) < 1e-10
    assert "grad 4.weight" in str(report)


def test_weights_are_copied_from_torch_into_the_numpy_model():
    np_model, torch_model = _pair()
    assert not np.array_equal(np_model[0].weight.data, torch_model[0].weight.detach().numpy())
    compare_with_torch(np_model, torch_model, X)
    np.testing.assert_array_equal(np_model[0].weight.data, torch_model[0].weight.detach().numpy())


def test_running_buffers_are_compared_after_a_training_forward():
    np_model, torch_model = _pair()
    report = compare_with_torch(np_model, torch_model, X)
    assert report["buffer 1.running_mean"] < 1e-12
    assert not np.allclose(torch_model[1].running_mean.numpy(), 0)   # the forward did update them


def test_a_wrong_gradient_is_reported_by_name():
    np_model, torch_model = _pair()
    relu = np_model[2]
    relu.backward = lambda dout: 1.01 * type(relu).backward(relu, dout)   # a 1% error in dx of ReLU
    with pytest.raises(AssertionError, match=r"^grad (x|0\.weight|0\.bias|1\.weight|1\.bias): NumPy and torch differ"):
        compare_with_torch(np_model, torch_model, X)


def test_float32_uses_the_float32_tolerance():
    np_model, torch_model = _pair(torch.float32)
    report = compare_with_torch(np_model, torch_model, X)
    assert max(report.values()) < 1e-5
    assert np_model[0].weight.data.dtype == np.float32


def test_explicit_tolerance_can_make_the_check_fail():
    np_model, torch_model = _pair(torch.float32)
    with pytest.raises(AssertionError, match="differ by"):
        compare_with_torch(np_model, torch_model, X, rtol=0, atol=1e-30)


def test_models_in_different_modes_are_rejected():
    np_model, torch_model = _pair()
    torch_model.eval()
    with pytest.raises(ValueError, match="np_model, torch_model: expected the same mode"):
        compare_with_torch(np_model, torch_model, X)


def test_given_dout_is_used_for_both_backward_passes():
    np_model, torch_model = _pair()
    dout = np.zeros((3, 2))
    compare_with_torch(np_model, torch_model, X, dout)
    assert np.all(np_model[0].weight.grad == 0)


def test_engine_and_check_modules_do_not_import_torch_or_twins():
    code = ("import sys, cnnbook.functional, cnnbook.nn, cnnbook.optim, cnnbook.check, cnnbook.train; "
            "print('torch' in sys.modules, 'cnnbook.twins' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
