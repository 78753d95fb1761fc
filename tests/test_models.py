import pytest
import torch

from cifar_demo.models import NETS, count_parameters, create_model, describe_nets


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("classes", [10, 3])
def test_every_net_returns_logits_per_class(name, classes):
    model = create_model(name, classes).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, classes)
    assert not torch.allclose(logits.softmax(1).sum(1), logits.sum(1))  # raw logits, not probabilities


def test_lenet_is_the_tutorials_net():
    model = create_model("lenet")
    assert count_parameters(model) == 62_006  # the tutorial's LeNet-5: 456 + 2,416 + 48,120 + 10,164 + 850
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(3, 6, (5, 5)), (6, 16, (5, 5))]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(400, 120), (120, 84), (84, 10)]


def test_lenet_computes_the_tutorials_function_and_gradients():
    """Pooling before the ReLU is a speed-up only: outputs and weight gradients match the tutorial's order."""
    torch.manual_seed(0)
    model, x = create_model("lenet"), torch.randn(8, 3, 32, 32)

    def tutorial_forward(x):  # the tutorial's forward, written out: relu, then pool
        x = model.pool(torch.relu(model.conv1(x)))
        x = model.pool(torch.relu(model.conv2(x)))
        x = torch.relu(model.fc1(torch.flatten(x, 1)))
        return model.fc3(torch.relu(model.fc2(x)))

    grads = []
    for forward in (model, tutorial_forward):
        model.zero_grad()
        out = forward(x)
        out.square().sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(grads[0][1], grads[1][1]))


def test_smallcnn_follows_the_seed_notes():
    linears = [m for m in create_model("smallcnn").modules() if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(1024, 64), (64, 32), (32, 10)]


def test_registry_describes_each_net_with_its_size():
    described = {name: (text, size) for name, text, size in describe_nets()}
    assert set(described) == set(NETS)
    assert described["lenet"][1] == 62_006
    assert described["resnet"][1] > described["fastnet"][1] > described["lenet"][1]


def test_unknown_net_lists_the_choices():
    with pytest.raises(ValueError, match="lenet"):
        create_model("alexnet")


def test_the_whitening_layer_decorrelates_the_pictures_patches():
    from cifar_demo.models import WhitenedNet

    torch.manual_seed(0)
    mixing = torch.randn(3, 3)  # colour channels that move together, as in photos
    images = torch.einsum("ij,njhw->nihw", mixing, torch.randn(200, 3, 32, 32))
    images = images + torch.nn.functional.avg_pool2d(images, 3, 1, 1)  # and neighbours that do too
    net = WhitenedNet()
    net.fit_whitening(images, eps=0)
    with torch.no_grad():
        out = torch.nn.functional.conv2d(images, net.whiten.weight[:12])  # (200, 12, 31, 31)
    flat = out.permute(1, 0, 2, 3).reshape(12, -1)
    covariance = flat @ flat.T / flat.shape[1]
    assert torch.allclose(covariance, torch.eye(12), atol=1e-3)
