"""Data preprocessing: center, normalize, PCA, whiten — the picture, the bowls, training, images."""

import streamlit as st

from bnviz.figures import preprocessing as figs
from bnviz.lessons import preprocessing as P
from bnviz.lessons import preprocessing_data as D
from bnviz.ui import controls, page

DEFAULT = P.CloudConfig()
MAIN = ["corr", "offset_x", "offset_y", "scale_x", "scale_y"]
MORE = ["n", "seed"]
EPS = (0.0, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0)  # whitening's eps choices
VIEWS = ("picture", "contours", "training", "pca", "images")
PRESET_VIEWS = {"lecture": "picture", "offset_only": "contours", "collinear": "contours"}


@st.cache_data(max_entries=64, show_spinner=False)
def bowls(cfg: P.CloudConfig) -> tuple:
    """The raw / centered / whitened problems, their descent paths and whitening's gains."""
    problems = P.contour_problems(cfg)
    gains = P.fit(P.cloud(cfg), "whiten", cfg.eps).gains()
    return problems, {k: P.descend(p) for k, p in problems.items()}, gains


@st.cache_data(max_entries=8, show_spinner=False)
def training(seed: int) -> D.Comparison:
    """Raw / centered / normalized / whitened digits through the same net (a few seconds)."""
    return D.compare_inputs(seed)


@st.cache_data(max_entries=8, show_spinner=False)
def pca(seed: int) -> tuple:
    """Explained variance, reconstructions of 8 test digits, accuracy against k (~4 s)."""
    x_tr, _, x_te, _ = D.digits_split(seed)
    recs = D.reconstructions(x_tr, x_te[:8], D.RECON_KS)
    return D.explained_variance(x_tr), recs, D.accuracy_vs_k(D.PCA_KS, seed)


@st.cache_data(max_entries=1, show_spinner=False)
def photos() -> tuple:
    """The photo patches' mean image statistics and whitening's noise gains (8×8×3 patches)."""
    return D.mean_image(D.photo_patches()), D.noise_gains(D.photo_patches(8), D.NOISE_EPS)


def sidebar(cfg: P.CloudConfig) -> P.CloudConfig:
    """Cloud settings; eps on a fixed log ladder (0 included: whitening without a floor)."""
    controls.seed_url_values(ctx, cfg, [*MAIN, "eps", *MORE])
    with st.sidebar:
        st.markdown(f"**{ctx.tr('preprocessing.settings')}**")
        cfg = controls.settings_form(ctx, cfg, MAIN)
        if "eps" not in ctx.hidden:
            key = controls.widget_key(ctx, "eps")
            eps = st.select_slider(
                ctx.tr("preprocessing.field.eps"), sorted({*EPS, st.session_state[key]}),
                format_func=lambda v: f"{v:g}", key=key, help=ctx.tr("preprocessing.help.eps"),
            )  # fmt: skip
            cfg = cfg.replace(eps=eps)
        with st.expander(ctx.tr("app.more_settings")):
            cfg = controls.settings_form(ctx, cfg, MORE)
    return cfg


def show_images(seed: int) -> None:
    """Mean image vs per-channel mean, one patch centered both ways, whitening's noise gain."""
    with st.spinner(ctx.tr("preprocessing.computing")):
        stats, gains = photos()
    st.plotly_chart(figs.mean_image_figure(stats, lang=ctx.lang), key="prep.mean")
    n = len(D.photo_patches())
    index = st.slider(ctx.tr("preprocessing.field.patch"), 0, n - 1, seed % n, key="prep.patch")
    patch = D.centered_patch(D.photo_patches(), index)
    left, right = st.columns(2)
    left.plotly_chart(figs.centered_figure(patch, lang=ctx.lang), key="prep.patch_fig")
    right.plotly_chart(figs.noise_gain_figure(D.NOISE_EPS, gains, lang=ctx.lang), key="prep.noise")
    right.caption(ctx.tr("preprocessing.claim.noise"))


ctx = page.begin("preprocessing")
cfg = ctx.settings(P.CloudConfig, DEFAULT)
page.show_notes(ctx)
cfg = sidebar(cfg)
ctx.remember(cfg, DEFAULT)
presets = {name: {**v, "view": PRESET_VIEWS[name]} for name, v in P.PRESETS.items()}
defaults = {f: getattr(DEFAULT, f) for f in [*MAIN, "eps", *MORE]}
view_key = controls.widget_key(ctx, "view")  # known before the pills: the link's view counts
st.session_state.setdefault(view_key, controls.url_choice(ctx, "view", VIEWS))
active = page.presets(ctx, presets, defaults)
with ctx.head:
    view = controls.view_choice(
        ctx, VIEWS, ctx.tr("preprocessing.view_label"), lambda v: ctx.tr(f"preprocessing.view.{v}")
    )
page.look_for(ctx, active, view)

if view == "picture":
    st.plotly_chart(figs.panels_figure(P.panels(cfg), lang=ctx.lang), key="prep.panels")
elif view == "contours":
    problems, paths, gains = bowls(cfg)
    st.plotly_chart(figs.bowls_figure(problems, paths, lang=ctx.lang), key="prep.bowls")
    st.caption(ctx.tr("preprocessing.gains", main=gains[0], quiet=gains[-1], eps=cfg.eps))
elif view == "training":
    with st.spinner(ctx.tr("preprocessing.training_spinner")):
        cmp = training(cfg.seed)
    st.plotly_chart(figs.training_figure(cmp, lang=ctx.lang), key="prep.training")
    st.caption(ctx.tr("preprocessing.training_note"))
elif view == "pca":
    with st.spinner(ctx.tr("preprocessing.training_spinner")):
        explained, recs, acc = pca(cfg.seed)
    left, right = st.columns(2)
    left.plotly_chart(figs.explained_figure(explained, lang=ctx.lang), key="prep.explained")
    right.plotly_chart(figs.accuracy_k_figure(D.PCA_KS, acc, lang=ctx.lang), key="prep.acc_k")
    st.plotly_chart(figs.reconstructions_figure(recs, D.RECON_KS, lang=ctx.lang), key="prep.recs")
else:
    show_images(cfg.seed)

page.explanation(ctx, "preprocessing")
page.finish(ctx)
