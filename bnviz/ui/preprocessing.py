"""What each view of the preprocessing page draws: the cloud's settings, the computed views
(cached per settings) and the training comparison's four live runs."""

from __future__ import annotations

import streamlit as st

from bnviz.config import Note
from bnviz.figures import preprocessing as figs
from bnviz.figures.theme import compact
from bnviz.i18n import listed
from bnviz.lessons import preprocessing as P
from bnviz.lessons import preprocessing_data as D
from bnviz.ui import common, controls, live, plot
from bnviz.ui.common import PageContext

MAIN = ["corr", "offset_x", "offset_y", "scale_x", "scale_y"]
MORE = ["n", "seed"]
EPS = (0.0, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0)  # whitening's eps choices
VIEWS = ("picture", "contours", "training", "pca", "images")
CLOUD_VIEWS = ("picture", "contours")  # the others use the seed only (digits, photo patches)
# a tuple: the preset stays selected on each (the lecture sentence speaks of both; audit 7)
PRESET_VIEWS = {
    "lecture": ("picture", "contours"),
    "offset_only": "contours",
    "collinear": "contours",
}


def presets() -> dict[str, dict]:
    """Every pill: the cloud's presets with the view each opens, then those that train live."""
    cloud = {name: {**v, "view": PRESET_VIEWS[name]} for name, v in P.PRESETS.items()}
    return cloud | {name: {"view": view} for name, view in D.RUN_PRESETS.items()}


def defaults(cfg: P.CloudConfig) -> dict:
    """The settings a preset resets when it does not set them."""
    return {f: getattr(cfg, f) for f in [*MAIN, "eps", *MORE]}


def view_shown(ctx: PageContext, cfg: P.CloudConfig) -> str:
    """The view shown, known before the pills: the link's, or the one a last visit left (the
    widgets' values are put back first: read before them, the link's view replaced the tab's
    own after a visit to another lesson)."""
    controls.seed_url_values(ctx, cfg, [*MAIN, "eps", *MORE])
    return controls.view_state(ctx, VIEWS)


def sidebar(ctx: PageContext, cfg: P.CloudConfig, view: str) -> P.CloudConfig:
    """Cloud settings, greyed out on the views that draw no cloud; eps on a fixed log ladder
    (0 included: whitening without a floor). After view_shown."""
    unused = () if view in CLOUD_VIEWS else (*MAIN, "eps", "n")
    with st.sidebar:
        st.markdown(f"**{ctx.tr('preprocessing.settings')}**")
        controls.unused_note(ctx, unused)
        cfg = controls.settings_form(ctx, cfg, MAIN, unused)
        if "eps" not in ctx.hidden:
            key = controls.widget_key(ctx, "eps")
            now = controls.shown(key, cfg.eps)  # its default (else a fresh mount: the least)
            eps = st.select_slider(
                ctx.tr("preprocessing.field.eps"), sorted({*EPS, now}), now,
                format_func=lambda v: f"{v:g}",
                key=key, help=ctx.tr("preprocessing.help.eps"), disabled="eps" in unused,
            )  # fmt: skip
            cfg = cfg.replace(eps=eps)
        with st.expander(ctx.tr("app.more_settings")):
            cfg = controls.settings_form(ctx, cfg, MORE, unused)
    return cfg


# ---------------------------------------------------------------------------- computed views


@st.cache_data(max_entries=64, show_spinner=False)
def _bowls(cfg: P.CloudConfig) -> tuple:
    """The raw / centered / whitened problems, their descent paths and whitening's gains."""
    problems = P.contour_problems(cfg)
    gains = P.fit(P.cloud(cfg), "whiten", cfg.eps).gains()
    return problems, {k: P.descend(p) for k, p in problems.items()}, gains


@st.cache_data(max_entries=8, show_spinner=False)
def _pca(seed: int) -> tuple:
    """Explained variance, reconstructions of 8 test digits, accuracy against k (~4 s)."""
    x_tr, _, x_te, _ = D.digits_split(seed)
    recs = D.reconstructions(x_tr, x_te[:8], D.RECON_KS)
    return D.explained_variance(x_tr), recs, D.accuracy_vs_k(D.PCA_KS, seed)


@st.cache_data(max_entries=1, show_spinner=False)
def _photos() -> tuple:
    """The photo patches' mean image statistics and whitening's noise gains (8×8×3 patches)."""
    return D.mean_image(D.photo_patches()), D.noise_gains(D.photo_patches(8), D.NOISE_EPS)


def picture(ctx: PageContext, cfg: P.CloudConfig) -> None:
    """The lecture figure: five panels, the covariance under each."""
    plot.chart(st, figs.panels_figure(P.panels(cfg), lang=ctx.lang), "prep.panels")


