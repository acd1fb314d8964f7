"""Input standardization: exact Hessians, paths against hand-written and torch oracles, claims."""

import dataclasses
import time

import numpy as np
import pytest
import torch

from bnviz.config import from_query, specs, to_query
from bnviz.figures import standardization as figs
from bnviz.i18n import LANGS, strings, t
from bnviz.lessons import standardization as S
from bnviz.lessons import two_weights


def exact_problem(scale, standardize, seed=0, n=200, noise=0.1):
    """X, y and the exact H = XᵀX/n, b = Xᵀy/n, computed here, not by the engine."""
    X, y = S.make_data(scale=scale, n=n, noise=noise, seed=seed)
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y, X.T @ X / n, X.T @ y / n


def limit(scale, standardize=False):
    """2/λmax of the exact Hessian."""
    return 2 / np.linalg.eigvalsh(exact_problem(scale, standardize)[2])[-1]


# ---------------------------------------------------------------------------- exact numbers


@pytest.mark.parametrize("scale", [1.0, 10.0, 100.0, 1000.0])
@pytest.mark.parametrize("standardize", [False, True])
def test_kappa_and_lambda_max_are_the_exact_hessians_eigenvalues(scale, standardize):
    _, _, H, b = exact_problem(scale, standardize)
    lam = np.linalg.eigvalsh(H)
    d = S.descent(scale=scale, standardize=standardize, steps=5)
    np.testing.assert_allclose(d.hessian, H, rtol=1e-12)
    np.testing.assert_allclose(d.eigenvalues, lam, rtol=1e-9)
    assert d.lambda_max == pytest.approx(lam[1], rel=1e-12)
    assert d.kappa == pytest.approx(lam[1] / lam[0], rel=1e-9)
    assert d.lr_max_stable == pytest.approx(2 / lam[1], rel=1e-12)
    np.testing.assert_allclose(d.w_star, np.linalg.solve(H, b), rtol=1e-9)


def test_raw_kappa_grows_as_scale_squared_and_standardized_kappa_is_near_one():
    for seed in range(5):
        for scale in (10.0, 100.0):
            raw = S.descent(scale=scale, seed=seed, steps=1)
            std = S.descent(scale=scale, standardize=True, seed=seed, steps=1)
            assert raw.kappa == pytest.approx(scale**2, rel=0.5)
            assert 1.0 <= std.kappa < 1.5  # independent features: only sampling correlation


