"""Training loops for the NumPy engine and for PyTorch, with the same batches and the same history.

:func:`fit` trains a classifier with mini-batch cross-entropy, whatever the model: a
``cnnbook.nn`` model (NumPy engine) or a ``torch.nn.Module``, with any optimizer that has
``zero_grad()`` and ``step()`` (``cnnbook.optim.SGD``/``Adam`` or any ``torch.optim`` one)::

    optimizer = Adam(model.parameters(), lr=1e-3)       # or torch.optim.Adam(...)
    history = fit(model, x_train, y_train, epochs=10, batch_size=32, optimizer=optimizer,
                  rng=np.random.default_rng(1),
                  eval_sets={"val": (x_val, y_val), "test": (x_test, y_test)})
    history["step_loss"], history["loss"], history["val_acc"], history["test_loss"]

The history is a plain dict of lists of floats:

- ``"step_loss"``: the mini-batch loss of every optimizer step (epochs × batches per epoch);
- ``"loss"``, ``"train_acc"``: one per epoch, averaged over the epoch's mini-batches as they are
  trained on (the "running" figures, in training mode);
- ``"<name>_loss"``, ``"<name>_acc"`` for every ``name`` of ``eval_sets``: one per epoch, measured
  after the epoch in evaluation mode (:func:`evaluate`).

The mini-batches come from ``cnnbook.data.batches(x, y, batch_size, shuffle=True, rng=rng)``, so
the same ``rng`` seed gives the same batches for every model: started from the same weights, a
NumPy model and its PyTorch twin follow the same trajectory. :func:`fit_numpy` and
:func:`fit_torch` are the two loops :func:`fit` dispatches to.

Three options shape the training itself (chapter 13):

- ``scheduler``: an object whose ``step()`` is called once after every epoch, such as
  ``torch.optim.lr_scheduler.StepLR`` or its NumPy twin :class:`cnnbook.optim.StepLR`; the
  learning rate each epoch was trained with is then recorded in the history as ``"lr"``;
- ``augment``: a function ``augment(xb, rng) -> xb`` applied to every *training* mini-batch
  (NumPy arrays, before the batch reaches the model), drawing its randomness from the ``rng``
  that shuffles the batches, so a seed still fixes the whole run; evaluation sets are never
  augmented;
- ``device``: where a PyTorch model runs, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``. The
  default ``None`` reads the environment variable ``CNNBOOK_DEVICE`` and falls back to
  ``"cpu"``, so ``CNNBOOK_DEVICE=cuda make execute NB=...`` runs a notebook's PyTorch training
  on a GPU without editing it. :func:`fit` and :func:`evaluate` move the model to the device,
  send each mini-batch there, and move the model back to where it was when they return (so
  a notebook's own cells keep working on the CPU). The NumPy engine runs on the CPU only: an
  explicit ``device`` other than ``"cpu"`` is refused for a ``cnnbook.nn`` model, and
  ``CNNBOOK_DEVICE`` does not apply to it. On the CPU (the default, with which the book's
  outputs are made) the results are the same, bit for bit, as without these options.

Importing this module does not import torch: a model counts as a PyTorch model when torch is
already imported (``sys.modules``) and the model is a ``torch.nn.Module``; only then do the
PyTorch code paths import it.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

import numpy as np
from tqdm import tqdm   # not tqdm.auto: the notebook widgets (ipywidgets) are not installed

from cnnbook import functional as F
from cnnbook.check import to_numpy
from cnnbook.data import _check_positive_int, _check_rng, _check_xy, batches

__all__ = ["accuracy", "evaluate", "train_epoch_numpy", "train_epoch_torch", "fit", "fit_numpy",
           "fit_torch", "resolve_device", "DEVICE_ENV"]

#: Names an evaluation set may not take: their history keys would collide with
#: ``"train_acc"`` and ``"step_loss"``.
_RESERVED_EVAL_NAMES = ("train", "step")

#: The environment variable that chooses the device of PyTorch models when ``device=None``.
DEVICE_ENV = "CNNBOOK_DEVICE"

_DEVICE_PATTERN = re.compile(r"cpu|cuda|cuda:\d+|mps")


def _is_torch_model(model):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _numpy_dtype(model):
    """The floating dtype of a NumPy model's first parameter (inputs are cast to it), or None."""
    p = next(iter(model.parameters()), None)
    return p.data.dtype if p is not None and np.issubdtype(p.data.dtype, np.floating) else None


