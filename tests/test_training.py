import threading
from dataclasses import replace

import pytest
import torch

from cifar_demo.checkpoints import load_checkpoint
from cifar_demo.data import DataNotFoundError, ImageSet
from cifar_demo.checkpoints import MAX_HISTORY
from cifar_demo.evaluation import EvalViews, evaluate
from cifar_demo.models import create_model
from cifar_demo.training import Lookahead, TrainConfig, TrainingJob, lr_factor, make_optimizer, preset, thinned


def tiny_config(**overrides) -> TrainConfig:
    return preset("smallcnn", **{"epochs": 4, "batch_size": 16, "lr": 0.05, "device": "cpu", **overrides})


def test_short_run_loss_falls_and_beats_chance(tiny_data, tmp_path):
    job = TrainingJob(tiny_config(epochs=6), tiny_data, out=tmp_path / "run.pt").run()
    assert job.state == "finished", job.message
    steps = job.history.steps
    assert len(steps) >= 20
    assert steps[-1]["smooth_loss"] < 0.7 * steps[0]["loss"]
    assert job.result["test_accuracy"] > 0.6  # three classes: chance is 1/3
    assert [e["epoch"] for e in job.history.epochs] == [1, 2, 3, 4, 5, 6]
    assert all(s["images_per_second"] > 0 and s["lr"] >= 0 for s in steps)


