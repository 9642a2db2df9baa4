"""Optimizers over :class:`cnnbook.nn.Parameter` objects: ``SGD`` and ``Adam``, as in ``torch.optim``.

Each optimizer holds a list of parameters (anything with ``.data`` and ``.grad`` arrays) and
updates them in place; ``step()`` does exactly what the ``torch.optim`` namesake does on the CPU
(its single-tensor, ``foreach=False`` code path), operation for operation, so a NumPy model and
its PyTorch twin trained with the same gradients stay equal to rounding::

    optimizer = Adam(model.parameters(), lr=1e-3)
    optimizer.zero_grad()              # every p.grad = None
    model.backward(dlogits)            # accumulates p.grad
    optimizer.step()                   # p.data updated in place

A parameter whose ``grad`` is None is skipped (and, for Adam, its step count is not advanced),
as in PyTorch. :class:`StepLR` is the twin of ``torch.optim.lr_scheduler.StepLR``: it lowers an
optimizer's ``lr`` by a factor every few epochs. This module imports NumPy only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Optimizer", "SGD", "Adam", "StepLR"]


class Optimizer:
    """Base class: holds the parameter list, validates it and resets gradients.

    Subclasses validate their hyper-parameters, call ``super().__init__(params)``, list the
    hyper-parameters shown by ``repr`` in ``_hyperparameters`` and implement ``step()``.

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``; each item needs ``.data`` and ``.grad`` attributes.

    Raises
    ------
    ValueError
        If ``params`` is empty.
    TypeError
        If an item of ``params`` is not a parameter.
    """

    _hyperparameters: tuple[str, ...] = ()

    def __init__(self, params):
        if hasattr(params, "data") and hasattr(params, "grad"):
            raise TypeError("params: expected an iterable of Parameter objects, got a single "
                            f"{type(params).__name__} (wrap it in a list)")
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for i, p in enumerate(self.params):
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(f"params: expected Parameter objects (with .data and .grad), "
                                f"got {type(p).__name__} at position {i}")

    def zero_grad(self):
        """Reset every gradient to None (PyTorch's default ``set_to_none=True``)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient, in place."""
        raise NotImplementedError

    def __repr__(self):
        options = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyperparameters)
        return f"{type(self).__name__}({options})"


def _check_at_least_zero(value, message):
    """Raise ``ValueError(f"{message}: {value}")`` unless ``0 <= value`` (torch's wording)."""
    if value is None or not 0.0 <= value:
        raise ValueError(f"{message}: {value}")


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum.

    One ``step()`` does, for every parameter ``p`` whose ``grad`` is not None (PyTorch's
    algorithm, step for step)::

        g = p.grad + weight_decay * p.data
        if momentum != 0:
            buf = g                                   (first step)
            buf = momentum * buf + (1 - dampening) * g   (later steps)
            g = g + momentum * buf if nesterov else buf
        p.data -= lr * g

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``.
    lr : float
        Learning rate (>= 0).
    momentum, dampening, weight_decay : float
        All >= 0 (``dampening`` may be any float, as in PyTorch).
    nesterov : bool
        Needs ``momentum > 0`` and ``dampening == 0``.

    Raises
    ------
    ValueError
        For a bad hyper-parameter, with the message ``torch.optim.SGD`` gives.
    """

    _hyperparameters = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        _check_at_least_zero(lr, "Invalid learning rate")
        _check_at_least_zero(momentum, "Invalid momentum value")
        _check_at_least_zero(weight_decay, "Invalid weight_decay value")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params)
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.momentum_buffers = [None] * len(self.params)

    def step(self):
        """Update every parameter that has a gradient, in place."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = np.asarray(p.grad, dtype=p.data.dtype)
            if self.weight_decay != 0:
                g = g + self.weight_decay * p.data
            if self.momentum != 0:
                buf = self.momentum_buffers[i]
                if buf is None:
                    buf = np.array(g, copy=True)
                else:
                    buf *= self.momentum
                    buf += (1 - self.dampening) * g
                self.momentum_buffers[i] = buf
                g = g + self.momentum * buf if self.nesterov else buf
            p.data -= self.lr * g


