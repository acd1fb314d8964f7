"""Why BatchNorm helps: DLB 8.7.1's deep linear network, then the evidence on trained networks."""

import streamlit as st

from bnviz.lessons import why_bn as W
from bnviz.ui import controls, page
from bnviz.ui import why_bn as ui

DEFAULT = W.DeepLinearSettings()
MAIN = ["depth", "w", "lr", "batchnorm"]
MORE = ["spread", "seed"]
VIEWS = ("linear", "lower", "shift", "noise", "smooth", "gamma_beta")

ctx = page.begin("why_bn")
views_row = st.container(key="views_row")  # six views do not fit the title row: a row under it
cfg = ctx.settings(W.DeepLinearSettings, DEFAULT)
page.show_notes(ctx)
controls.seed_url_values(ctx, cfg, MAIN + MORE)
shown = controls.view_state(ctx, VIEWS)  # set before the presets, which match on it
linear = shown == "linear"  # the other views use the seed only
cfg = page.settings(ctx, cfg, MAIN if linear else ["seed"], MORE if linear else [], by_view=True)
cfg = cfg.replace(**{f: controls.current(ctx, f, cfg) for f in MAIN + MORE})
ctx.remember(cfg, DEFAULT)
presets = {name: {**values, "view": "linear"} for name, values in W.PRESETS.items()}
defaults = {f: getattr(DEFAULT, f) for f in MAIN + MORE}
active = page.presets(ctx, presets, defaults) if linear else None  # the linear view's pills
view = page.views(ctx, VIEWS, views_row)
page.look_for(ctx, active, view)

if view in ui.LIVE_VIEWS:
    ui.show_live(ctx, view, cfg.seed)
else:
    ui.leave_slots(ctx)  # the live runs go on only while a view shows them
    if view == "linear":
        ui.show_linear(ctx, cfg)
    else:
        ui.show_static(ctx, view, cfg.seed)
page.explanation(ctx, "why_bn")
page.finish(ctx)
