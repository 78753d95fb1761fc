"""Turn whatever picture a person brings into the RGB square a CIFAR net expects, and pixels back into pictures."""
from __future__ import annotations

import io
import os
import stat
import warnings

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps
from torchvision.transforms.functional import pil_to_tensor, to_pil_image

from .words import Say

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel phone photo passes; a bigger header is refused before a pixel is decoded
# A picture decoded whole (PNG, GIF, WebP, TIFF, BMP, a progressive JPEG) costs about 11 ms of one core a megapixel
# here: 50 MP would be half a second a picture. 16 MP still passes a 5K screenshot; a phone's baseline JPEG decodes
# at 1/8 scale by draft and keeps MAX_PIXELS, its cost then follows its bytes (entropy decoding, ~11 ms a MB).
MAX_WHOLE_DECODE_PIXELS = 16_000_000
JPEG_DRAFT_SIZE = (256, 256)  # big photos decode at 1/2..1/8 scale, never below this: far less memory and time
FORMATS = "PNG, JPEG, GIF, WebP, BMP, TIFF"
# PIL's plugins for what cameras, phones and picture data sets write (JPEG's also opens a phone's multi-picture
# MPO; PPM's reads .pgm). Formats that hand the file to an outside program (EPS runs Ghostscript) are never tried.
PIL_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "PPM")
UNREADABLE = Say("images.unreadable")  # the same words whether it is missing, forbidden or broken: no hints
BAND_PIXELS = 2_000_000  # big pictures are shrunk a band at a time: no second full-size copy is ever made
SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
_EXIF_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                   4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
                   7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


Image.init()  # registers every plugin, so that Image.open(formats=PIL_FORMATS) can name WebP and TIFF


class ImageError(ValueError):
    """A file that cannot be used as a picture; the message says why in plain words."""


def _file_too_big(size: int, max_bytes: int) -> ImageError:
    return ImageError(Say("images.too_big_file", size=f"{size / 2**20:.1f}", most=f"{max_bytes / 2**20:.0f}"))