def _lerp(start, end, weight):
    """``start + weight * (end - start)``, computed as ``torch.lerp`` does (two branches)."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with optional L2 weight decay and AMSGrad, as ``torch.optim.Adam``.

    One ``step()`` does, for every parameter ``p`` whose ``grad`` is not None (PyTorch's
    single-tensor algorithm, in its order of operations)::

        t += 1                                          (a step count per parameter)
        g = p.grad + weight_decay * p.data              (L2 penalty added to the gradient)
        m = lerp(m, g, 1 - beta1)                       (= beta1 * m + (1 - beta1) * g)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = maximum(v_max, v)                       (amsgrad only; then used for v)
        denom = sqrt(v) / sqrt(1 - beta2 ** t) + eps
        p.data += -(lr / (1 - beta1 ** t)) * m / denom

    ``m``, ``v`` (and ``v_max``) start at zero, so the two bias corrections undo their pull
    towards zero in the first steps.

    Parameters
    ----------
    params : iterable of Parameter
        Usually ``model.parameters()``.
    lr : float, default 1e-3
        Learning rate (>= 0).
    betas : pair of float, default (0.9, 0.999)
        Decay rates of the running averages of the gradient and of its square, each in [0, 1).
    eps : float, default 1e-8
        Added to the denominator (>= 0).
    weight_decay : float, default 0
        L2 penalty (>= 0), added to the gradient as ``torch.optim.Adam`` does (not decoupled as
        in AdamW).
    amsgrad : bool, default False
        Divide by the largest second-moment average seen so far (Reddi et al., 2018).

    Attributes
    ----------
    state : list of dict
        Per parameter: ``"step"`` (int), ``"exp_avg"``, ``"exp_avg_sq"`` and, with amsgrad,
        ``"max_exp_avg_sq"`` (arrays); empty until the parameter's first update.

    Raises
    ------
    ValueError
        For a bad hyper-parameter, with the message ``torch.optim.Adam`` gives.
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False):
        _check_at_least_zero(lr, "Invalid learning rate")
        _check_at_least_zero(eps, "Invalid epsilon value")
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas: expected a pair of floats, got {betas!r}") from None
        for index, beta in enumerate((beta1, beta2)):
            if beta is None or not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
        _check_at_least_zero(weight_decay, "Invalid weight_decay value")
        super().__init__(params)
        self.lr, self.betas, self.eps = lr, (beta1, beta2), eps
        self.weight_decay, self.amsgrad = weight_decay, amsgrad
        self.state = [{} for _ in self.params]

    def step(self):
        """Update every parameter that has a gradient, in place."""
        beta1, beta2 = self.betas
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            grad = np.asarray(p.grad, dtype=p.data.dtype)
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(p.data)
                state["exp_avg_sq"] = np.zeros_like(p.data)
                if self.amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(p.data)
            state["step"] += 1
            step = float(state["step"])     # torch keeps the count as a float
            if self.weight_decay != 0:
                grad = grad + self.weight_decay * p.data
            state["exp_avg"] = exp_avg = _lerp(state["exp_avg"], grad, 1 - beta1)
            exp_avg_sq = state["exp_avg_sq"]
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * grad * grad

            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = self.lr / bias_correction1
            bias_correction2_sqrt = bias_correction2 ** 0.5
            if self.amsgrad:
                np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
                denom = np.sqrt(state["max_exp_avg_sq"]) / bias_correction2_sqrt + self.eps
            else:
                denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + self.eps
            p.data += -step_size * exp_avg / denom


class StepLR:
    """Step decay: the learning rate times ``gamma`` every ``step_size`` epochs.

    The twin of ``torch.optim.lr_scheduler.StepLR``. Call ``step()`` once after every
    epoch (``cnnbook.train.fit(..., scheduler=...)`` does). The learning rate is
    multiplied in place, as torch does (not recomputed as ``base_lr * gamma ** k``), so
    the two give the same floats::

        after step() number  1 .. step_size - 1:   lr = base_lr
        after step() number  step_size:            lr = base_lr * gamma
        after step() number  2 * step_size:        lr = base_lr * gamma * gamma, ...

    Parameters
    ----------
    optimizer : cnnbook.optim.Optimizer
        Any object with a float attribute ``lr`` (``SGD``, ``Adam``).
    step_size : int
        Epochs between two decays (>= 1).
    gamma : float, default 0.1
        Factor applied at each decay.

    Attributes
    ----------
    last_epoch : int
        Number of ``step()`` calls so far (0 after construction, as in PyTorch).
    base_lr : float
        The optimizer's learning rate at construction.

    Raises
    ------
    ValueError
        If ``step_size`` is not a positive integer.
    TypeError
        If ``optimizer`` has no ``lr`` attribute.
    """

    def __init__(self, optimizer, step_size, gamma=0.1):
        if (isinstance(step_size, (bool, np.bool_))
                or not isinstance(step_size, (int, np.integer)) or step_size < 1):
            raise ValueError(f"step_size: expected a positive integer, "
                             f"got {step_size!r}")
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"optimizer: expected an optimizer with an 'lr' attribute "
                            f"(cnnbook.optim.SGD, Adam), "
                            f"got {type(optimizer).__name__}")
        self.optimizer, self.step_size, self.gamma = optimizer, int(step_size), gamma
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def step(self):
        """End an epoch: ``lr`` times ``gamma`` after every ``step_size`` calls."""
        self.last_epoch += 1
        if self.last_epoch % self.step_size == 0:
            self.optimizer.lr = self.optimizer.lr * self.gamma

    def get_last_lr(self):
        """The current learning rate, in a list (torch's form: one per group)."""
        return [self.optimizer.lr]

    def __repr__(self):
        return (f"StepLR(step_size={self.step_size}, gamma={self.gamma!r}, "
                f"last_epoch={self.last_epoch})")
