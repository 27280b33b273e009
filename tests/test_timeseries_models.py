"""Spike encoder, CPG code, spiking and ANN forecasters, the mmengine wrapper and the naive baselines."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tasks.timeseries import (SJ_LIF_TAU2, CPGLinear, ForecastDataset, Forecaster, SpikeEncoder, SpikingForecaster,
                              TransformerForecaster, cpg_code, masked_mse, persistence_forecast, predict_dataset,
                              seasonal_naive_forecast)
from test_timeseries_helpers import write_txt
from zoo.layers import build_neuron
from zoo.mixer import EncoderBlock, SpikingSelfAttention, SpikingTokenMixer
from zoo.pruning import DSTSP

TINY = dict(embed_dim=32, depth=1, num_heads=4, mlp_hidden=64)


def test_cpg_code_is_the_thresholded_sine_cosine_code():
    code = cpg_code(50, num_neurons=10, w_max=10000.0)
    assert code.shape == (50, 10) and set(code.unique().tolist()) <= {0.0, 1.0}
    for p in (0, 1, 7, 49):
        for i in range(5):
            w = 10000.0 ** (-2 * i / 10)
            assert code[p, 2 * i] == float(math.sin(p * w) >= 0.8)
            assert code[p, 2 * i + 1] == float(math.cos(p * w) >= 0.8)
    assert code[0].tolist() == [0, 1] * 5  # sin 0 = 0 < 0.8, cos 0 = 1
    assert cpg_code(4, num_neurons=3).shape == (4, 3)  # odd counts: 2 sine, 1 cosine neuron


def test_cpg_linear_adds_a_position_dependent_term():
    layer = CPGLinear(3, 8, max_positions=12, dropout=0.0)
    x = torch.zeros(2, 5, 12, 3)
    y = layer(x)
    assert y.shape == (2, 5, 12, 8)
    torch.testing.assert_close(y[0, 0], layer.cpg_proj(cpg_code(12)) + layer.proj.bias)
    assert not torch.allclose(y[0, 0, 0], y[0, 0, 1])  # positions 0 and 1 have different codes
    with pytest.raises(ValueError, match="covers 12 positions"):
        layer(torch.zeros(1, 1, 13, 3))


def test_sj_lif_tau2_equals_spikingjelly_lif_node():
    """The default neuron reproduces SpikingJelly's LIFNode(tau=2, ATan, detach_reset) used by SeqSNN."""
    sj = pytest.importorskip("spikingjelly.activation_based.neuron")
    surrogate = pytest.importorskip("spikingjelly.activation_based.surrogate")
    x = torch.randn(6, 3, 40) * 2
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref = sj.LIFNode(tau=2.0, step_mode="m", detach_reset=True, surrogate_function=surrogate.ATan())(x1)
    ours = build_neuron(SJ_LIF_TAU2)(x2)
    assert ref.sum() > 0 and torch.equal(ref, ours)
    weights = torch.randn_like(x)
    (ref * weights).sum().backward()
    (ours * weights).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)


def test_spike_encoder_turns_conv_maps_into_time_steps():
    torch.manual_seed(0)
    encoder = SpikeEncoder(time_steps=4, kernel_size=3)
    x = torch.randn(8, 12, 5)
    spikes, steps = encoder(x)
    assert spikes.shape == (4, 8, 12, 5) and steps is None
    assert set(spikes.unique().tolist()) <= {0.0, 1.0} and spikes.sum() > 0
    # conv over time only: changing the value at time 6 of variable 2 changes only times 5..7 of variable 2
    encoder.eval()
    pre = lambda z: encoder.bn(encoder.conv(z.transpose(1, 2).unsqueeze(1)))
    x2 = x.clone()
    x2[:, 6, 2] += 5.0
    changed = (pre(x2) != pre(x)).any(0).any(0)  # [C, L]
    assert changed.nonzero().tolist() == [[2, 5], [2, 6], [2, 7]]


