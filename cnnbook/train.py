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

Importing this module does not import torch: a model counts as a PyTorch model when torch is
already imported (``sys.modules``) and the model is a ``torch.nn.Module``; only then do the
PyTorch code paths import it.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping

import numpy as np
from tqdm import tqdm   # not tqdm.auto: the notebook widgets (ipywidgets) are not installed

from cnnbook import functional as F
from cnnbook.check import to_numpy
from cnnbook.data import _check_positive_int, _check_rng, _check_xy, batches

__all__ = ["accuracy", "evaluate", "train_epoch_numpy", "train_epoch_torch", "fit", "fit_numpy",
           "fit_torch"]

#: Names an evaluation set may not take: their history keys would collide with
#: ``"train_acc"`` and ``"step_loss"``.
_RESERVED_EVAL_NAMES = ("train", "step")


def _is_torch_model(model):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _numpy_dtype(model):
    """The floating dtype of a NumPy model's first parameter (inputs are cast to it), or None."""
    p = next(iter(model.parameters()), None)
    return p.data.dtype if p is not None and np.issubdtype(p.data.dtype, np.floating) else None


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


def evaluate(model, x, y, *, batch_size=256):
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``, in evaluation mode.

    Works for a ``cnnbook.nn`` model and for a ``torch.nn.Module`` (then without gradients). The
    model's train/eval mode is restored afterwards.

    Parameters
    ----------
    model : cnnbook.nn.Module or torch.nn.Module
        Maps x (N, ...) to logits (N, C).
    x : ndarray, shape (N, ...)
        Cast to the dtype of the model's parameters.
    y : ndarray of int, shape (N,)
    batch_size : int, default 256
        Samples per forward pass (only memory depends on it).

    Returns
    -------
    loss, acc : float
    """
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    if _is_torch_model(model):
        import torch

        dtype = next(model.parameters()).dtype
        with torch.no_grad():
            for xb, yb in batches(x, y, batch_size, shuffle=False):
                logits = model(torch.as_tensor(xb, dtype=dtype))
                total_loss += float(torch.nn.functional.cross_entropy(logits, torch.as_tensor(yb))) * len(yb)
                correct += int((logits.argmax(dim=1).numpy() == yb).sum())
    else:
        dtype = _numpy_dtype(model)
        for xb, yb in batches(x, y, batch_size, shuffle=False):
            logits = model(xb if dtype is None else xb.astype(dtype, copy=False))
            total_loss += F.cross_entropy(logits, yb) * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
    model.train(was_training)
    return total_loss / len(y), correct / len(y)


def train_epoch_numpy(model, x, y, *, batch_size, optimizer, rng, step_losses=None):
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

    Returns
    -------
    loss, acc : float
        Running mean cross-entropy and accuracy over the epoch (weighted by batch size).
    """
    model.train()
    dtype = _numpy_dtype(model)
    total_loss, correct = 0.0, 0
    for xb, yb in batches(x, y, batch_size, shuffle=True, rng=rng):
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


def train_epoch_torch(model, x, y, *, batch_size, optimizer, rng, step_losses=None):
    """The PyTorch twin of :func:`train_epoch_numpy` (same arguments, same batches, same result).

    ``model`` is a ``torch.nn.Module``; each NumPy mini-batch is converted to a tensor of the
    dtype of the model's parameters; ``optimizer`` is usually a ``torch.optim`` optimizer.
    """
    import torch

    dtype = next(model.parameters()).dtype
    model.train()
    total_loss, correct = 0.0, 0
    for xb, yb in batches(x, y, batch_size, shuffle=True, rng=rng):
        logits = model(torch.as_tensor(xb, dtype=dtype))
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(yb))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step_losses is not None:
            step_losses.append(loss.item())
        total_loss += loss.item() * len(yb)
        correct += int((logits.argmax(dim=1).numpy() == yb).sum())
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


def _fit(train_epoch, model, x, y, *, epochs, batch_size, optimizer, rng, eval_sets, x_test, y_test,
         progress):
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

    history = {"step_loss": [], "loss": [], "train_acc": []}
    for name in eval_sets:
        history[f"{name}_loss"], history[f"{name}_acc"] = [], []
    bar = tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress)
    for _ in bar:
        loss, acc = train_epoch(model, x, y, batch_size=batch_size, optimizer=optimizer, rng=rng,
                                step_losses=history["step_loss"])
        history["loss"].append(float(loss))
        history["train_acc"].append(float(acc))
        stats = {"loss": f"{loss:.3f}", "train_acc": f"{acc:.3f}"}
        for name, (x_eval, y_eval) in eval_sets.items():
            eval_loss, eval_acc = evaluate(model, x_eval, y_eval)
            history[f"{name}_loss"].append(float(eval_loss))
            history[f"{name}_acc"].append(float(eval_acc))
            stats[f"{name}_acc"] = f"{eval_acc:.3f}"
        bar.set_postfix(stats)
    bar.close()
    return history


def fit(model, x, y, *, epochs, batch_size, optimizer, rng, eval_sets=None, progress=True,
        x_test=None, y_test=None):
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

    Returns
    -------
    history : dict of str -> list of float
        ``"step_loss"`` (one per optimizer step), ``"loss"`` and ``"train_acc"`` (one per epoch,
        running averages over the epoch's batches), and ``"<name>_loss"``, ``"<name>_acc"`` (one
        per epoch) for every evaluation set.

    Raises
    ------
    ValueError
        If ``epochs`` or ``batch_size`` is not a positive integer, ``x`` and ``y`` do not match, or
        ``eval_sets`` is not a dict of ``(x, y)`` pairs of matching lengths.
    TypeError
        If ``optimizer`` lacks ``zero_grad``/``step`` or ``rng`` is not a ``numpy.random.Generator``.
    """
    loop = fit_torch if _is_torch_model(model) else fit_numpy
    return loop(model, x, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer, rng=rng,
                eval_sets=eval_sets, progress=progress, x_test=x_test, y_test=y_test)


def fit_numpy(model, x, y, *, epochs, batch_size, optimizer, rng, eval_sets=None, progress=True,
              x_test=None, y_test=None):
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
    return _fit(train_epoch_numpy, model, x, y, epochs=epochs, batch_size=batch_size,
                optimizer=optimizer, rng=rng, eval_sets=eval_sets, x_test=x_test, y_test=y_test,
                progress=progress)


def fit_torch(model, x, y, *, epochs, batch_size, optimizer, rng, eval_sets=None, progress=True,
              x_test=None, y_test=None):
    """The PyTorch loop of :func:`fit` (same arguments, same batches for the same ``rng``, same history).

    ``model`` is a ``torch.nn.Module``, the data stay NumPy arrays (converted batch by batch to
    the dtype of the model's parameters) and ``optimizer`` is usually a ``torch.optim`` optimizer.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module`` (use :func:`fit_numpy` or :func:`fit`).
    """
    if not _is_torch_model(model):
        raise TypeError(f"model: fit_torch trains a torch.nn.Module, got {type(model).__name__}; "
                        "use fit_numpy or fit")
    return _fit(train_epoch_torch, model, x, y, epochs=epochs, batch_size=batch_size,
                optimizer=optimizer, rng=rng, eval_sets=eval_sets, x_test=x_test, y_test=y_test,
                progress=progress)
