"""What a server for a class of strangers needs besides the page: bounded requests, slow failed logins, files that
came from an upload only, answer pictures no one rewrites, and refusals that log one short line."""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import logging
import os
import threading
import uuid
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from PIL import Image

from .images import UNREADABLE, ImageError
from .words import Say

MAX_BODY_BYTES = 2 * 1024 * 1024  # a JSON call carries settings and file references, never the pictures themselves
QUOTE_CHARS = 80                   # of a caller's input, quoted in a refusal
FAILED_LOGIN_SECONDS = 1.0         # each wrong password holds the login queue this long: 3,600 guesses an hour at most
MAX_FILES_PER_REQUEST = 30         # files one call may name (the same file named twice counts once): a class's photos
MAX_FILE_REFERENCES = 2 * MAX_FILES_PER_REQUEST  # ...and references to them: the web framework checks each one
MAX_VALUES = 2_000                 # values in a request's lists and objects: a 2 MB list costs the framework ~0.7 s

log = logging.getLogger("cifar_demo")


def quote(value: object) -> str:
    """A caller's input as a refusal may show it: at most QUOTE_CHARS characters, one line."""
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…"


def refused(where: str, message: str) -> str:
    """Log an expected refusal as one line, without a traceback, and return the message for the caller."""
    log.warning("refused %s: %s", where, message[:300])
    return message


class BodyLimit:
    """ASGI middleware: a request body past the limit is refused before it is read whole (uploads have their own)."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES, exempt: tuple[str, ...] = ("/gradio_api/upload",)):
        self.app, self.max_bytes, self.exempt = app, max_bytes, exempt

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await self._refuse(scope, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope, send) -> None:
        refused(scope["path"][:QUOTE_CHARS], f"request body over {self.max_bytes:,} bytes")
        body = b'{"detail": "The request is too large."}'
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


def slow_failed_logins(user: str, password: str, delay: float = FAILED_LOGIN_SECONDS) -> Callable:
    """A login check for gradio: right passwords pass at once; wrong ones wait their turn, one a `delay`, however
    many come at once. A coroutine function, so that the wait never blocks the server's event loop."""
    expected_user, expected_password = user.encode(), password.encode()
    queue: list[asyncio.Lock] = []  # made on first use, inside the server's event loop

    async def check(user: str, password: str) -> bool:
        right = (hmac.compare_digest(user.encode(), expected_user)
                 & hmac.compare_digest(password.encode(), expected_password))  # both compared, always: no timing hint
        if right:
            return True
        if not queue:
            queue.append(asyncio.Lock())
        async with queue[0]:
            await asyncio.sleep(delay)
        refused("login", f"wrong password for user {quote(user)}")
        return False

    return check


def named_files(value: object) -> list[str]:
    """Every file path a request's arguments name, repeats included (gradio's file references: objects with a
    'path')."""
    if isinstance(value, dict):
        found = [value["path"]] if isinstance(value.get("path"), str) else []
        return found + [path for item in value.values() if isinstance(item, (dict, list)) for path in named_files(item)]
    if isinstance(value, list):
        return [path for item in value for path in named_files(item)]
    return []


def values_in(value: object) -> int:
    """How many values a request's lists and objects hold, nested ones included."""
    if isinstance(value, dict):
        value = list(value.values())
    return len(value) + sum(values_in(item) for item in value if isinstance(item, (dict, list))) if isinstance(
        value, list) else 0


def refuse_oversized(arguments: list) -> None:
    """Past MAX_VALUES values, MAX_FILES_PER_REQUEST distinct files or MAX_FILE_REFERENCES references to them, a
    request is refused before the web framework looks at any of it: its work grows with each."""
    values = values_in(arguments)
    if values > MAX_VALUES:
        raise ValueError(Say("serving.values", most=f"{MAX_VALUES:,}", values=f"{values:,}"))
    paths = named_files(arguments)
    files = len(set(paths))
    if files > MAX_FILES_PER_REQUEST or len(paths) > MAX_FILE_REFERENCES:
        raise ValueError(Say("serving.files", most=MAX_FILES_PER_REQUEST, references=MAX_FILE_REFERENCES,
                             files=f"{files:,}", times=f"{len(paths):,}"))


def trusted_proxy(text: str | None) -> str | None:
    """--trusted-proxy's address (or network) checked; raises ValueError with a sentence when it is not one."""
    if text is None:
        return None
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise ValueError(f"--trusted-proxy must be the proxy's IP address (such as 127.0.0.1 or 10.0.0.5), "
                         f"not '{quote(text)}'.") from None


@contextmanager
def forwarded_only_from(proxy: str | None) -> Iterator[None]:
    """While the server starts: the web server (uvicorn) believes the X-Forwarded-For header, which anyone can write,
    from its trusted proxies only, and trusts 127.0.0.1 unless told otherwise, so a program or tunnel on this machine
    could pick the address every per-computer limit counts. Trust the named proxy only; with none, no one."""
    before = os.environ.get("FORWARDED_ALLOW_IPS")
    os.environ["FORWARDED_ALLOW_IPS"] = proxy or ""  # read once, as the server's configuration is made
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("FORWARDED_ALLOW_IPS", None)
        else:
            os.environ["FORWARDED_ALLOW_IPS"] = before


def uploaded_file(path: object, upload_folder: str | Path) -> str:
    """A path a caller sent, if it is a file that came through the upload folder; anything else is refused with
    the message a broken upload gets, which says nothing of what is on the server."""
    try:
        resolved = Path(str(path)).resolve(strict=True)
        inside = resolved.is_relative_to(Path(upload_folder).resolve()) and resolved.is_file()
    except (OSError, RuntimeError, ValueError):  # missing, a link loop, a NUL byte
        inside = False
    if not inside:
        raise ImageError(UNREADABLE)
    return str(resolved)


class AnswerPictures:
    """Answer pictures saved as files with names of their own. gradio writes a returned PIL picture to a file named
    by its content, in place: two students with the same photo would share that file, rewritten while the first
    one still downloads it (a truncated answer). A file of our own is copied into gradio's cache whole."""

    def __init__(self, folder: str | Path, keep: int = 1024, prefix: str = ""):
        self.folder, self.prefix = Path(folder), prefix
        self.folder.mkdir(parents=True, exist_ok=True)
        self._files: deque[Path] = deque()
        self._keep = keep  # gradio copies a file as the answer leaves: only the newest few are still needed
        self._lock = threading.Lock()
        self._count = itertools.count()

    def save(self, picture: Image.Image) -> str:
        path = self.folder / f"{self.prefix}{next(self._count)}-{uuid.uuid4().hex[:8]}.png"
        picture.save(path, compress_level=1)  # twice as fast to write as the default level, for 10% more bytes
        with self._lock:
            self._files.append(path)
            while len(self._files) > self._keep:
                self._files.popleft().unlink(missing_ok=True)
        return str(path)


async def short_refusal(request, error: Exception):
    """The answer to a request the web framework itself refuses (a body of the wrong shape, an unknown endpoint):
    the status and one sentence, never the caller's input echoed back or a traceback in the log."""
    from starlette.responses import JSONResponse  # imported here: the core imports this module without a server

    unknown = type(error).__name__ == "FnIndexInferError"  # gradio's name for an endpoint it does not have
    status, message = (404, "There is no such endpoint.") if unknown else (422, "The request is not well formed.")
    refused(request.url.path[:QUOTE_CHARS], f"{status} {message}")
    return JSONResponse({"detail": message}, status_code=status)
