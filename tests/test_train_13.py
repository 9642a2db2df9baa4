"""cnnbook.train options of chapter 13: device choice, learning-rate scheduler, augmentation.

This machine may have no GPU: the CUDA and MPS paths are tested through their error messages,
and the CPU path is tested to be bit-for-bit the plain loop it was before these options.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnbook import nn, optim, train, twins
from cnnbook.check import assert_close
from cnnbook.data import batches, load_digits, train_test_split
from cnnbook.train import DEVICE_ENV, evaluate, fit, resolve_device

EPOCHS = 3
BATCH = 64

needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="tests the no-CUDA error path")
needs_no_mps = pytest.mark.skipif(
    hasattr(torch.backends, "mps") and torch.backends.mps.is_available(),
    reason="tests the no-MPS error path")


def _small_net(L):
    return L.Sequential(L.Conv2d(1, 4, 3, padding=1), L.ReLU(), L.MaxPool2d(2), L.Flatten(),
                        L.Linear(4 * 4 * 4, 10))


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(size=8)
    return train_test_split(x, y, 0.25, rng=np.random.default_rng(0))


@pytest.fixture(autouse=True)
def no_device_env(monkeypatch):
    """Every test starts without CNNBOOK_DEVICE (tests that need it set it themselves)."""
    monkeypatch.delenv(DEVICE_ENV, raising=False)


def _state(model):
    return {k: np.array(v, copy=True) for k, v in (
        (k, v.detach().numpy() if isinstance(v, torch.Tensor) else v)
        for k, v in model.state_dict().items())}


def _same_state(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------------------------
# device
# ------------------------------------------------------------------------------------------------

def test_resolve_device_defaults_to_the_cpu_and_reads_the_environment(monkeypatch):
    assert resolve_device() == "cpu"
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert resolve_device() == "cpu"
    monkeypatch.setenv(DEVICE_ENV, "")     # set but empty counts as unset
    assert resolve_device() == "cpu"


@pytest.mark.parametrize("name", ["gpu", "CPU", "cuda:", "cuda:x", "cuda:-1", " cpu", "cpu ",
                                  "cuda0", "tpu", "meta", "", 0, torch.device("cpu")])
def test_bad_device_names_are_refused(name):
    with pytest.raises(ValueError, match=r"device: expected 'cpu', 'cuda', 'cuda:N' .* or 'mps', got"):
        resolve_device(name)


def test_a_bad_environment_value_is_refused_naming_the_variable(monkeypatch, digits):
    monkeypatch.setenv(DEVICE_ENV, "gpu")
    with pytest.raises(ValueError, match=r"CNNBOOK_DEVICE: expected 'cpu', .* got 'gpu'"):
        resolve_device()
    model = twins.make(_small_net)[1]
    x_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="CNNBOOK_DEVICE"):
        fit(model, x_train, y_train, epochs=1, batch_size=BATCH, progress=False,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1), rng=np.random.default_rng(0))


@needs_no_cuda
def test_an_unavailable_cuda_device_is_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    with pytest.raises(RuntimeError,
                       match=r"^CNNBOOK_DEVICE=cuda but torch.cuda.is_available\(\) is False"):
        resolve_device()
    with pytest.raises(RuntimeError, match=r"^device='cuda:1' but torch.cuda.is_available\(\) is False"):
        resolve_device("cuda:1")


def test_a_cuda_index_beyond_the_device_count_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda") == "cuda" and resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(RuntimeError, match=r"device='cuda:1' but torch.cuda.device_count\(\) is 1"):
        resolve_device("cuda:1")


@needs_no_mps
def test_an_unavailable_mps_device_is_refused():
    with pytest.raises(RuntimeError, match=r"device='mps' but torch.backends.mps.is_available\(\) is False"):
        resolve_device("mps")


@needs_no_cuda
@pytest.mark.parametrize("how", ["argument", "environment"])
def test_fit_and_evaluate_refuse_an_unavailable_device_before_touching_the_model(
        monkeypatch, digits, how):
    x_train, x_test, y_train, y_test = digits
    model = twins.make(_small_net)[1]
    before = _state(model)
    kwargs = {"device": "cuda"} if how == "argument" else {}
    if how == "environment":
        monkeypatch.setenv(DEVICE_ENV, "cuda")
    message = r"CNNBOOK_DEVICE=cuda" if how == "environment" else r"device='cuda'"
    with pytest.raises(RuntimeError, match=message):
        fit(model, x_train, y_train, epochs=1, batch_size=BATCH, progress=False,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1), rng=np.random.default_rng(0),
            **kwargs)
    with pytest.raises(RuntimeError, match=message):
        evaluate(model, x_test, y_test, **kwargs)
    assert _same_state(before, _state(model))


@needs_no_cuda
def test_an_explicit_device_overrides_the_environment(monkeypatch, digits):
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    x_train, x_test, y_train, y_test = digits
    model = twins.make(_small_net)[1]
    hist = fit(model, x_train, y_train, epochs=1, batch_size=BATCH, progress=False, device="cpu",
               optimizer=torch.optim.SGD(model.parameters(), lr=0.1), rng=np.random.default_rng(0))
    assert len(hist["loss"]) == 1
    assert evaluate(model, x_test, y_test, device="cpu")[1] > 0.2


def _plain_torch_loop(model, x, y, optimizer, rng, x_eval, y_eval):
    """The PyTorch training loop of cnnbook.train as it was before the device option."""
    hist = {"step_loss": [], "loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    for _ in range(EPOCHS):
        model.train()
        total, correct = 0.0, 0
        for xb, yb in batches(x, y, BATCH, shuffle=True, rng=rng):
            logits = model(torch.as_tensor(xb, dtype=torch.float64))
            loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(yb))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            hist["step_loss"].append(loss.item())
            total += loss.item() * len(yb)
            correct += int((logits.argmax(dim=1).numpy() == yb).sum())
        hist["loss"].append(total / len(y))
        hist["train_acc"].append(correct / len(y))
        model.eval()
        with torch.no_grad():
            tl, tc = 0.0, 0
            for xb, yb in batches(x_eval, y_eval, 256, shuffle=False):
                logits = model(torch.as_tensor(xb, dtype=torch.float64))
                tl += float(torch.nn.functional.cross_entropy(logits, torch.as_tensor(yb))) * len(yb)
                tc += int((logits.argmax(dim=1).numpy() == yb).sum())
        hist["test_loss"].append(tl / len(y_eval))
        hist["test_acc"].append(tc / len(y_eval))
        model.train()
    return hist


@pytest.mark.parametrize("how", ["default", "argument", "environment"])
def test_the_cpu_path_is_bit_for_bit_the_plain_loop(monkeypatch, digits, how):
    x_train, x_test, y_train, y_test = digits
    reference, model = (twins.make(_small_net)[1] for _ in range(2))
    model.load_state_dict(reference.state_dict())
    expected = _plain_torch_loop(reference, x_train, y_train,
                                 torch.optim.Adam(reference.parameters(), lr=1e-2),
                                 np.random.default_rng(5), x_test, y_test)
    kwargs = {"device": "cpu"} if how == "argument" else {}
    if how == "environment":
        monkeypatch.setenv(DEVICE_ENV, "cpu")
    hist = fit(model, x_train, y_train, epochs=EPOCHS, batch_size=BATCH, progress=False,
               optimizer=torch.optim.Adam(model.parameters(), lr=1e-2), rng=np.random.default_rng(5),
               eval_sets={"test": (x_test, y_test)}, **kwargs)
    assert hist == expected       # exact equality of every float
    assert _same_state(_state(reference), _state(model))
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_numpy_models_refuse_any_device_but_the_cpu(digits):
    x_train, x_test, y_train, y_test = digits
    model = twins.make(_small_net)[0]
    for device in ("cuda", "cuda:0", "mps"):
        with pytest.raises(ValueError, match=r"the NumPy engine \(cnnbook.nn\) runs on the CPU only"):
            fit(model, x_train, y_train, epochs=1, batch_size=BATCH, progress=False, device=device,
                optimizer=optim.SGD(model.parameters(), lr=0.1), rng=np.random.default_rng(0))
        with pytest.raises(ValueError, match="runs on the CPU only"):
            evaluate(model, x_test, y_test, device=device)
    with pytest.raises(ValueError, match="expected 'cpu'"):
        evaluate(model, x_test, y_test, device="gpu")


def test_numpy_models_run_on_the_cpu_whatever_the_environment_says(monkeypatch, digits):
    x_train, x_test, y_train, y_test = digits
    hists = []
    for env in (None, "cuda", "mps"):
        if env is not None:
            monkeypatch.setenv(DEVICE_ENV, env)
        model = twins.make(_small_net)[0]
        hists.append(fit(model, x_train, y_train, epochs=1, batch_size=BATCH, progress=False,
                         optimizer=optim.SGD(model.parameters(), lr=0.1),
                         rng=np.random.default_rng(0), eval_sets={"test": (x_test, y_test)}))
    assert hists[0] == hists[1] == hists[2]


# ------------------------------------------------------------------------------------------------
# scheduler
# ------------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
@settings(max_examples=60, deadline=None)
@given(lr=st.floats(1e-5, 10.0), step_size=st.integers(1, 6), gamma=st.floats(0.01, 1.5),
       steps=st.integers(0, 40))
def test_numpy_steplr_gives_the_same_floats_as_torch(lr, step_size, gamma, steps):
    p = nn.Parameter(np.zeros(3))
    ours = optim.SGD([p], lr=lr)
    ours_sched = optim.StepLR(ours, step_size, gamma)
    theirs = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=lr)
    theirs_sched = torch.optim.lr_scheduler.StepLR(theirs, step_size, gamma)
    for _ in range(steps):
        assert ours.lr == theirs.param_groups[0]["lr"]
        assert ours_sched.get_last_lr() == theirs_sched.get_last_lr()
        ours_sched.step()
        theirs_sched.step()
    assert ours.lr == theirs.param_groups[0]["lr"] and ours_sched.last_epoch == steps


@pytest.mark.parametrize("step_size", [0, -1, 1.5, True, None])
def test_steplr_refuses_a_bad_step_size(step_size):
    opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match=r"step_size: expected a positive integer"):
        optim.StepLR(opt, step_size)


def test_steplr_needs_an_optimizer_with_a_learning_rate():
    with pytest.raises(TypeError, match=r"optimizer: expected an optimizer with an 'lr' attribute"):
        optim.StepLR(object(), 2)


def test_fit_steps_the_scheduler_once_per_epoch_and_records_each_epochs_lr(digits):
    x_train, x_test, y_train, y_test = digits
    np_model, torch_model = twins.make(_small_net)
    kwargs = dict(epochs=5, batch_size=BATCH, progress=False, eval_sets={"test": (x_test, y_test)})
    np_opt = optim.SGD(np_model.parameters(), lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD(torch_model.parameters(), lr=0.1, momentum=0.9)
    np_hist = fit(np_model, x_train, y_train, optimizer=np_opt, rng=np.random.default_rng(2),
                  scheduler=optim.StepLR(np_opt, 2, 0.1), **kwargs)
    torch_hist = fit(torch_model, x_train, y_train, optimizer=torch_opt,
                     rng=np.random.default_rng(2),
                     scheduler=torch.optim.lr_scheduler.StepLR(torch_opt, 2, 0.1), **kwargs)
    assert list(np_hist) == list(torch_hist) == [
        "step_loss", "loss", "train_acc", "lr", "test_loss", "test_acc"]
    assert np_hist["lr"] == torch_hist["lr"] == [0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1]
    assert all(type(v) is float for v in np_hist["lr"] + torch_hist["lr"])
    for key in np_hist:
        assert_close(np_hist[key], torch_hist[key], rtol=1e-12, atol=1e-12, name=key)
    assert np_opt.lr == torch_opt.param_groups[0]["lr"] == 0.1 * 0.1 * 0.1  # stepped 5 times


def test_the_scheduler_is_stepped_after_the_evaluation_of_each_epoch(digits):
    x_train, x_test, y_train, y_test = digits
    model = twins.make(_small_net)[0]
    opt = optim.SGD(model.parameters(), lr=0.1)
    events = []

    class Recorder:
        def step(self):
            events.append(("step", opt.lr))
            opt.lr /= 2

    def augment(xb, rng):
        if not events or events[-1][0] != "train":
            events.append(("train", opt.lr))
        return xb

    hist = fit(model, x_train, y_train, epochs=3, batch_size=BATCH, progress=False, optimizer=opt,
               rng=np.random.default_rng(0), scheduler=Recorder(), augment=augment)
    assert events == [("train", 0.1), ("step", 0.1), ("train", 0.05), ("step", 0.05),
                      ("train", 0.025), ("step", 0.025)]
    assert hist["lr"] == [0.1, 0.05, 0.025]


def test_a_constant_scheduler_changes_nothing_but_adds_the_lr(digits):
    x_train, _, y_train, _ = digits
    hists = []
    for scheduler in (False, True):
        model = twins.make(_small_net)[0]
        opt = optim.Adam(model.parameters(), lr=1e-2)
        hists.append(fit(model, x_train, y_train, epochs=2, batch_size=BATCH, progress=False,
                         optimizer=opt, rng=np.random.default_rng(0),
                         scheduler=optim.StepLR(opt, 100) if scheduler else None))
    assert "lr" not in hists[0] and hists[1].pop("lr") == [1e-2, 1e-2]
    assert hists[0] == hists[1]


def test_fit_refuses_a_bad_scheduler(digits):
    x_train, _, y_train, _ = digits
    model = twins.make(_small_net)[0]
    kwargs = dict(epochs=1, batch_size=BATCH, progress=False, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"scheduler: expected an object with step\(\)"):
        fit(model, x_train, y_train, optimizer=optim.SGD(model.parameters(), lr=0.1),
            scheduler=object(), **kwargs)

    class NoLr:
        def zero_grad(self):
            pass

        def step(self):
            pass

    with pytest.raises(TypeError, match=r"scheduler: the learning rate of the optimizer \(NoLr\)"):
        fit(model, x_train, y_train, optimizer=NoLr(), scheduler=optim.StepLR(
            optim.SGD(model.parameters(), lr=0.1), 1), **kwargs)


# ------------------------------------------------------------------------------------------------
# augmentation
# ------------------------------------------------------------------------------------------------

def _flip(xb, rng):
    """Flip each image left-right with probability 1/2 (draws from rng)."""
    flip = rng.random(len(xb)) < 0.5
    out = xb.copy()
    out[flip] = out[flip, ..., ::-1]
    return out


def test_augment_sees_every_training_batch_once_and_no_evaluation_batch(digits):
    x_train, x_test, y_train, y_test = digits
    model = twins.make(_small_net)[1]
    seen, rngs = [], []
    fit_rng = np.random.default_rng(4)

    def augment(xb, rng):
        seen.append(xb.copy())
        rngs.append(rng)
        return xb

    fit(model, x_train, y_train, epochs=2, batch_size=BATCH, progress=False, augment=augment,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), rng=fit_rng,
        eval_sets={"test": (x_test, y_test)})
    steps = math.ceil(len(x_train) / BATCH)
    assert len(seen) == 2 * steps and all(r is fit_rng for r in rngs)
    check_rng = np.random.default_rng(4)
    expected = [xb for _ in range(2) for xb, _ in batches(x_train, y_train, BATCH, rng=check_rng)]
    assert all(np.array_equal(a, b) for a, b in zip(seen, expected))


def test_an_identity_augment_changes_nothing(digits):
    x_train, x_test, y_train, y_test = digits
    hists = []
    for augment in (None, lambda xb, rng: xb):
        model = twins.make(_small_net)[1]
        hists.append(fit(model, x_train, y_train, epochs=2, batch_size=BATCH, progress=False,
                         augment=augment, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                         rng=np.random.default_rng(0), eval_sets={"test": (x_test, y_test)}))
    assert hists[0] == hists[1]


def test_augmented_runs_are_reproducible_and_the_twins_stay_equal(digits):
    x_train, x_test, y_train, y_test = digits
    kwargs = dict(epochs=2, batch_size=BATCH, progress=False, augment=_flip,
                  eval_sets={"test": (x_test, y_test)})
    runs = []
    for _ in range(2):
        np_model, torch_model = twins.make(_small_net)
        runs.append((
            fit(np_model, x_train, y_train, optimizer=optim.Adam(np_model.parameters(), lr=1e-2),
                rng=np.random.default_rng(7), **kwargs),
            fit(torch_model, x_train, y_train, rng=np.random.default_rng(7),
                optimizer=torch.optim.Adam(torch_model.parameters(), lr=1e-2), **kwargs)))
    assert runs[0] == runs[1]
    np_hist, torch_hist = runs[0]
    for key in np_hist:
        assert_close(np_hist[key], torch_hist[key], rtol=1e-12, atol=1e-12, name=key)
    model = twins.make(_small_net)[1]
    plain = fit(model, x_train, y_train, rng=np.random.default_rng(7),
                optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
                **{**kwargs, "augment": None})
    assert plain["step_loss"] != torch_hist["step_loss"]     # the flips did change the run


def test_fit_refuses_a_bad_augment(digits):
    x_train, _, y_train, _ = digits
    model = twins.make(_small_net)[0]
    kwargs = dict(epochs=1, batch_size=BATCH, progress=False, rng=np.random.default_rng(0),
                  optimizer=optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match=r"augment: expected a function augment\(xb, rng\) -> xb"):
        fit(model, x_train, y_train, augment="flip", **kwargs)
    with pytest.raises(ValueError, match=r"augment: must return a batch of the same number of "
                                         r"samples, got shape \(32, 1, 8, 8\)"):
        fit(model, x_train, y_train, augment=lambda xb, rng: xb[:32], **kwargs)
