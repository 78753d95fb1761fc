"""classify() on a real trained net: every awkward file gets a well-formed answer or a clear ImageError."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from bad_inputs import ANSWER, BIG, CORPUS, can_measure_peak_memory, peak_memory_growth, photo
from cifar_demo.data import normalize
from cifar_demo.images import MAX_UPLOAD_BYTES, ImageError
from cifar_demo.inference import classify, classify_many

MB = 2**20


def assert_well_formed(prediction, checkpoint, k: int) -> None:
    classes = [name for name, _ in prediction.top]
    probabilities = [p for _, p in prediction.top]
    assert len(classes) == k and set(classes) <= set(checkpoint.classes) and len(set(classes)) == k
    assert all(0.0 <= p <= 1.0 for p in probabilities) and probabilities == sorted(probabilities, reverse=True)
    if k == len(checkpoint.classes):
        assert math.isclose(sum(probabilities), 1.0, abs_tol=1e-5)
    assert prediction.seen.mode == "RGB" and prediction.seen.size == (32, 32)


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_awkward_file_gets_an_answer_or_a_clear_refusal(trained_checkpoint, corpus, name):
    path, expect = corpus[name]
    k = len(trained_checkpoint.classes)
    if expect == ANSWER:
        by_path = classify(trained_checkpoint, path, k=k)
        assert_well_formed(by_path, trained_checkpoint, k)
        by_bytes = classify(trained_checkpoint, path.read_bytes(), k=k)
        assert by_bytes.top == by_path.top
    else:
        with pytest.raises(ImageError, match=r"^[A-Z]") as refused:
            classify(trained_checkpoint, path)
        assert expect in str(refused.value).lower()


@pytest.mark.skipif(not can_measure_peak_memory(), reason="needs Linux /proc/self/clear_refs")
@pytest.mark.parametrize("name", BIG)
def test_big_files_keep_memory_bounded(trained_checkpoint, corpus, name):
    """Refused ones cost nearly nothing; the 64-megapixel one needs its decoded palette and little more."""
    path, expect = corpus[name]

    def answered() -> bool:
        try:
            classify(trained_checkpoint, path)
        except ImageError:
            return False
        return True

    answered()  # a first call lets allocator pools and lazy imports settle
    with peak_memory_growth() as growth:
        assert answered() == (expect == ANSWER)
    limit = 24 * MB if expect != ANSWER else 130 * MB  # 7000x7000 at 1 byte per pixel is 47 MB
    assert growth[0] < limit, f"{name}: peak memory grew by {growth[0] / MB:.0f} MB"


def test_answer_is_the_nets_softmax_over_the_picture_it_shows(trained_checkpoint):
    """Independently recomputed: the probabilities belong to `seen`, normalized as the checkpoint says."""
    prediction = classify(trained_checkpoint, photo((300, 200)), k=len(trained_checkpoint.classes))
    pixels = torch.from_numpy(np.asarray(prediction.seen).transpose(2, 0, 1).copy()).unsqueeze(0)
    meta = trained_checkpoint.meta
    with torch.inference_mode():
        logits = trained_checkpoint.model(normalize(pixels, meta["mean"], meta["std"]))
    expected = dict(zip(trained_checkpoint.classes, torch.softmax(logits[0], 0).tolist()))
    for name, probability in prediction.top:
        assert probability == pytest.approx(expected[name], abs=1e-5)
    again = classify(trained_checkpoint, prediction.seen, k=len(trained_checkpoint.classes))
    assert [p for _, p in again.top] == pytest.approx([p for _, p in prediction.top], abs=1e-6)


@pytest.mark.parametrize("k, expected", [(1, 1), (2, 2), (99, 3), (0, 1)])
def test_k_is_clamped_to_the_classes_there_are(trained_checkpoint, k, expected):
    assert len(classify(trained_checkpoint, photo(), k=k).top) == expected


def test_enlarged_pictures_classify_like_the_originals(trained_checkpoint, tiny_tree):
    """Scaling down must give back what the net was trained on: a picture 8x enlarged is read the same way."""
    files = sorted((tiny_tree / "test").glob("*/*.png"))
    same_class = right = 0
    for file in files:
        original = classify(trained_checkpoint, file, k=1).top[0][0]
        enlarged = Image.open(file).resize((256, 256), Image.Resampling.NEAREST)
        same_class += classify(trained_checkpoint, enlarged, k=1).top[0][0] == original
        right += original == file.parent.name
    assert same_class >= 0.9 * len(files) and right > len(files) / 2


def test_upload_limit_reaches_the_caller_as_a_clear_message(trained_checkpoint, tmp_path):
    too_big = tmp_path / "holiday.jpg"
    with open(too_big, "wb") as f:
        f.truncate(MAX_UPLOAD_BYTES + 5 * MB)
    with pytest.raises(ImageError, match="25.0 MB; pictures up to 20 MB"):
        classify(trained_checkpoint, too_big)


def test_a_batch_answers_each_picture_as_alone_and_a_bad_one_spoils_no_other(trained_checkpoint, tiny_tree):
    files = sorted((tiny_tree / "test").glob("*/*.png"))[:5]
    batch = [files[0], b"not a picture", files[1], files[2], None, files[3], files[4]]
    outcomes = classify_many(trained_checkpoint, batch, k=3)
    assert isinstance(outcomes[1], ImageError) and isinstance(outcomes[4], ImageError)
    for source, outcome in zip(batch, outcomes):
        if isinstance(source, bytes) or source is None:
            continue
        alone = classify(trained_checkpoint, source, k=3)
        assert [c for c, _ in outcome.top] == [c for c, _ in alone.top]
        assert [p for _, p in outcome.top] == pytest.approx([p for _, p in alone.top], abs=1e-5)