def resolve_device(device=None, *, torch_model=True):
    """The device a model is trained on: ``device``, else ``$CNNBOOK_DEVICE``, else ``"cpu"``.

    Parameters
    ----------
    device : str or None
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (N = 0, 1, ...) or ``"mps"``; None reads the
        environment variable ``CNNBOOK_DEVICE`` (unset or empty: ``"cpu"``).
    torch_model : bool, default True
        False for a ``cnnbook.nn`` model: the NumPy engine runs on the CPU only, so an explicit
        ``device`` other than ``"cpu"`` is refused and ``CNNBOOK_DEVICE`` is ignored (after its
        name is checked). Torch is not imported then.

    Returns
    -------
    device : str
        A valid device name whose device is available on this machine.

    Raises
    ------
    ValueError
        If the name is not one of the forms above, or a NumPy model is asked to run elsewhere
        than on the CPU.
    RuntimeError
        If the device is not available here (no CUDA, fewer CUDA devices, no MPS).
    """
    source = "device"
    if device is None:
        device, source = os.environ.get(DEVICE_ENV) or "cpu", DEVICE_ENV
    shown = f"{DEVICE_ENV}={device}" if source == DEVICE_ENV else f"device={device!r}"
    if not isinstance(device, str) or not _DEVICE_PATTERN.fullmatch(device):
        raise ValueError(f"{source}: expected 'cpu', 'cuda', 'cuda:N' (N = 0, 1, ...) or 'mps', "
                         f"got {device!r}")
    if not torch_model:
        if device != "cpu" and source == "device":
            raise ValueError(f"device: the NumPy engine (cnnbook.nn) runs on the CPU only, got "
                             f"{device!r}; pass device='cpu' or None")
        return "cpu"
    if device == "cpu":
        return device
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"{shown} but torch.cuda.is_available() is False (no CUDA GPU or "
                               "no CUDA build of PyTorch); use the CPU: unset "
                               f"{DEVICE_ENV} or pass device='cpu'")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise RuntimeError(f"{shown} but torch.cuda.device_count() is "
                               f"{torch.cuda.device_count()}")
    elif not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise RuntimeError(f"{shown} but torch.backends.mps.is_available() is False (MPS needs "
                           f"an Apple-silicon Mac); unset {DEVICE_ENV} or pass device='cpu'")
    return device


