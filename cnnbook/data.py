"""Offline data sets for the book and a mini-batch iterator.

Everything here works without a network connection: the handwritten digits ship with
scikit-learn, the photographs and textures with scikit-image, and the "Where's Waldo" set is
generated. Images are NCHW arrays with values in
``[0, 1]``; labels are ``int64``. This module imports NumPy (and scikit-learn for the digits)
only, never torch or plotting code.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

__all__ = [
    "load_digits",
    "load_image",
    "IMAGES",
    "resize",
    "batches",
    "train_test_split",
    "WALDO",
    "make_waldo",
    "waldo_positions",
    "waldo_lookalikes",
    "find_pattern",
    "pixel_permutation",
    "permute_pixels",
    "make_mnist1d",
    "mnist1d_templates",
    "MNIST1D_TEMPLATES",
]


# =============================================================================================
# Handwritten digits
# =============================================================================================


def _check_rng(rng, name: str = "rng") -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name}: expected a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def _resize_axis_weights(n_in: int, n_out: int, mode: str):
    """Source indices and weights that resample one axis from ``n_in`` to ``n_out`` samples."""
    # Pixel centres: output pixel i sits at input coordinate (i + 0.5) * n_in / n_out - 0.5.
    centres = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    if mode == "nearest":
        idx = np.clip(np.floor((np.arange(n_out) * n_in) / n_out).astype(np.int64), 0, n_in - 1)
        return idx, idx, np.zeros(n_out)
    centres = np.clip(centres, 0.0, n_in - 1)
    lo = np.floor(centres).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, centres - lo


def resize(images: np.ndarray, size: int, *, mode: str = "bilinear") -> np.ndarray:
    """Resize square images to ``size`` × ``size`` pixels.

    Parameters
    ----------
    images : ndarray, shape (..., H, W)
        Any leading axes (e.g. ``(N, C)``) are kept.
    size : int
        Output height and width.
    mode : {"bilinear", "nearest"}
        ``"bilinear"`` interpolates between the four nearest pixel centres, like
        ``torch.nn.functional.interpolate(..., mode="bilinear", align_corners=False)`` when
        enlarging; ``"nearest"`` copies the nearest pixel, like ``mode="nearest"``.

    Returns
    -------
    out : ndarray, shape (..., size, size)
        Same dtype as ``images`` (floating point) — values stay inside the input's range.
    """
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"images: expected shape (..., H, W), got shape {images.shape}")
    size = _check_positive_int(size, "size")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"mode: expected 'bilinear' or 'nearest', got {mode!r}")
    H, W = images.shape[-2:]
    r_lo, r_hi, r_w = _resize_axis_weights(H, size, mode)
    c_lo, c_hi, c_w = _resize_axis_weights(W, size, mode)
    dtype = images.dtype if np.issubdtype(images.dtype, np.floating) else np.float64
    x = images.astype(dtype, copy=False)
    rows = x[..., r_lo, :] * (1 - r_w)[:, None] + x[..., r_hi, :] * r_w[:, None]
    out = rows[..., c_lo] * (1 - c_w) + rows[..., c_hi] * c_w
    return out.astype(dtype, copy=False)


def load_digits(size: int = 8, *, dtype=np.float64, mode: str = "bilinear"):
    """scikit-learn's handwritten digits (1797 images of 0–9), as NCHW arrays.

    Parameters
    ----------
    size : int, default 8
        Height and width of the returned images. The originals are 8 × 8; a larger ``size``
        upsamples them with :func:`resize` (``mode`` chooses bilinear or nearest-neighbour),
        a smaller one downsamples.
    dtype : numpy dtype, default float64
        ``np.float64`` or ``np.float32``.
    mode : {"bilinear", "nearest"}
        Interpolation used when ``size != 8``.

    Returns
    -------
    x : ndarray, shape (1797, 1, size, size)
        Grey levels scaled to ``[0, 1]`` (the originals range over 0–16).
    y : ndarray of int64, shape (1797,)
        The digit shown, 0–9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    size = _check_positive_int(size, "size")
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: expected float32 or float64, got {dtype}")
    digits = _sk_load_digits()
    x = (digits.images / 16.0).reshape(-1, 1, 8, 8)
    if size != 8:
        x = resize(x, size, mode=mode)
    return np.clip(x, 0.0, 1.0).astype(dtype), digits.target.astype(np.int64)


# =============================================================================================
# Splitting and batching
# =============================================================================================


