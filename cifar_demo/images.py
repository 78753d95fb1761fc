"""Turn whatever picture a person brings into the RGB square a CIFAR net expects."""
from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 64_000_000  # ~ an 8000x8000 photo; larger ones are refused before decoding


class ImageError(ValueError):
    """A file that cannot be used as a picture; the message says why in plain words."""


def open_image(source, max_bytes: int = MAX_UPLOAD_BYTES) -> Image.Image:
    """Open a path, bytes or PIL image, refusing non-images, truncated files and decompression bombs."""
    if isinstance(source, Image.Image):
        image = source
    else:
        if isinstance(source, (str, os.PathLike)):
            size = os.path.getsize(source)
            if size > max_bytes:
                raise ImageError(f"The file is {size / 2**20:.0f} MB; pictures up to {max_bytes // 2**20} MB are accepted.")
            with open(source, "rb") as f:
                source = f.read()
        if len(source) == 0:
            raise ImageError("The file is empty (0 bytes).")
        if len(source) > max_bytes:
            raise ImageError(f"The file is {len(source) / 2**20:.0f} MB; pictures up to {max_bytes // 2**20} MB are accepted.")
        try:
            image = Image.open(io.BytesIO(source))
        except UnidentifiedImageError:
            hint = " SVG is a drawing format: export it as PNG first." if b"<svg" in source[:1024] else ""
            raise ImageError(f"This file is not a picture format that can be read (PNG, JPEG, GIF, WebP, BMP, TIFF).{hint}") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(f"The picture is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
                         f"up to {MAX_PIXELS / 1e6:.0f} megapixels are accepted.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if image.format == "JPEG":
                image.draft("RGB", (256, 256))  # decode big photos at 1/2..1/8 scale: far less memory and time
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise ImageError(f"The picture could not be decoded ({error}); the file may be truncated or damaged.") from None
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright RGB: EXIF rotation applied, transparency onto white, 16-bit and float scaled to 8 bits."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I") and array.max() > 255 else max(float(array.max()), 1.0)
        top = 255.0 if top <= 255 else top
        image = Image.fromarray(np.clip(array / top * 255, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def to_square_rgb(image: Image.Image, size: int = 32) -> Image.Image:
    """Scale the short side to `size` and centre-crop: the picture the net actually sees."""
    image = to_rgb(image)
    if image.size == (size, size):
        return image
    return ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS, reducing_gap=3.0)
