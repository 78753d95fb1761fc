"""The page's language: gradio's I18n for the page's own words, and the language of each request for the words the
server writes. A page speaks its browser's language (Accept-Language: Korean for ko, English otherwise; the
app's default when it asks for neither) until the header's switch chooses another for that page alone."""
from __future__ import annotations

import functools
import json
import tempfile
import threading
from collections import OrderedDict
from contextvars import ContextVar
from pathlib import Path

import gradio as gr
from fontTools.ttLib import TTFont
from gradio.i18n import I18nData

from .. import words
from ..challenge_rules import MAX_COMPARED
from ..collection import MAX_CLASSES
from ..held_out import HELD_OUT
from ..models import describe_nets
from ..plots import KOREAN_FONT

# The languages of the requests a handler answers: one, or one per request of a batch. Set for each call by
# PageLanguages.listen; a call from outside the server (a test, the CLI) speaks English.
SPOKEN: ContextVar[tuple[str, ...]] = ContextVar("spoken", default=(words.ENGLISH,))
PAGE_VALUES = {"max_classes": MAX_CLASSES, "held_out": f"{HELD_OUT:.0%}", "max_compared": MAX_COMPARED}
SWITCH = [("한국어", words.KOREAN), ("English", words.ENGLISH)]
MAX_SESSIONS = 10_000  # pages remembered; the oldest choice is forgotten first
# The header switch changes gradio's own locale (its svelte-i18n store, which the Settings panel changes too)
# through the module that exports changeLocale, found among the scripts the page has loaded.
CHANGE_LOCALE_JS = """async (language) => {
  const core = performance.getEntriesByType("resource").map((entry) => entry.name)
    .find((name) => /\\/assets\\/core-[^/]*\\.js$/.test(name));
  if (core) (await import(core)).changeLocale(language);
  document.documentElement.lang = language;
  return language;
}"""


def language() -> str:
    """The language of the request being answered (the first, in a batch)."""
    return SPOKEN.get()[0]


def spoken() -> tuple[str, ...]:
    """The languages of the requests a batch handler answers, one each."""
    return SPOKEN.get()


def say(key: str, **values: object) -> str:
    """A catalog sentence in the language of the request being answered."""
    return words.text(key, language(), **values)


def shown(value: object) -> str:
    """A Say, an error carrying one, or plain text, in the language of the request being answered."""
    return words.render(value, language())


def names(classes: list[str]) -> list[str]:
    """A model's class names as this page shows them: CIFAR-10's in the page's language, a class's own as typed."""
    return words.class_names(classes, language())


def page(key: str) -> I18nData:
    """A word of the page's own, translated by the browser."""
    return I18nData(f"page.{key}")


def net_key(name: str) -> str:
    return f"net.{name}"


def size(count: int) -> str:
    """62006 -> '62k', 6573120 -> '6.6M'."""
    return f"{count / 1e6:.1f}M" if count >= 1e6 else f"{count / 1e3:.0f}k"


def catalog() -> gr.I18n:
    """The page's own words in both languages for gradio's I18n, a net menu's entries filled in per net, and the
    words gradio's own catalog lacks."""
    def page_words(lang: str) -> dict[str, str]:
        nets = {f"page.{net_key(name)}": words.text("page.net_choice", lang, net=name, size=size(parameters))
                for name, _, parameters in describe_nets()}
        gradio_own = {key.removeprefix("gradio."): text for key, text in words.CATALOG[lang].items()
                      if key.startswith("gradio.")}
        return {**words.page_words(lang, PAGE_VALUES), **nets, **gradio_own}
    return gr.I18n(**{lang: page_words(lang) for lang in words.LANGUAGES})


WEB_FONT = "NanumGothic (cifar-demo)"  # the page's last resort for Hangul, served by the app itself