def test_a_run_given_minutes_plans_its_steps_again_from_its_pace_and_may_end_inside_an_epoch(tiny_data):
    longer = TrainingJob(tiny_config(epochs=1, minutes=0.05, evals_per_epoch=2, test_time_flip=True), tiny_data).run()
    assert longer.state == "finished", longer.message
    steps_per_epoch = longer.meter.steps_per_epoch
    done = longer.history.steps[-1]["step"]
    assert done > steps_per_epoch  # a first plan of one epoch grew to fill three seconds
    assert longer.progress["steps"] == longer.meter.total_steps == done
    assert longer.progress["epochs"] == -(-done // steps_per_epoch)  # what the status line counts epochs out of
    assert longer.result_views == EvalViews(flip=True)  # the last point, at the last step, has the final views
    assert longer.history.epochs[-1]["epoch"] == pytest.approx(done / steps_per_epoch)
    # 49 steps an epoch, a loss point every 2: the epoch ends inside a window, whose point the plan's end writes
    odd = replace(tiny_data, train=ImageSet(tiny_data.train.images[:98], tiny_data.train.labels[:98]))
    shorter = TrainingJob(tiny_config(epochs=200, minutes=1e-6, test_time_flip=True, batch_size=2), odd).run()
    assert shorter.state == "finished", shorter.message
    assert shorter.result_views == EvalViews(flip=True)
    assert shorter.history.steps[-1]["step"] == shorter.meter.steps_per_epoch  # no time left after an epoch
    assert [point["epoch"] for point in shorter.history.epochs] == [1]  # its one test, with the final views


def test_evals_per_epoch_adds_accuracy_points_inside_each_epoch(tiny_data):
    job = TrainingJob(tiny_config(epochs=2, evals_per_epoch=4), tiny_data).run()
    assert job.state == "finished", job.message
    assert [e["epoch"] for e in job.history.epochs] == [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]
    seconds = [e["seconds"] for e in job.history.epochs]
    assert seconds == sorted(seconds)
    with pytest.raises(ValueError, match="evaluations per epoch"):
        tiny_config(evals_per_epoch=0).validate()


def test_finished_job_saves_a_checkpoint_with_its_story(tiny_data, tmp_path):
    out = tmp_path / "story.pt"
    job = TrainingJob(tiny_config(epochs=2), tiny_data, out=out, notes={"command": "pytest"}).run()
    assert job.checkpoint_path == out and out.name in job.message and str(out.parent) not in job.message
    meta = load_checkpoint(out).meta
    assert meta["model"] == "smallcnn" and meta["classes"] == tiny_data.classes
    assert meta["test_accuracy"] == pytest.approx(job.result["test_accuracy"])
    assert set(meta["per_class"]) == set(tiny_data.classes)
    assert meta["config"]["epochs"] == 2 and meta["epochs_done"] == 2
    assert len(meta["history"]["steps"]) == len(job.history.steps) and meta["command"] == "pytest"
    assert meta["mean"] == list(tiny_data.mean)


def test_stop_takes_effect_within_one_batch(tiny_data, tmp_path):
    seen_at_stop = {}

    def stop_at_step_5(event, job):
        if event == "step" and job.progress["step"] == 5:
            seen_at_stop["step"] = 5
            job.stop()

    out = tmp_path / "stopped.pt"
    job = TrainingJob(tiny_config(epochs=50), tiny_data, out=out, on_event=stop_at_step_5)
    assert job.start().wait(timeout=120)
    assert job.state == "stopped"
    assert job.history.steps[-1]["step"] == seen_at_stop["step"]  # no batch ran after the stop
    assert out.is_file()  # a stopped run keeps what it learned...
    assert job.history.epochs[-1]["epoch"] < 1  # ...with an honest accuracy measured mid-epoch


def test_a_diverging_run_fails_with_the_reason_and_saves_nothing(tiny_data, tmp_path):
    out = tmp_path / "diverged.pt"
    job = TrainingJob(tiny_config(lr=1e6, optimizer="sgd"), tiny_data, out=out).run()
    assert job.state == "failed"
    assert "diverged" in str(job.message) and "learning rate" in str(job.message)
    assert not out.exists()


def test_an_exception_in_the_thread_is_kept_for_readers(tmp_path):
    def broken_data():
        raise RuntimeError("disk on fire")

    job = TrainingJob(tiny_config(), broken_data, out=tmp_path / "x.pt").start()
    assert job.wait(timeout=60)
    snapshot = job.snapshot()
    assert snapshot["state"] == "failed" and "disk on fire" in snapshot["message"]
    assert "RuntimeError" in job.error_traceback


def test_running_out_of_memory_fails_the_job_with_advice(tmp_path):
    def too_big_to_allocate():
        return torch.empty(10**15, dtype=torch.uint8)  # a real allocation the machine refuses

    job = TrainingJob(tiny_config(), too_big_to_allocate, out=tmp_path / "never.pt").run()
    assert job.state == "failed"
    assert str(job.message).startswith("Out of memory on cpu: lower the batch size (now 16)")
    assert not (tmp_path / "never.pt").exists()


def test_missing_data_fails_the_job_with_the_friendly_paragraph(tmp_path):
    def no_data():
        raise DataNotFoundError("No training data found at 'x'. Tried: ...")

    job = TrainingJob(tiny_config(), no_data).run()
    assert job.state == "failed" and "No training data found" in str(job.message)


def test_same_seed_same_run(tiny_data):
    losses = [[s["loss"] for s in TrainingJob(tiny_config(epochs=1, seed=7), tiny_data).run().history.steps]
              for _ in range(2)]
    assert losses[0] == losses[1]
    other = [s["loss"] for s in TrainingJob(tiny_config(epochs=1, seed=8), tiny_data).run().history.steps]
    assert other != losses[0]


def test_snapshots_are_consistent_while_the_job_runs(tiny_data):
    job = TrainingJob(tiny_config(epochs=3), tiny_data).start()
    problems = []
    while not job.done:
        snapshot = job.snapshot()
        steps = snapshot["history"]["steps"]
        if steps and steps[-1]["step"] > snapshot["progress"]["steps"]:
            problems.append(snapshot)
        if [s["step"] for s in steps] != sorted({s["step"] for s in steps}):
            problems.append(snapshot)
    assert job.wait(60) and not problems


def test_a_job_cannot_be_started_twice(tiny_data):
    job = TrainingJob(tiny_config(epochs=1), tiny_data).start()
    with pytest.raises(RuntimeError):
        job.start()
    job.wait(60)


def test_bad_settings_are_refused_before_anything_runs():
    with pytest.raises(ValueError, match="epochs"):
        TrainingJob(TrainConfig(epochs=0), data=None)
    with pytest.raises(ValueError, match="optimizer"):
        TrainingJob(TrainConfig(optimizer="rmsprop"), data=None)
    with pytest.raises(ValueError, match="warm-up"):
        TrainingJob(TrainConfig(warmup=1.0), data=None)


def test_one_cycle_warms_up_then_decays_to_zero():
    config = TrainConfig(schedule="onecycle")
    factors = [lr_factor(config, step, 100) for step in range(100)]
    peak = factors.index(max(factors))
    assert max(factors) == 1.0 and 0 < peak < 50
    assert factors[:peak] == sorted(factors[:peak]) and factors[peak:] == sorted(factors[peak:], reverse=True)
    assert factors[-1] < 0.05
    assert lr_factor(TrainConfig(schedule="constant"), 50, 100) == 1.0


@pytest.mark.parametrize("warmup, peak_step", [(0.2, 19), (0.05, 4)])
def test_the_warm_up_share_sets_where_the_learning_rate_peaks(warmup, peak_step):
    factors = [lr_factor(TrainConfig(warmup=warmup), step, 100) for step in range(100)]
    assert factors.index(max(factors)) == peak_step


def test_adam_and_augmentation_off_also_train(tiny_data):
    job = TrainingJob(tiny_config(epochs=3, optimizer="adam", lr=3e-3, augment=False), tiny_data).run()
    assert job.state == "finished" and job.result["test_accuracy"] > 0.5


def test_every_reader_thread_sees_a_finished_job(tiny_data):
    job = TrainingJob(tiny_config(epochs=1), tiny_data).start()
    states = []
    readers = [threading.Thread(target=lambda: (job.wait(60), states.append(job.snapshot()["state"])))
               for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(60)
    assert states == ["finished"] * 4
    assert torch.is_tensor(next(job.model.parameters()))


def test_a_compiled_run_matches_the_plain_one_and_saves_a_plain_checkpoint(tiny_data, tmp_path):
    config = tiny_config(epochs=1, batch_size=40, seed=3)  # 40 divides the 120 pictures: one shape, one compilation
    plain = TrainingJob(config, tiny_data).run()
    compiled = TrainingJob(replace(config, compile=True), tiny_data, out=tmp_path / "compiled.pt").run()
    assert compiled.state == "finished", compiled.message
    assert [s["loss"] for s in compiled.history.steps] == pytest.approx([s["loss"] for s in plain.history.steps], rel=1e-3)
    assert 0 < compiled.result["first_step_seconds"] <= compiled.history.epochs[-1]["train_seconds"]
    checkpoint = load_checkpoint(tmp_path / "compiled.pt")  # a strict load: the plain module's names, no wrapper's
    assert checkpoint.meta["config"]["compile"] is True
    torch.testing.assert_close(checkpoint.model.state_dict(), compiled.model.state_dict(), rtol=1e-3, atol=1e-3)


def test_a_compiler_that_cannot_run_fails_the_job_with_one_sentence(tiny_data, monkeypatch):
    import torch._inductor.config as inductor

    monkeypatch.setattr(inductor.cpp, "cxx", ("no-such-c++-compiler",))  # what a machine without a compiler meets
    monkeypatch.setattr(inductor, "fx_graph_cache", False)  # a cached kernel would not need the compiler...
    torch._dynamo.reset()  # ...nor would code compiled earlier in this process
    job = TrainingJob(tiny_config(epochs=1, batch_size=40, compile=True), tiny_data).run()
    assert job.state == "failed"
    assert str(job.message).startswith("torch.compile failed on cpu (") and "without compile" in str(job.message)
    assert "\n" not in str(job.message) and not job.error_traceback
    with pytest.raises(ValueError, match="compile must be true or false"):
        tiny_config(compile="yes").validate()


@pytest.mark.parametrize("count", [1, MAX_HISTORY, MAX_HISTORY + 1, 3 * MAX_HISTORY + 7])
def test_a_long_history_is_thinned_to_what_a_checkpoint_may_hold_keeping_its_ends(count):
    points = [{"step": i} for i in range(count)]
    kept = thinned(points)
    assert len(kept) <= MAX_HISTORY and kept[0] == points[0] and kept[-1] == points[-1]
    assert [p["step"] for p in kept] == sorted({p["step"] for p in kept})
    if count <= MAX_HISTORY:
        assert kept == points


@pytest.mark.parametrize("setting, value, words", [
    ("seed", 10**30, "seed"), ("seed", -1, "seed"), ("lr", float("inf"), "learning rate"),
    ("lr", float("nan"), "learning rate"), ("lr", 0.0, "learning rate"), ("epochs", 2**70, "epochs"),
    ("epochs", True, "epochs"), ("batch_size", 2.5, "batch size"), ("model", ["lenet"], "net"),
    ("optimizer", None, "optimizer"), ("augment", "yes", "augment"), ("weight_decay", float("-inf"), "weight decay"),
    ("translate", 9, "translate"), ("norm_lr_scale", 0, "BatchNorm"), ("lookahead", 1, "lookahead"),
    ("alternate_flip", "yes", "alternate flip"), ("whiten_bias_epochs", -1, "whitening bias"),
    ("whiten_bias_epochs", 1.5, "whitening bias"), ("minutes", 0, "minutes"), ("minutes", -1.0, "minutes"),
    ("minutes", float("nan"), "minutes"), ("minutes", 10**6, "minutes"), ("minutes", "10", "minutes")])
def test_no_setting_outside_its_finite_range_is_accepted(setting, value, words):
    with pytest.raises(ValueError, match=words):
        replace(tiny_config(), **{setting: value}).validate()


def test_points_during_the_run_test_plain_pictures_and_the_last_adds_the_test_time_views(tiny_data):
    seen = []  # (the point's test loss, the plain pictures', with their mirrors), on the weights it was measured on

    def check(event, job):
        if event == "epoch":
            data = job.data
            losses = [evaluate(job.model, data.test, data.classes, data.mean, data.std, views=views).loss
                      for views in (EvalViews(), EvalViews(flip=True))]
            seen.append((job.history.epochs[-1]["test_loss"], *losses))

    job = TrainingJob(tiny_config(epochs=3, test_time_flip=True), tiny_data, on_event=check).run()
    assert job.state == "finished", job.message
    assert len(seen) == 3 and all(plain != mirrored for _, plain, mirrored in seen)
    assert [point for point, _, _ in seen[:-1]] == pytest.approx([plain for _, plain, _ in seen[:-1]])
    assert seen[-1][0] == pytest.approx(seen[-1][2])



def test_a_run_stopped_after_a_plain_point_saves_its_accuracy_with_the_test_time_views(tiny_data, tmp_path):
    def stop_after_the_first_epoch(event, job):
        if event == "epoch":
            job.stop()  # the point just recorded tested the plain pictures

    out = tmp_path / "stopped.pt"
    job = TrainingJob(tiny_config(epochs=3, test_time_flip=True), tiny_data, out=out,
                      on_event=stop_after_the_first_epoch).run()
    assert job.state == "stopped", job.message
    data = job.data
    plain, mirrored = (evaluate(job.model, data.test, data.classes, data.mean, data.std, views=views).loss
                       for views in (EvalViews(), EvalViews(flip=True)))
    assert plain != mirrored
    assert [e["epoch"] for e in job.history.epochs] == [1, 1]  # the plain point, then the one with the views
    assert job.history.epochs[0]["test_loss"] == pytest.approx(plain)
    assert job.history.epochs[-1]["test_loss"] == pytest.approx(mirrored)
    assert load_checkpoint(out).meta["test_accuracy"] == pytest.approx(job.result["test_accuracy"])


def test_a_run_stopped_between_two_loss_points_ends_its_history_where_it_stopped(tiny_data):
    def stop_at_the_first_point(event, job):
        if event == "epoch":
            job.stop()  # as the bench stops lenet at its first point past the tutorial's accuracy

    # batch 2: 60 steps an epoch, a loss point every 3 steps, a test point every 10
    job = TrainingJob(tiny_config(batch_size=2, evals_per_epoch=6, test_time_flip=True), tiny_data,
                      on_event=stop_at_the_first_point).run()
    assert job.state == "stopped", job.message
    stopped_at = job.meter.step / job.meter.steps_per_epoch  # worked out here, not by the meter under test
    assert job.history.steps[-1]["epoch"] < stopped_at  # the case: the last loss point came before the stop
    # the plain point, then the one with the views, both at the stop (not back at the last loss point)
    assert [e["epoch"] for e in job.history.epochs] == [stopped_at, stopped_at]
    assert job.result["epochs_done"] == stopped_at


def test_lookahead_pulls_the_weights_to_their_average_every_fifth_step_and_hands_it_over_at_the_end():
    model = torch.nn.Linear(2, 1)
    lookahead = Lookahead(model, total_steps=12)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    lookahead.step(model, 4)
    assert torch.equal(model.weight, start + 1)  # not a fifth step: untouched
    lookahead.step(model, 5)
    keep = 0.95 ** 5 * (5 / 12) ** 3
    assert torch.allclose(model.weight, start + (1 - keep))
    with torch.no_grad():
        model.weight.add_(1.0)
    lookahead.step(model, 12)  # the last step: the weights become the average
    assert torch.allclose(model.weight, start + (1 - keep))


def test_batchnorm_shifts_learn_at_their_own_scale_of_the_schedule():
    model = create_model("fastnet")
    groups = make_optimizer(model, preset("fastnet", optimizer="sgd", lr=0.5, norm_lr_scale=64)).param_groups
    assert [g["peak_lr"] for g in groups] == [0.5, 32.0]
    assert {p.ndim for p in groups[1]["params"]} == {1}  # biases and BatchNorm shifts only


def test_a_fresh_whitened_net_fits_its_first_layer_and_keeps_it_fixed(tiny_data):
    job = TrainingJob(preset("fastnet", epochs=1, batch_size=32, device="cpu"), tiny_data).run()
    assert job.state == "finished", job.message
    fitted = job.model.whiten.weight
    assert torch.equal(fitted[:12], -fitted[12:])  # set from the data (a fresh conv's filters are not opposites)
    fresh = create_model("fastnet").whiten.weight
    assert not torch.equal(fresh[:12], -fresh[12:])
    assert all(not norm.weight.requires_grad and torch.equal(norm.weight, torch.ones_like(norm.weight))
               for norm in job.model.modules() if isinstance(norm, torch.nn.BatchNorm2d))


def test_the_whitening_bias_learns_for_its_epochs_then_stays_fixed_while_the_rest_learns(tiny_data):
    seen = []  # (whitening bias, a group1 conv weight) after each epoch

    def record(event, job):
        if event == "epoch":
            seen.append((job.model.whiten.bias.detach().clone(), job.model.group1.conv1.weight.detach().clone()))

    config = preset("fastnet", epochs=3, batch_size=32, device="cpu", whiten_bias_epochs=1, lookahead=False)
    job = TrainingJob(config, tiny_data, on_event=record).run()
    assert job.state == "finished", job.message
    (bias1, conv1), (bias2, conv2), (bias3, conv3) = seen
    assert bias1.abs().sum() > 0  # it started at zero and learned in epoch 1
    assert torch.equal(bias1, bias2) and torch.equal(bias2, bias3)
    assert not torch.equal(conv1, conv2) and not torch.equal(conv2, conv3)
