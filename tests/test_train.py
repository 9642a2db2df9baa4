"""cnnbook.train: fit learns the digits, and a NumPy model follows its PyTorch twin step for step."""
import math

import numpy as np
import pytest
import torch

from cnnbook import nn, train, twins
from cnnbook.check import assert_close, tolerance
from cnnbook.data import load_digits, train_test_split
from cnnbook.optim import SGD, Adam
from cnnbook.train import accuracy, evaluate, fit, fit_numpy, fit_torch

EPOCHS = 4
BATCH = 32


def _small_lenet(L):
    """A LeNet-like net for 8x8 digits, written once for both libraries (cnnbook.twins)."""
    return L.Sequential(
        L.Conv2d(1, 6, 3, padding=1), L.ReLU(), L.MaxPool2d(2),
        L.Conv2d(6, 16, 3), L.ReLU(), L.Flatten(), L.Linear(16 * 2 * 2, 10))


def _torch_lenet(dtype=torch.float64):
    return _small_lenet(twins.library("torch", dtype))


def _twins(np_dtype=np.float64, torch_dtype=torch.float64):
    assert np.dtype(np_dtype).name == str(torch_dtype).replace("torch.", "")
    return twins.make(_small_lenet, dtype=np_dtype)


def _linear_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10, rng=np.random.default_rng(0)))


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(size=8)
    return train_test_split(x, y, 0.25, rng=np.random.default_rng(0))


@pytest.fixture(scope="module")
def runs(digits):
    """SGD with momentum, through the two loops, with the older x_test/y_test spelling."""
    x_train, x_test, y_train, y_test = digits
    np_model, torch_model = _twins()
    kwargs = dict(epochs=EPOCHS, batch_size=BATCH, x_test=x_test, y_test=y_test, progress=False)
    np_hist = fit_numpy(np_model, x_train, y_train, optimizer=SGD(np_model.parameters(), lr=0.05, momentum=0.9),
                        rng=np.random.default_rng(1), **kwargs)
    torch_hist = fit_torch(torch_model, x_train, y_train,
                           optimizer=torch.optim.SGD(torch_model.parameters(), lr=0.05, momentum=0.9),
                           rng=np.random.default_rng(1), **kwargs)
    return np_model, torch_model, np_hist, torch_hist


@pytest.fixture(scope="module")
def adam_runs(digits):
    """Adam twins through fit (dispatch), with two named evaluation sets."""
    x_train, x_test, y_train, y_test = digits
    eval_sets = {"val": (x_train[:200], y_train[:200]), "test": (x_test, y_test)}
    np_model, torch_model = _twins()
    kwargs = dict(epochs=EPOCHS, batch_size=BATCH, eval_sets=eval_sets, progress=False)
    np_hist = fit(np_model, x_train, y_train, optimizer=Adam(np_model.parameters(), lr=1e-2),
                  rng=np.random.default_rng(1), **kwargs)
    torch_hist = fit(torch_model, x_train, y_train, optimizer=torch.optim.Adam(torch_model.parameters(), lr=1e-2),
                     rng=np.random.default_rng(1), **kwargs)
    return np_model, torch_model, np_hist, torch_hist


def test_fit_numpy_reaches_a_sane_accuracy_on_digits(runs):
    _, _, hist, _ = runs
    assert hist["test_acc"][-1] > 0.9
    assert hist["loss"][-1] < hist["loss"][0]


def test_x_test_y_test_is_the_test_eval_set(runs):
    _, _, hist, _ = runs
    assert list(hist) == ["step_loss", "loss", "train_acc", "test_loss", "test_acc"]


def test_every_list_has_the_right_length_and_holds_floats(runs, adam_runs, digits):
    x_train = digits[0]
    steps = EPOCHS * math.ceil(len(x_train) / BATCH)
    for hist in (*runs[2:], *adam_runs[2:]):
        assert type(hist) is dict
        assert len(hist["step_loss"]) == steps
        for key, values in hist.items():
            assert type(values) is list and all(type(v) is float for v in values), key
            if key != "step_loss":
                assert len(values) == EPOCHS, key


