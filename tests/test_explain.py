import numpy as np
import pytest
import torch
from PIL import Image

from cifar_demo.checkpoints import Checkpoint
from cifar_demo.explain import (_cam_target, _layer_calls, conv_stages, feature_maps, filter_patches, filters_image, first_conv,
                                format_shape, gradcam, gradcam_layer, layer_shapes, table_rows, walkthrough)
from cifar_demo.inference import classify
from cifar_demo.models import NETS, count_parameters, create_model
from cifar_demo.plots import run_label, runs_figure, tile_grid


def blocks_per_band(image: Image.Image) -> list[int]:
    """Separate non-white blocks in each horizontal band of a picture: tiles per grid row (or a title line)."""
    ink = (np.asarray(image.convert("RGB")) < 250).any(axis=2)

    def runs(flags: np.ndarray) -> list[tuple[int, int]]:
        edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
        return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))

    return [len(runs(ink[top:bottom].any(axis=0))) for top, bottom in runs(ink.any(axis=1))]


def untrained_checkpoint(net: str) -> Checkpoint:
    torch.manual_seed(0)
    meta = {"model": net, "classes": [str(i) for i in range(10)], "mean": [0.5] * 3, "std": [0.25] * 3}
    return Checkpoint(None, create_model(net).eval(), meta)


# ------------------------------------------------------------------ layer shapes


@pytest.mark.parametrize("net", list(NETS))
def test_shapes_table_is_the_real_forward_pass(net):
    model = create_model(net).eval()
    rows = layer_shapes(model)
    assert rows[0]["output"] == [3, 32, 32]
    for before, row in zip(rows, rows[1:]):
        assert row["input"] == before["output"], row["layer"]
    with torch.no_grad():
        assert rows[-1]["output"] == list(model(torch.zeros(1, 3, 32, 32)).shape[1:])
        for row in rows[1:]:
            if row["type"] in ("Conv2d", "MaxPool2d", "Linear", "BatchNorm2d", "AdaptiveMaxPool2d", "Residual"):
                layer = model.get_submodule(row["layer"])
                assert list(layer(torch.randn(1, *row["input"])).shape[1:]) == row["output"], row["layer"]
    assert sum(row["parameters"] for row in rows) == count_parameters(model)


def test_lenet_walk_through_matches_the_tutorial():
    rows = layer_shapes("lenet")
    assert [format_shape(r["output"]) for r in rows] == [
        "3x32x32", "6x28x28", "6x14x14", "16x10x10", "16x5x5", "400", "120", "84", "10"]
    assert [r["layer"] for r in rows] == ["input", "conv1", "pool", "conv2", "pool", "flatten", "fc1", "fc2", "fc3"]
    flatten = rows[5]
    assert flatten["type"] == "torch.flatten (in forward)" and flatten["parameters"] == 0
    assert table_rows(rows)[1] == ["conv1", "Conv2d", "3x32x32", "6x28x28", 456]


def test_sentences_give_the_reason_for_each_shape():
    lenet = {r["layer"]: str(r["sentence"]) for r in layer_shapes("lenet")}
    assert "conv1 turns 3x32x32 into 6x28x28 because 5x5 kernels without padding lose 2 pixels on each side" \
        in lenet["conv1"]
    assert "halves 6x28x28 to 6x14x14" in walkthrough(layer_shapes("lenet"))
    assert "flatten turns 16x5x5 into 400" in lenet["flatten"]
    assert "one score per class" in lenet["fc3"] and "one score" not in lenet["fc1"]
    smallcnn = {r["layer"]: str(r["sentence"]) for r in layer_shapes("smallcnn")}
    assert "3x32x32 into 8x32x32" in smallcnn["conv1"] and "padding 1 keeps the size" in smallcnn["conv1"]
    fastnet = {r["layer"]: str(r["sentence"]) for r in layer_shapes("fastnet")}
    assert "3x32x32 into 24x31x31 because 2x2 kernels without padding lose 1 pixel in all" in fastnet["whiten"]
    assert "shrinks 48x31x31 to 48x15x15" in fastnet["group1.pool"]
    resnet = {r["layer"]: str(r["sentence"]) for r in layer_shapes("resnet")}
    assert "skip connection" in resnet["layer1.1"]


def test_walk_through_leaves_out_shape_keeping_normalisation_lines():
    text = walkthrough(layer_shapes("resnet"))
    assert "BatchNorm" not in text and "sets negative values to zero" not in text
    assert text.count("\n") + 1 == sum(r["type"] not in ("BatchNorm2d", "ReLU") for r in layer_shapes("resnet"))