@pytest.mark.parametrize("standardize", [False, True])
def test_gd_path_is_the_closed_form_iteration(standardize):
    X, y, H, b = exact_problem(100.0, standardize)
    lr = 0.9 * limit(100.0, standardize)
    w, expected = np.array([-2.0, 0.0]), [np.array([-2.0, 0.0])]
    for _ in range(300):
        w = w - lr * (H @ w - b)
        expected.append(w)
    d = S.descent(scale=100.0, standardize=standardize, lr=lr, steps=300)
    np.testing.assert_allclose(d.path, np.array(expected), rtol=1e-9, atol=1e-12)
    brute = ((X @ d.path.T - y[:, None]) ** 2).mean(axis=0) / 2  # loss = mean((Xw - y)²)/2
    np.testing.assert_allclose(d.losses, brute, rtol=1e-9)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_momentum_and_adam_paths_match_torch_optimizers(optimizer):
    X, y, _, _ = exact_problem(10.0, False)
    lr = 0.5 * limit(10.0) if optimizer == "momentum" else 0.05
    w = torch.tensor([-2.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = (
        torch.optim.SGD([w], lr=lr, momentum=0.9)
        if optimizer == "momentum"
        else torch.optim.Adam([w], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    )
    Xt, yt, path = torch.tensor(X), torch.tensor(y), [w.detach().clone()]
    for _ in range(150):
        opt.zero_grad()
        (((Xt @ w - yt) ** 2).mean() / 2).backward()
        opt.step()
        path.append(w.detach().clone())
    d = S.descent(scale=10.0, lr=lr, steps=150, optimizer=optimizer, beta=0.9)
    np.testing.assert_allclose(d.path, torch.stack(path).numpy(), rtol=1e-7, atol=1e-10)


def test_logistic_optimum_has_zero_gradient_and_its_hessian_is_exact():
    """Cross-entropy plus ½·1e-3·|w|² in standardized units (finite w* on separable data)."""
    d = S.descent(scale=10.0, model="logistic", lr=0.5 * S.descent(scale=10.0).lr_max_stable)
    X, y = d.problem.X, d.problem.y
    ridge = 1e-3 * X.var(axis=0)  # the tiny ridge, in standardized units
    p = 1 / (1 + np.exp(-(X @ d.w_star)))
    np.testing.assert_allclose(X.T @ (p - y) / len(y) + ridge * d.w_star, 0, atol=1e-10)
    H = (X.T * (p * (1 - p))) @ X / len(y) + np.diag(ridge)
    np.testing.assert_allclose(d.hessian, H, rtol=1e-9)
    assert d.lr_max_stable == pytest.approx(2 / np.linalg.eigvalsh(d.hessian)[1])
    assert not d.diverged and d.losses[-1] < d.losses[0]
    assert np.all(d.losses >= d.loss_star - 1e-12)


# ---------------------------------------------------------------------------- stability and speed


@pytest.mark.parametrize("scale", [10.0, 100.0])
def test_just_above_two_over_lambda_max_diverges_just_below_does_not(scale):
    lr_max = limit(scale)
    above = S.descent(scale=scale, lr=1.02 * lr_max, steps=1000)
    below = S.descent(scale=scale, lr=0.98 * lr_max, steps=1000)
    assert above.diverged and above.diverged_at is not None
    assert np.isnan(above.losses[above.diverged_at + 1 :]).all()
    assert not below.diverged and below.diverged_at is None
    assert np.all(np.diff(below.losses) <= 1e-12)  # GD on a quadratic below the limit: monotone
    assert below.losses[-1] < below.losses[0]


def test_raw_needs_ten_times_more_steps_than_standardized_at_each_best_lr():
    steps = 20_000  # enough for the raw problem (κ ≈ 1e4) to converge at all
    raw = S.lr_sweep(scale=100.0, standardize=False, steps=steps)
    std = S.lr_sweep(scale=100.0, standardize=True, steps=steps)
    best_raw, best_std = np.nanmin(raw.steps_to_converge), np.nanmin(std.steps_to_converge)
    assert np.isfinite(best_raw) and np.isfinite(best_std)
    assert best_raw >= 10 * best_std
    assert best_raw > 1000 and best_std <= 5
    # no learning rate above 2/λmax converges; the raw limit is ~1e4 times smaller
    assert raw.diverged[raw.lrs > 1.01 * raw.lr_max_stable].all()
    assert std.lr_max_stable / raw.lr_max_stable > 5000


def test_steps_to_converge_is_the_first_step_within_one_percent():
    d = S.descent(scale=10.0, lr=0.5 * limit(10.0), steps=500)
    gap = d.losses - d.loss_star
    k = d.steps_to_converge
    assert gap[k] <= 0.01 * gap[0] < gap[k - 1]


# ---------------------------------------------------------------------------- presets and config


def both(name):
    cfg = S.preset_config(name)
    return cfg, S.descent(**cfg.descent_args(False)), S.descent(**cfg.descent_args(True))


def steps_or_more(d, cfg):
    return cfg.steps + 1 if d.steps_to_converge is None else d.steps_to_converge


def test_preset_zigzag_raw_needs_ten_times_the_steps():
    cfg, raw, std = both("zigzag")
    assert cfg.scale == 7 and 0.9 * raw.lr_max_stable < cfg.lr < raw.lr_max_stable
    assert not raw.diverged and std.steps_to_converge is not None
    assert raw.steps_to_converge is not None  # a real count within the steps, not "not within"
    assert raw.steps_to_converge >= 10 * std.steps_to_converge  # ~50 against 3-4
    assert raw.lr_ratio == pytest.approx(cfg.lr / raw.lr_max_stable) and raw.lr_ratio < 1
    # the zig-zag: the steep-axis coordinate flips side of the valley floor on every step
    steep = np.linalg.eigh(raw.hessian)[1][:, 1]
    side = np.sign((raw.path[: raw.steps_to_converge + 1] - raw.w_star) @ steep)
    assert np.all(side[1:] != side[:-1])
    # ...and the first dozen flips are each >= 5 % of the panel's height: a class sees them
    grid = S.contour_grid(raw.problem, raw.path)
    assert S.crossings(raw, grid) > 12
    jumps = np.abs(np.diff(raw.path[:13, 1]))
    assert np.all(jumps >= 0.05 * np.ptp(grid.w2))
    # ...spread along the valley: the 13th bounce is over a third of the way to the minimum
    way = (raw.path[13, 0] - raw.path[0, 0]) / (raw.w_star[0] - raw.path[0, 0])
    assert way > 1 / 3


def test_crossings_count_only_visible_flips_across_the_steep_axis():
    old = S.descent(scale=100.0, lr=0.99 * limit(100.0), steps=500)  # the old preset: a "T"
    grid = S.contour_grid(old.problem, old.path)
    assert S.crossings(old, grid, share=0.0) == 500  # flips side on every step...
    assert S.crossings(old, grid) < 100  # ...but only the first ~85 are visible
    last = np.flatnonzero(np.abs(np.diff(old.path[:, 1])) >= 0.05 * np.ptp(grid.w2))[-1]
    way = (old.path[last + 1, 0] - old.path[0, 0]) / (old.w_star[0] - old.path[0, 0])
    assert way < 0.03  # ...and all within the first 3 % of the way: the "T"
    slow = S.descent(scale=7.0, lr=0.3 * limit(7.0), steps=200)  # 1 - lr·λmax > 0: no flips
    grid = S.contour_grid(slow.problem, slow.path)
    assert np.abs(np.diff(slow.path[:, 1])).max() >= 0.05 * np.ptp(grid.w2)  # big w2 steps...
    assert S.crossings(slow, grid) == 0  # ...that stay on one side of the valley floor


def test_preset_diverge_raw_diverges_standardized_does_not():
    cfg, raw, std = both("diverge")
    assert cfg.lr > raw.lr_max_stable and cfg.lr < 1.1 * raw.lr_max_stable
    assert raw.diverged and raw.diverged_at < cfg.steps
    assert not std.diverged and std.steps_to_converge is not None


def test_preset_momentum_beats_gd_on_raw_features():
    cfg, raw, _ = both("momentum")
    gd = S.descent(**{**cfg.descent_args(False), "optimizer": "gd"})
    assert cfg.optimizer == "momentum" and raw.steps_to_converge is not None
    assert raw.steps_to_converge < steps_or_more(gd, cfg)


def test_preset_same_scale_gives_the_same_result():
    _, raw, std = both("same")
    np.testing.assert_allclose(raw.path, std.path, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(raw.losses, std.losses, rtol=1e-9)
    assert raw.kappa == pytest.approx(std.kappa)
    assert raw.steps_to_converge == std.steps_to_converge


@pytest.mark.parametrize("name", list(S.PRESETS))
def test_presets_are_valid_settings_that_survive_the_url(name):
    cfg = S.preset_config(name)
    values = S.preset_values(name)
    assert set(values) <= {f.name for f in dataclasses.fields(cfg)}
    assert from_query(S.StandardizationConfig, to_query(cfg))[0] == cfg


def test_default_lr_is_just_below_the_raw_limit():
    cfg = S.StandardizationConfig()
    assert 0.9 * limit(cfg.scale) < cfg.lr < limit(cfg.scale)
    assert cfg.lr_for(True) == cfg.lr_std and cfg.replace(same_lr=True).lr_for(True) == cfg.lr


# ---------------------------------------------------------------------------- contour grid


@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_contour_grid_matches_brute_force(model):
    d = S.descent(scale=100.0, model=model, lr=1e-4, steps=50)
    g = S.contour_grid(d.problem, d.path, resolution=41 if model == "logistic" else 200)
    X, y = d.problem.X, d.problem.y
    for i, j in [(0, 0), (5, 17), (20, 20), (40, 3), (len(g.w2) - 1, len(g.w1) - 1)]:
        w = np.array([g.w1[j], g.w2[i]])
        m = X @ w  # cross-entropy with 0/1 labels: log(1 + e^m) - y·m
        if model == "linear":
            brute = np.mean((m - y) ** 2) / 2
        else:
            brute = np.mean(np.logaddexp(0, m) - y * m) + 0.5 * d.problem.ridge @ w**2
        assert g.z[i, j] == pytest.approx(brute, rel=1e-5)
    assert g.z.dtype == np.float32


def test_contour_grid_is_centred_on_the_optimum_and_covers_the_path():
    for standardize in (False, True):
        d = S.descent(standardize=standardize, lr=0.5 if standardize else 1.9e-4)
        g = S.contour_grid(d.problem, d.path)
        assert g.z.shape == (200, 200)
        np.testing.assert_allclose([g.w1.mean(), g.w2.mean()], d.w_star, atol=1e-9)
        assert g.w1[0] <= d.path[:, 0].min() and d.path[:, 0].max() <= g.w1[-1]
        assert g.w2[0] <= d.path[:, 1].min() and d.path[:, 1].max() <= g.w2[-1]
    raw = S.descent()
    g = S.contour_grid(raw.problem, raw.path)
    span1, span2 = np.ptp(g.w1), np.ptp(g.w2)
    assert 10 < span1 / span2 < 100  # real units: w2 narrower, yet not squashed round
    equal = S.contour_grid(raw.problem, raw.path, equal_aspect=True)
    assert np.ptp(equal.w1) == pytest.approx(np.ptp(equal.w2))


# ---------------------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", LANGS)
def test_figures_have_data_in_both_languages(lang):
    cfg = S.preset_config("zigzag").replace(steps=12_000)  # long enough to be thinned
    raw, std = S.descent(**cfg.descent_args(False)), S.descent(**cfg.descent_args(True))
    grid = S.contour_grid(raw.problem, raw.path)
    fig = figs.contour_figure(raw, grid, lang=lang)
    assert np.asarray(fig.data[0].z).shape == (200, 200)
    path = fig.data[1]
    assert len(raw.path) == cfg.steps + 1 and 500 < len(path.x) <= figs.MAX_POINTS  # thinned
    assert path.customdata[0] == 0 and path.customdata[-1] == cfg.steps
    assert fig.layout.title.text == strings(lang)["standardization.panel.raw"]
    part = figs.contour_figure(raw, grid, lang=lang, upto=10)
    assert len(part.data[1].x) == 11
    loss = figs.loss_figure(raw, std, lang=lang)
    assert loss.layout.yaxis.type == "log" and len(loss.data) >= 3
    kw = dict(scale=cfg.scale, steps=300)
    sweep = figs.sweep_figure(S.lr_sweep(**kw), S.lr_sweep(standardize=True, **kw), lang=lang)
    lines = [tr for tr in sweep.data if tr.line.dash == "dash" and tr.x[0] is not None]
    assert sorted(float(tr.x[0]) for tr in lines) == pytest.approx(
        sorted([raw.lr_max_stable, std.lr_max_stable]), rel=1e-6
    )
    assert sweep.layout.xaxis.type == "log"
    used = figs.sweep_figure(
        S.lr_sweep(**kw), S.lr_sweep(standardize=True, **kw), lang=lang, used=(1e-4, 0.5)
    )
    dotted = [tr for tr in used.data if tr.line.dash == "dot" and tr.x[0] is not None]
    assert sorted(float(tr.x[0]) for tr in dotted) == pytest.approx([1e-4, 0.5])
    assert not [tr for tr in sweep.data if tr.line.dash == "dot" and tr.x[0] is not None]


@pytest.mark.parametrize("lang", LANGS)
def test_a_path_that_leaves_its_panel_is_drawn_to_where_it_leaves(lang):
    """Audit 28: the Diverge preset's raw path, 200 steps, went on past the panel's edge, each
    step a stroke across the whole panel: side by side they drew a solid orange block over the
    contours and the minimum. The path ends with its first step out (12-14 on seeds 0-4), and
    a note where it crosses the edge says at which step; a path that stays inside is drawn
    whole."""
    for seed in range(5):
        cfg = S.preset_config("diverge", S.StandardizationConfig(seed=seed))
        raw = S.descent(**cfg.descent_args(False))
        grid = S.contour_grid(raw.problem, raw.path)
        out = figs.leaves_panel(raw, grid)
        assert out is not None and 5 < out < 50, (seed, out)
        path = figs.contour_figure(raw, grid, lang=lang).data[1]
        assert list(path.customdata) == list(range(out + 1)), seed
        w1, w2 = np.asarray(path.x), np.asarray(path.y)
        inside = (grid.w2[0] <= w2) & (w2 <= grid.w2[-1]) & (grid.w1[0] <= w1) & (w1 <= grid.w1[-1])
        assert inside[:-1].all() and not inside[-1], seed
        fig = figs.contour_figure(raw, grid, lang=lang)
        assert [a.text for a in fig.layout.annotations] == [
            t("standardization.fig.path_out", lang, step=out)
        ]  # on the edge it crosses
        edge = fig.layout.annotations[0].y
        assert edge in (pytest.approx(grid.w2[0]), pytest.approx(grid.w2[-1])), edge
        assert fig.layout.annotations[0].xanchor == "left"  # toward the panel's middle
        mirrored = raw.path * [-1, 1] + [grid.w1[0] + grid.w1[-1], 0]  # out on the far side
        far = figs.contour_figure(dataclasses.replace(raw, path=mirrored), grid, lang=lang)
        assert far.layout.annotations[0].xanchor == "right"  # (it ran into the colour bar)
        early = figs.contour_figure(raw, grid, lang=lang, upto=3)
        assert len(early.data[1].x) == 4 and not early.layout.annotations  # not out yet
        std = S.descent(**cfg.descent_args(True))
        whole = figs.contour_figure(std, S.contour_grid(std.problem, std.path), lang=lang)
        assert len(whole.data[1].x) == len(std.path)
        assert not whole.layout.annotations


def test_long_paths_are_thinned_without_aliasing_the_zigzag():
    idx = figs.thin(2001)
    assert len(idx) <= figs.MAX_POINTS and idx[0] == 0 and idx[-1] == 2000
    strides = np.diff(idx[600:-1])
    assert np.all(strides % 2 == 1)  # odd: consecutive kept points are on opposite sides


def test_every_field_choice_and_preset_has_words_in_both_languages():
    for lang in LANGS:
        table = strings(lang)
        for name, spec in specs(S.StandardizationConfig).items():
            assert f"standardization.field.{name}" in table
            for choice in spec.choices or ():
                assert f"standardization.option.{choice}" in table
        for name in S.PRESETS:
            assert table[f"standardization.preset.{name}"]
            assert table[f"standardization.preset.{name}_what"]


def test_logistic_minimum_is_finite_even_for_separable_classes():
    for seed in range(30):  # n=20 without label noise: several of these seeds are separable
        raw = S.descent(model="logistic", n=20, noise=0.0, seed=seed, lr=1e-4, steps=20)
        std = S.descent(model="logistic", n=20, noise=0.0, seed=seed, standardize=True, steps=20)
        assert np.isfinite(raw.w_star).all() and np.isfinite(raw.kappa)
        # standardizing only rescales the columns here: the same minimum, in other units
        np.testing.assert_allclose(std.w_star, raw.w_star * raw.problem.X.std(0), rtol=1e-6)
        assert std.loss_star == pytest.approx(raw.loss_star, rel=1e-9)


def test_bad_names_raise_and_a_start_at_the_minimum_still_gets_a_grid():
    with pytest.raises(ValueError):
        S.descent(optimizer="sgd")
    with pytest.raises(ValueError):
        S.descent(model="tree")
    w_star = S.descent(steps=1).w_star
    d = S.descent(start=tuple(w_star), steps=10)
    assert d.steps_to_converge == 0 and not d.diverged
    g = S.contour_grid(d.problem, d.path)
    assert np.ptp(g.w1) > 0.5 and np.ptp(g.w2) > 0.005 and np.isfinite(g.z).all()
    assert S.lr_limit(S.StandardizationConfig()) == pytest.approx(d.lr_max_stable)


# ---------------------------------------------------------------------------- page support


def test_steps_go_to_20000_and_the_longest_path_stays_fast():
    cfg = S.StandardizationConfig(steps=20_000)
    with pytest.raises(ValueError):
        cfg.replace(steps=20_001)
    start = time.perf_counter()
    raw = S.descent(**cfg.descent_args(False))
    assert time.perf_counter() - start < 0.5  # matrix doubling: milliseconds, not a step loop
    assert len(raw.path) == 20_001 and raw.steps_to_converge == 10_147  # 0.98 x 2/λmax


def test_doubling_path_equals_the_step_loop_for_many_rates():
    p = S.problem(100.0, False)
    lrs = np.geomspace(1e-6, 1.05, 7) * S.lr_limit(S.StandardizationConfig())
    for optimizer in ("gd", "momentum"):
        fast = two_weights.iterate(p, (-2.0, 0.0), lrs, 300, optimizer, 0.9)
        slow = two_weights._loop_path(p, (-2.0, 0.0), lrs, 300, optimizer, 0.9)
        np.testing.assert_allclose(fast, slow, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "model, optimizer, steps, points",
    [("linear", "gd", 20_000, 40), ("linear", "momentum", 20_000, 40),
     ("linear", "adam", 5_000, 30), ("logistic", "gd", 1_000, 20)],
)  # fmt: skip
def test_sweep_args_have_a_budget_of_their_own(model, optimizer, steps, points):
    cfg = S.StandardizationConfig(model=model, optimizer=optimizer, steps=7, lr=1e-3)
    args = cfg.sweep_args(False)
    assert args["steps"] == steps and args["points"] == points and args["model"] == model
    assert cfg.replace(lr=0.1, lr_std=0.2, steps=99).sweep_args(True) == cfg.sweep_args(True)
    if optimizer == "adam":  # one fixed range: Adam's step does not scale with 2/λmax
        assert args["lrs"][0] == pytest.approx(1e-4) and len(args["lrs"]) == points
    else:
        assert args["lrs"] is None
        sweep = S.lr_sweep(**{**args, "steps": 50})
        assert len(sweep.lrs) == points


# ---------------------------------------------------------------------------- what the prose says


@pytest.mark.parametrize("lang", LANGS)
def test_prose_describes_the_data_and_the_curvature_ratio_the_page_shows(lang):
    from bnviz.i18n import lesson_text

    X, _ = S.make_data(scale=100.0)
    assert np.abs(X.mean(0)).max() < 1e-9  # zero-mean N(0, 1)·(1, scale), not 1, 2, …
    assert X.std(0) == pytest.approx([1.0, 100.0])
    d = S.descent()
    assert d.hessian[1, 1] / d.hessian[0, 0] == pytest.approx(100.0**2)  # curvature: scale²
    assert d.kappa == pytest.approx(10_000, rel=0.05)
    assert np.sqrt(d.kappa) == pytest.approx(100, rel=0.03)  # the ellipse's axes ratio
    text = lesson_text("standardization", lang)
    valley = text.split("\n\n")[0]
    assert "N(0, 1)" in valley and {"en": "scale²", "zh": "尺度比²"}[lang] + " = 10,000" in valley
    assert "100 times faster" not in text and "快约 100 倍" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_prose_and_sentence_quote_the_zigzag_presets_scale(lang):
    from bnviz.i18n import lesson_text

    scale = f"{S.preset_config('zigzag').scale:g}"  # the claim checks κ ≈ 50 and ~50 steps
    said = {"en": f"x₂ is only {scale}× x₁", "zh": f"x₂ 只是 x₁ 的 {scale} 倍"}[lang]
    assert said in lesson_text("standardization", lang)
    quoted = {"en": f"x₂ is {scale}× x₁", "zh": f"x₂ 是 x₁ 的 {scale} 倍"}[lang]
    assert strings(lang)["standardization.preset.zigzag_what"].startswith(quoted)


@pytest.mark.parametrize("seed", range(5))
def test_shifted_inputs_alone_tilt_and_narrow_the_valley(seed):
    cfg = S.preset_config("shifted", S.StandardizationConfig(seed=seed))
    assert cfg.scale == 1.0 and cfg.offset == 5.0
    raw, std = S.descent(**cfg.descent_args(False)), S.descent(**cfg.descent_args(True))
    H = raw.hessian
    centered = S.problem(1.0, False, cfg.noise, cfg.n, seed).hessian  # the same z, no shift
    assert H - centered == pytest.approx(np.full((2, 2), 25.0))  # + offset²·[[1, 1], [1, 1]]
    assert 40 < raw.kappa < 60 and std.kappa < 1.5  # "κ about 50" vs "≈ 1"
    assert 90 <= raw.steps_to_converge <= 130 and std.steps_to_converge <= 4  # "~110", "3–4"
    assert not raw.diverged


def test_offset_zero_changes_nothing_and_round_trips():
    assert S.problem(100.0, False).hessian == pytest.approx(
        S.problem(100.0, False, offset=0.0).hessian, rel=0, abs=0
    )
    cfg = S.StandardizationConfig(offset=-2.5)
    assert from_query(S.StandardizationConfig, to_query(cfg))[0] == cfg
    assert S.lr_sweep(scale=1.0, offset=5.0, points=5, steps=50).lr_max_stable < 0.05