def read_upload(source: str | os.PathLike | bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> bytes:
    """The file's bytes, refusing empty and oversized uploads before anything is decoded."""
    if isinstance(source, (str, os.PathLike)):
        source = _read_regular_file(source, max_bytes)
    if not isinstance(source, (bytes, bytearray, memoryview)):
        raise ImageError(Say("images.not_a_file", kind=type(source).__name__))
    if len(source) == 0:
        raise ImageError(Say("images.empty"))
    if len(source) > max_bytes:
        raise _file_too_big(len(source), max_bytes)
    return bytes(source)


def _read_regular_file(path: str | os.PathLike, max_bytes: int) -> bytes:
    """A regular file's bytes: a FIFO, a device or a folder is refused at once, never waited on or read forever."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        raise ImageError(UNREADABLE) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(UNREADABLE)
        if info.st_size > max_bytes:
            raise _file_too_big(info.st_size, max_bytes)
        return os.read(fd, max_bytes + 1)
    except OSError:
        raise ImageError(UNREADABLE) from None
    finally:
        os.close(fd)


def _identify(data: bytes) -> Image.Image:
    """Read only the header, and refuse a picture too big to decode before any of it is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # size warnings (MAX_PIXELS is checked below) and corrupt EXIF
            image = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
            _check_pixels(*image.size, MAX_PIXELS if _drafts(image) else MAX_WHOLE_DECODE_PIXELS)
            image.info["decoding_cost"] = len(data) if _drafts(image) else image.width * image.height
            if _drafts(image):
                image.draft("RGB", JPEG_DRAFT_SIZE)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(Say("images.bomb", over=f"{2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f}",
                             most=f"{MAX_PIXELS / 1e6:.0f}")) from None
    except Exception:  # PIL's format plugins raise many kinds of errors on malformed headers
        svg = b"<svg" in data[:2048].lower()
        raise ImageError(Say("images.format_svg" if svg else "images.format", formats=FORMATS)) from None
    return image


def read_header(source, max_bytes: int = MAX_UPLOAD_BYTES) -> Image.Image:
    """A picture file read and its header checked, no pixel decoded yet: its size (a JPEG's at its draft scale) is
    what decoding it will cost, so a caller can refuse before paying. A picture in memory is opened as it is."""
    if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        return _identify(read_upload(source, max_bytes))
    return open_image(source, max_bytes)


def open_image(source, max_bytes: int = MAX_UPLOAD_BYTES) -> Image.Image:
    """Open a path, bytes, array or PIL image, refusing non-images, truncated files and decompression bombs."""
    if source is None:
        raise ImageError(Say("images.none"))
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        try:
            image = Image.fromarray(source)
        except (TypeError, ValueError) as error:
            raise ImageError(Say("images.array", reason=error)) from None
    else:
        image = _identify(read_upload(source, max_bytes))
    width, height = image.size
    _check_pixels(width, height)
    if width == 0 or height == 0:
        raise ImageError(Say("images.nothing", width=width, height=height))
    try:
        image.load()
    except Exception:  # truncated data, broken compression streams, plugin bugs: all one answer
        raise ImageError(Say("images.damaged")) from None
    return image


def _drafts(image: Image.Image) -> bool:
    """A baseline JPEG decodes at a fraction of its size; a progressive one buffers it all, draft or not."""
    return image.format in ("JPEG", "MPO") and not image.info.get("progressive")


def decoding_cost(image: Image.Image) -> int:
    """What decoding a picture read_header opened will cost, in pixels decoded whole or, for a baseline JPEG, its
    bytes (the two cost about the same a million here): a caller's budget is counted in it."""
    return image.info.get("decoding_cost", image.width * image.height)


def _check_pixels(width: int, height: int, limit: int = MAX_PIXELS) -> None:
    if width * height > limit:
        raise ImageError(Say("images.pixels" if limit == MAX_PIXELS else "images.pixels_whole", width=width,
                             height=height, megapixels=f"{width * height / 1e6:.0f}", most=f"{limit / 1e6:.0f}"))


def exif_transpose_method(image: Image.Image) -> Image.Transpose | None:
    """How to turn the stored pixels upright, per the EXIF orientation a camera wrote; broken EXIF counts as none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL warns about corrupt EXIF, which photos often carry
            return _EXIF_TRANSPOSE.get(image.getexif().get(ExifTags.Base.Orientation))
    except Exception:  # EXIF parsing is best effort: the picture itself is fine
        return None


def _white_level(image: Image.Image) -> float:
    """The value that becomes white when a 16-bit, 32-bit or float grey picture is shown in 8 bits."""
    if image.mode in SIXTEEN_BIT:
        return 65535.0
    if image.mode not in ("I", "F"):
        return 255.0
    high = float(image.getextrema()[1])
    if image.mode == "F" and high <= 1.0:
        return 1.0
    return 255.0 if high <= 255 else 65535.0 if high <= 65535 else high


def _eight_bit(image: Image.Image, white: float) -> Image.Image:
    """High-depth greys scaled so `white` becomes 255; 1-bit to grey; palettes expanded, keeping transparency."""
    if image.mode in SIXTEEN_BIT or image.mode in ("I", "F"):
        array = np.asarray(image, dtype=np.float32) * np.float32(255 / white)
        return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "L")
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "P":
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode in ("RGBa", "PA"):
        return image.convert("RGBA")
    return image


def _shrink(image: Image.Image, short_side: int, white: float) -> Image.Image:
    """8-bit, box-averaged by a whole factor while the short side stays at least `short_side`, band by band."""
    factor = min(image.size) // short_side
    if factor < 2:
        return _eight_bit(image, white)
    width, height = (image.size[0] // factor) * factor, (image.size[1] // factor) * factor
    band = factor * max(1, BAND_PIXELS // (width * factor))
    pieces = [_eight_bit(image.crop((0, top, width, min(top + band, height))), white).reduce(factor)
              for top in range(0, height, band)]
    small = Image.new(pieces[0].mode, (width // factor, height // factor))
    for index, piece in enumerate(pieces):
        small.paste(piece, (0, index * band // factor))
    return small


def _onto_white(image: Image.Image) -> Image.Image:
    """RGB, with transparent parts shown on white (as a browser shows them), not on black."""
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGB"), mask=image.getchannel("A"))
        return background
    try:
        return image.convert("RGB")
    except ValueError as error:
        raise ImageError(Say("images.mode", mode=image.mode, reason=error)) from None


def to_rgb(image: Image.Image, short_side: int | None = None) -> Image.Image:
    """Upright RGB: EXIF rotation applied, transparency onto white, 16-bit and float scaled to 8 bits.

    With `short_side`, a big picture is first box-averaged down toward it, which keeps memory small.
    """
    method = exif_transpose_method(image)
    white = _white_level(image)
    image = _shrink(image, short_side, white) if short_side else _eight_bit(image, white)
    if method is not None:
        image = image.transpose(method)
    return _onto_white(image)


def to_square_rgb(image: Image.Image, size: int = 32) -> Image.Image:
    """Scale the short side to `size` and centre-crop: the picture the net actually sees."""
    image = to_rgb(image, short_side=4 * size)
    if image.size == (size, size):
        return image
    return ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)


def square_pixels(source, size: int = 32) -> torch.Tensor:
    """Any picture open_image accepts as the uint8 (3, size, size) tensor the net is trained, tested and asked on."""
    return pil_to_tensor(to_square_rgb(open_image(source), size)).contiguous()


def as_picture(pixels: torch.Tensor) -> Image.Image:
    """A uint8 (3, h, w) tensor as the RGB picture it holds, to show or to save."""
    return to_pil_image(pixels.cpu(), mode="RGB")


def png_bytes(picture: Image.Image | torch.Tensor) -> bytes:
    """A picture, or a uint8 (3, h, w) tensor, as the bytes of a PNG file: for a zip or a data URL."""
    buffer = io.BytesIO()
    (as_picture(picture) if isinstance(picture, torch.Tensor) else picture).save(buffer, format="PNG")
    return buffer.getvalue()
