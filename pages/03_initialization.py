"""Weight initialization: the CS231n 10-layer x 500-unit experiment, with and without BN."""

import streamlit as st

from bnviz.lessons import initialization as I
from bnviz.ui import controls, page
from bnviz.ui import initialization as ui

DEFAULT = I.InitSettings()
MAIN = ["activation", "init", "batchnorm"]
MORE = ["depth", "width", "n", "seed"]

ctx = page.begin("initialization", "nav.initialization")
cfg = ctx.settings(I.InitSettings, DEFAULT)
page.show_notes(ctx)
controls.seed_url_values(ctx, cfg, MAIN + MORE)  # a last visit's view is put back first
shown = controls.view_state(ctx, ui.VIEWS)  # Compare draws without and with BN: greyed there
cfg = page.settings(ctx, cfg, MAIN, MORE, unused=["batchnorm"] if shown == "compare" else [])
ctx.remember(cfg, DEFAULT)
active = page.presets(ctx, ui.presets(shown), {f: getattr(DEFAULT, f) for f in MAIN + MORE})
view = page.views(ctx, ui.VIEWS)
page.look_for(ctx, active, view)  # none on Compare: a preset's sentence speaks of one init
if cfg.batchnorm and view != "compare":  # Compare draws both; its legend went below 720 px
    st.caption(ctx.tr("initialization.bn_note"))

ui.draw(ctx, view, cfg)
page.explanation(ctx, "initialization")
page.finish(ctx)
