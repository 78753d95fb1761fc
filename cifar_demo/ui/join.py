"""The Join panel on the teacher's page: the students' page address on the class network, in large text and as a QR
code readable from the back of the room, so a class joins from the projector instead of from dictation."""
from __future__ import annotations

import functools
import html

import gradio as gr
import segno

from ..network import Reach, join_address
from .language import page, say

STUDENT_PATH = "student"
START_COMMAND = "python3 app.py --host 0.0.0.0 --auth teacher:PICK-A-PASSWORD"  # for a class
CSS = """
#join .join-box { display: flex; flex-wrap: wrap; align-items: center; gap: 24px; }
#join .join-qr { width: min(480px, 90vw); height: auto; image-rendering: pixelated; background: #fff; }
#join .join-url { font-size: 40px; font-weight: 700; overflow-wrap: anywhere; margin: 8px 0; }
#join .join-say, #join .join-login { font-size: 24px; margin: 4px 0; }
#join .join-problem { font-size: 22px; }
"""


@functools.cache
def qr_data_uri(url: str) -> str:
    """The QR code as an SVG data URI: a few kilobytes, sharp at any size the projector draws it."""
    return segno.make(url, error="m").svg_data_uri(scale=1, border=4)


def join_html(host: str | None, port: int, login: bool) -> str:
    """What the panel shows for an app listening on host:port (with a login when `login`)."""
    where = join_address(host, port, STUDENT_PATH)
    if where.reach is not Reach.REACHABLE:
        problem = say(f"join.{where.reach.value}", host=where.host, command=START_COMMAND)
        return f'<p class="join-problem">{html.escape(problem)}</p>'
    url = html.escape(where.url)
    said = [f'<p class="join-say">{html.escape(say("join.scan"))}</p>', f'<p class="join-url">{url}</p>']
    if login:
        said.append(f'<p class="join-login">{html.escape(say("join.login"))}</p>')
    alt = html.escape(say("join.qr_alt", url=where.url))
    return (f'<div class="join-box"><img class="join-qr" alt="{alt}" src="{qr_data_uri(where.url)}">'
            f'<div>{"".join(said)}</div></div>')


def build_join_panel(app: gr.Blocks) -> None:
    """A closed accordion under the header; filled when a page loads, once the app knows where it listens."""
    with gr.Accordion(page("join.title"), open=False, elem_id="join-panel"):
        shown = gr.HTML(elem_id="join")

    def fill() -> str:
        return join_html(app.server_name, app.server_port, app.auth is not None)

    app.load(fill, None, shown, api_visibility="private", show_progress="hidden", concurrency_limit=None)
