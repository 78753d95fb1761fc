"""Pictures people bring: every awkward file becomes the right 32x32 RGB square or a clear ImageError."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from bad_inputs import ANSWER, BLUE, CORPUS, RED, WHITE, encoded, photo
from cifar_demo.images import (MAX_UPLOAD_BYTES, UNREADABLE, ImageError, as_picture, open_image, png_bytes,
                               square_pixels, to_square_rgb)

LOOKS_LIKE_THE_PHOTO = ["cmyk.jpg", "palette.png", "photo.webp", "photo.tiff", "photo.bmp", "jpeg-named.png",
                        "broken-exif.jpg"]


def seen(source) -> np.ndarray:
    """The square the net would see, as ints, after checking its size and mode."""
    picture = to_square_rgb(open_image(source), 32)
    assert picture.mode == "RGB" and picture.size == (32, 32)
    return np.asarray(picture).astype(int)


def close_to(pixels: np.ndarray, colour, tolerance: float = 8) -> bool:
    return float(np.abs(pixels.reshape(-1, 3) - np.array(colour)).mean()) <= tolerance


@pytest.mark.parametrize("name", list(CORPUS))
@pytest.mark.parametrize("as_bytes", [False, True], ids=["path", "bytes"])
def test_every_awkward_file_gives_a_square_or_a_clear_refusal(corpus, name, as_bytes):
    path, expect = corpus[name]
    source = path.read_bytes() if as_bytes else path
    if expect == ANSWER:
        seen(source)
    else:
        with pytest.raises(ImageError) as refused:
            seen(source)
        message = str(refused.value)
        assert expect in message.lower() and message[0].isupper() and message.endswith(".")


@pytest.mark.parametrize("name", LOOKS_LIKE_THE_PHOTO)
def test_the_same_photo_looks_the_same_in_every_format(corpus, name):
    reference = seen(photo())
    assert np.abs(seen(corpus[name][0]) - reference).mean() < 10


def test_grayscale_photo_stays_the_grey_version_of_the_photo(corpus):
    reference = seen(photo().convert("L"))
    pixels = seen(corpus["grayscale.jpg"][0])
    assert np.abs(pixels - reference).mean() < 6 and (pixels[..., 0] == pixels[..., 2]).all()


@pytest.mark.parametrize("name, centre", [("transparent-rgba.png", RED), ("palette-transparent.png", RED),
                                          ("palette-transparent.gif", RED), ("transparent-la.png", (76, 76, 76)),
                                          ("big-4000x4000-transparent.png", WHITE)])
def test_transparent_background_turns_white_not_black(corpus, name, centre):
    pixels = seen(corpus[name][0])
    for corner in (pixels[:4, :4], pixels[:4, -4:], pixels[-4:, :4], pixels[-4:, -4:]):
        assert close_to(corner, WHITE, 1)
    assert close_to(pixels[14:18, 14:18], centre, 2)


@pytest.mark.parametrize("name, left, right", [("exif-orientation-6.jpg", BLUE, RED),
                                               ("exif-orientation-8-large.jpg", RED, BLUE)])
def test_exif_orientation_turns_the_photo_upright(corpus, name, left, right):
    """Stored red on top: orientation 6 (turn clockwise) puts red on the right, 8 on the left."""
    pixels = seen(corpus[name][0])
    assert close_to(pixels[:, :12], left) and close_to(pixels[:, -12:], right)


def test_large_exif_photo_is_decoded_at_reduced_size_and_still_turned(corpus):
    opened = open_image(corpus["exif-orientation-8-large.jpg"][0])
    assert opened.size[0] < 1600 and min(opened.size) >= 256


@pytest.mark.parametrize("name, colour", [("gray16.png", (156, 156, 156)), ("rgb48.png", RED),
                                          ("float.tiff", (127, 127, 127)), ("one-pixel.png", RED),
                                          ("animated.gif", RED), ("animated.webp", RED),
                                          ("big-7000x7000.jpg", (128, 128, 128))])
def test_depths_sizes_and_animations_keep_their_colour(corpus, name, colour):
    """16-bit and float scaled to 8 bits (not clipped to white), one pixel filled, first frame of an animation."""
    assert close_to(seen(corpus[name][0]), colour, 2)


def test_a_big_jpeg_is_decoded_at_an_eighth_of_its_size(corpus):
    assert open_image(corpus["big-7000x7000.jpg"][0]).size == (875, 875)


def test_upload_limit_gives_a_clear_message_before_reading(tmp_path):
    too_big = tmp_path / "too-big.jpg"
    with open(too_big, "wb") as f:
        f.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: costs no disk, and must not be read at all
    for source in (too_big, b"\xff" * (MAX_UPLOAD_BYTES + 1)):
        with pytest.raises(ImageError, match=r"The file is 20\.0 MB; pictures up to 20 MB are accepted"):
            open_image(source)


def test_a_picture_just_under_the_upload_limit_is_accepted():
    png = encoded(Image.new("RGB", (8, 8), RED), "PNG")
    padded = png + bytes(MAX_UPLOAD_BYTES - len(png))  # PNG readers ignore what follows the end chunk
    assert close_to(seen(padded), RED, 0)


@pytest.mark.parametrize("source", [None, 42, "no-such-picture.png", "."], ids=["none", "int", "missing", "folder"])
def test_things_that_are_not_pictures_at_all(source):
    with pytest.raises(ImageError):
        open_image(source)


def test_fifos_devices_and_folders_are_refused_at_once_never_waited_on(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)  # nobody writes to it: reading it would wait for ever
    for source in (fifo, "/dev/zero", "/dev/stdin", tmp_path, tmp_path / "missing.png"):
        with pytest.raises(ImageError) as refusal:
            open_image(source)
        assert str(refusal.value) == str(UNREADABLE)  # the same words for each: nothing about what is on the server


def test_a_postscript_file_never_reaches_ghostscript(tmp_path):
    from PIL import EpsImagePlugin

    eps = encoded(Image.new("RGB", (8, 8), RED), "EPS") if EpsImagePlugin.has_ghostscript() else \
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n"
    with pytest.raises(ImageError, match="not a picture format"):
        open_image(eps)


MODES = [("1", 1, WHITE), ("L", 100, (100,) * 3), ("LA", (100, 255), (100,) * 3), ("RGB", (10, 200, 30), (10, 200, 30)),
         ("RGBA", (10, 200, 30, 255), (10, 200, 30)), ("RGBa", (10, 200, 30, 255), (10, 200, 30)),
         ("RGBA", (10, 200, 30, 0), WHITE), ("I", 100, (100,) * 3), ("I", 100 * 257, (100,) * 3),
         ("F", 0.4, (102,) * 3), ("F", 100.0, (100,) * 3), ("I;16", 100 * 257, (100,) * 3),
         ("I;16B", 100 * 257, (100,) * 3), ("CMYK", (0, 0, 0, 0), WHITE), ("YCbCr", (128, 128, 128), (128,) * 3),
         ("HSV", (0, 0, 200), (200,) * 3)]


@pytest.mark.parametrize("size", [(40, 30), (900, 600)], ids=["small", "shrunk-in-bands"])
@pytest.mark.parametrize("mode, value, colour", MODES, ids=[f"{m}-{v}" for m, v, _ in MODES])
def test_every_colour_mode_in_memory_becomes_the_right_rgb(mode, value, colour, size):
    assert close_to(seen(Image.new(mode, size, value)), colour, 1)


@pytest.mark.parametrize("mode", ["La", "LAB", "PA", "P"])
def test_odd_modes_answer_or_refuse_clearly(mode):
    try:
        seen(Image.new(mode, (64, 48)))
    except ImageError as refused:
        assert mode in str(refused)


def gradient(width: int, height: int) -> Image.Image:
    """Red grows left to right, green top to bottom: a band pasted in the wrong place would show."""
    xx, yy = np.meshgrid(np.linspace(0, 255, width), np.linspace(0, 255, height))
    return Image.fromarray(np.dstack([xx, yy, np.full_like(xx, 90)]).astype(np.uint8))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_big_pictures_shrunk_band_by_band_match_a_direct_resize(mode):
    picture = gradient(2300, 1700).convert(mode)
    direct = ImageOps.fit(picture.convert("RGB"), (32, 32), method=Image.Resampling.LANCZOS)
    difference = np.abs(seen(picture) - np.asarray(direct).astype(int))
    assert difference.mean() < 2 and difference.max() < 12


def test_numpy_arrays_are_pictures_too():
    picture = photo((100, 70))
    assert (seen(np.asarray(picture)) == seen(picture)).all()
    with pytest.raises(ImageError):
        open_image(np.zeros((4, 4, 7), dtype=np.complex64))


def test_the_callers_picture_is_read_not_changed(corpus):
    """A PIL image passed in (rotated by EXIF, with transparency) stays as it was: the app may show it again."""
    for name in ("exif-orientation-6.jpg", "palette-transparent.png"):
        picture = Image.open(corpus[name][0])
        picture.load()
        before = (picture.size, picture.mode, picture.tobytes())
        seen(picture)
        assert (picture.size, picture.mode, picture.tobytes()) == before


def test_pixels_and_pictures_convert_both_ways_without_a_change(corpus):
    path, _ = corpus["photo.webp"]
    pixels = square_pixels(path)
    assert pixels.dtype == torch.uint8 and pixels.shape == (3, 32, 32) and pixels.is_contiguous()
    assert (pixels.permute(1, 2, 0).numpy() == seen(path)).all(), "the square the net sees, channels first"
    picture = as_picture(pixels)
    assert picture.mode == "RGB" and (np.asarray(picture) == seen(path)).all()
    assert Image.open(io.BytesIO(png_bytes(pixels))).format == "PNG"
    assert (square_pixels(png_bytes(pixels)) == pixels).all() and (square_pixels(png_bytes(picture)) == pixels).all()
    wide = torch.arange(2 * 5 * 3, dtype=torch.uint8).reshape(3, 2, 5)
    assert as_picture(wide).size == (5, 2) and as_picture(wide).getpixel((4, 1)) == (9, 19, 29)
    with pytest.raises(ImageError):
        square_pixels(b"not a picture")
