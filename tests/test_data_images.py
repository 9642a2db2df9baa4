"""cnnbook.data.load_image: scikit-image's bundled photographs, offline, in the book's layout."""
import numpy as np
import pytest

from cnnbook import data


@pytest.mark.parametrize("name", sorted(data.IMAGES))
def test_every_listed_image_loads_offline_as_grey_values_in_0_1(name):
    image = data.load_image(name)
    assert image.ndim == 2 and image.dtype == np.float64
    assert 0 <= image.min() < image.max() <= 1


def test_colour_images_come_channels_first_and_grey_is_the_luma():
    rgb = data.load_image("astronaut", grey=False)
    grey = data.load_image("astronaut")
    assert rgb.shape == (3, 512, 512)
    np.testing.assert_allclose(grey, 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2], atol=1e-12)


def test_a_grey_image_asked_in_colour_repeats_its_channel():
    rgb = data.load_image("camera", grey=False)
    assert rgb.shape == (3, 512, 512) and np.array_equal(rgb[0], rgb[2])


def test_size_crops_the_centred_square_and_resizes_it():
    image = data.load_image("coffee", size=64, dtype=np.float32)      # 400 x 600 -> 400 x 400 -> 64
    assert image.shape == (64, 64) and image.dtype == np.float32
    full = data.load_image("coffee")
    np.testing.assert_allclose(data.load_image("coffee", size=400), full[:, 100:500], atol=1e-12)


def test_unknown_names_and_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="name: expected one of"):
        data.load_image("lena")
    with pytest.raises(ValueError, match="size"):
        data.load_image("camera", size=0)
