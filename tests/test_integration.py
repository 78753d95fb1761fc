"""On the real CIFAR-10 (../shared/data), when present: the tutorial's net learns, and fast."""
import pytest
import torch

from cifar_demo.data import load_dataset
from cifar_demo.training import TrainingJob, preset
from conftest import shared_archive_or_skip


@pytest.fixture(scope="module")
def cifar10():
    archive = shared_archive_or_skip()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CIFAR_DEMO_CACHE")  # the user's cache: the second CI run loads in seconds
        return load_dataset(archive, download=False)


def test_the_real_data_set_has_cifar10s_shape(cifar10):
    assert cifar10.classes == ["airplane", "automobile", "bird", "cat", "deer",
                               "dog", "frog", "horse", "ship", "truck"]
    assert len(cifar10.train) == 50_000 and len(cifar10.test) == 10_000
    assert cifar10.skipped == 0


def test_lenet_one_epoch_beats_40_percent(cifar10, tmp_path):
    job = TrainingJob(preset("lenet", epochs=1, device="cpu"), cifar10, out=tmp_path / "lenet.pt").run()
    assert job.state == "finished", job.message
    assert job.result["test_accuracy"] > 0.40


CHECKED_CLASSES = ("cat", "ship")  # the hardest and one of the easiest: 2,000 of the 10,000 test pictures


@pytest.mark.parametrize("name", ["lenet", "smallcnn", "fastnet", "resnet"])
def test_shipped_checkpoint_accuracy_matches_a_fresh_evaluation(cifar10, name):
    """Two classes' accuracy measured again, picture for picture, against what the checkpoint says of them (a fifth
    of the test set's work: resnet's test-time views cost minutes on the whole set here); the checkpoint's overall
    figure is its classes' mean, the test set being ten classes of 1,000."""
    from cifar_demo.checkpoints import CHECKPOINT_DIR, load_checkpoint
    from cifar_demo.data import ImageSet
    from cifar_demo.evaluation import EvalViews, evaluate

    path = CHECKPOINT_DIR / f"{name}.pt"
    if not path.is_file():
        pytest.skip(f"{path} is not shipped")
    checkpoint = load_checkpoint(path)
    assert checkpoint.meta["command"].startswith("python -m cifar_demo train")
    said = checkpoint.meta["per_class"]
    assert abs(sum(said.values()) / len(said) - checkpoint.meta["test_accuracy"]) <= 0.0005
    checked = [cifar10.classes.index(c) for c in CHECKED_CLASSES]
    keep = (cifar10.test.labels[:, None] == torch.tensor(checked)).any(dim=1)
    pictures = ImageSet(cifar10.test.images[keep], cifar10.test.labels[keep])
    result = evaluate(checkpoint.model, pictures, cifar10.classes, checkpoint.meta["mean"],
                      checkpoint.meta["std"], views=EvalViews.of(checkpoint.meta["config"]))
    for label in checked:  # half-precision storage may flip a few of a class's 1,000 pictures
        assert abs(result.per_class[label] - said[cifar10.classes[label]]) <= 0.004, cifar10.classes[label]
