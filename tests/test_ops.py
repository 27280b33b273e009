import pytest
import torch
from torch import nn

import zoo
from zoo.ops import E_AC_PJ, E_MAC_PJ, appendix_a, op_report

# Table 1 of the paper: SMixer-L-D at 224 px (N = 196), T = 4, P_s = 0.3, P_t = 0.75.
TABLE_1 = {(2, 256): (0.33, 243, 1106, 21.97), (4, 384): (0.45, 1060, 4867, 21.78),
           (8, 512): (0.58, 3741, 17073, 21.91)}


@pytest.mark.parametrize("layers,channels", list(TABLE_1))
def test_appendix_a_reproduces_table_1(layers, channels):
    increase, reduce, origin, rate = TABLE_1[(layers, channels)]
    ops = appendix_a(layers, 196, channels, 4, 0.3, 0.75)
    assert ops["origin"] / 1e6 == pytest.approx(origin, rel=0.01)
    assert ops["increase"] / 1e6 == pytest.approx(increase, rel=0.01)
    assert 100 * ops["rate"] == pytest.approx(rate, abs=1.0)  # percentage points
    if (layers, channels) != (2, 256):
        assert ops["reduce"] / 1e6 == pytest.approx(reduce, rel=0.01)
    else:  # the paper's 243 M is 2.7% above its own Eq. 8 (236.5 M): documented in docs/ops.md
        assert ops["reduce"] / 1e6 == pytest.approx(236.5, rel=0.001)


class _TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 3, bias=False)
        self.second = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.second((self.first(x) > 0).float())


def test_op_report_counts_macs_rates_and_energy_by_hand():
    torch.manual_seed(0)
    model = _TwoLayer()
    x = torch.randn(5, 4)
    report = op_report(model, x)
    first, second = report.layers
    assert first.macs == 5 * 4 * 3 and not first.spiking
    spikes = (model.first(x) > 0).float()
    assert second.spiking and second.macs == 5 * 3 * 2
    assert second.rate == pytest.approx(float(spikes.mean()))
    assert second.sops == pytest.approx(30 * float(spikes.mean()))
    expected_pj = E_MAC_PJ * 60 + E_AC_PJ * float(spikes.sum()) * 2
    assert report.energy_mj == pytest.approx(expected_pj / 5 * 1e-9)
    assert report.macs == pytest.approx((60 + 30) / 5)


def _smixer_macs(n_tokens, c, depth, t, ratio=4):
    """Dense forward MACs of the CIFAR SMixer at 32 px with a 4x stem, counted by hand."""
    hw = [32 * 32, 32 * 32, 32 * 32, 16 * 16, 8 * 8]
    widths = [3, c // 8, c // 4, c // 2, c, c * 7 // 8]
    stem = widths[0] * widths[1] * 9 * hw[0]  # computed once for a static image
    stem += sum(widths[i] * widths[i + 1] * 9 * hw[i] for i in range(1, 5)) * t
    stem += 3 * (c // 8) * 16 * 64  # shortcut conv k = s = 4, once
    block = t * (n_tokens * (2 * c * c + 2 * ratio * c * c) + n_tokens * n_tokens * c)
    return stem + depth * block + t * c * 10  # the head runs at every step, then averages over T


def test_model_report_matches_hand_count_and_pruning_reduces_it():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    dense = op_report(zoo.create("smixer-cifar10", embed_dim=64, depth=2, num_heads=4).eval(), x)
    assert dense.macs == pytest.approx(_smixer_macs(64, 64, 2, 4), rel=1e-9)
    pruned = op_report(zoo.create("smixer-cifar10-dstsp", embed_dim=64, depth=2, num_heads=4).eval(), x)
    blocks_pruned = 2 * 1 * (44 * (2 * 64 * 64 + 8 * 64 * 64) + 44 * 44 * 64)
    blocks_dense = 2 * 4 * (64 * (10 * 64 * 64) + 64 * 64 * 64)
    head = (4 - 1) * 64 * 10
    assert dense.macs - pruned.macs == pytest.approx(blocks_dense - blocks_pruned + head, rel=1e-9)
    assert 0 < pruned.energy_mj and 0 < dense.sops
    table = dense.to_markdown()
    assert "patch_embed.convs.0.conv" in table and "(real)" in table and "**total**" in table


def test_ilif_integer_spikes_count_as_multiple_events():
    class IntLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1, bias=False)

        def forward(self, x):
            return self.fc(x)

    report = op_report(IntLayer(), torch.tensor([[3.0, 0.0], [1.0, 4.0]]))
    assert report.layers[0].spiking and report.layers[0].rate == pytest.approx(2.0)
    assert report.sops == pytest.approx(2 * 2 * 2.0 / 2)


def test_first_layer_is_charged_as_mac_by_default_also_on_event_frames():
    torch.manual_seed(0)
    model = zoo.create("smixer-dvs128", embed_dim=32, depth=1, num_heads=4, time_steps=2).eval()
    frames = torch.randint(0, 3, (2, 2, 2, 48, 48)).float()  # [B, T, polarity, H, W] event counts
    paper, by_input = op_report(model, frames), op_report(model, frames, first_layer="by_input")
    first = {"patch_embed.convs.0.conv", "patch_embed.shortcut.conv"}  # both read the input (Eq. 12's MACs^1)
    assert first <= {layer.name for layer in paper.layers}
    for a, b in zip(paper.layers, by_input.layers, strict=True):
        assert (a.name, a.macs, a.spiking, a.sops) == (b.name, b.macs, b.spiking, b.sops)
        if a.name in first:
            assert a.spiking and a.encoding and not b.encoding
            assert a.energy_pj == pytest.approx(E_MAC_PJ * a.macs)
            assert b.energy_pj == pytest.approx(E_AC_PJ * b.sops)
        else:
            assert not a.encoding and a.energy_pj == b.energy_pj
    assert paper.energy_mj > by_input.energy_mj
    assert "(first layer: MAC)" in paper.to_markdown()
    images = torch.randn(2, 3, 32, 32)  # static images: the first layer's input is real, both rules agree
    cifar = zoo.create("smixer-cifar10", embed_dim=32, depth=1, num_heads=4).eval()
    assert op_report(cifar, images).energy_mj == pytest.approx(
        op_report(cifar, images, first_layer="by_input").energy_mj, rel=1e-12)
    with pytest.raises(ValueError, match="first_layer must be one of"):
        op_report(cifar, images, first_layer="ac")


def test_eq8_reduced_ops_is_not_the_share_of_ops_left_after_pruning():
    """SMixer-8-512, Table 1 settings (docs/ops.md): Eq. 8 / Eq. 9 = 21.9%, ops left after pruning = 17.3%."""
    ops = appendix_a(8, 196, 512, 4, 0.3, 0.75)
    assert 100 * ops["rate"] == pytest.approx(21.92, abs=0.01)
    assert 100 * ops["remaining_rate"] == pytest.approx(17.31, abs=0.01)
    linear, mixing = 8 * 4 * 10 * 196 * 512 ** 2, 8 * 4 * 196 ** 2 * 512  # the two terms of Eq. 9
    assert ops["reduce"] == pytest.approx(0.75 * (0.3 * linear + 0.3 ** 2 * mixing))  # pruned tokens x pruned steps
    assert ops["remaining"] == pytest.approx(0.25 * (0.7 * linear + 0.7 ** 2 * mixing))  # kept tokens x kept steps
    assert ops["origin"] - ops["remaining"] > 3 * ops["reduce"]  # what pruning removes: 82.7% of Eq. 9