def contours(ctx: PageContext, cfg: P.CloudConfig) -> None:
    """The raw, centered and whitened bowls with gradient descent on each."""
    problems, paths, gains = _bowls(cfg)
    plot.chart(st, figs.bowls_figure(problems, paths, lang=ctx.lang), "prep.bowls")
    eps = compact(cfg.eps)  # "1e-5", as the lessons write it
    st.caption(ctx.tr("preprocessing.gains", main=gains[0], quiet=gains[-1], eps=eps))


def pca(ctx: PageContext, cfg: P.CloudConfig) -> None:
    """Explained variance, accuracy on k components, reconstructions."""
    with st.spinner(ctx.tr("preprocessing.training_spinner")):
        explained, recs, acc = _pca(cfg.seed)
    left, right = st.columns(2)
    plot.chart(left, figs.explained_figure(explained, lang=ctx.lang), "prep.explained")
    plot.chart(right, figs.accuracy_k_figure(D.PCA_KS, acc, lang=ctx.lang), "prep.acc_k")
    plot.chart(st, figs.reconstructions_figure(recs, D.RECON_KS, lang=ctx.lang), "prep.recs")


def images(ctx: PageContext, cfg: P.CloudConfig, picked: P.ImagesView) -> None:
    """Mean image vs per-channel mean, one patch centered both ways, whitening's noise gain;
    the patch the link names (`picked`), else the seed's, and the one shown in the link."""
    with st.spinner(ctx.tr("preprocessing.computing")):
        stats, gains = _photos()
    plot.chart(st, figs.mean_image_figure(stats, lang=ctx.lang), "prep.mean")
    flat = listed([f"{v:.1%}" for v in stats.flatness], ctx.lang)  # the sentence's numbers
    n, gap = len(D.photo_patches()), f"{stats.largest_gap:.3f}"
    st.caption(ctx.tr("preprocessing.mean_measured", n=n, flat=flat, gap=gap))
    left, right = st.columns(2)
    seeds = D.textured_patch(D.photo_patches(), cfg.seed)  # above the patch, not page-wide
    first = seeds if picked.patch is None or picked.patch >= n else picked.patch
    # the photos' range, said by every note on the link's patch (audit 31: "0 to 1×10⁴" on 520)
    ranged = common.ranges_here(ctx, P.ImagesView, {"patch": (0, n - 1)})
    if picked.patch is not None and picked.patch >= n and "patch" in ctx.params:
        ctx.notes.append(
            Note("patch", ctx.params.get("patch"), None, "past the photos'", ranged["patch"])
        )
    index = left.slider(ctx.tr("preprocessing.field.patch"), 0, n - 1, first, key="prep.patch")
    ctx.remember(P.ImagesView(patch=None if index == seeds else index), P.ImagesView())
    patch = D.centered_patch(D.photo_patches(), index)
    plot.chart(left, figs.centered_figure(patch, lang=ctx.lang), "prep.patch_fig")
    plot.chart(right, figs.noise_gain_figure(D.NOISE_EPS, gains, lang=ctx.lang), "prep.noise")
    right.caption(ctx.tr("preprocessing.claim.noise"))


# ---------------------------------------------------------------------------- live training


def training(ctx: PageContext, cfg: P.CloudConfig) -> None:
    """Raw, centered, normalized and whitened digits: four runs through the scheduler (shared
    by config, classroom pace), their test accuracy growing live."""
    configs = D.run_configs(cfg.seed)
    labels = {kind: ctx.tr(f"preprocessing.input.{kind}") for kind in configs}
    runs = live.attached(ctx, configs)
    live.controls(ctx, configs, runs)
    live.sidebar(ctx, configs["raw"], runs)

    def draw(snaps) -> None:
        fig = live.cached_figure(
            snaps, "preprocessing.training", ctx.lang,
            build=lambda: figs.training_figure(snaps, lang=ctx.lang),
        )  # fmt: skip
        plot.chart(st, fig, key="prep.training")
        st.caption(ctx.tr("preprocessing.training_note"))

    # one chart shows the four runs: one status line (four columns each took two lines)
    live.live_panel(ctx, runs, labels, draw, warn=False, one_line=True)


def leave_runs(ctx: PageContext) -> None:
    """Another view: the comparison's runs stop counting against this tab."""
    live.leave(ctx, D.INPUTS)


VIEW_DRAW = {"picture": picture, "contours": contours, "training": training, "pca": pca,
             "images": images}  # fmt: skip


def show(ctx: PageContext, view: str, cfg: P.CloudConfig, picked: P.ImagesView) -> None:
    """The chosen view; the live runs are watched only on their own view."""
    if view != "training":
        leave_runs(ctx)
    VIEW_DRAW[view](ctx, cfg, picked) if view == "images" else VIEW_DRAW[view](ctx, cfg)
