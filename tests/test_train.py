"""cnnbook.train: fit_numpy learns the digits and follows fit_torch from the same initial weights."""
import numpy as np
import pytest
import torch

from cnnbook import nn
from cnnbook.data import load_digits, train_test_split
from cnnbook.optim import SGD
from cnnbook.train import accuracy, evaluate, fit_numpy, fit_torch

EPOCHS = 4


def _np_lenet():
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 3, rng=rng), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 2 * 2, 10, rng=rng))


def _torch_lenet():
    T = torch.nn
    return T.Sequential(
        T.Conv2d(1, 6, 3, padding=1, dtype=torch.float64), T.ReLU(), T.MaxPool2d(2),
        T.Conv2d(6, 16, 3, dtype=torch.float64), T.ReLU(), T.Flatten(), T.Linear(16 * 2 * 2, 10, dtype=torch.float64))


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(size=8)
    return train_test_split(x, y, 0.25, rng=np.random.default_rng(0))


@pytest.fixture(scope="module")
def runs(digits):
    x_train, x_test, y_train, y_test = digits
    np_model = _np_lenet()
    torch.manual_seed(0)
    torch_model = _torch_lenet()
    np_model.load_state_dict(torch_model.state_dict())
    kwargs = dict(epochs=EPOCHS, batch_size=32, x_test=x_test, y_test=y_test, progress=False)
    np_hist = fit_numpy(np_model, x_train, y_train, optimizer=SGD(np_model.parameters(), lr=0.05, momentum=0.9),
                        rng=np.random.default_rng(1), **kwargs)
    torch_hist = fit_torch(torch_model, x_train, y_train,
                           optimizer=torch.optim.SGD(torch_model.parameters(), lr=0.05, momentum=0.9),
                           rng=np.random.default_rng(1), **kwargs)
    return np_model, torch_model, np_hist, torch_hist


def test_fit_numpy_reaches_a_sane_accuracy_on_digits(runs):
    _, _, hist, _ = runs
    assert hist["test_acc"][-1] > 0.9
    assert hist["loss"][-1] < hist["loss"][0]


def test_history_has_one_entry_per_epoch(runs):
    _, _, hist, _ = runs
    assert set(hist) == {"loss", "train_acc", "test_acc"}
    assert all(len(v) == EPOCHS for v in hist.values())


def test_fit_numpy_equals_fit_torch_from_the_same_weights(runs):
    np_model, torch_model, np_hist, torch_hist = runs
    np.testing.assert_allclose(np_hist["loss"], torch_hist["loss"], rtol=1e-6, atol=1e-8)
    assert np_hist["train_acc"] == pytest.approx(torch_hist["train_acc"], abs=1e-12)
    assert np_hist["test_acc"] == pytest.approx(torch_hist["test_acc"], abs=1e-12)
    for name, value in torch_model.state_dict().items():
        np.testing.assert_allclose(np_model.state_dict()[name], value.numpy(), rtol=1e-6, atol=1e-8, err_msg=name)


def test_evaluate_gives_the_same_loss_and_accuracy_for_both_twins(runs, digits):
    np_model, torch_model, _, _ = runs
    _, x_test, _, y_test = digits
    np_loss, np_acc = evaluate(np_model, x_test, y_test)
    t_loss, t_acc = evaluate(torch_model, x_test, y_test)
    assert abs(np_loss - t_loss) < 1e-6 and np_acc == t_acc


def test_evaluate_restores_the_training_mode(digits):
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5, rng=np.random.default_rng(0)),
                          nn.Linear(64, 10, rng=np.random.default_rng(0)))
    _, x_test, _, y_test = digits
    evaluate(model, x_test, y_test)
    assert model.training
    model.eval()
    evaluate(model, x_test, y_test)
    assert not model.training


def test_progress_bar_is_shown_only_when_asked(digits, capsys):
    x_train, _, y_train, _ = digits
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10, rng=np.random.default_rng(0)))
    for progress in (False, True):
        fit_numpy(model, x_train[:64], y_train[:64], epochs=1, batch_size=32, progress=progress,
                  optimizer=SGD(model.parameters(), lr=0.1), rng=np.random.default_rng(0))
        captured = capsys.readouterr()
        shown = "epochs" in captured.err + captured.out
        assert shown == progress


def test_accuracy_counts_rows_whose_argmax_is_the_label():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]])
    assert accuracy(logits, np.array([0, 1, 1, 0])) == 0.5


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"logits, y: expected shapes \(N, C\) and \(N,\)"):
        accuracy(np.zeros((3, 2)), np.zeros(4, dtype=int))
