import torch

from cifar_demo.data import ImageSet
from cifar_demo.evaluation import (EvalViews, confusion_matrix, evaluate, most_confused_pairs, per_class_accuracy,
                                   predict_logits)


def test_confusion_matrix_rows_are_truth_columns_are_predictions():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    predictions = torch.tensor([0, 1, 1, 1, 0, 2])
    confusion = confusion_matrix(predictions, labels, 3)
    assert confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert per_class_accuracy(confusion) == [0.5, 1.0, 0.5]


def test_a_class_with_no_test_pictures_has_no_accuracy_rather_than_zero():
    assert per_class_accuracy(torch.tensor([[2, 0, 0], [1, 0, 0], [0, 0, 0]])) == [1.0, 0.0, None]


def test_evaluate_leaves_a_class_missing_from_the_test_set_unscored(trained_checkpoint, tiny_data):
    meta = trained_checkpoint.meta
    keep = tiny_data.test.labels != 1
    without_one = ImageSet(tiny_data.test.images[keep], tiny_data.test.labels[keep])
    per_class = evaluate(trained_checkpoint.model, without_one, tiny_data.classes, meta["mean"], meta["std"]).per_class
    assert per_class[1] is None
    assert all(isinstance(share, float) and 0 <= share <= 1 for i, share in enumerate(per_class) if i != 1)


def test_most_confused_pairs_are_the_biggest_mistakes_first():
    confusion = torch.tensor([[9, 4, 0], [1, 8, 0], [0, 7, 3]])
    pairs = most_confused_pairs(confusion, ["cat", "dog", "frog"], k=3)
    assert pairs == [("frog", "dog", 7), ("cat", "dog", 4), ("dog", "cat", 1)]


def test_evaluate_agrees_with_counting_by_hand(trained_checkpoint, tiny_data):
    meta = trained_checkpoint.meta
    result = evaluate(trained_checkpoint.model, tiny_data.test, tiny_data.classes, meta["mean"], meta["std"])
    logits = predict_logits(trained_checkpoint.model, tiny_data.test.images, meta["mean"], meta["std"], batch_size=5)
    by_hand = (logits.argmax(1) == tiny_data.test.labels).float().mean().item()
    assert abs(result.accuracy - by_hand) < 1e-6
    assert result.confusion.sum().item() == len(tiny_data.test)
    assert result.accuracy > 0.6 and result.loss > 0
    assert torch.equal(result.predictions, logits.argmax(1))


def test_test_time_flip_averages_a_picture_and_its_mirror(trained_checkpoint, tiny_data):
    meta = trained_checkpoint.meta
    images = tiny_data.test.images[:6]
    plain = predict_logits(trained_checkpoint.model, images, meta["mean"], meta["std"])
    mirrored = predict_logits(trained_checkpoint.model, images.flip(3), meta["mean"], meta["std"])
    both = predict_logits(trained_checkpoint.model, images, meta["mean"], meta["std"], views=EvalViews(flip=True))
    assert torch.allclose(both, (plain + mirrored) / 2, atol=1e-5)


def test_test_time_shift_weighs_the_picture_and_its_two_one_pixel_shifts(trained_checkpoint, tiny_data):
    meta = trained_checkpoint.meta
    images = tiny_data.test.images[:6]
    padded = torch.nn.functional.pad(images.float(), (1, 1, 1, 1), mode="reflect").to(torch.uint8)  # as uint8 here
    up_left, down_right = padded[..., :-2, :-2], padded[..., 2:, 2:]

    def logits(pictures, **views):
        return predict_logits(trained_checkpoint.model, pictures, meta["mean"], meta["std"], views=EvalViews(**views))

    expected = logits(images) / 2 + (logits(up_left) + logits(down_right)) / 4
    assert torch.allclose(logits(images, shift=True), expected, atol=1e-4)
    both = logits(images, flip=True, shift=True)
    assert torch.allclose(both, logits(images, flip=True) / 2 + (logits(up_left, flip=True)
                                                                  + logits(down_right, flip=True)) / 4, atol=1e-4)
    assert not torch.allclose(both, logits(images, flip=True), atol=1e-4)  # the shifts change the answer


def test_the_views_come_from_a_config_or_a_saved_one():
    from cifar_demo.training import preset

    assert EvalViews.of({}) == EvalViews()  # an old checkpoint's config without these keys
    assert EvalViews.of({"test_time_flip": True, "test_time_shift": True}) == EvalViews(flip=True, shift=True)
    assert EvalViews.of(preset("smallcnn")) == EvalViews()
    assert EvalViews.of(preset("lenet")) == EvalViews(flip=True)  # its one epoch's last point, on more seeds
    assert EvalViews.of(preset("fastnet", test_time_shift=True)) == EvalViews(flip=True, shift=True)


def test_evaluation_leaves_a_training_model_in_training_mode(trained_checkpoint, tiny_data):
    model = trained_checkpoint.model.train()
    predict_logits(model, tiny_data.test.images[:2], trained_checkpoint.meta["mean"], trained_checkpoint.meta["std"])
    assert model.training
    model.eval()
