"""The class server's guards on their own: quoting, upload-only paths, unique answer files, slow failed logins."""
from __future__ import annotations

import asyncio
import os
import time

import gradio as gr
import pytest
from gradio_client import Client
from PIL import Image

from cifar_demo.images import UNREADABLE, ImageError
from cifar_demo.serving import (MAX_FILE_REFERENCES, MAX_FILES_PER_REQUEST, MAX_VALUES, QUOTE_CHARS, AnswerPictures, forwarded_only_from, named_files,
                                quote, refuse_oversized, slow_failed_logins, trusted_proxy, uploaded_file)
from cifar_demo.network import free_port


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
        assert str(refusal.value) == str(UNREADABLE)  # one answer for every case: nothing said of what is on the server


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


def test_a_request_holds_a_bounded_number_of_values_and_files():
    refuse_oversized([["running"] * (MAX_VALUES - 1)])  # the list, and what it holds
    with pytest.raises(ValueError, match=f"at most {MAX_VALUES:,} values; this one holds {MAX_VALUES + 3:,}"):
        refuse_oversized([["running"] * (MAX_VALUES - 1), {"a": [1]}])
    same = [{"path": "/tmp/gradio/a.png", "meta": {"_type": "gradio.FileData"}}] * MAX_FILE_REFERENCES
    assert set(named_files(["mug", same])) == {"/tmp/gradio/a.png"}
    refuse_oversized(["mug", same])  # one file named again is still one file...
    with pytest.raises(ValueError, match=f"this one names 1, {MAX_FILE_REFERENCES + 1:,} times"):
        refuse_oversized(["mug", same + same[:1]])  # ...but every reference costs the web framework a look
    many = [{"path": f"/tmp/gradio/{n}.png"} for n in range(MAX_FILES_PER_REQUEST + 1)]
    with pytest.raises(ValueError, match=f"at most {MAX_FILES_PER_REQUEST} files, {MAX_FILE_REFERENCES} times in "
                                         f"all; this one names {MAX_FILES_PER_REQUEST + 1}, "):
        refuse_oversized([{"nested": many}])


def test_a_trusted_proxy_is_an_address_and_nothing_else():
    assert trusted_proxy(None) is None and trusted_proxy(" 10.0.0.5 ") == "10.0.0.5/32"
    assert trusted_proxy("10.0.0.0/24") == "10.0.0.0/24" and trusted_proxy("::1") == "::1/128"
    for bad in ("*", "proxy.example.org", "10.0.0.300", ""):
        with pytest.raises(ValueError, match="--trusted-proxy must be the proxy's IP address"):
            trusted_proxy(bad)


def test_an_address_is_the_connections_unless_a_named_proxy_forwards_another():
    def address(request: gr.Request) -> str:
        return request.client.host

    before, seen = os.environ.get("FORWARDED_ALLOW_IPS"), {}
    for proxy in (None, "127.0.0.1/32"):
        with gr.Blocks() as app:
            gr.api(address, api_name="address")
        port = free_port()
        with forwarded_only_from(proxy):
            app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False, headers={"X-Forwarded-For": "10.1.2.3"})
            seen[proxy] = client.predict(api_name="/address")
        finally:
            app.close()
    assert seen == {None: "127.0.0.1", "127.0.0.1/32": "10.1.2.3"}  # uvicorn alone would believe 127.0.0.1's header
    assert os.environ.get("FORWARDED_ALLOW_IPS") == before