def _model_device(model):
    """The device of a PyTorch model's first parameter or buffer (None if it has neither)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return None


class _on_device:
    """Context manager: a PyTorch model on ``device`` inside, back where it was afterwards."""

    def __init__(self, model, device):
        self.model, self.device = model, device
        self.home = _model_device(model)

    def __enter__(self):
        if self.home is not None and str(self.home) != self.device:
            self.model.to(self.device)
        return self.model

    def __exit__(self, *exc):
        if self.home is not None and str(self.home) != self.device:
            self.model.to(self.home)
        return False


def accuracy(logits, y):
    """Fraction of rows whose largest logit is at the true label.

    Parameters
    ----------
    logits : ndarray or torch.Tensor, shape (N, C)
    y : ndarray or torch.Tensor of int, shape (N,)

    Returns
    -------
    acc : float in [0, 1]
    """
    logits, y = to_numpy(logits), to_numpy(y)
    if logits.ndim != 2 or y.shape != (logits.shape[0],):
        raise ValueError(f"logits, y: expected shapes (N, C) and (N,), got {logits.shape} and {y.shape}")
    return float(np.mean(logits.argmax(axis=1) == y))


def evaluate(model, x, y, *, batch_size=256, device=None):
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``, in evaluation mode.

    Works for a ``cnnbook.nn`` model and for a ``torch.nn.Module`` (then without gradients). The
    model's train/eval mode is restored afterwards, and a PyTorch model is moved back to the
    device it was on.

    Parameters
    ----------
    model : cnnbook.nn.Module or torch.nn.Module
        Maps x (N, ...) to logits (N, C).
    x : ndarray, shape (N, ...)
        Cast to the dtype of the model's parameters.
    y : ndarray of int, shape (N,)
    batch_size : int, default 256
        Samples per forward pass (only memory depends on it).
    device : str, optional
        Where a PyTorch model is run (see :func:`resolve_device`): None reads
        ``CNNBOOK_DEVICE``, else ``"cpu"``. A NumPy model accepts only None or ``"cpu"``.

    Returns
    -------
    loss, acc : float

    Raises
    ------
    ValueError, RuntimeError
        For a bad or unavailable ``device`` (:func:`resolve_device`).
    """
    is_torch = _is_torch_model(model)
    device = resolve_device(device, torch_model=is_torch)
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    if is_torch:
        import torch

        dtype = next(model.parameters()).dtype
        with torch.no_grad(), _on_device(model, device):
            for xb, yb in batches(x, y, batch_size, shuffle=False):
                logits = model(torch.as_tensor(xb, dtype=dtype, device=device))
                target = torch.as_tensor(yb, device=device)
                total_loss += float(torch.nn.functional.cross_entropy(logits, target)) * len(yb)
                correct += int((logits.argmax(dim=1).cpu().numpy() == yb).sum())
    else:
        dtype = _numpy_dtype(model)
        for xb, yb in batches(x, y, batch_size, shuffle=False):
            logits = model(xb if dtype is None else xb.astype(dtype, copy=False))
            total_loss += F.cross_entropy(logits, yb) * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
    model.train(was_training)
    return total_loss / len(y), correct / len(y)


def _augmented(augment, xb, rng):
    """``augment(xb, rng)`` as an array with as many samples as ``xb``."""
    out = np.asarray(augment(xb, rng))
    if out.ndim < 1 or len(out) != len(xb):
        raise ValueError(f"augment: must return a batch of the same number of samples, got shape "
                         f"{out.shape} for a batch of shape {xb.shape}")
    return out


def train_epoch_numpy(model, x, y, *, batch_size, optimizer, rng, step_losses=None,
                      augment=None):
    """One epoch of mini-batch training of a ``cnnbook.nn`` model.

    Parameters
    ----------
    model : cnnbook.nn.Module
        Put in training mode.
    x : ndarray, shape (N, ...)
        Cast to the dtype of the model's parameters.
    y : ndarray of int, shape (N,)
    batch_size : int
    optimizer : object with ``zero_grad()`` and ``step()``
        Usually ``cnnbook.optim.SGD`` or ``cnnbook.optim.Adam`` over
        ``model.parameters()``.
    rng : numpy.random.Generator
        Shuffles the mini-batches (``cnnbook.data.batches``).
    step_losses : list, optional
        If given, the loss of every mini-batch is appended to it.
    augment : callable, optional
        ``augment(xb, rng) -> xb`` applied to every mini-batch before the model sees it.

    Returns
    -------
    loss, acc : float
        Running mean cross-entropy and accuracy over the epoch (weighted by batch size).
    """
    model.train()
    dtype = _numpy_dtype(model)
    total_loss, correct = 0.0, 0
    for xb, yb in batches(x, y, batch_size, shuffle=True, rng=rng):
        if augment is not None:
            xb = _augmented(augment, xb, rng)
        logits = model(xb if dtype is None else xb.astype(dtype, copy=False))
        loss = float(F.cross_entropy(logits, yb))
        optimizer.zero_grad()
        model.backward(F.cross_entropy_backward(logits, yb))
        optimizer.step()
        if step_losses is not None:
            step_losses.append(loss)
        total_loss += loss * len(yb)
        correct += int((logits.argmax(axis=1) == yb).sum())
    return total_loss / len(y), correct / len(y)


