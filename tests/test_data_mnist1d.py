"""Specification of cnnbook.data.make_mnist1d: the MNIST-1D recipe, generated offline."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from sklearn.linear_model import LogisticRegression

from cnnbook import data


def test_templates_are_the_published_ones_standardised():
    t = data.mnist1d_templates()
    assert t.shape == (10, 12)
    assert np.allclose(t[:, 0], 0)                                  # every digit starts at 0
    raw = data.MNIST1D_TEMPLATES
    z = (raw - raw.mean(1, keepdims=True)) / raw.std(1, keepdims=True)
    assert np.allclose(t * 6, z - z[:, :1])
    assert len({tuple(row) for row in raw}) == 10                     # ten different digits


def test_make_mnist1d_shapes_balance_dtype_and_standardisation():
    x, y = data.make_mnist1d(200, rng=np.random.default_rng(0))
    assert x.shape == (200, 40) and x.dtype == np.float64
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [20] * 10
    assert abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12
    assert not np.all(np.diff(y) >= 0)                                  # shuffled
    x32, _ = data.make_mnist1d(50, rng=np.random.default_rng(0), length=60, dtype=np.float32)
    assert x32.shape == (50, 60) and x32.dtype == np.float32


def test_make_mnist1d_is_reproducible_and_seed_dependent():
    a, ya = data.make_mnist1d(100, rng=np.random.default_rng(3))
    b, yb = data.make_mnist1d(100, rng=np.random.default_rng(3))
    c, _ = data.make_mnist1d(100, rng=np.random.default_rng(4))
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert not np.allclose(a, c)


def test_without_transformations_each_signal_is_its_template_resampled():
    # no padding, scale, shift, noise or shear: the recipe returns the template on 40 points
    x, y = data.make_mnist1d(10, rng=np.random.default_rng(0), padding=(0, 0), scale_coeff=0,
                             max_translation=1, corr_noise_scale=0, iid_noise_scale=0,
                             shear_scale=0)
    t = data.mnist1d_templates() + 1e-8
    expected = np.stack([np.interp(np.linspace(0, 1, 40), np.linspace(0, 1, 12), t[k])
                         for k in y])
    expected = (expected - expected.mean()) / expected.std()
    np.testing.assert_allclose(x, expected, atol=1e-12)


def test_the_noise_is_scipys_gaussian_filter():
    z = np.random.default_rng(1).standard_normal(72)
    np.testing.assert_allclose(data._gaussian_smooth(z, 2.0), gaussian_filter(z, 2), atol=1e-12)


def test_a_linear_model_on_the_raw_signal_is_far_from_solving_it():
    # the published baseline: logistic regression reaches about a third of the test signals
    x, y = data.make_mnist1d(2000, rng=np.random.default_rng(0))
    model = LogisticRegression(max_iter=1000).fit(x[:1600], y[:1600])
    acc = model.score(x[1600:], y[1600:])
    assert 0.15 < acc < 0.45, acc


def test_make_mnist1d_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n: expected a multiple of 10"):
        data.make_mnist1d(15, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="padding"):
        data.make_mnist1d(10, rng=np.random.default_rng(0), padding=(5, 2))
    with pytest.raises((TypeError, ValueError), match="rng"):
        data.make_mnist1d(10, rng=0)
    with pytest.raises(ValueError, match="length"):
        data.make_mnist1d(10, rng=np.random.default_rng(0), length=0)