def test_shapes_of_a_checkpoint_follow_its_classes(trained_checkpoint):
    rows = layer_shapes(trained_checkpoint)
    assert rows[-1]["output"] == [len(trained_checkpoint.classes)] == [3]


# ------------------------------------------------------------------ filters and feature maps


@pytest.mark.parametrize("net", list(NETS))
def test_filters_grid_has_one_patch_per_first_layer_filter(net):
    torch.manual_seed(0)
    model = create_model(net)
    _, conv = first_conv(model)
    patches = filter_patches(model)
    assert patches.shape == (conv.out_channels, 3, *conv.kernel_size)
    assert torch.allclose(patches.amin(dim=(1, 2, 3)), torch.zeros(len(patches)))
    assert torch.allclose(patches.amax(dim=(1, 2, 3)), torch.ones(len(patches)))
    grid = tile_grid(patches, columns=8)
    assert sum(blocks_per_band(grid)) == conv.out_channels
    first = np.asarray(grid)[6, 6]  # top-left pixel of the first patch, after the 6-pixel border
    assert np.abs(first.astype(int) - (patches[0, :, 0, 0] * 255).round().numpy()).max() <= 1
    image = filters_image(model)
    title, *rows = blocks_per_band(image)
    assert sum(rows) == conv.out_channels and image.height > grid.height


@pytest.mark.parametrize("net", list(NETS))
def test_feature_maps_show_up_to_16_strongest_channels_per_stage(net):
    checkpoint = untrained_checkpoint(net)
    picture = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    stages = feature_maps(checkpoint, picture)
    assert [s.name for s in stages] == list(conv_stages(checkpoint.model))
    for stage in stages:
        channels, height, width = stage.shape
        assert len(stage.channels) == min(16, channels) == len(stage.maps)
        assert stage.maps.shape[1:] == (height, width)
        _, *rows = blocks_per_band(stage.image)
        assert sum(rows) == len(stage.channels)
        if channels > 16:
            assert f"16 strongest of {channels}" in str(stage.title)


def test_feature_maps_of_lenet_are_the_conv_outputs():
    checkpoint = untrained_checkpoint("lenet")
    picture = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    conv1, conv2 = feature_maps(checkpoint, picture)
    assert (conv1.shape, conv2.shape) == ([6, 28, 28], [16, 10, 10])
    x = (picture.float() / 255 - 0.5) / 0.25
    with torch.no_grad():
        expected = checkpoint.model.conv1(x[None])[0]
    assert torch.allclose(conv1.maps, expected, atol=1e-5)
    assert "all 6 channels, 28x28" in str(conv1.title)


def test_wide_stages_pick_the_channels_that_respond_most():
    checkpoint = untrained_checkpoint("resnet")
    picture = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    stage = feature_maps(checkpoint, picture)[1]
    assert stage.name == "layer1" and stage.shape == [128, 16, 16]
    with torch.no_grad():
        model = checkpoint.model
        layer1 = model.layer1(model.prep((picture.float()[None] / 255 - 0.5) / 0.25))[0]
    assert stage.channels == layer1.mean(dim=(1, 2)).topk(16).indices.tolist()
    assert torch.allclose(stage.maps, layer1[stage.channels], atol=1e-5)


# ------------------------------------------------------------------ Grad-CAM


class Reached(Exception):
    """Ends a forward pass once the layer under test has run."""


@pytest.mark.parametrize("net", list(NETS))
def test_cell_centres_match_the_receptive_fields(net):
    """The map is laid on the picture where each cell looks: checked against real gradients.

    On a 96x96 picture the middle cell's whole field lies inside it; the cells' placement does not depend on
    the picture's size, and the forward pass stops at the layer, before the linear layers that need 32x32.
    """
    model = create_model(net).eval()
    for call in (_layer_calls(model)[0], _cam_target(model)):
        seen = torch.zeros(96, dtype=torch.bool)
        for seed in range(4):  # max-pools and ReLUs route gradients; several pictures cover the whole field
            torch.manual_seed(seed)
            x = torch.randn(1, 3, 96, 96, requires_grad=True)
            runs = []

            def stop(module, inputs, output):
                runs.append(output)
                if len(runs) > call.call:
                    raise Reached

            handle = call.module.register_forward_hook(stop)
            with pytest.raises(Reached):
                model(x)
            handle.remove()
            q = runs[-1].shape[-1] // 2
            runs[-1][0, :, q, q].sum().backward()
            seen |= x.grad[0].abs().sum(dim=(0, 1)) > 0
        columns = torch.flatten(torch.nonzero(seen))
        first, last = int(columns.min()), int(columns.max()) + 1
        assert first > 0 and last < 96, call.layer
        assert (first + last) / 2 == pytest.approx(call.grid.start + q * call.grid.jump), call.layer