@pytest.mark.parametrize("mixer,mixer_type", [("stm", SpikingTokenMixer), ("ssa", SpikingSelfAttention)])
def test_spiking_forecaster_reuses_zoo_blocks_and_regresses_horizon_by_series(mixer, mixer_type):
    torch.manual_seed(0)
    net = SpikingForecaster(window=12, in_channels=7, out_channels=5, horizon=6, mixer=mixer, **TINY)
    assert all(isinstance(b, EncoderBlock) and isinstance(b.mixer, mixer_type) for b in net.blocks)
    if mixer == "stm":
        assert net.blocks[0].mixer.mixing.weight.shape == (4, 12, 12)  # tokens = the 12 window positions
    x = torch.randn(3, 12, 7, requires_grad=True)
    y = net(x)
    assert y.shape == (3, 6, 5)
    y.sum().backward()
    assert x.grad.abs().sum() > 0 and net.encoder.conv.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"expects windows \[B, 12, 7\]"):
        net(torch.randn(3, 12, 6))


@pytest.mark.parametrize("placement", ["after_stem", "in_stem"])
def test_dstsp_prunes_steps_and_window_positions_before_the_first_block(placement):
    torch.manual_seed(0)
    net = SpikingForecaster(window=20, in_channels=3, out_channels=3, horizon=4, **TINY,
                            pruning=dict(type="DSTSP", spatial_ratio=0.3, temporal_ratio=0.75, placement=placement))
    assert isinstance(net.blocks.pruner, DSTSP)
    assert net.blocks[0].mixer.mixing.weight.shape == (4, 14, 14)  # static W_M' for floor(20 * 0.7) tokens
    x = torch.randn(5, 20, 3)
    assert net.forward_tokens(x).shape == (1, 5, 14, 32)  # T 4 -> 1, 20 -> 14 tokens
    y = net(x)
    y.square().mean().backward()
    assert y.shape == (5, 4, 3) and net.head.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="keeps 0 of 4 temporal"):
        SpikingForecaster(window=20, in_channels=3, out_channels=3, horizon=4, **TINY,
                          pruning=dict(type="DSTSP", temporal_ratio=0.8))


def test_in_stem_pruning_runs_the_encoder_neuron_on_the_kept_steps_only():
    """With placement in_stem the pruner runs inside the spike encoder (through its module call, so hooks see it)
    and the encoder's neuron fires on the kept step only."""
    torch.manual_seed(0)
    net = SpikingForecaster(window=20, in_channels=3, out_channels=3, horizon=4, **TINY,
                            pruning=dict(type="DSTSP", temporal_ratio=0.75, placement="in_stem"))
    calls, fired = [], []
    net.blocks.pruner.register_forward_hook(lambda m, args, out: calls.append(tuple(args[0].shape)))
    net.encoder.neuron.register_forward_hook(lambda m, args, out: fired.append(tuple(out.shape)))
    assert net.forward_tokens(torch.randn(5, 20, 3)).shape == (1, 5, 20, 32)
    assert calls == [(4, 5, 20, 3), (1, 5, 20, 32)]  # in the encoder (steps), then before block 0 (tokens)
    assert fired == [(1, 5, 20, 3)]
    with pytest.raises(ValueError, match=r"stem_layer 1 is not a stem layer it can prune after \(0..0\)"):
        SpikingForecaster(window=20, in_channels=3, out_channels=3, horizon=4, **TINY,
                          pruning=dict(type="DSTSP", temporal_ratio=0.75, placement="in_stem", stem_layer=1))


def test_transformer_forecaster_shapes_and_position_sensitivity():
    torch.manual_seed(0)
    net = TransformerForecaster(window=16, in_channels=4, out_channels=2, horizon=3, **TINY).eval()
    x = torch.randn(2, 16, 4)
    y = net(x)
    assert y.shape == (2, 3, 2)
    assert not torch.allclose(net(x.flip(1)), y)  # positions are encoded: the order of the window matters
    with pytest.raises(ValueError, match="window must be >= 1"):
        TransformerForecaster(window=0, in_channels=4, out_channels=2, horizon=3)


