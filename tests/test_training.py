"""normlib's data, make_norm, models and training loop."""

import math

import pytest
import torch
from torch import nn

import normlib as nl
from normlib.data import digits, minibatches
from normlib.train import History, train_classifier


def test_digits_split_is_fixed_standardized_and_disjoint():
    a, b = digits(n_test=500, seed=0), digits(n_test=500, seed=0)
    assert a.X_train.shape == (1297, 64) and a.X_test.shape == (500, 64)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    mean, std = a.X_train.mean(0), a.X_train.std(0, unbiased=False)
    varying = std > 0
    torch.testing.assert_close(mean, torch.zeros(64), atol=1e-5, rtol=0)
    torch.testing.assert_close(std[varying], torch.ones(int(varying.sum())), atol=1e-4, rtol=0)
    assert set(a.y_train.tolist()) == set(range(10))
    assert not torch.equal(digits(seed=1).y_test, a.y_test)


@pytest.mark.parametrize("bad", [0, 1797, 2.5, True])
def test_digits_bad_n_test(bad):
    with pytest.raises(ValueError, match="n_test"):
        digits(n_test=bad)


def test_minibatches_cover_each_epoch_once():
    gen = torch.Generator().manual_seed(0)
    it = minibatches(10, 3, gen)
    epoch = torch.cat([next(it) for _ in range(3)])  # 3 full batches of 3, the ragged one dropped
    assert len(set(epoch.tolist())) == 9
    with pytest.raises(ValueError, match="batch_size"):
        next(minibatches(10, 0, gen))


@pytest.mark.parametrize("backend,cls", [("normlib", nl.BatchNorm2d), ("torch", nn.BatchNorm2d)])
def test_make_norm_builds_by_name_and_backend(backend, cls):
    layer = nl.make_norm("bn", 8, spatial_dims=2, backend=backend, momentum=None)
    assert type(layer) is cls and layer.momentum is None
    assert isinstance(nl.make_norm("none", 8), nn.Identity)
    assert type(nl.make_norm("BN", 8)) is nl.BatchNorm1d


