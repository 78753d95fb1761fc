"""Your own classes: the collection's rules and refusals, its Dataset and zip, and fine-tuning through real jobs."""
from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from cifar_demo.__main__ import main
from cifar_demo.access import THIS_MACHINE, AccessError, Caller
from cifar_demo.checkpoints import CHECKPOINT_DIR, load_checkpoint
from cifar_demo.collection import MAX_CLASSES, PIXELS_PER_ADD, Collection, CollectionError
from cifar_demo.serving import MAX_FILES_PER_REQUEST
from cifar_demo.data import colour_jitter, load_dataset
from cifar_demo.images import ImageError
from cifar_demo.models import NETS, create_model, head_layer, replace_head
from cifar_demo.names import MAX_NAME
from cifar_demo.trainer import Trainer, WorkerJob
from cifar_demo.training import TrainConfig, TrainingJob, preset_for_your_classes

from conftest import TINY_CLASSES, tiny_picture


def photo(label: int, rng: np.random.Generator) -> Image.Image:
    """A tiny kind of picture enlarged, as a photo a class would upload is bigger than 32x32."""
    return tiny_picture(label, rng).resize((128, 128))


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def shapes_collection(per_class: int = 20, seed: int = 1) -> Collection:
    """The three tiny kinds, per_class photos each."""
    rng = np.random.default_rng(seed)
    collection = Collection()
    for label, name in enumerate(TINY_CLASSES):
        collection.add_class(name)
        for _ in range(per_class):
            collection.add_picture(name, photo(label, rng), THIS_MACHINE)
    return collection


# ---------------------------------------------------------------- classes and pictures


@pytest.mark.parametrize("name, words", [
    ("", "needs a name"), ("   ", "needs a name"), (None, "needs a name"), ("x" * (MAX_NAME + 1), "characters long"),
    ("cats/dogs", "cannot be used"), ("..", "cannot be used"), (".hidden", "cannot be used"), ('a"b', "cannot be used"),
    ("bell\x07", "cannot be used"), ("C a t", "already a class 'cat'"), ("ca\u200bt", "invisible"),
    ("\u0441\u0430t", "mixes Cyrillic and Latin"), ("\uff23\uff21\uff34", "already a class 'cat'"),
    ("\u0441\u0430\u0442", "already a class 'cat'"),
    ("con", "Windows keeps"), ("cat.", "cannot be used")])
def test_a_bad_class_name_is_refused_and_changes_nothing(name, words):
    collection = Collection()
    collection.add_class("cat")
    with pytest.raises(CollectionError, match=words):
        collection.add_class(name)
    assert collection.classes == ["cat"]


def test_names_are_tidied_and_found_ignoring_case_and_spaces():
    collection = Collection()
    assert collection.add_class("  my \t mug ") == "my mug"
    collection.add_picture("MyMug", tiny_picture(0, np.random.default_rng(0)), THIS_MACHINE)
    assert collection.counts() == {"my mug": 1}


def test_names_in_any_one_script_are_stored_as_nfc_and_come_back_from_the_zip_as_typed(tmp_path):
    collection = Collection()
    typed = ["고양이", "비행기", "cafe\u0301"]  # the last as a Mac types it: e, then a combining accent
    assert [collection.add_class(name) for name in typed] == ["고양이", "비행기", "café"]
    rng = np.random.default_rng(0)
    for label, name in enumerate(collection.classes):
        for _ in range(3):
            collection.add_picture(name, photo(label, rng), THIS_MACHINE)
    with pytest.raises(CollectionError, match="already a class 'café'"):
        collection.add_class("CAFÉ")
    loaded = load_dataset(collection.split().write_zip(tmp_path / "ours.zip"), download=False)
    assert loaded.classes == collection.split().dataset().classes == sorted(["고양이", "비행기", "café"])


def test_an_eleventh_class_is_refused():
    collection = Collection()
    for number in range(MAX_CLASSES):
        collection.add_class(f"class {number}")
    with pytest.raises(CollectionError, match=f"at most {MAX_CLASSES} classes"):
        collection.add_class("one too many")
    assert len(collection.classes) == MAX_CLASSES