def train_epoch_torch(model, x, y, *, batch_size, optimizer, rng, step_losses=None, augment=None,
                      device="cpu"):
    """The PyTorch twin of :func:`train_epoch_numpy` (same arguments, same batches, same result).

    ``model`` is a ``torch.nn.Module`` already on ``device`` (a valid, available device name:
    :func:`fit` resolves and checks it); each NumPy mini-batch (augmented first, if asked) is
    converted to a tensor of the dtype of the model's parameters on ``device``; ``optimizer`` is
    usually a ``torch.optim`` optimizer.
    """
    import torch

    dtype = next(model.parameters()).dtype
    model.train()
    total_loss, correct = 0.0, 0
    for xb, yb in batches(x, y, batch_size, shuffle=True, rng=rng):
        if augment is not None:
            xb = _augmented(augment, xb, rng)
        logits = model(torch.as_tensor(xb, dtype=dtype, device=device))
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(yb, device=device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step_losses is not None:
            step_losses.append(loss.item())
        total_loss += loss.item() * len(yb)
        correct += int((logits.argmax(dim=1).cpu().numpy() == yb).sum())
    return total_loss / len(y), correct / len(y)


def _check_eval_sets(eval_sets, x_test, y_test):
    """``eval_sets`` (plus a ``"test"`` set from ``x_test``/``y_test``) as a dict name -> (x, y)."""
    if eval_sets is None:
        eval_sets = {}
    if not isinstance(eval_sets, Mapping):
        raise ValueError(f"eval_sets: expected a dict name -> (x, y), got {type(eval_sets).__name__}")
    checked = {}
    for name, pair in eval_sets.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"eval_sets: expected non-empty str names, got {name!r}")
        if name in _RESERVED_EVAL_NAMES:
            raise ValueError(f"eval_sets: the name {name!r} is reserved (its history keys would "
                             f"collide with 'train_acc' and 'step_loss'); call it e.g. '{name}_eval'")
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"eval_sets[{name!r}]: expected a pair (x, y), got {type(pair).__name__}"
                             + (f" of length {len(pair)}" if isinstance(pair, (tuple, list)) else ""))
        x, y = (np.asarray(to_numpy(a)) for a in pair)
        if x.ndim < 1 or y.ndim != 1 or len(x) != len(y) or len(y) == 0:
            raise ValueError(f"eval_sets[{name!r}]: expected (x, y) with the same number (> 0) of "
                             f"samples along axis 0 and a 1-D y, got x of shape {x.shape} and y of "
                             f"shape {y.shape}")
        checked[name] = (x, y)
    if (x_test is None) != (y_test is None):
        raise ValueError("x_test, y_test: give both or neither (or use eval_sets={'test': (x, y)})")
    if x_test is not None:
        if "test" in checked:
            raise ValueError("eval_sets: has a 'test' set and x_test/y_test were given too; "
                             "give one of them")
        checked.update(_check_eval_sets({"test": (x_test, y_test)}, None, None))
    return checked


def _current_lr(optimizer):
    """The learning rate of ``optimizer`` (of its first parameter group, for torch.optim)."""
    groups = getattr(optimizer, "param_groups", None)
    lr = groups[0].get("lr") if groups else getattr(optimizer, "lr", None)
    if lr is None:
        raise TypeError(f"scheduler: the learning rate of the optimizer "
                        f"({type(optimizer).__name__}) cannot be read: expected an 'lr' attribute "
                        "or torch-style param_groups")
    return float(lr)