def test_fit_numpy_equals_fit_torch_from_the_same_weights(runs):
    np_model, torch_model, np_hist, torch_hist = runs
    for key in np_hist:
        assert_close(np_hist[key], torch_hist[key], rtol=1e-12, atol=1e-12, name=key)
    for name, value in torch_model.state_dict().items():
        assert_close(np_model.state_dict()[name], value, rtol=1e-10, atol=1e-10, name=name)


def test_adam_twins_have_equal_losses_at_every_step(adam_runs):
    np_model, torch_model, np_hist, torch_hist = adam_runs
    assert list(np_hist) == list(torch_hist) == [
        "step_loss", "loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]
    for key in np_hist:
        assert_close(np_hist[key], torch_hist[key], rtol=1e-12, atol=1e-12, name=key)
    for name, value in torch_model.state_dict().items():
        assert_close(np_model.state_dict()[name], value, rtol=1e-10, atol=1e-10, name=name)
    assert np_hist["test_acc"][-1] > 0.9
    assert np.mean(np_hist["step_loss"][-10:]) < np.mean(np_hist["step_loss"][:10]) / 3


def test_eval_sets_are_measured_in_evaluation_mode_after_each_epoch(adam_runs, digits):
    np_model, torch_model, np_hist, torch_hist = adam_runs
    x_train, x_test, y_train, y_test = digits
    for model, hist in ((np_model, np_hist), (torch_model, torch_hist)):
        assert model.training    # fit leaves the model in training mode
        assert (hist["val_loss"][-1], hist["val_acc"][-1]) == evaluate(model, x_train[:200], y_train[:200])
        assert (hist["test_loss"][-1], hist["test_acc"][-1]) == evaluate(model, x_test, y_test)


def test_the_epoch_loss_is_the_batch_weighted_mean_of_the_step_losses(adam_runs, digits):
    _, _, hist, _ = adam_runs
    n = len(digits[0])
    sizes = [min(BATCH, n - start) for start in range(0, n, BATCH)]
    per_epoch = np.reshape(hist["step_loss"], (EPOCHS, len(sizes)))
    assert_close(per_epoch @ np.array(sizes) / n, hist["loss"], rtol=1e-12, atol=1e-12)


def test_fit_dispatches_on_the_model_type(digits, monkeypatch):
    x_train, _, y_train, _ = digits
    calls = []
    monkeypatch.setattr(train, "fit_numpy", lambda model, *a, **k: calls.append(("numpy", model)))
    monkeypatch.setattr(train, "fit_torch", lambda model, *a, **k: calls.append(("torch", model)))
    np_model, torch_model = _twins()
    for model in (np_model, torch_model):
        train.fit(model, x_train, y_train, epochs=1, batch_size=BATCH, optimizer=None, rng=None)
    assert calls == [("numpy", np_model), ("torch", torch_model)]


def test_fit_gives_the_history_of_the_loop_it_dispatches_to(digits):
    x_train, x_test, y_train, y_test = digits
    hists = []
    for loop in (fit, fit_numpy):
        model = _linear_model()
        hists.append(loop(model, x_train, y_train, epochs=2, batch_size=64, progress=False,
                          optimizer=Adam(model.parameters(), lr=0.01), rng=np.random.default_rng(3),
                          eval_sets={"test": (x_test, y_test)}))
    assert hists[0] == hists[1]


def test_the_loops_refuse_the_other_kind_of_model(digits):
    x_train, _, y_train, _ = digits
    np_model, torch_model = _twins()
    kwargs = dict(epochs=1, batch_size=BATCH, rng=np.random.default_rng(0), progress=False)
    with pytest.raises(TypeError, match="fit_numpy trains a cnnbook.nn model, got a torch.nn.Module"):
        fit_numpy(torch_model, x_train, y_train, optimizer=torch.optim.SGD(torch_model.parameters(), lr=0.1),
                  **kwargs)
    with pytest.raises(TypeError, match="fit_torch trains a torch.nn.Module, got Sequential"):
        fit_torch(np_model, x_train, y_train, optimizer=SGD(np_model.parameters(), lr=0.1), **kwargs)


def test_float32_torch_model_trains_in_float32(digits):
    x_train, x_test, y_train, y_test = digits
    torch.manual_seed(0)
    model = _torch_lenet(torch.float32)
    hist = fit(model, x_train, y_train, epochs=2, batch_size=BATCH, progress=False,
               optimizer=torch.optim.Adam(model.parameters(), lr=1e-2), rng=np.random.default_rng(1),
               eval_sets={"test": (x_test, y_test)})
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(type(v) is float and math.isfinite(v) for v in hist["step_loss"])
    assert hist["test_acc"][-1] > 0.8


def test_float32_numpy_and_torch_twins_agree_to_float32_precision(digits):
    x_train, x_test, y_train, y_test = digits
    np_model, torch_model = _twins(np.float32, torch.float32)
    kwargs = dict(epochs=1, batch_size=BATCH, eval_sets={"test": (x_test, y_test)}, progress=False)
    np_hist = fit(np_model, x_train, y_train, optimizer=Adam(np_model.parameters(), lr=1e-3),
                  rng=np.random.default_rng(1), **kwargs)
    torch_hist = fit(torch_model, x_train, y_train, optimizer=torch.optim.Adam(torch_model.parameters(), lr=1e-3),
                     rng=np.random.default_rng(1), **kwargs)
    assert all(p.dtype == np.float32 for p in np_model.parameters())
    tol = tolerance(np.float32)
    assert_close(np_hist["step_loss"], torch_hist["step_loss"], rtol=tol, atol=tol, name="step_loss")
    for name, value in torch_model.state_dict().items():
        assert_close(np_model.state_dict()[name], value, rtol=tol, atol=tol, name=name)


BAD_EVAL_SETS = [
    ([("test", None)], r"eval_sets: expected a dict name -> \(x, y\), got list"),
    ({"test": "xy"}, r"eval_sets\['test'\]: expected a pair \(x, y\), got str"),
    ({"test": (1, 2, 3)}, r"eval_sets\['test'\]: expected a pair \(x, y\), got tuple of length 3"),
    ({"test": (np.zeros((5, 64)), np.zeros(4, dtype=int))},
     r"eval_sets\['test'\]: expected \(x, y\) with the same number .* got x of shape \(5, 64\) and y of shape \(4,\)"),
    ({"test": (np.zeros((5, 64)), np.zeros((5, 1), dtype=int))}, r"eval_sets\['test'\]: .* y of shape \(5, 1\)"),
    ({"test": (np.zeros((0, 64)), np.zeros(0, dtype=int))}, r"eval_sets\['test'\]: .* \(> 0\)"),
    ({"train": (np.zeros((5, 64)), np.zeros(5, dtype=int))}, r"eval_sets: the name 'train' is reserved"),
    ({"step": (np.zeros((5, 64)), np.zeros(5, dtype=int))}, r"eval_sets: the name 'step' is reserved"),
    ({3: (np.zeros((5, 64)), np.zeros(5, dtype=int))}, r"eval_sets: expected non-empty str names, got 3"),
]


@pytest.mark.parametrize("eval_sets, message", BAD_EVAL_SETS,
                         ids=["list", "not-a-pair", "triple", "lengths", "2d-y", "empty", "train", "step",
                              "int-name"])
def test_fit_rejects_bad_eval_sets_before_training(digits, eval_sets, message):
    x_train, _, y_train, _ = digits
    model = _linear_model()
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        fit(model, x_train, y_train, epochs=1, batch_size=BATCH, eval_sets=eval_sets, progress=False,
            optimizer=SGD(model.parameters(), lr=0.1), rng=np.random.default_rng(0))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(epochs=0), ValueError, r"epochs: expected a positive integer, got 0"),
    (dict(epochs=1.5), ValueError, r"epochs: expected a positive integer, got 1.5"),
    (dict(epochs=True), ValueError, r"epochs: expected a positive integer, got True"),
    (dict(batch_size=0), ValueError, r"batch_size: expected a positive integer, got 0"),
    (dict(batch_size=-32), ValueError, r"batch_size: expected a positive integer, got -32"),
    (dict(x_test=np.zeros((5, 64))), ValueError, r"x_test, y_test: give both or neither"),
    (dict(x_test=np.zeros((5, 64)), y_test=np.zeros(5, dtype=int),
          eval_sets={"test": (np.zeros((5, 64)), np.zeros(5, dtype=int))}),
     ValueError, r"eval_sets: has a 'test' set and x_test/y_test were given too"),
    (dict(optimizer=object()), TypeError, r"optimizer: expected an object with zero_grad\(\) and step\(\)"),
    (dict(rng=0), TypeError, r"rng: expected a numpy.random.Generator"),
    (dict(y=np.zeros(3, dtype=int)), ValueError, r"x, y: expected the same number of samples"),
], ids=["epochs-0", "epochs-float", "epochs-bool", "batch-0", "batch-negative", "x-test-alone",
        "test-twice", "optimizer", "rng", "x-y-lengths"])