def test_pictures_come_from_paths_bytes_and_pil_as_the_input_the_net_sees(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "upload.png"
    photo(0, rng).save(path)
    collection = Collection()
    collection.add_class("circle")
    ids = [collection.add_picture("circle", source, THIS_MACHINE)
           for source in (str(path), png_bytes(photo(0, rng)), photo(0, rng))]
    assert len(set(ids)) == 3
    pictures = collection.pictures("circle")
    assert [p.id for p in pictures] == ids
    assert all(p.pixels.dtype == torch.uint8 and p.pixels.shape == (3, 32, 32) for p in pictures)
    assert pictures[0].image().size == (32, 32)


def test_bad_input_raises_and_loses_nothing_collected(tmp_path):
    collection = Collection()
    collection.add_class("circle")
    collection.add_picture("circle", photo(0, np.random.default_rng(0)), THIS_MACHINE)
    before = collection.pictures("circle")
    with pytest.raises(ImageError, match="not a picture format"):
        collection.add_picture("circle", b"these bytes are not a picture", THIS_MACHINE)
    with pytest.raises(ImageError, match="could not be read"):
        collection.add_picture("circle", str(tmp_path / "missing.png"), THIS_MACHINE)
    with pytest.raises(CollectionError, match="no class 'dog'; the classes are: 'circle'"):
        collection.add_picture("dog", photo(0, np.random.default_rng(0)), THIS_MACHINE)
    assert collection.pictures("circle") == before


def test_a_full_class_refuses_more_and_an_upload_of_many_says_which_were_refused():
    collection = Collection(max_per_class=3)
    collection.add_class("stripes")
    rng = np.random.default_rng(0)
    added = collection.add_pictures("stripes", [photo(1, rng), b"junk", photo(1, rng), photo(1, rng), photo(1, rng)],
                                    THIS_MACHINE)
    assert len(added.ids) == 3 and collection.counts() == {"stripes": 3}
    assert str(added.refused[0]).startswith("Picture 2: This file is not a picture format")
    assert str(added.refused[1]) == "Picture 5: The class 'stripes' is full (3 pictures); remove some before adding more."
    with pytest.raises(CollectionError, match="no class 'nope'"):
        collection.add_pictures("nope", [photo(1, rng)], THIS_MACHINE)


def test_pictures_are_removed_by_id_and_a_stale_id_is_refused():
    collection = shapes_collection(per_class=3)
    victim = collection.pictures("square")[1]
    collection.remove_picture(victim.id, THIS_MACHINE)
    assert collection.counts() == {"circle": 3, "stripes": 3, "square": 2}
    assert victim.id not in [p.id for p in collection.pictures("square")]
    with pytest.raises(CollectionError, match="removed already"):
        collection.remove_picture(victim.id, THIS_MACHINE)
    collection.remove_class("STRIPES")
    assert collection.classes == ["circle", "square"]
    collection.clear()
    assert collection.counts() == {}


def test_the_thumbnail_strip_shows_the_newest_pictures_enlarged():
    collection = shapes_collection(per_class=14)
    strip = collection.strip("circle", limit=12, scale=2)
    assert strip.size == (12 * (64 + 2) + 2, 64 + 4)
    newest = np.asarray(collection.pictures("circle")[-1].image())
    assert (np.asarray(strip)[2:66:2, -66:-2:2] == newest).all()  # last tile: the newest, each pixel doubled
    collection.add_class("empty")
    assert collection.strip("empty").size == (64 + 4, 64 + 4)
    collection.add_class("one")
    collection.add_picture("one", newest, THIS_MACHINE)
    assert collection.strip("one").size == (64 + 4, 64 + 4), "one picture is framed like many"
    assert (np.asarray(collection.strip("one"))[2:66:2, 2:66:2] == newest).all()


def test_many_threads_adding_at_once_fill_a_class_exactly_to_its_cap():
    collection = Collection(max_per_class=30)
    collection.add_class("circle")
    pictures = [photo(0, np.random.default_rng(i)) for i in range(8)]
    outcomes, full = [], []

    def add_many():
        try:
            outcomes.append(collection.add_pictures("circle", pictures, THIS_MACHINE))
        except CollectionError as error:  # the class was full before this upload began: refused whole, unread
            full.append(str(error))

    threads = [threading.Thread(target=add_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [i for outcome in outcomes for i in outcome.ids]
    assert len(ids) == len(set(ids)) == 30 == collection.counts()["circle"]
    assert sum(len(outcome.refused) for outcome in outcomes) + 8 * len(full) == 6 * 8 - 30
    assert all("is full" in words for words in full)


STUDENT, CLASSMATE = Caller("page:student", "10.0.0.2"), Caller("page:classmate", "10.0.0.2")
TEACHER = Caller("session:teacher", "127.0.0.1", teacher=True)


def test_a_student_removes_only_the_pictures_that_browser_added_and_the_teacher_any():
    collection = Collection()
    collection.add_class("circle")
    rng = np.random.default_rng(0)
    mine, theirs = (collection.add_picture("circle", photo(0, rng), who) for who in (STUDENT, CLASSMATE))
    with pytest.raises(AccessError, match=f"Picture {theirs} was added from another browser"):
        collection.remove_picture(theirs, STUDENT)  # the same computer, another browser: not the student's
    with pytest.raises(AccessError):
        collection.remove_picture(mine, Caller("", "10.0.0.2"))  # a caller with no browser owns nothing
    collection.remove_picture(mine, STUDENT)
    collection.remove_picture(theirs, TEACHER)
    assert collection.counts() == {"circle": 0}


def test_a_browser_and_a_computer_hold_at_most_their_share_and_removing_gives_it_back():
    collection = Collection(per_browser=3, per_address=5)
    collection.add_class("circle")
    rng = np.random.default_rng(0)
    added = collection.add_pictures("circle", [photo(0, rng) for _ in range(4)], STUDENT)
    assert len(added.ids) == 3 and list(map(str, added.refused)) == [
        "Picture 4: This browser has 3 pictures in the collection, the most one browser may hold: remove some to "
        "add more."]
    with pytest.raises(AccessError, match="This browser has 3 pictures"):  # refused whole, before any file is read
        collection.add_pictures("circle", ["/no/such/file.png"], STUDENT)
    collection.add_pictures("circle", [photo(0, rng) for _ in range(2)], CLASSMATE)
    with pytest.raises(AccessError, match="This computer has 5 pictures in the collection"):
        collection.add_picture("circle", photo(0, rng), Caller("page:third", "10.0.0.2"))
    collection.remove_picture(added.ids[0], STUDENT)
    assert collection.add_picture("circle", photo(0, rng), STUDENT)
    collection.remove_class("circle")  # every picture's room goes back to its owner
    collection.add_class("square")
    assert len(collection.add_pictures("square", [photo(2, rng) for _ in range(3)], STUDENT).ids) == 3


def test_an_upload_names_at_most_so_many_files_each_read_once_within_a_decoding_budget(tmp_path):
    collection = Collection()
    collection.add_class("circle")
    path = tmp_path / "one.png"
    photo(0, np.random.default_rng(0)).save(path)
    added = collection.add_pictures("circle", [str(path)] * (MAX_FILES_PER_REQUEST + 5), STUDENT)
    assert len(added.ids) == 1 and len(added.refused) == MAX_FILES_PER_REQUEST + 4
    assert str(added.refused[0]) == "Picture 2: the same file as picture 1, added once."
    too_many = [png_bytes(photo(0, np.random.default_rng(i))) for i in range(MAX_FILES_PER_REQUEST + 1)]
    with pytest.raises(CollectionError, match=f"At most {MAX_FILES_PER_REQUEST} pictures can be added at once; "
                                              f"this names {MAX_FILES_PER_REQUEST + 1}"):
        collection.add_pictures("circle", too_many, STUDENT)
    side = int((PIXELS_PER_ADD * 0.4) ** 0.5)  # three of these are over the budget of one upload
    big = [png_bytes(Image.new("RGB", (side, side), colour)) for colour in ("red", "blue", "green")]
    added = collection.add_pictures("circle", big, STUDENT)
    assert len(added.ids) == 2 and str(added.refused[0]).startswith("Picture 3: not added: with the pictures before it")
    assert collection.counts() == {"circle": 3}


# ---------------------------------------------------------------- the Dataset and the zip


def test_refusals_say_what_the_collection_still_needs():
    collection = Collection()
    with pytest.raises(CollectionError, match="Nothing collected yet"):
        collection.split().dataset()
    collection.add_class("circle")
    for _ in range(3):
        collection.add_picture("circle", photo(0, np.random.default_rng(0)), THIS_MACHINE)
    assert "only one class" in str(collection.not_ready())
    collection.add_class("square")
    assert str(collection.not_ready()) == "Only 'circle' has pictures: add at least 2 to 'square' too."
    collection.add_picture("square", photo(2, np.random.default_rng(0)), THIS_MACHINE)
    collection.add_class("stripes")
    assert str(collection.not_ready()) == "The class 'stripes' has no pictures: add at least 2, or remove the class."
    collection.add_pictures("stripes", [photo(1, np.random.default_rng(i)) for i in range(2)], THIS_MACHINE)
    with pytest.raises(CollectionError, match="'square' has 1 picture; it needs at least 2"):
        collection.split().dataset()
    collection.add_picture("square", photo(2, np.random.default_rng(1)), THIS_MACHINE)
    assert collection.not_ready() is None and len(collection.split().dataset().test) == 3


def test_the_dataset_holds_out_a_seeded_share_of_each_class_with_the_bases_normalization(trained_checkpoint):
    collection = shapes_collection(per_class=10)
    data = collection.split(seed=3).dataset(trained_checkpoint)
    assert data.classes == sorted(TINY_CLASSES)  # the order load_dataset gives the exported zip
    assert torch.bincount(data.test.labels).tolist() == [2, 2, 2] and len(data.train) == 24
    assert data.mean == tuple(trained_checkpoint.meta["mean"]) and data.std == tuple(trained_checkpoint.meta["std"])
    again = collection.split(seed=3).dataset(trained_checkpoint)
    other = collection.split(seed=4).dataset(trained_checkpoint)
    assert torch.equal(again.test.images, data.test.images)
    assert not torch.equal(other.test.images, data.test.images)
    everything = torch.cat([data.train.images, data.test.images])
    kept = torch.stack([p.pixels for name in data.classes for p in collection.pictures(name)])
    assert sorted(map(bytes, everything.numpy())) == sorted(map(bytes, kept.numpy()))  # each picture once
    for images, labels in ((data.train.images, data.train.labels), (data.test.images, data.test.labels)):
        for image, label in zip(images, labels):
            assert any(torch.equal(image, p.pixels) for p in collection.pictures(data.classes[label]))
    assert collection.split(seed=3).dataset().mean != data.mean  # without a base: the pictures' own


def test_the_exported_zip_round_trips_through_load_dataset(tmp_path):
    collection = shapes_collection(per_class=5)
    path = collection.split(seed=2).write_zip(tmp_path / "our-classes.zip")
    names = zipfile.ZipFile(path).namelist()
    assert "train/circle/0001.png" in names or "test/circle/0001.png" in names
    assert all(n.split("/")[0] in ("train", "test") and n.endswith(".png") for n in names) and len(names) == 15
    loaded, made = load_dataset(path, download=False), collection.split(seed=2).dataset()
    assert loaded.classes == made.classes and loaded.skipped == 0
    for split in ("train", "test"):
        assert torch.equal(getattr(loaded, split).images, getattr(made, split).images)
        assert torch.equal(getattr(loaded, split).labels, getattr(made, split).labels)
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_command_line_trains_on_the_exported_zip(tmp_path, capsys):
    path = shapes_collection(per_class=6).split().write_zip(tmp_path / "ours.zip")
    out = tmp_path / "from-zip.pt"
    code = main(["train", "--data", str(path), "--model", "smallcnn", "--epochs", "2", "--batch-size", "8",
                 "--device", "cpu", "--out", str(out), "--json"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert json.loads(stdout.strip().splitlines()[-1])["checkpoint"] == str(out)
    assert load_checkpoint(out).classes == sorted(TINY_CLASSES)


def test_a_refused_export_writes_nothing(tmp_path):
    with pytest.raises(CollectionError, match="Nothing collected"):
        Collection().split().write_zip(tmp_path / "empty.zip")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the nets' heads and the training settings


@pytest.mark.parametrize("name", list(NETS))
def test_replace_head_gives_new_outputs_and_keeps_every_other_layer(name):
    model = create_model(name, 10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    replace_head(model, 3)
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 3)
    after = model.state_dict()
    head = {k for k in before if k.startswith(f"{model.head}.")}
    assert head and {k for k in after if k.startswith(f"{model.head}.")} == head
    assert all(torch.equal(before[k], after[k]) for k in before if k not in head)
    assert head_layer(model).out_features == 3


@pytest.mark.parametrize("setting, value, words", [
    ("train_layers", "some", "train layers"), ("train_layers", "head", "train layers"),
    ("init_from", 7, "base checkpoint"), ("init_from", "", "base checkpoint"), ("colour_jitter", "yes", "colour jitter")])
def test_fine_tuning_settings_are_checked(setting, value, words):
    with pytest.raises(ValueError, match=words):
        replace(TrainConfig(), **{setting: value}).validate()
    TrainConfig(init_from="base.pt", train_layers="head", colour_jitter=True).validate()


def test_colour_jitter_changes_light_per_picture_within_its_strength():
    grey = torch.full((64, 3, 8, 8), 100, dtype=torch.uint8)
    jittered = colour_jitter(grey, torch.Generator().manual_seed(0), strength=0.3)
    assert jittered.dtype == torch.uint8 and jittered.shape == grey.shape
    levels = jittered.float().mean(dim=(1, 2, 3))
    assert (jittered == jittered[:, :1, :1, :1]).all()  # contrast leaves a flat picture flat
    assert levels.min() >= 70 and levels.max() <= 130 and levels.std() > 5
    assert torch.equal(jittered, colour_jitter(grey, torch.Generator().manual_seed(0), strength=0.3))


def test_the_preset_sizes_epochs_to_the_collection(trained_checkpoint):
    small, big = preset_for_your_classes(trained_checkpoint, 48), preset_for_your_classes(trained_checkpoint, 1600)
    assert small.epochs == 30 and big.epochs == 5
    assert small.init_from == str(trained_checkpoint.path) and small.model == "smallcnn"
    assert small.train_layers == "head" and small.colour_jitter
    small.validate()


# ---------------------------------------------------------------- fine-tuning through real jobs


def test_fine_tuning_the_head_of_a_cifar_net_learns_three_new_kinds(tmp_path):
    base = load_checkpoint(CHECKPOINT_DIR / "fastnet.pt")  # trained on CIFAR-10: no shapes among its classes
    data = shapes_collection(per_class=20).split().dataset(base)
    out = tmp_path / "shapes.pt"
    job = TrainingJob(preset_for_your_classes(base, len(data.train), device="cpu"), data, out=out).run()
    assert job.state == "finished", job.message
    # drawn shapes are far from any photo: 10 of 12 from the 48-128-128 fastnet's 128 features (the ResNet's 256
    # got 11), against 4 by chance; CIFAR-10 photos of new classes get 97.8% (bench --your-classes)
    assert job.result["test_accuracy"] >= 0.8 and len(data.test) == 12
    saved = load_checkpoint(out)
    assert saved.classes == sorted(TINY_CLASSES) and saved.meta["model"] == "fastnet"
    assert saved.meta["base_checkpoint"] == "fastnet.pt" and saved.meta["held_out"] == 12
    assert saved.meta["base_classes"] == base.classes and saved.meta["mean"] == base.meta["mean"]
    body = {k: v for k, v in base.model.state_dict().items() if not k.startswith("fc.")}
    trained = saved.model.state_dict()
    assert all(torch.allclose(trained[k].float(), v.float(), atol=1e-3) for k, v in body.items())  # BatchNorm too


def test_fine_tuning_all_layers_moves_the_base_and_keeps_its_normalization(trained_checkpoint, tmp_path):
    collection = shapes_collection(per_class=8)
    data = collection.split().dataset()  # the pictures' own normalization: the run still uses the base's
    config = preset_for_your_classes(trained_checkpoint, len(data.train), "all", epochs=3, device="cpu")
    job = TrainingJob(config, data, out=tmp_path / "all.pt").run()
    assert job.state == "finished", job.message
    assert load_checkpoint(tmp_path / "all.pt").meta["mean"] == trained_checkpoint.meta["mean"] != list(data.mean)
    moved = job.model.state_dict()["conv1.weight"] - trained_checkpoint.model.state_dict()["conv1.weight"]
    assert moved.abs().max() > 1e-4


def test_a_base_that_cannot_be_used_fails_the_run_naming_only_the_file(trained_checkpoint, tmp_path):
    data = shapes_collection(per_class=3).split().dataset()
    missing = preset_for_your_classes(trained_checkpoint, 6, init_from=str(tmp_path / "gone.pt"), device="cpu")
    job = TrainingJob(missing, data).run()
    assert job.state == "failed" and "'gone.pt' does not exist" in job.message and str(tmp_path) not in job.message
    other_net = preset_for_your_classes(trained_checkpoint, 6, model="lenet", device="cpu")
    job = TrainingJob(other_net, data).run()
    assert job.state == "failed"
    assert str(job.message) == f"The base checkpoint {trained_checkpoint.path.name} holds a smallcnn, but these settings " \
                          "train a lenet: choose the same net."


def test_stop_ends_a_fine_tune_mid_run_and_keeps_what_it_learned(trained_checkpoint, tmp_path):
    data = shapes_collection(per_class=10).split().dataset(trained_checkpoint)

    def stop_at_step_4(event, job):
        if event == "step" and job.progress["step"] == 4:
            job.stop()

    out = tmp_path / "stopped.pt"
    config = preset_for_your_classes(trained_checkpoint, len(data.train), device="cpu", evals_per_epoch=1)
    job = TrainingJob(config, data, out=out, on_event=stop_at_step_4)
    assert job.start().wait(timeout=120)
    assert job.state == "stopped" and job.history.steps[-1]["step"] == 4 < job.progress["steps"]
    assert load_checkpoint(out).classes == sorted(TINY_CLASSES)


def test_a_fine_tune_runs_and_stops_in_the_apps_trainer_process(trained_checkpoint, tmp_path):
    data = shapes_collection(per_class=10).split().dataset(trained_checkpoint)
    config = preset_for_your_classes(trained_checkpoint, len(data.train), device="cpu", epochs=1000)
    trainer = Trainer(threads=1).start()
    try:
        job = WorkerJob(trainer, config, lambda: data, tmp_path / "ours.pt", "ours").start()
        deadline = time.monotonic() + 120
        while not job.history.steps:
            assert job.state == "running" and time.monotonic() < deadline, job.message
            time.sleep(0.05)
        job.stop()
        assert job.wait(60) and job.state == "stopped", job.message
    finally:
        trainer.close()
    assert job.progress["step"] < job.progress["steps"]
    saved = load_checkpoint(tmp_path / "ours.pt")
    assert saved.classes == sorted(TINY_CLASSES) and saved.meta["base_checkpoint"] == trained_checkpoint.path.name