@pytest.mark.parametrize("args,kwargs,exc,word", [
    (("wn", 8), {}, ValueError, "unknown kind"),
    ((3, 8), {}, TypeError, "kind"),
    (("bn", 0), {}, ValueError, "num_channels"),
    (("bn", 8), {"spatial_dims": 4}, ValueError, "spatial_dims"),
    (("bn", 8), {"backend": "jax"}, ValueError, "backend"),
    (("none", 8), {"momentum": 0.1}, TypeError, "no options"),
])
def test_make_norm_bad_arguments(args, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        nl.make_norm(*args, **kwargs)


def test_mlp_layout_and_bias_rules():
    before = nl.models.mlp(64, 32, 2, 10, norm="bn")
    kinds = [type(m).__name__ for m in before]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert before[0].bias is None  # BN's β replaces it
    after = nl.models.mlp(64, 32, 1, 10, norm="bn", placement="after", activation="sigmoid")
    assert [type(m).__name__ for m in after] == ["Linear", "Sigmoid", "BatchNorm1d", "Linear"]
    assert after[0].bias is not None
    plain = nl.models.mlp(64, 32, 3, 10)
    assert sum(isinstance(m, nn.Linear) for m in plain) == 4
    assert plain(torch.randn(5, 64)).shape == (5, 10)


@pytest.mark.parametrize("kwargs,word", [
    (dict(activation="gelu"), "activation"), (dict(placement="middle"), "placement"),
    (dict(depth=0), "depth"), (dict(width=2.0), "width"),
])
def test_mlp_bad_arguments(kwargs, word):
    args = dict(in_features=4, width=8, depth=2, out_features=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        nl.models.mlp(**args)


def test_training_learns_digits_and_is_reproducible():
    data = digits()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = nl.models.mlp(64, 32, 2, 10, norm="bn")
        runs.append(train_classifier(model, data, steps=150, lr=0.05, seed=0))
    assert runs[0].test_acc == runs[1].test_acc
    assert runs[0].steps == list(range(10, 151, 10))
    assert runs[0].final_accuracy() > 0.85  # chance is 0.1
    assert runs[0].steps_to_reach(0.5) is not None and runs[0].steps_to_reach(1.01) is None


def test_divergence_is_detected_and_stops_the_run():
    torch.manual_seed(0)
    model = nl.models.mlp(64, 32, 6, 10)
    h = train_classifier(model, digits(), steps=200, lr=50.0, seed=0)
    assert h.diverged and h.diverged_at <= 200
    assert math.isnan(h.final_accuracy())


def test_history_helpers():
    h = History(steps=[10, 20, 30, 40], test_acc=[0.2, 0.9, 0.5, 0.9])
    assert h.steps_to_reach(0.8, window=1) == 20
    assert h.steps_to_reach(0.75, window=3) == 40     # (0.5 + 0.9 + 0.9) / 3 ≥ 0.75 first at 40
    assert h.final_accuracy(last=2) == pytest.approx(0.7)


@pytest.mark.parametrize("kwargs,word", [
    (dict(steps=0), "steps"), (dict(lr=-1.0), "lr"), (dict(eval_every=0), "eval_every")])
def test_train_bad_arguments(kwargs, word):
    args = dict(steps=10, lr=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        train_classifier(nn.Linear(64, 10), digits(), **args)


@pytest.mark.parametrize("init,expected_std", [(0.5, 0.5), ("he", (2 / 64) ** 0.5), ("xavier", (2 / 96) ** 0.5)])
def test_mlp_init_choices(init, expected_std):
    torch.manual_seed(0)
    model = nl.models.mlp(64, 32, 1, 10, init=init, activation="tanh")
    std = model[0].weight.std().item()
    assert abs(std - expected_std) < 0.1 * expected_std


@pytest.mark.parametrize("bad", ["kaiming", -1.0, 0, True])
def test_mlp_bad_init(bad):
    with pytest.raises(ValueError, match="init"):
        nl.models.mlp(4, 8, 2, 3, init=bad)


def test_layer_outputs_leaves_batch_norm_state_alone():
    torch.manual_seed(0)
    model = nl.models.mlp(64, 16, 3, 10, norm="bn")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    outs = nl.inspect.layer_outputs(model, torch.randn(32, 64))
    assert [o.shape for o in outs] == [(32, 16)] * 3 + [(32, 10)]
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    bn_outs = nl.inspect.layer_outputs(model, torch.randn(32, 64), kind=nl.BatchNorm1d)
    assert len(bn_outs) == 3
    with pytest.raises(ValueError, match="no submodule"):
        nl.inspect.layer_outputs(model, torch.randn(2, 64), kind=nn.Conv2d)


def test_training_callback_runs_at_start_and_each_evaluation():
    seen = []
    torch.manual_seed(0)
    train_classifier(nl.models.mlp(64, 16, 1, 10), digits(), steps=30, lr=0.05,
                     callback=lambda step, model: seen.append(step))
    assert seen == [0, 10, 20, 30]


def test_building_a_model_draws_only_the_weights_random_numbers():
    # validating arguments must not consume random numbers, or every later result would shift
    state = torch.get_rng_state()
    nl.models._check_init("he")
    nl.models._check_init(0.5)
    assert torch.equal(state, torch.get_rng_state())
    torch.manual_seed(0)
    model = nl.models.mlp(4, 8, 2, 3, init="he")
    torch.manual_seed(0)
    first = nn.Linear(4, 8)
    nn.init.kaiming_normal_(first.weight, nonlinearity="relu")
    assert torch.equal(model[0].weight, first.weight)


def test_learning_rate_schedule():
    from normlib.train import learning_rate
    assert learning_rate(1, 100, 0.1) == 0.1 and learning_rate(51, 100, 0.1) == pytest.approx(0.05)
    assert learning_rate(7, 100, 0.1, decay=False) == 0.1
    assert learning_rate(5, 100, 0.1, warmup_steps=10) == pytest.approx(0.05)
    # after warmup the rate decays from its peak over the remaining 90 steps: no jump down
    assert learning_rate(10, 100, 0.1, warmup_steps=10) == pytest.approx(0.1)
    assert learning_rate(11, 100, 0.1, warmup_steps=10) == pytest.approx(0.1)
    assert learning_rate(56, 100, 0.1, warmup_steps=10) == pytest.approx(0.05)
    assert learning_rate(100, 100, 0.1, warmup_steps=10) == pytest.approx(0.1 / 90)
    assert learning_rate(100, 100, 0.1) == pytest.approx(0.1 / 100)
    with pytest.raises(ValueError, match="warmup_steps"):
        train_classifier(nn.Linear(64, 10), digits(), steps=5, lr=0.1, warmup_steps=-1)


def test_evaluate_returns_loss_and_accuracy():
    data = digits()
    model = nn.Linear(64, 10)
    loss, acc = nl.train.evaluate(model, data.X_test, data.y_test)
    assert loss > 0 and 0 <= acc <= 1
    assert acc == pytest.approx(nl.train.accuracy(model, data.X_test, data.y_test))


def test_batch_statistics_sample_like_training_and_match_theory():
    from normlib.notebook.widgets import batch_statistics
    values = torch.randn(1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    means, variances = batch_statistics(values, 16, 4000, torch.Generator().manual_seed(1))
    assert means.shape == variances.shape == (4000,)
    theory = values.std(correction=0) / 16 ** 0.5 * ((1000 - 16) / 999) ** 0.5
    assert abs(means.std() / theory - 1) < 0.05
    with pytest.raises(ValueError, match="batch_size"):
        batch_statistics(values, 0, 10, torch.Generator())


def test_explorer_builds_a_slider():
    import ipywidgets
    nl.setup(lang="en", quiet=True)
    w = nl.widgets.batch_mean_explorer(torch.randn(300), batch_sizes=(2, 8, 32), n_batches=50)
    assert isinstance(w, ipywidgets.interactive)
    assert w.children[0].options == (2, 8, 32)


def test_holdout_is_a_disjoint_part_of_the_training_set():
    from normlib.data import holdout
    data = digits()
    tune = holdout(data, 300, seed=0)
    assert len(tune.X_test) == 300 and len(tune.X_train) == len(data.X_train) - 300
    rows = {tuple(r.tolist()) for r in data.X_train}
    assert all(tuple(r.tolist()) in rows for r in tune.X_test)          # drawn from training data
    test_rows = {tuple(r.tolist()) for r in data.X_test}
    assert not any(tuple(r.tolist()) in test_rows for r in tune.X_test)  # never from the test set
    assert torch.equal(holdout(data, 300, seed=0).y_test, tune.y_test)
    assert not torch.equal(holdout(data, 300, seed=1).y_test, tune.y_test)
    with pytest.raises(ValueError, match="n must be"):
        holdout(data, len(data.X_train))
    with pytest.raises(TypeError, match="split must be"):
        holdout((data.X_train, data.y_train), 10)


def test_data_and_models_follow_the_chosen_device(monkeypatch):
    """The code path that puts data and models on nl.device(), exercised without a GPU: the
    'meta' device holds shapes only, so if anything stayed on the CPU the check would see it."""
    import normlib.notebook.session as config
    monkeypatch.setattr(config, "_device", torch.device("meta"))
    data = digits()
    model = nl.models.mlp(64, 16, 2, 10, norm="bn")
    assert {t.device.type for t in data} == {"meta"}
    assert {p.device.type for p in model.parameters()} | {b.device.type for b in model.buffers()} == {"meta"}
    assert digits(device="cpu").X_train.device.type == "cpu"
    assert nl.models.mlp(64, 16, 1, 10, device="cpu")[0].weight.device.type == "cpu"


def test_records_ship_with_normlib_and_bad_names_are_refused():
    rec = nl.data.record("ch3_miniature")
    assert rec["base_lr"] in rec["lr_grid"] and len(rec["runs"]) == len(rec["seeds"])
    with pytest.raises(ValueError, match="known records"):
        nl.data.record("no_such_record")
    with pytest.raises(ValueError, match="name must be"):
        nl.data.record("../setup")