@functools.cache
def web_font() -> Path:
    """The charts' NanumGothic as browsers accept it: its empty hinting-source tables (TSI*) removed, which
    Chromium's font sanitizer refuses ('TSI3: zero-length table'). Written once per server, into a folder of its own
    that launch's allowed_paths serves."""
    font = TTFont(KOREAN_FONT / "NanumGothic.ttf")
    for table in [tag for tag in font.keys() if tag.startswith("TSI")]:
        del font[table]
    path = Path(tempfile.mkdtemp(prefix="cifar-demo-font-")) / "NanumGothic.ttf"
    font.save(path)
    return path


def page_font(theme_font: str) -> str:
    """The theme's fonts, then NanumGothic: a browser with no Korean font of its own (a fresh Linux laptop) still
    draws Hangul, never boxes."""
    return f"{theme_font}, '{WEB_FONT}'"


def css() -> str:
    """NanumGothic as a web font for Hangul; and gradio's webcam button, which says 'Click to Access Webcam' in every
    locale: on a page in another language (gradio sets <html lang>), its text is replaced by the catalog's."""
    rules = ["@font-face { font-family: '%s'; src: url('/gradio_api/file=%s') format('truetype'); "
             "unicode-range: U+1100-11FF, U+3130-318F, U+A960-A97F, U+AC00-D7AF, U+D7B0-D7FF; }"
             % (WEB_FONT, web_font())]
    for lang in words.LANGUAGES:
        if lang == words.ENGLISH:
            continue
        said = json.dumps(words.text("gradio_fixed.webcam", lang), ensure_ascii=False)
        wrap = f":lang({lang}) button > .wrap:not([data-testid='upload-text']):has(> .icon-wrap)"  # not an upload box
        rules.append(f"{wrap} {{ visibility: hidden; }}\n{wrap} > .icon-wrap {{ visibility: visible; }}\n"
                     f"{wrap}::after {{ visibility: visible; content: {said}; }}")
    return "\n".join(rules)


class PageLanguages:
    """Each page's language, by its session: the switch's choice, else its browser's."""

    def __init__(self, default: str = words.ENGLISH):
        self.default = default if default in words.LANGUAGES else words.ENGLISH
        self._chosen: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, request: gr.Request | None) -> str:
        session = getattr(request, "session_hash", None)
        with self._lock:
            if session in self._chosen:
                return self._chosen[session]
        headers = getattr(request, "headers", None) or {}
        return words.choose(headers.get("accept-language"), self.default)

    def choose(self, chosen: str, request: gr.Request) -> None:
        """The switch's choice for this page (a value off the menu leaves the page as it was)."""
        session = getattr(request, "session_hash", None)
        if chosen not in words.LANGUAGES or not session:
            return
        with self._lock:
            self._chosen[session] = chosen
            self._chosen.move_to_end(session)
            while len(self._chosen) > MAX_SESSIONS:
                self._chosen.popitem(last=False)

    def listen(self, app: gr.Blocks) -> None:
        """Every handler of `app` answers in its page's language: SPOKEN is set around each call, its inputs' checks
        (refusals of a request before the handler runs) included."""
        standard = app.process_api

        async def process_api(block_fn, inputs, state=None, request=None, *args, **kwargs):
            spoken = tuple(self.of(r) for r in request) if isinstance(request, list) else (self.of(request),)
            token = SPOKEN.set(spoken or (self.default,))
            try:
                return await standard(block_fn, inputs, state, request, *args, **kwargs)
            finally:
                SPOKEN.reset(token)

        app.process_api = process_api

    def switch(self, app: gr.Blocks) -> gr.Radio:
        """The header's language switch: set from the page's language when it loads, and changing gradio's locale
        and this page's server words when turned."""
        control = gr.Radio(SWITCH, value=None, label=page("language"), show_label=False, container=False, scale=0,
                           min_width=280, elem_id="language")
        def initial(request: gr.Request) -> str:
            return self.of(request)

        app.load(initial, None, control, api_visibility="private", show_progress="hidden")
        control.change(self.choose, control, None, js=CHANGE_LOCALE_JS, api_visibility="private",
                       show_progress="hidden", concurrency_limit=None)
        return control
