"""Awkward picture files, made on the spot: the corpus that inference and the app's /classify must survive.

`build_corpus(folder)` writes every file of CORPUS and returns `(name, path, expect)` triples, where
`expect` is ANSWER (a normal top-k answer) or a lowercase fragment the refusal message must contain.
Test modules parametrize over `CORPUS` names without building anything at collection time.
"""
from __future__ import annotations

import io
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from PIL import Image

ANSWER = "answer"
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
ORANGE, TEAL = (230, 120, 30), (20, 140, 160)
EXIF_ORIENTATION = 0x0112


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, colour_type: int, depth: int, rows: Iterable[bytes], extra: bytes = b"") -> bytes:
    """A PNG written by hand, for what PIL will not write: 48-bit colour, giant sizes, short pixel data."""
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(b"\0" + row) for row in rows) + packer.flush()  # filter 0 on every row
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def flat_png(width: int, height: int, palette_colour: tuple[int, int, int] | None = None,
             transparent: bool = False, rows: int | None = None) -> bytes:
    """One flat colour at 1 bit per pixel, row by row, so a 12000x12000 file costs almost nothing to make.

    `transparent` makes the (palette) colour fully transparent; `rows` below `height` leaves the pixel
    data short: a header promising far more than the file holds.
    """
    extra = _chunk(b"PLTE", bytes(palette_colour)) if palette_colour else b""
    extra += _chunk(b"tRNS", b"\0") if transparent else b""
    row = bytes((width + 7) // 8)
    count = height if rows is None else rows
    return _png(width, height, 3 if palette_colour else 0, 1, (row for _ in range(count)), extra)


def png48(pixels: np.ndarray) -> bytes:
    """(H, W, 3) uint16 as a 16-bit-per-channel RGB PNG."""
    height, width, _ = pixels.shape
    return _png(width, height, 2, 16, (pixels[y].astype(">u2").tobytes() for y in range(height)))


def photo(size: tuple[int, int] = (64, 48), seed: int = 0) -> Image.Image:
    """Orange left half, teal right half, some noise: every format of it must look the same at 32x32."""
    width, height = size
    pixels = np.empty((height, width, 3), dtype=np.int16)
    pixels[:, : width // 2] = ORANGE
    pixels[:, width // 2:] = TEAL
    pixels += np.random.default_rng(seed).integers(-20, 21, pixels.shape, dtype=np.int16)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def red_top_blue_bottom(size: tuple[int, int]) -> Image.Image:
    """Stored with red on top: after an EXIF rotation the red half must move to a known side."""
    picture = Image.new("RGB", size, BLUE)
    picture.paste(RED, (0, 0, size[0], size[1] // 2))
    return picture


def square_on_transparent(mode: str) -> Image.Image:
    """An opaque red square on a fully transparent background (which must turn white, not black)."""
    if mode == "P":  # palette entry 0 (black) is the transparent one
        picture = Image.new("P", (40, 40), 0)
        picture.putpalette([0, 0, 0, *RED])
        picture.paste(1, (12, 12, 28, 28))
        picture.info["transparency"] = 0
        return picture
    picture = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    picture.paste((*RED, 255), (12, 12, 28, 28))
    return picture.convert(mode)


def encoded(picture: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format, **options)
    return buffer.getvalue()


def exif_rotated_jpeg(orientation: int, size: tuple[int, int]) -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return encoded(red_top_blue_bottom(size), "JPEG", quality=95, exif=exif.tobytes())


def animated(format: str) -> bytes:
    frames = [Image.new("RGB", (24, 24), colour) for colour in (RED, (0, 255, 0), BLUE)]
    return encoded(frames[0], format, save_all=True, append_images=frames[1:], duration=100, loop=0)


def with_broken_exif(jpeg: bytes) -> bytes:
    """An APP1 'Exif' segment full of junk right after the start marker: the picture itself is fine."""
    junk = b"Exif\0\0" + b"MM\0*" + b"\xff\xff\xff\xff" + b"\x13" * 40
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk + jpeg[2:]


def photo_as(format: str, mode: str | None = None, **options) -> bytes:
    picture = photo()
    return encoded(picture.convert(mode) if mode else picture, format, **options)


def truncated_jpeg() -> bytes:
    whole = photo_as("JPEG", quality=90)
    return whole[: len(whole) // 2]


def constant_array_picture(value, dtype) -> bytes:
    return encoded(Image.fromarray(np.full((20, 30), value, dtype=dtype)), "TIFF" if dtype == np.float32 else "PNG")


def red_48_bit() -> bytes:
    pixels = np.zeros((16, 16, 3), dtype=np.uint16)
    pixels[..., 0] = 65535
    return png48(pixels)


def huge_header_bmp() -> bytes:
    """A BMP header promising 50000x50000 pixels, followed by six bytes."""
    file_header = struct.pack("<2sIHHI", b"BM", 60, 0, 0, 54)
    info_header = struct.pack("<IiiHHIIiiII", 40, 50_000, 50_000, 1, 24, 0, 0, 0, 0, 0, 0)
    return file_header + info_header + bytes(6)


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<rect width="10" height="10" fill="red"/></svg>\n')
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# file name -> (how to make its bytes, what must happen: ANSWER or a fragment of the refusal message)
CORPUS: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty.jpg": (lambda: b"", "empty"),
    "random-bytes.jpg": (lambda: np.random.default_rng(1).bytes(4096), "not a picture"),
    "truncated.jpg": (truncated_jpeg, "truncated"),
    "notes.txt": (lambda: b"These are my notes, not a picture.\n" * 20, "not a picture"),
    "drawing.svg": (lambda: SVG, "svg"),
    "page.pdf": (lambda: PDF, "not a picture"),
    "one-pixel.png": (lambda: encoded(Image.new("RGB", (1, 1), RED), "PNG"), ANSWER),
    "huge-12000x12000.png": (lambda: flat_png(12000, 12000, palette_colour=(90, 160, 220)), "megapixels"),
    "huge-12000x12000.jpg": (lambda: encoded(Image.new("L", (12000, 12000), 128), "JPEG", quality=50), "megapixels"),
    "progressive-10000x10000.jpg": (lambda: encoded(Image.new("L", (10000, 10000), 90), "JPEG", quality=20,
                                                    progressive=True), "megapixels"),
    "eps-named.png": (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "not a picture"),
    "big-7000x7000.jpg": (lambda: encoded(Image.new("L", (7000, 7000), 128), "JPEG", quality=50), ANSWER),
    "big-4000x4000-transparent.png": (lambda: flat_png(4000, 4000, palette_colour=BLUE, transparent=True), ANSWER),
    "whole-decode-5000x4000.png": (lambda: flat_png(5000, 4000, palette_colour=BLUE), "16 megapixels are accepted"),
    "progressive-6000x4000.jpg": (lambda: encoded(Image.new("L", (6000, 4000), 90), "JPEG", quality=20,
                                                  progressive=True), "16 megapixels are accepted"),
    "bomb-pil-warns.png": (lambda: flat_png(10000, 9000), "megapixels"),
    "huge-header-tiny-file.png": (lambda: flat_png(100_000, 100_000, rows=10), "megapixels"),
    "huge-header-tiny-file.bmp": (huge_header_bmp, "megapixels"),
    "animated.gif": (lambda: animated("GIF"), ANSWER),
    "animated.webp": (lambda: animated("WEBP"), ANSWER),
    "gray16.png": (lambda: constant_array_picture(40000, np.uint16), ANSWER),
    "rgb48.png": (red_48_bit, ANSWER),
    "float.tiff": (lambda: constant_array_picture(0.5, np.float32), ANSWER),
    "cmyk.jpg": (lambda: photo_as("JPEG", "CMYK"), ANSWER),
    "transparent-rgba.png": (lambda: encoded(square_on_transparent("RGBA"), "PNG"), ANSWER),
    "transparent-la.png": (lambda: encoded(square_on_transparent("LA"), "PNG"), ANSWER),
    "palette.png": (lambda: encoded(photo().convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), ANSWER),
    "palette-transparent.png": (lambda: encoded(square_on_transparent("P"), "PNG"), ANSWER),
    "palette-transparent.gif": (lambda: encoded(square_on_transparent("P"), "GIF"), ANSWER),
    "grayscale.jpg": (lambda: photo_as("JPEG", "L"), ANSWER),
    "bilevel.png": (lambda: photo_as("PNG", "1"), ANSWER),
    "exif-orientation-6.jpg": (lambda: exif_rotated_jpeg(6, (48, 32)), ANSWER),
    "exif-orientation-8-large.jpg": (lambda: exif_rotated_jpeg(8, (1600, 1200)), ANSWER),
    "broken-exif.jpg": (lambda: with_broken_exif(photo_as("JPEG", quality=90)), ANSWER),
    "photo.webp": (lambda: photo_as("WEBP", quality=90), ANSWER),
    "photo.tiff": (lambda: photo_as("TIFF", compression="tiff_deflate"), ANSWER),
    "photo.bmp": (lambda: photo_as("BMP"), ANSWER),
    "jpeg-named.png": (lambda: photo_as("JPEG", quality=90), ANSWER),
}
BIG = ["huge-12000x12000.png", "huge-12000x12000.jpg", "progressive-10000x10000.jpg", "big-7000x7000.jpg", "big-4000x4000-transparent.png",
       "whole-decode-5000x4000.png", "progressive-6000x4000.jpg", "bomb-pil-warns.png",
       "huge-header-tiny-file.png", "huge-header-tiny-file.bmp"]


def build_corpus(folder: str | Path) -> list[tuple[str, Path, str]]:
    """Write every awkward file into `folder`; (name, path, expect) for each."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    corpus = []
    for name, (make, expect) in CORPUS.items():
        path = folder / name
        path.write_bytes(make())
        corpus.append((name, path, expect))
    return corpus


def _reset_peak_memory() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # Linux: the peak resident size (VmHWM) starts again from the current size


def can_measure_peak_memory() -> bool:
    """Only Linux lets a process reset its own peak-memory mark; elsewhere the memory tests skip."""
    try:
        _reset_peak_memory()
    except OSError:
        return False
    return True


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))


@contextmanager
def peak_memory_growth() -> Iterator[list[int]]:
    """Peak resident memory added inside the block, in bytes, appended to the yielded list when it ends."""
    _reset_peak_memory()
    start = _peak_rss_bytes()
    growth: list[int] = []
    yield growth
    growth.append(_peak_rss_bytes() - start)