def _fit(train_epoch, model, x, y, *, epochs, batch_size, optimizer, rng, eval_sets, x_test, y_test,
         progress, scheduler=None, augment=None, device="cpu"):
    x, y = _check_xy(x, y)
    if len(y) == 0:
        raise ValueError("x, y: expected at least one training sample, got 0")
    epochs = _check_positive_int(epochs, "epochs")
    batch_size = _check_positive_int(batch_size, "batch_size")
    if not (callable(getattr(optimizer, "zero_grad", None)) and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"optimizer: expected an object with zero_grad() and step() "
                        f"(cnnbook.optim.Adam, torch.optim.Adam, ...), got {type(optimizer).__name__}")
    _check_rng(rng)
    eval_sets = _check_eval_sets(eval_sets, x_test, y_test)
    if scheduler is not None:
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"scheduler: expected an object with step() "
                            f"(cnnbook.optim.StepLR, torch.optim.lr_scheduler.StepLR, ...), got "
                            f"{type(scheduler).__name__}")
        _current_lr(optimizer)
    if augment is not None and not callable(augment):
        raise TypeError(f"augment: expected a function augment(xb, rng) -> xb, got "
                        f"{type(augment).__name__}")
    epoch_options = {"augment": augment}
    if train_epoch is train_epoch_torch:
        epoch_options["device"] = device

    history = {"step_loss": [], "loss": [], "train_acc": []}
    if scheduler is not None:
        history["lr"] = []
    for name in eval_sets:
        history[f"{name}_loss"], history[f"{name}_acc"] = [], []
    bar = tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress)
    for _ in bar:
        if scheduler is not None:
            history["lr"].append(_current_lr(optimizer))
        loss, acc = train_epoch(model, x, y, batch_size=batch_size, optimizer=optimizer, rng=rng,
                                step_losses=history["step_loss"], **epoch_options)
        history["loss"].append(float(loss))
        history["train_acc"].append(float(acc))
        stats = {"loss": f"{loss:.3f}", "train_acc": f"{acc:.3f}"}
        for name, (x_eval, y_eval) in eval_sets.items():
            eval_loss, eval_acc = evaluate(model, x_eval, y_eval, device=device)
            history[f"{name}_loss"].append(float(eval_loss))
            history[f"{name}_acc"].append(float(eval_acc))
            stats[f"{name}_acc"] = f"{eval_acc:.3f}"
        if scheduler is not None:
            scheduler.step()
        bar.set_postfix(stats)
    bar.close()
    return history


def fit(model, x, y, *, epochs, batch_size, optimizer, rng, eval_sets=None, progress=True,
        x_test=None, y_test=None, scheduler=None, augment=None, device=None):
    """Train a classifier with mini-batch cross-entropy: a ``cnnbook.nn`` model or a ``torch.nn.Module``.

    Dispatches to :func:`fit_torch` for a ``torch.nn.Module`` and to :func:`fit_numpy` otherwise.

    Parameters
    ----------
    model : cnnbook.nn.Module or torch.nn.Module
        Maps x (N, ...) to logits (N, C); trained in place.
    x : ndarray, shape (N, ...)
        Training inputs (NumPy, also for a PyTorch model); each mini-batch is cast to the dtype of
        the model's parameters.
    y : ndarray of int, shape (N,)
        Training labels.
    epochs : int
        Passes over the training set (>= 1).
    batch_size : int
        Samples per optimizer step (>= 1); the last batch of an epoch may be smaller.
    optimizer : object with ``zero_grad()`` and ``step()``
        Over ``model.parameters()``: ``cnnbook.optim.SGD``/``Adam`` for a NumPy model, any
        ``torch.optim`` optimizer for a PyTorch model.
    rng : numpy.random.Generator
        Shuffles the mini-batches; the same seed gives the same batches for every model.
    eval_sets : dict of str -> (x, y), optional
        Data sets measured (loss and accuracy, in evaluation mode) after every epoch, in the
        dict's order. The names ``"train"`` and ``"step"`` are reserved.
    progress : bool, default True
        Show a tqdm bar over the epochs with the running loss and accuracy and every evaluation
        set's accuracy.
    x_test, y_test : ndarray, optional
        Older spelling of ``eval_sets={"test": (x_test, y_test)}`` (added after ``eval_sets``).
    scheduler : object with ``step()``, optional
        A learning-rate schedule over ``optimizer``, stepped once after every epoch (after the
        evaluation sets are measured): ``torch.optim.lr_scheduler.StepLR`` (or any torch
        scheduler) for a torch optimizer, :class:`cnnbook.optim.StepLR` for a NumPy one. The
        history then holds ``"lr"``.
    augment : callable, optional
        ``augment(xb, rng) -> xb``: applied to every training mini-batch (a NumPy array, before
        it is cast and sent to the model), with ``rng`` the generator that shuffles the batches,
        so the same seed gives the same augmented run. It must keep the number of samples; the
        labels are not passed and stay as they are. Evaluation sets are not augmented, and
        ``"loss"``/``"train_acc"`` are measured on the augmented batches.
    device : str, optional
        For a PyTorch model: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; None (the
        default) reads the environment variable ``CNNBOOK_DEVICE``, else ``"cpu"``. The model
        is moved there for training and evaluation and moved back afterwards; each mini-batch
        is sent there. A NumPy model runs on the CPU: it accepts only None or ``"cpu"`` (and
        ignores ``CNNBOOK_DEVICE``). See :func:`resolve_device`.

    Returns
    -------
    history : dict of str -> list of float
        ``"step_loss"`` (one per optimizer step), ``"loss"`` and ``"train_acc"`` (one per epoch,
        running averages over the epoch's batches), with a scheduler ``"lr"`` (the learning rate
        each epoch was trained with, of the first parameter group), and ``"<name>_loss"``,
        ``"<name>_acc"`` (one per epoch) for every evaluation set.

    Raises
    ------
    ValueError
        If ``epochs`` or ``batch_size`` is not a positive integer, ``x`` and ``y`` do not match,
        ``eval_sets`` is not a dict of ``(x, y)`` pairs of matching lengths, ``device`` (or
        ``CNNBOOK_DEVICE``) is not a device name, a NumPy model is given a device other than
        the CPU, or ``augment`` changes the number of samples of a batch.
    RuntimeError
        If the device is not available on this machine (e.g. ``CNNBOOK_DEVICE=cuda`` without
        a CUDA GPU).
    TypeError
        If ``optimizer`` lacks ``zero_grad``/``step``, ``rng`` is not a
        ``numpy.random.Generator``, ``scheduler`` lacks ``step`` (or the optimizer's learning
        rate cannot be read) or ``augment`` is not callable.
    """
    loop = fit_torch if _is_torch_model(model) else fit_numpy
    return loop(model, x, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer, rng=rng,
                eval_sets=eval_sets, progress=progress, x_test=x_test, y_test=y_test,
                scheduler=scheduler, augment=augment, device=device)


