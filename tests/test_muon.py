import math

import pytest
import torch

from cifar_demo.models import create_model
from cifar_demo.muon import FilterMuon, Optimizers, orthogonalize
from cifar_demo.training import TrainingJob, make_optimizer, preset


def spread_matrix(rows: int, cols: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A matrix with singular values from 1e-3 to 1 (a gradient's few strong directions and many weak ones)."""
    generator = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(rows, min(rows, cols), generator=generator))
    v, _ = torch.linalg.qr(torch.randn(cols, min(rows, cols), generator=generator))
    return u @ torch.diag(torch.logspace(-3, 0, min(rows, cols))) @ v.T, u, v


@pytest.mark.parametrize("shape", [(96, 864), (864, 96), (24, 24)])  # a 3x3 bank of 96 filters; tall; square
def test_orthogonalizing_keeps_the_singular_vectors_and_brings_every_singular_value_near_one(shape):
    matrix, u, v = spread_matrix(*shape)
    result = orthogonalize(matrix)
    assert result.shape == matrix.shape
    in_its_basis = u.T @ result @ v  # diagonal when the singular vectors are kept
    off_diagonal = in_its_basis - torch.diag(torch.diagonal(in_its_basis))
    assert off_diagonal.norm() < 1e-3 * in_its_basis.norm()
    singular = torch.diagonal(in_its_basis)
    strong = singular[torch.logspace(-3, 0, len(singular)) > 0.01]  # five steps lift all but the weakest
    assert strong.min() > 0.6 and singular.max() < 1.25


def test_a_step_moves_a_filter_bank_by_the_same_amount_whatever_the_gradients_size():
    moves = []
    for scale in (1e-4, 1.0, 1e4):
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(16, 32, 3, bias=False)
        conv.weight.grad = torch.randn_like(conv.weight) * scale
        optimizer = FilterMuon([conv.weight], lr=0.1, momentum=0.85)
        kept = conv.weight.detach().clone()
        optimizer.step()
        normalized = kept * math.sqrt(32) / kept.norm()  # each step first holds the bank at its norm
        moves.append((conv.weight.detach() - normalized).reshape(32, -1))
    for move in moves:
        assert torch.allclose(move, moves[0], atol=1e-5)
    singular = torch.linalg.svdvals(moves[0])
    assert singular.min() > 0.06 and singular.max() < 0.125  # lr times values near 1, in every direction


def test_momentum_carries_the_last_steps_direction():
    weight = torch.nn.Parameter(torch.randn(8, 4, 3, 3))
    optimizer = FilterMuon([weight], lr=0.1, momentum=0.9)
    first = torch.randn_like(weight)
    weight.grad = first.clone()
    optimizer.step()
    weight.grad = torch.zeros_like(weight)
    before = weight.detach() * math.sqrt(8) / weight.detach().norm()
    optimizer.step()  # no gradient now: Nesterov's 0.9 * velocity still points along the first one
    move = (weight.detach() - before).reshape(8, -1)
    assert torch.allclose(move, -0.1 * orthogonalize(first.reshape(8, -1)), atol=1e-4)


def test_two_optimizers_step_as_one_and_the_schedule_reaches_every_group():
    linear, conv = torch.nn.Linear(3, 2), torch.nn.Conv2d(2, 4, 3)
    pair = Optimizers(torch.optim.SGD(linear.parameters(), lr=0.5), FilterMuon([conv.weight], lr=0.1, momentum=0.5))
    assert len(pair.param_groups) == 2
    for group in pair.param_groups:
        group["lr"] = 0.0  # what set_learning_rate does at the schedule's end
    before = [p.detach().clone() for p in (*linear.parameters(), conv.weight)]
    for p in (*linear.parameters(), conv.weight):
        p.grad = torch.ones_like(p)
    pair.step()
    after = [p.detach() for p in (*linear.parameters(), conv.weight)]
    assert all(torch.equal(a, b) for a, b in zip(before[:2], after[:2]))  # lr 0: SGD left them
    assert torch.allclose(after[2].norm(), torch.tensor(2.0))  # Muon's bank held at sqrt(4), not moved
    pair.zero_grad()
    assert all(p.grad is None for p in (*linear.parameters(), conv.weight))


def test_with_muon_the_conv_filters_learn_by_muon_and_everything_else_by_sgd():
    model = create_model("fastnet", width=64)
    optimizer = make_optimizer(model, preset("fastnet", optimizer="muon", lr=0.5, filter_lr=0.05, norm_lr_scale=64))
    decay, shifts, filters = optimizer.param_groups
    assert [decay["peak_lr"], shifts["peak_lr"], filters["peak_lr"]] == [0.5, 32.0, 0.05]
    trainable_filters = {id(p) for p in model.parameters() if p.requires_grad and p.ndim == 4}
    assert {id(p) for p in filters["params"]} == trainable_filters and len(trainable_filters) == 6
    assert [p.ndim for p in decay["params"]] == [2]  # the last layer; the fixed whitening filters in no group
    assert {p.ndim for p in shifts["params"]} == {1}


def test_a_head_only_run_with_muon_has_no_filters_to_learn_and_steps_by_sgd():
    model = create_model("fastnet", width=64)
    model.requires_grad_(False)
    model.fc.requires_grad_(True)
    optimizer = make_optimizer(model, preset("fastnet", optimizer="muon"))
    assert isinstance(optimizer, torch.optim.SGD)


def test_a_fastnet_run_with_muon_learns(tiny_data):
    # 8 epochs: at 4 the 36 test pictures came out at 50.0-55.6% (bf16 or fp32, whichever the machine's timing
    # chose), at the edge of the bound below; at 8 both precisions reach 100% on the bf16 EPYC
    config = preset("fastnet", width=16, epochs=8, batch_size=32, device="cpu", optimizer="muon", seed=0,
                    test_time_shift=False)
    job = TrainingJob(config, tiny_data).run()
    assert job.state == "finished", job.message
    steps = job.history.steps
    assert steps[-1]["loss"] < steps[0]["loss"]
    assert job.result["test_accuracy"] > 1.5 / len(tiny_data.classes)