def test_forecaster_loss_ignores_unobserved_targets_and_predicts_per_sample():
    torch.manual_seed(0)
    model = Forecaster(net=dict(type="TransformerForecaster", window=8, in_channels=3, out_channels=3, horizon=2,
                                **TINY))
    x = torch.randn(4, 8, 3)
    target, observed = torch.randn(4, 2, 3), torch.ones(4, 2, 3, dtype=torch.bool)
    observed[0, 1, 2] = False
    model.eval()
    loss = model(x, dict(target=target, observed=observed), mode="loss")["loss"]
    changed = target.clone()
    changed[0, 1, 2] += 100.0
    assert model(x, dict(target=changed, observed=observed), mode="loss")["loss"].item() == pytest.approx(loss.item())
    pred = model(x, mode="tensor")
    assert loss.item() == pytest.approx(((pred - target) ** 2)[observed].mean().item(), rel=1e-5)
    out = model(x, dict(target=target, observed=observed), mode="predict")
    assert len(out) == 4 and out[0]["pred"].shape == (2, 3) and not out[0]["observed"][1, 2]
    with pytest.raises(ValueError, match="do not match predictions"):
        model(x, dict(target=target[:, :1]), mode="loss")
    assert masked_mse(pred, target).item() == pytest.approx(((pred - target) ** 2).mean().item())


def test_persistence_and_seasonal_naive_copy_the_right_rows(tmp_path):
    values = np.arange(200, dtype=float)[:, None] * np.array([[1.0, -1.0]])  # row r holds (r, -r)
    path = write_txt(tmp_path / "electricity.txt", values)
    ds = ForecastDataset(str(path), window=10, horizon=5, split="test", train_ratio=0.6, test_ratio=0.2,
                         normalize="none")
    first = ds.first_target_rows()
    pers = persistence_forecast(ds)
    assert pers.shape == (len(ds), 5, 2)
    np.testing.assert_array_equal(pers[:, :, 0], np.repeat(first[:, None] - 1, 5, axis=1))
    seas = seasonal_naive_forecast(ds, period=3)  # steps 0,1,2 -> rows r-3, r-2, r-1; steps 3,4 -> r-3, r-2
    np.testing.assert_array_equal(seas[:, :, 0], first[:, None] + np.array([-3, -2, -1, -3, -2])[None])
    np.testing.assert_array_equal(seas[:, :, 1], -seas[:, :, 0])
    with pytest.raises(ValueError, match="needs .* rows before the first sample"):
        seasonal_naive_forecast(ForecastDataset(str(path), 10, 5, "train", 0.6, 0.2, normalize="none"), 50)


@pytest.mark.parametrize("window_norm", ["mean", "mean_std"])
def test_window_normalisation_makes_forecasts_follow_the_level_of_the_window(window_norm):
    torch.manual_seed(0)
    model = Forecaster(net=dict(type="TransformerForecaster", window=8, in_channels=5, out_channels=3, horizon=2,
                                **TINY), window_norm=window_norm).eval()
    x = torch.randn(4, 8, 5)  # 3 series + 2 calendar channels
    shifted = x.clone()
    shifted[..., :3] += 10.0  # the same windows 10 units higher; calendar channels unchanged
    with torch.no_grad():
        torch.testing.assert_close(model(shifted), model(x) + 10.0, atol=1e-4, rtol=1e-4)
        moved_calendar = x.clone()
        moved_calendar[..., 3:] += 1.0
        assert not torch.allclose(model(moved_calendar), model(x))  # calendar features are not normalised
    if window_norm == "mean_std":
        with torch.no_grad():
            scaled = x.clone()
            scaled[..., :3] *= 3.0
            centre = x[..., :3].mean(1, keepdim=True)
            torch.testing.assert_close(model(scaled), (model(x) - centre) * 3.0 + 3.0 * centre, atol=1e-4,
                                       rtol=1e-4)
    with pytest.raises(ValueError, match="window_norm must be one of"):
        Forecaster(net=model.net, window_norm="last")


def test_predict_returns_every_sample_in_model_or_original_units(tmp_path):
    values = np.random.default_rng(0).uniform(10, 20, (120, 3))
    ds = ForecastDataset(str(write_txt(tmp_path / "electricity.txt", values)), window=8, horizon=2, split="test",
                         train_ratio=0.6, test_ratio=0.2, normalize="column_zscore")
    torch.manual_seed(0)
    model = Forecaster(net=dict(type="TransformerForecaster", window=8, in_channels=3, out_channels=3, horizon=2,
                                **TINY))
    pred = predict_dataset(model, ds, batch_size=5)
    assert pred.shape == (len(ds), 2, 3) and not model.training
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(pred[7]), model(ds[7]["inputs"][None])[0])
    np.testing.assert_allclose(predict_dataset(model, ds, original_units=True),
                               pred * ds.scaler.scale + ds.scaler.offset, rtol=1e-6)
