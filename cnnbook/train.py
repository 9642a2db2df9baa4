"""Training loops for the NumPy engine and for PyTorch, with the same batches and the same history.

``fit_numpy`` and ``fit_torch`` draw their mini-batches from ``cnnbook.data.batches`` with the
``rng`` you pass, minimise the mean cross-entropy with the optimizer you pass, and return a
history dict::

    {"loss": [...], "train_acc": [...], "test_acc": [...]}      # one entry per epoch

``loss`` and ``train_acc`` are averaged over the epoch's mini-batches as they are trained on
(the "running" figures, in training mode); ``test_acc`` is measured after each epoch in
evaluation mode (only when ``x_test``/``y_test`` are given). Started from the same weights and
the same ``rng`` seed, the two loops follow the same trajectory.

torch is imported only inside the PyTorch functions.
"""
from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm   # not tqdm.auto: the notebook widgets (ipywidgets) are not installed

from cnnbook import functional as F
from cnnbook.data import batches

__all__ = ["accuracy", "evaluate", "train_epoch_numpy", "train_epoch_torch", "fit_numpy", "fit_torch"]


def _is_torch_model(model):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def accuracy(logits, y):
    """Fraction of rows whose largest logit is at the true label.

    Parameters
    ----------
    logits : ndarray or torch.Tensor, shape (N, C)
    y : ndarray of int, shape (N,)

    Returns
    -------
    acc : float in [0, 1]
    """
    from cnnbook.check import to_numpy

    logits, y = to_numpy(logits), to_numpy(y)
    if logits.ndim != 2 or y.shape != (logits.shape[0],):
        raise ValueError(f"logits, y: expected shapes (N, C) and (N,), got {logits.shape} and {y.shape}")
    return float(np.mean(logits.argmax(axis=1) == y))


def evaluate(model, x, y, *, batch_size=256):
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``, in evaluation mode.

    Works for a ``cnnbook.nn`` model and for a ``torch.nn.Module`` (then without gradients). The
    model's train/eval mode is restored afterwards.

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
        for xb, yb in batches(x, y, batch_size, shuffle=False):
            logits = model(xb)
            total_loss += F.cross_entropy(logits, yb) * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
    model.train(was_training)
    return total_loss / len(y), correct / len(y)


def train_epoch_numpy(model, x, y, *, batch_size, optimizer, rng):
    """One epoch of mini-batch training of a ``cnnbook.nn`` model; returns ``(loss, acc)``."""
    model.train()
    total_loss, correct = 0.0, 0
    for xb, yb in batches(x, y, batch_size, shuffle=True, rng=rng):
        logits = model(xb)
        total_loss += F.cross_entropy(logits, yb) * len(yb)
        correct += int((logits.argmax(axis=1) == yb).sum())
        optimizer.zero_grad()
        model.backward(F.cross_entropy_backward(logits, yb))
        optimizer.step()
    return total_loss / len(y), correct / len(y)


def train_epoch_torch(model, x, y, *, batch_size, optimizer, rng):
    """One epoch of mini-batch training of a ``torch.nn.Module``; returns ``(loss, acc)``."""
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
        total_loss += loss.item() * len(yb)
        correct += int((logits.argmax(dim=1).numpy() == yb).sum())
    return total_loss / len(y), correct / len(y)


def _fit(train_epoch, model, x, y, *, epochs, batch_size, optimizer, rng, x_test, y_test, progress):
    history = {"loss": [], "train_acc": [], "test_acc": []}
    bar = tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress)
    for _ in bar:
        loss, acc = train_epoch(model, x, y, batch_size=batch_size, optimizer=optimizer, rng=rng)
        history["loss"].append(loss)
        history["train_acc"].append(acc)
        stats = {"loss": f"{loss:.3f}", "train_acc": f"{acc:.3f}"}
        if x_test is not None:
            history["test_acc"].append(evaluate(model, x_test, y_test)[1])
            stats["test_acc"] = f"{history['test_acc'][-1]:.3f}"
        bar.set_postfix(stats)
    bar.close()
    return history


def fit_numpy(model, x, y, *, epochs, batch_size, optimizer, rng, x_test=None, y_test=None, progress=True):
    """Train a ``cnnbook.nn`` model with mini-batch cross-entropy.

    Parameters
    ----------
    model : cnnbook.nn.Module
        Maps x (N, ...) to logits (N, C).
    x : ndarray, shape (N, ...)
    y : ndarray of int, shape (N,)
    epochs, batch_size : int
    optimizer : cnnbook.optim.SGD
        Over ``model.parameters()``.
    rng : numpy.random.Generator
        Shuffles the mini-batches.
    x_test, y_test : ndarray, optional
        Measured after every epoch (``history["test_acc"]``).
    progress : bool
        Show a tqdm progress bar over the epochs.

    Returns
    -------
    history : dict
        ``"loss"``, ``"train_acc"``, ``"test_acc"``: lists with one float per epoch.
    """
    return _fit(train_epoch_numpy, model, x, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                rng=rng, x_test=x_test, y_test=y_test, progress=progress)


def fit_torch(model, x, y, *, epochs, batch_size, optimizer, rng, x_test=None, y_test=None, progress=True):
    """The PyTorch twin of :func:`fit_numpy`: same arguments (NumPy data, a ``torch.optim``
    optimizer over ``model.parameters()``), same batches for the same ``rng``, same history."""
    return _fit(train_epoch_torch, model, x, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                rng=rng, x_test=x_test, y_test=y_test, progress=progress)