def test_gradcam_reads_the_classifiers_input_unless_it_is_too_coarse():
    assert gradcam_layer("lenet") == "conv2"
    assert gradcam_layer("smallcnn") == "conv2"
    assert gradcam_layer("resnet") == "layer3.1"  # the last residual block, 4x4, what the global max-pool reads
    assert gradcam_layer("fastnet") == "group2.conv1"  # its last group is 3x3: the deepest 15x15 layer instead
    for net in NETS:
        chosen = [c for c in _layer_calls(create_model(net).eval()) if c.layer == gradcam_layer(net)][0]
        assert chosen.grid.cells >= 4


def test_gradcam_of_a_trained_model_points_somewhere(trained_checkpoint, tiny_data):
    for index in (0, len(tiny_data.test) // 2, len(tiny_data.test) - 1):
        result = gradcam(trained_checkpoint, tiny_data.test.images[index])
        assert result.heatmap.shape == (32, 32)
        assert result.heatmap.min() >= 0 and result.heatmap.max() == pytest.approx(1.0)
        assert result.heatmap.std() > 0.05  # not a constant map
        assert result.class_name == result.predicted
        assert result.overlay.size == (256, 256)
        assert result.class_name in str(result.message) and "Warm areas" in str(result.message)


def test_gradcam_for_a_chosen_class_reports_its_probability(trained_checkpoint, tiny_data):
    picture = Image.fromarray(tiny_data.test.images[0].permute(1, 2, 0).numpy())
    probabilities = dict(classify(trained_checkpoint, picture, k=3).top)
    for name in trained_checkpoint.classes:
        result = gradcam(trained_checkpoint, picture, name)
        assert result.class_name == name
        assert result.probability == pytest.approx(probabilities[name], abs=1e-5)
        assert result.heatmap.shape == (32, 32) and result.heatmap.min() >= 0
        if name != result.predicted:
            assert f"own answer is '{result.predicted}'" in str(result.message)
    assert set(result.as_dict()) == {"class", "probability", "predicted", "layer", "cells", "message"}


def test_gradcam_refuses_an_unknown_class(trained_checkpoint, tiny_data):
    with pytest.raises(ValueError, match="circle"):
        gradcam(trained_checkpoint, tiny_data.test.images[0], "unicorn")


def test_explaining_leaves_the_shared_model_untouched(trained_checkpoint, tiny_data):
    model = trained_checkpoint.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    gradcam(trained_checkpoint, tiny_data.test.images[0])
    feature_maps(trained_checkpoint, tiny_data.test.images[0])
    layer_shapes(trained_checkpoint)
    assert not model.training
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# ------------------------------------------------------------------ run comparison


def test_run_label_names_net_epochs_and_accuracy():
    assert str(run_label("lenet", 2, 0.579)) == "lenet · 2 epochs · 57.9%"  # a Say: English unless a page asks
    assert str(run_label("fastnet", 1, None)) == "fastnet · 1 epoch"
    assert str(run_label("resnet", 0.5, 0.1)) == "resnet · 0.5 epochs · 10.0%"


def test_run_comparison_has_one_line_per_run_against_epoch(trained_checkpoint):
    recorded = trained_checkpoint.meta["history"]
    halfway = {"steps": [{"step": s, "epoch": s / 4, "loss": 1.0 / s, "smooth_loss": 1.0 / s} for s in range(1, 5)],
               "epochs": [{"epoch": 1.0, "test_accuracy": 0.4}]}
    just_started = {"steps": [{"step": 1, "epoch": 0.01, "loss": 2.3, "smooth_loss": 2.3}], "epochs": []}
    labels = ["smallcnn · 6 epochs · 64.0%", "lenet · 1 epoch · 40.0%", "fastnet · 0.01 epochs"]
    fig = runs_figure(list(zip(labels, [recorded, halfway, just_started])))
    loss_ax, accuracy_ax = fig.axes
    assert len(loss_ax.lines) == len(accuracy_ax.lines) == 3
    assert [t.get_text() for t in fig.legends[0].get_texts()] == labels
    assert max(loss_ax.lines[0].get_xdata()) == pytest.approx(recorded["steps"][-1]["epoch"])
    assert max(loss_ax.lines[1].get_xdata()) == 1.0  # epochs, not steps
    assert list(accuracy_ax.lines[1].get_ydata()) == [40.0]
    assert [line.get_color() for line in loss_ax.lines] == [line.get_color() for line in accuracy_ax.lines]


def test_run_comparison_without_runs_says_what_to_do():
    fig = runs_figure([])
    assert not fig.legends and "Train" in fig.axes[0].texts[0].get_text()