def test_fit_rejects_bad_arguments(digits, kwargs, error, message):
    x_train, _, y_train, _ = digits
    model = _linear_model()
    args = dict(epochs=1, batch_size=BATCH, optimizer=SGD(model.parameters(), lr=0.1),
                rng=np.random.default_rng(0), progress=False, y=y_train)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        fit(model, x_train, **args)


def test_evaluate_gives_the_same_loss_and_accuracy_for_both_twins(runs, digits):
    np_model, torch_model, _, _ = runs
    _, x_test, _, y_test = digits
    np_loss, np_acc = evaluate(np_model, x_test, y_test)
    t_loss, t_acc = evaluate(torch_model, x_test, y_test)
    assert abs(np_loss - t_loss) < 1e-10 and np_acc == t_acc


def test_evaluate_restores_the_training_mode(digits):
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5, rng=np.random.default_rng(0)),
                          nn.Linear(64, 10, rng=np.random.default_rng(0)))
    _, x_test, _, y_test = digits
    evaluate(model, x_test, y_test)
    assert model.training
    model.eval()
    evaluate(model, x_test, y_test)
    assert not model.training


def test_train_epoch_returns_the_running_loss_and_accuracy_and_records_step_losses(digits):
    x_train, _, y_train, _ = digits
    model = _linear_model()
    step_losses = []
    loss, acc = train.train_epoch_numpy(model, x_train, y_train, batch_size=500, optimizer=SGD(
        model.parameters(), lr=0.1), rng=np.random.default_rng(0), step_losses=step_losses)
    assert len(step_losses) == math.ceil(len(x_train) / 500) and 0 <= acc <= 1
    assert loss == pytest.approx(np.dot(step_losses, [500, 500, len(x_train) - 1000]) / len(x_train))


def test_progress_bar_is_shown_only_when_asked_and_shows_every_eval_accuracy(digits, capsys):
    x_train, x_test, y_train, y_test = digits
    model = _linear_model()
    for progress in (False, True):
        fit(model, x_train[:64], y_train[:64], epochs=1, batch_size=32, progress=progress,
            optimizer=SGD(model.parameters(), lr=0.1), rng=np.random.default_rng(0),
            eval_sets={"val": (x_train[64:128], y_train[64:128]), "test": (x_test, y_test)})
        captured = capsys.readouterr()
        output = captured.err + captured.out
        assert ("epochs" in output) == progress
        assert all((key in output) == progress for key in ("loss=", "val_acc=", "test_acc="))


def test_accuracy_counts_rows_whose_argmax_is_the_label():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]])
    assert accuracy(logits, np.array([0, 1, 1, 0])) == 0.5
    assert accuracy(torch.tensor(logits), torch.tensor([0, 1, 1, 0])) == 0.5


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"logits, y: expected shapes \(N, C\) and \(N,\)"):
        accuracy(np.zeros((3, 2)), np.zeros(4, dtype=int))