def _check_xy(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 1 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"x, y: expected the same number of samples along axis 0 and a 1-D y, "
                         f"got x of shape {x.shape} and y of shape {y.shape}")
    return x, y


def train_test_split(x, y, test_fraction: float = 0.2, *, rng: np.random.Generator):
    """Split a data set at random into a training and a test part.

    Parameters
    ----------
    x : ndarray, shape (N, ...)
    y : ndarray, shape (N,)
    test_fraction : float, default 0.2
        Fraction of the samples put in the test part (rounded to the nearest integer, at least
        one sample in each part). Must lie strictly between 0 and 1.
    rng : numpy.random.Generator
        Source of the random permutation; the same seed gives the same split.

    Returns
    -------
    x_train, x_test, y_train, y_test : ndarray
    """
    x, y = _check_xy(x, y)
    _check_rng(rng)
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction: expected a number strictly between 0 and 1, got {test_fraction!r}")
    N = len(x)
    if N < 2:
        raise ValueError(f"x: need at least 2 samples to split, got {N}")
    n_test = min(max(int(round(test_fraction * N)), 1), N - 1)
    order = rng.permutation(N)
    test, train = order[:n_test], order[n_test:]
    return x[train], x[test], y[train], y[test]


def batches(x, y, batch_size: int, *, shuffle: bool = True, rng: np.random.Generator | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Iterate over mini-batches ``(xb, yb)`` of a data set (one epoch).

    Parameters
    ----------
    x : ndarray, shape (N, ...)
    y : ndarray, shape (N,)
    batch_size : int
        Samples per batch; the last batch is smaller when ``batch_size`` does not divide ``N``
        (unless ``drop_last``).
    shuffle : bool, default True
        Visit the samples in a random order drawn from ``rng`` (required when shuffling).
    rng : numpy.random.Generator, optional
    drop_last : bool, default False
        Skip the final, incomplete batch.

    Yields
    ------
    xb : ndarray, shape (B, ...)
    yb : ndarray, shape (B,)
    """
    x, y = _check_xy(x, y)
    batch_size = _check_positive_int(batch_size, "batch_size")
    if shuffle:
        if rng is None:
            raise ValueError("rng: shuffle=True needs a numpy.random.Generator (or pass shuffle=False)")
        order = _check_rng(rng).permutation(len(x))
    else:
        order = np.arange(len(x))
    stop = len(x) - len(x) % batch_size if drop_last else len(x)
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


# =============================================================================================
# "Where's Waldo?": a small motif hidden among decoys
# =============================================================================================

#: The default 3 × 3 "Waldo" motif, a tiny walking figure (head; body and one arm; two legs).
#: No rotation or reflection of it is the motif again. Its rows hold 1, 2, 2 ink pixels and its
#: columns 2, 2, 1; four other binary 3 × 3 patches have exactly these counts (its look-alikes,
#: see :func:`waldo_lookalikes`), and they are the decoys.
WALDO = np.array([[0, 1, 0],
                  [1, 1, 0],
                  [1, 0, 1]], dtype=np.float64)

#: Largest motif (in pixels) whose look-alikes are enumerated.
_MAX_PATTERN_PIXELS = 16


def _check_pattern(pattern) -> np.ndarray:
    pattern = WALDO if pattern is None else np.asarray(pattern, dtype=np.float64)
    if pattern.ndim != 2 or not np.isin(pattern, (0.0, 1.0)).all() or pattern.sum() == 0:
        raise ValueError(f"pattern: expected a 2-D binary (0/1) array with at least one 1, got shape "
                         f"{pattern.shape}")
    if pattern.size > _MAX_PATTERN_PIXELS:
        raise ValueError(f"pattern: at most {_MAX_PATTERN_PIXELS} pixels are supported (its look-alikes "
                         f"are enumerated), got a {pattern.shape[0]}x{pattern.shape[1]} motif")
    return pattern


def waldo_lookalikes(pattern: np.ndarray | None = None) -> np.ndarray:
    """Every binary patch with the same ink count in each row and each column as ``pattern``.

    These are the decoys of :func:`make_waldo`: a look-alike differs from the motif only in how
    its ink pixels are arranged, not in how many there are in any row or column of the patch.

    Parameters
    ----------
    pattern : ndarray, shape (k, l), optional
        A binary motif of at most 16 pixels (default :data:`WALDO`).

    Returns
    -------
    lookalikes : ndarray, shape (m, k, l)
        All such patches except ``pattern`` itself, in a fixed order; ``m`` may be 0.
    """
    pattern = _check_pattern(pattern)
    k, l = pattern.shape
    codes = np.arange(2 ** (k * l), dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(k * l - 1, -1, -1)) & 1).astype(np.float64)
    patches = bits.reshape(-1, k, l)
    same = (np.all(patches.sum(axis=2) == pattern.sum(axis=1), axis=1)
            & np.all(patches.sum(axis=1) == pattern.sum(axis=0), axis=1)
            & ~np.all(patches == pattern, axis=(1, 2)))
    return patches[same]


def find_pattern(image: np.ndarray, pattern: np.ndarray, *, tol: float = 1e-9) -> list[tuple[int, int]]:
    """Top-left corners ``(row, col)`` where ``pattern`` occurs exactly in ``image``.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    pattern : ndarray, shape (k, l)
    tol : float
        Largest absolute pixel difference that still counts as a match.
    """
    image, pattern = np.asarray(image, dtype=np.float64), np.asarray(pattern, dtype=np.float64)
    if image.ndim != 2 or pattern.ndim != 2:
        raise ValueError(f"image, pattern: expected 2-D arrays, got shapes {image.shape} and {pattern.shape}")
    k, l = pattern.shape
    if k > image.shape[0] or l > image.shape[1]:
        return []
    windows = np.lib.stride_tricks.sliding_window_view(image, (k, l))
    match = np.all(np.abs(windows - pattern) <= tol, axis=(-2, -1))
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(match))]


def waldo_positions(size: int, pattern_shape: tuple[int, int], positions="all") -> np.ndarray:
    """Boolean mask of the top-left corners where the motif may be placed.

    Parameters
    ----------
    size : int
        Image height and width.
    pattern_shape : (k, l)
        Motif height and width.
    positions : str or ndarray of bool
        ``"all"``; ``"left"`` / ``"right"`` (the motif lies entirely in the left / right half of
        the columns); ``"top"`` / ``"bottom"`` (the same for rows); or a boolean mask of shape
        ``(size - k + 1, size - l + 1)``, returned after checking.

    Returns
    -------
    mask : ndarray of bool, shape (size - k + 1, size - l + 1)
    """
    k, l = pattern_shape
    shape = (size - k + 1, size - l + 1)
    if isinstance(positions, str):
        rows = np.arange(shape[0])[:, None]
        cols = np.arange(shape[1])[None, :]
        half = size // 2
        rules = {
            "all": np.ones(shape, dtype=bool),
            "left": np.broadcast_to(cols + l <= half, shape),
            "right": np.broadcast_to(cols >= size - half, shape),
            "top": np.broadcast_to(rows + k <= half, shape),
            "bottom": np.broadcast_to(rows >= size - half, shape),
        }
        if positions not in rules:
            raise ValueError(f"positions: expected one of {sorted(rules)} or a boolean mask, got {positions!r}")
        mask = np.array(rules[positions], dtype=bool)
    else:
        mask = np.asarray(positions)
        if mask.dtype != bool or mask.shape != shape:
            raise ValueError(f"positions: expected a boolean mask of shape {shape} "
                             f"(one entry per top-left corner), got dtype {mask.dtype} and shape {mask.shape}")
        mask = mask.copy()
    if not mask.any():
        raise ValueError(f"positions: no allowed position for a {k}x{l} motif in a {size}x{size} image")
    return mask


def _place_objects(size, shape, n_objects, first_mask, rng, max_tries=200):
    """Top-left corners of ``n_objects`` non-touching boxes; the first obeys ``first_mask``."""
    k, l = shape
    occupied = np.zeros((size, size), dtype=bool)   # boxes grown by a one-pixel margin
    corners = []
    allowed_first = np.argwhere(first_mask)
    for i in range(n_objects):
        for _ in range(max_tries):
            if i == 0:
                r, c = allowed_first[rng.integers(len(allowed_first))]
            else:
                r, c = rng.integers(size - k + 1), rng.integers(size - l + 1)
            if not occupied[r:r + k, c:c + l].any():
                break
        else:
            return None
        occupied[max(r - 1, 0):r + k + 1, max(c - 1, 0):c + l + 1] = True
        corners.append((int(r), int(c)))
    return corners


def make_waldo(n: int, *, size: int = 16, pattern: np.ndarray | None = None, positions="all",
               n_objects: int = 4, noise: float = 0.0, rng: np.random.Generator, dtype=np.float64):
    """The synthetic "Where's Waldo?" data set: is the motif somewhere in the picture?

    Each image is black with ``n_objects`` small objects on it. One object, the *lead*, is
    placed first, at a position drawn from ``positions``; the others go anywhere. In a positive
    the lead is ``pattern`` itself; in a negative it is a look-alike, and every other object is
    a look-alike in both classes. A look-alike (:func:`waldo_lookalikes`) has exactly as many ink
    pixels as the motif in each row and each column of its box, arranged differently.

    So the two classes differ only in the *arrangement* of the lead's pixels: the ink in every
    row and every column of the image has the same distribution in positives and negatives
    (before noise, a positive and a negative drawn with the same random choices have identical
    row and column ink sums), and so has the total ink. A model on such summaries stays at
    chance; finding the motif needs its shape. Objects never touch (a one-pixel gap separates
    them), and every image is checked: a positive contains the motif exactly once, a negative
    never.

    Parameters
    ----------
    n : int
        Number of images; exactly ``n // 2`` are positives, in random order.
    size : int, default 16
        Image height and width.
    pattern : ndarray, shape (k, l), optional
        A binary motif of at most 16 pixels with at least one look-alike (default
        :data:`WALDO`, a 3 × 3 walking figure with four look-alikes).
    positions : str or ndarray of bool, default "all"
        Where the lead object's top-left corner may be — the motif in a positive, a look-alike
        in a negative —, see :func:`waldo_positions`; e.g. train with ``"left"`` and test with
        ``"right"``. The other objects may appear anywhere.
    n_objects : int, default 4
        Objects per image, the lead included. At least 1.
    noise : float, default 0.0
        Standard deviation of Gaussian pixel noise added at the end (values are then clipped
        to ``[0, 1]``).
    rng : numpy.random.Generator
        The same seed gives the same data set.
    dtype : numpy dtype, default float64

    Returns
    -------
    x : ndarray, shape (n, 1, size, size)
    y : ndarray of int64, shape (n,)
        1 if the motif is present, else 0.
    where : ndarray of int64, shape (n, 2)
        Top-left corner ``(row, col)`` of the motif, ``(-1, -1)`` for negatives.
    """
    n = _check_positive_int(n, "n")
    size = _check_positive_int(size, "size")
    n_objects = _check_positive_int(n_objects, "n_objects")
    _check_rng(rng)
    pattern = _check_pattern(pattern)
    k, l = pattern.shape
    if k > size or l > size:
        raise ValueError(f"pattern: a {k}x{l} motif does not fit in a {size}x{size} image")
    lookalikes = waldo_lookalikes(pattern)
    if len(lookalikes) == 0:
        raise ValueError("pattern: no other binary patch has the same ink count in every row and column, "
                         "so there is no look-alike to use as a decoy; choose another motif")
    if (k + 1) * (l + 1) * n_objects > size * size // 2:
        raise ValueError(f"n_objects: {n_objects} objects of size {k}x{l} do not fit comfortably in a "
                         f"{size}x{size} image; use fewer objects or a larger size")
    if not (float(noise) >= 0.0):
        raise ValueError(f"noise: expected a standard deviation >= 0, got {noise!r}")
    mask = waldo_positions(size, (k, l), positions)

    labels = np.zeros(n, dtype=np.int64)
    labels[: n // 2] = 1
    labels = labels[rng.permutation(n)]
    x = np.zeros((n, 1, size, size), dtype=np.float64)
    where = np.full((n, 2), -1, dtype=np.int64)
    for i in range(n):
        while True:
            image = np.zeros((size, size))
            corners = _place_objects(size, (k, l), n_objects, mask, rng)
            if corners is None:
                continue
            for j, (r, c) in enumerate(corners):
                motif = lookalikes[rng.integers(len(lookalikes))]
                image[r:r + k, c:c + l] = pattern if (labels[i] and j == 0) else motif
            found = find_pattern(image, pattern)
            if labels[i] and found == [corners[0]]:
                where[i] = corners[0]
                break
            if not labels[i] and not found:
                break
        x[i, 0] = image
    if noise > 0:
        x = np.clip(x + noise * rng.standard_normal(x.shape), 0.0, 1.0)
    return x.astype(dtype), labels, where


# =============================================================================================
# Shuffling pixels
# =============================================================================================


def pixel_permutation(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random permutation of the ``H * W`` pixel positions of an image.

    Parameters
    ----------
    shape : (H, W)
    rng : numpy.random.Generator

    Returns
    -------
    perm : ndarray of int64, shape (H * W,)
        Pixel ``perm[p]`` of the original (in row-major order) becomes pixel ``p``; apply it with
        :func:`permute_pixels`.
    """
    _check_rng(rng)
    if len(shape) != 2:
        raise ValueError(f"shape: expected (H, W), got {shape!r}")
    H, W = (_check_positive_int(s, "shape") for s in shape)
    return rng.permutation(H * W).astype(np.int64)


def permute_pixels(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Shuffle the pixels of every image and channel with the same permutation.

    Parameters
    ----------
    x : ndarray, shape (..., H, W)
    perm : ndarray of int, shape (H * W,)
        A permutation of ``0 .. H*W - 1``, e.g. from :func:`pixel_permutation`.

    Returns
    -------
    out : ndarray, shape (..., H, W)
        ``out.reshape(..., H*W)[..., p] == x.reshape(..., H*W)[..., perm[p]]``.
    """
    x, perm = np.asarray(x), np.asarray(perm)
    if x.ndim < 2:
        raise ValueError(f"x: expected shape (..., H, W), got {x.shape}")
    H, W = x.shape[-2:]
    if perm.shape != (H * W,) or not np.array_equal(np.sort(perm), np.arange(H * W)):
        raise ValueError(f"perm: expected a permutation of 0..{H * W - 1} of shape ({H * W},), "
                         f"got shape {perm.shape}")
    flat = x.reshape(*x.shape[:-2], H * W)
    return flat[..., perm].reshape(x.shape)


# =============================================================================================
# Photographs and textures (scikit-image's sample images, shipped inside the package)
# =============================================================================================

#: The sample images of scikit-image that ship with the package (no download): name -> what it shows.
IMAGES = {
    "camera": "a cameraman on a field (grey, 512 x 512)",
    "astronaut": "the astronaut Eileen Collins (colour, 512 x 512)",
    "coffee": "a cup of coffee (colour, 400 x 600)",
    "coins": "Greek coins on a plain background (grey, 303 x 384)",
    "chelsea": "Chelsea the cat (colour, 300 x 451)",
    "rocket": "a rocket on its launch pad (colour, 427 x 640)",
    "moon": "the surface of the moon (grey, 512 x 512)",
    "text": "text photographed at an angle (grey, 172 x 448)",
    "brick": "a brick wall texture (grey, 512 x 512)",
    "grass": "a grass texture (grey, 512 x 512)",
    "gravel": "a gravel texture (grey, 512 x 512)",
    "checkerboard": "a black-and-white checkerboard (grey, 200 x 200)",
}


def load_image(name: str, *, grey: bool = True, size: int | None = None, dtype=np.float64) -> np.ndarray:
    """One of scikit-image's sample photographs or textures, as a float array in ``[0, 1]``.

    Parameters
    ----------
    name : str
        A key of :data:`IMAGES` (``"camera"``, ``"astronaut"``, ``"brick"``, ...).
    grey : bool
        True: one grey channel, shape (H, W) (colour images are converted with the ITU-R 601
        luma weights 0.299 R + 0.587 G + 0.114 B). False: shape (3, H, W) (channels first, as
        the book's NCHW layout; a grey image is repeated in the three channels).
    size : int, optional
        Crop the largest centred square and resize it to ``size`` x ``size`` (bilinear).
    dtype : numpy dtype

    Returns
    -------
    image : ndarray, shape (H, W) or (3, H, W)
    """
    if name not in IMAGES:
        raise ValueError(f"name: expected one of {sorted(IMAGES)}, got {name!r}")
    from skimage import data as skdata   # imported here: only the chapters with photos pay for it

    image = np.asarray(getattr(skdata, name)(), dtype=np.float64) / 255.0
    image = image.transpose(2, 0, 1) if image.ndim == 3 else image[None]    # (C, H, W)
    if grey and image.shape[0] == 3:
        image = np.tensordot(np.array([0.299, 0.587, 0.114]), image, axes=1)[None]
    elif not grey and image.shape[0] == 1:
        image = np.repeat(image, 3, axis=0)
    if size is not None:
        size = _check_positive_int(size, "size")
        H, W = image.shape[1:]
        side = min(H, W)
        top, left = (H - side) // 2, (W - side) // 2
        image = resize(image[:, top:top + side, left:left + side], size)
    image = image.astype(dtype)
    return image[0] if grey else image


# =============================================================================================
# MNIST-1D (Greydanus, 2020): ten 1-D "digits", generated offline
# =============================================================================================

#: The ten hand-drawn templates of MNIST-1D (12 points each), as published with the data set.
MNIST1D_TEMPLATES = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
])


def mnist1d_templates() -> np.ndarray:
    """The ten templates, standardised as in MNIST-1D: zero mean, unit spread, starting at 0, / 6.

    Returns
    -------
    templates : ndarray, shape (10, 12)
    """
    x = MNIST1D_TEMPLATES - MNIST1D_TEMPLATES.mean(axis=1, keepdims=True)
    x = x / x.std(axis=1, keepdims=True)
    return (x - x[:, :1]) / 6.0


def _interpolate(x: np.ndarray, n: int) -> np.ndarray:
    """Linear resampling of a 1-D signal to ``n`` points spanning the same interval."""
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def _gaussian_smooth(x: np.ndarray, sigma: float = 2.0, truncate: float = 4.0) -> np.ndarray:
    """Gaussian filter of a 1-D signal with mirrored ends (what ``scipy.ndimage.gaussian_filter``
    does with its default mode 'reflect' and truncation at 4 sigma)."""
    radius = int(truncate * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(x, radius, mode="symmetric")
    return np.convolve(padded, taps / taps.sum(), mode="valid")


def make_mnist1d(n: int = 5000, *, rng: np.random.Generator, length: int = 40,
                 template_len: int = 12, padding: tuple[int, int] = (36, 60),
                 scale_coeff: float = 0.4, max_translation: int = 48,
                 corr_noise_scale: float = 0.25, iid_noise_scale: float = 0.02,
                 shear_scale: float = 0.75, dtype=np.float64):
    """MNIST-1D: ``n`` noisy 1-D signals of ``length`` points, each a transformed digit template.

    Follows the published recipe (Greydanus, 2020), with its default settings: each template
    gets a random number of zeros appended (``padding``), is resampled to
    ``template_len + padding[1]`` points, scaled by a random factor in
    ``1 +- scale_coeff / 2``, shifted circularly by up to ``max_translation - 1`` points; the
    zeros are replaced by smooth (correlated) noise, white noise is added to every point, a
    random linear trend (shear) is subtracted, and the signal is resampled to ``length``
    points. Finally the whole set is standardised (mean 0, standard deviation 1). Generated
    with NumPy from ``rng``: the same seed gives the same data on every machine.

    Parameters
    ----------
    n : int, default 5000
        Number of signals (``n // 10`` per class; ``n`` must be a multiple of 10).
    rng : numpy.random.Generator
    length : int, default 40
    template_len, padding, scale_coeff, max_translation, corr_noise_scale, iid_noise_scale,
    shear_scale : the recipe's settings (defaults: the published ones)
    dtype : numpy dtype, default float64

    Returns
    -------
    x : ndarray, shape (n, length)
    y : ndarray of int64, shape (n,), classes 0-9, shuffled
    """
    n = _check_positive_int(n, "n")
    if n % 10:
        raise ValueError(f"n: expected a multiple of 10 (the same number per class), got {n}")
    length = _check_positive_int(length, "length")
    rng = _check_rng(rng)
    low, high = padding
    if not 0 <= low <= high:
        raise ValueError(f"padding: expected (low, high) with 0 <= low <= high, got {padding}")
    templates = mnist1d_templates()
    xs, ys = [], []
    for label in range(10):
        for _ in range(n // 10):
            x = templates[label] + 1e-8                         # non-zero: marks the digit
            x = np.concatenate([x, np.zeros(low + int(rng.random() * (high - low + 1)))])
            x = _interpolate(x, template_len + high)            # every digit to one length
            x = x * (1 + scale_coeff * (rng.random() - 0.5))   # scale
            k = int(rng.integers(max_translation))              # circular shift
            x = np.concatenate([x[len(x) - k:], x[:len(x) - k]])
            mask = x != 0
            smooth = _gaussian_smooth(corr_noise_scale * rng.standard_normal(len(x)))
            x = np.where(mask, x, smooth)                       # noise where there is no digit
            x = x + iid_noise_scale * rng.standard_normal(len(x))
            coeff = shear_scale * (rng.random() - 0.5)
            x = x - coeff * np.linspace(-0.5, 0.5, len(x))      # shear: a linear trend
            xs.append(_interpolate(x, length))
            ys.append(label)
    order = rng.permutation(n)
    x, y = np.stack(xs)[order], np.array(ys, dtype=np.int64)[order]
    x = (x - x.mean()) / x.std()
    return x.astype(dtype), y
