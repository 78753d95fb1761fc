"""The page in Korean and in English in Debian's Chromium: a ko-KR browser reads no English word on any tab but
names and numbers, the header's switch turns the page to English without a reload, and two pages on one server in
two languages each read their own status line. One page load per locale."""
from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Page, expect

from chromium import browser, open_page  # noqa: F401 (a fixture)
from cifar_demo.lab import Lab
from cifar_demo.words import CATALOG
from conftest import TINY_CLASSES
from test_app import start

TABS = ["tab.train", "tab.browse", "tab.classify", "tab.evaluate", "tab.inside", "tab.yours", "tab.wall", "lesson.tab",
        "challenge.tab"]
# What may stay in Latin letters on a Korean page: names of nets, files, formats and the data set, gradio's own
# product name and the units; the tiny data set's class names, as they were typed.
NAMES = {"lenet", "smallcnn", "fastnet", "resnet", "cifar", "sgd", "adam", "muon", "grad-cam", "gradio", "api", "cpu", "gpu",
         "zip", "pt", "png", "data", "tiny", "img", "s", "x", "k", "m", "eta", "lenet-5", "resnet-9", "pytorch", "gelu",
         "english", "relu", "conv", "linear", "batchnorm", "flatten", *TINY_CLASSES}


VALUES_JS = """() => [...document.querySelectorAll('textarea, input')]
  .filter((box) => box.offsetParent !== null && (box.tagName === 'TEXTAREA' || box.type === 'text'))
  .map((box) => box.value).join('\\n')"""


def english_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z][A-Za-z0-9_-]*", text)
            if w.lower() not in NAMES and w.lower().rstrip("-0123456789._") not in NAMES}


def settled_english(page: Page, tries: int = 60) -> set[str]:
    """The English words the page shows once its answers have arrived: a tab's values come by events after it is
    drawn. (gradio's progress line, 'queue: 1/1' in English only, is hidden by the page's CSS.)"""
    for _ in range(tries):
        page.wait_for_timeout(500)
        found = english_words(page.locator("body").inner_text() + "\n" + page.evaluate(VALUES_JS))
        if not found:
            return found
    return found


@pytest.fixture(scope="module")
def served(tiny_tree, trained_checkpoint, tmp_path_factory):
    folder = tmp_path_factory.mktemp("language-checkpoints")
    shutil.copy(trained_checkpoint.path, folder / "tiny.pt")
    lab = Lab(data_path=tiny_tree, checkpoint_dir=folder, download=False, device="cpu")
    app, url = start(lab)
    yield url
    app.close()


def word(language: str, key: str) -> str:
    return CATALOG[language][f"page.{key}"]


def test_a_korean_browser_reads_korean_on_every_tab_and_the_switch_turns_it_to_english(browser, served):
    page = open_page(browser, served, locale="ko-KR")
    expect(page.locator("#header")).to_contain_text("장치")
    for tab in TABS:
        page.get_by_role("tab", name=word("ko", tab), exact=True).click()
        expect(page.get_by_role("tabpanel")).to_be_visible()
        assert not settled_english(page), tab
    status = page.locator("#your-status textarea")
    page.get_by_role("tab", name=word("ko", "tab.train"), exact=True).click()
    page.locator("#language").get_by_text("English", exact=True).click()
    expect(page.get_by_role("tab", name="Train", exact=True)).to_be_visible()
    expect(page.locator("#header")).to_contain_text("Device")
    page.get_by_role("tab", name="Your classes", exact=True).click()
    expect(status).not_to_have_value(re.compile("[가-힣]"))
    page.context.close()


def test_two_pages_in_two_languages_each_read_their_own_status_line(browser, served):
    korean, english = open_page(browser, served, locale="ko-KR"), open_page(browser, served, locale="en-US")
    for page, language in ((korean, "ko"), (english, "en")):  # the page's line in its language, then Stop's answer
        expect(page.locator("#train-status textarea")).to_have_value(CATALOG[language]["status.idle"])
    for page, language in ((korean, "ko"), (english, "en")):
        page.get_by_role("button", name=word(language, "stop"), exact=True).first.click()
        expect(page.locator("#train-status textarea")).to_have_value(CATALOG[language]["status.no_run"])
    english.wait_for_timeout(2_000)  # two timer ticks: Stop's answer stays, as no tick sends a line twice
    for page, language in ((korean, "ko"), (english, "en")):
        assert page.locator("#train-status textarea").input_value() == CATALOG[language]["status.no_run"]
    korean.context.close()
    english.context.close()
