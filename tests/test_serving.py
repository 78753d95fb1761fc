"""The class server's guards on their own: quoting, upload-only paths, unique answer files, slow failed logins."""
from __future__ import annotations

import asyncio
import os
import time

import pytest
from PIL import Image

from cifar_demo.images import UNREADABLE, ImageError
from cifar_demo.serving import QUOTE_CHARS, AnswerPictures, quote, slow_failed_logins, uploaded_file


def test_a_quote_is_one_short_line_whatever_comes_in():
    assert quote("fastnet") == "fastnet"
    for value in ("x" * 10**6, "line\n" * 1000, ["a"] * 10**5, {"k": "v" * 10**5}, 2**4000):
        quoted = quote(value)
        assert len(quoted) <= QUOTE_CHARS and "\n" not in quoted


def test_only_files_inside_the_upload_folder_are_read(tmp_path):
    uploads, outside = tmp_path / "uploads", tmp_path / "outside"
    (uploads / "hash").mkdir(parents=True)
    outside.mkdir()
    picture = uploads / "hash" / "photo.png"
    Image.new("RGB", (8, 8)).save(picture)
    secret = outside / "secret.png"
    Image.new("RGB", (8, 8)).save(secret)
    (uploads / "hash" / "link.png").symlink_to(secret)
    os.mkfifo(uploads / "hash" / "pipe.png")
    assert uploaded_file(picture, uploads) == str(picture.resolve())
    for path in (secret, uploads / "hash" / ".." / ".." / "outside" / "secret.png", uploads / "hash" / "link.png",
                 uploads / "hash" / "pipe.png", uploads / "hash", uploads / "missing.png", "/etc/passwd",
                 "bad\0name", None, ["x"], 42):
        with pytest.raises(ImageError) as refusal:
            uploaded_file(path, uploads)
        assert str(refusal.value) == UNREADABLE  # one answer for every case: nothing said of what is on the server


def test_answer_pictures_never_share_a_file_and_keep_only_the_newest(tmp_path):
    answers = AnswerPictures(tmp_path / "answers", keep=3)
    same = Image.new("RGB", (16, 16), (200, 10, 10))
    paths = [answers.save(same) for _ in range(5)]
    assert len(set(paths)) == 5  # the same picture twice is two files: no request rewrites another's answer
    assert [os.path.exists(p) for p in paths] == [False, False, True, True, True]
    assert Image.open(paths[-1]).getpixel((0, 0)) == (200, 10, 10)


def test_right_logins_pass_at_once_and_wrong_ones_queue_one_delay_each():
    check = slow_failed_logins("teacher", "s3cret:pass", delay=0.2)

    async def attempts():
        assert await check("teacher", "s3cret:pass")
        began = time.perf_counter()
        wrong = await asyncio.gather(*(check("teacher", f"guess{i}") for i in range(5)), check("student", "s3cret:pass"))
        return wrong, time.perf_counter() - began

    outcomes, seconds = asyncio.run(attempts())
    assert outcomes == [False] * 6
    assert seconds >= 6 * 0.2  # six wrong guesses at once still wait their turns: a lower bound, never a timing race