def fit_numpy(model, x, y, *, epochs, batch_size, optimizer, rng, eval_sets=None, progress=True,
              x_test=None, y_test=None, scheduler=None, augment=None, device=None):
    """The NumPy-engine loop of :func:`fit` (same arguments, same history).

    ``model`` is a ``cnnbook.nn`` model (forward ``model(x)``, ``model.backward(dlogits)``) and
    ``optimizer`` usually ``cnnbook.optim.SGD`` or ``cnnbook.optim.Adam``.

    Raises
    ------
    TypeError
        If ``model`` is a ``torch.nn.Module`` (use :func:`fit_torch` or :func:`fit`).
    """
    if _is_torch_model(model):
        raise TypeError("model: fit_numpy trains a cnnbook.nn model, got a torch.nn.Module "
                        f"({type(model).__name__}); use fit_torch or fit")
    device = resolve_device(device, torch_model=False)
    return _fit(train_epoch_numpy, model, x, y, epochs=epochs, batch_size=batch_size,
                optimizer=optimizer, rng=rng, eval_sets=eval_sets, x_test=x_test, y_test=y_test,
                progress=progress, scheduler=scheduler, augment=augment, device=device)


def fit_torch(model, x, y, *, epochs, batch_size, optimizer, rng, eval_sets=None, progress=True,
              x_test=None, y_test=None, scheduler=None, augment=None, device=None):
    """The PyTorch loop of :func:`fit` (same arguments, same batches for the same ``rng``, same history).

    ``model`` is a ``torch.nn.Module``, the data stay NumPy arrays (converted batch by batch to
    the dtype of the model's parameters, on ``device``) and ``optimizer`` is usually a
    ``torch.optim`` optimizer. The model is moved to ``device`` for the run and back to where
    it was afterwards.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module`` (use :func:`fit_numpy` or :func:`fit`).
    """
    if not _is_torch_model(model):
        raise TypeError(f"model: fit_torch trains a torch.nn.Module, got {type(model).__name__}; "
                        "use fit_numpy or fit")
    device = resolve_device(device, torch_model=True)
    with _on_device(model, device):
        return _fit(train_epoch_torch, model, x, y, epochs=epochs, batch_size=batch_size,
                    optimizer=optimizer, rng=rng, eval_sets=eval_sets, x_test=x_test,
                    y_test=y_test, progress=progress, scheduler=scheduler, augment=augment,
                    device=device)
