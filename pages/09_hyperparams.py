"""Hyperparameter search: many small models trained at once, as one scheduler job per sweep."""

import streamlit as st

from bnviz.lessons import hyperparams_views as V
from bnviz.ui import controls, live, page
from bnviz.ui import hyperparams as ui

MAIN, MORE = ["trials", "models", "steps"], ["seed"]

ctx = page.begin("hyperparams")
cfg = ctx.settings(V.Search, V.DEFAULT)
page.show_notes(ctx)
controls.seed_url_values(ctx, cfg, MAIN + MORE)  # the view kept from a last visit, then read
shown = controls.view_state(ctx, V.VIEWS)  # before the presets (a preset picks a view) and the
unused = [f for f in MAIN + MORE if f not in V.USES[shown]]  # settings it does not read
cfg = page.settings(ctx, cfg, MAIN, MORE, unused)
ctx.remember(cfg, V.DEFAULT)
defaults = {f: getattr(V.DEFAULT, f) for f in MAIN + MORE}
active = page.presets(ctx, V.PRESETS, {**defaults, "view": V.VIEWS[0]})
view = page.views(ctx, V.VIEWS)
page.look_for(ctx, active, view)

try:
    specs = V.specs(view, cfg)
except ValueError as err:  # past the sweep caps: say so, train nothing
    specs = None
    st.error(ctx.tr("hyperparams.too_big", error=ui.too_big(ctx, err)), icon=":material/block:")

if specs is not None:
    runs = live.attached(ctx, specs)
    first = runs.get("round1")
    if view == "coarse" and first is not None and first.snapshot.state == "finished":
        specs["round2"] = V.fine_spec(first.snapshot, cfg)[0]  # round 2: around the best
        runs = live.attached(ctx, specs)
    live.controls(ctx, specs, runs)  # Start … Reset for the sweeps; says a quota's "no"
    with st.sidebar:  # as live.sidebar: classroom pace (a sweep lasts ~30 s), pause redraw
        st.markdown(f"**{ctx.tr('run.while_training')}**")
        live.pace_toggle(ctx, runs)
        live.freeze_toggle(ctx)
    labels = {name: ctx.tr(f"hyperparams.sweep.{name}") for name in specs}
    failed = ui.failed(ctx, specs, runs)  # said where its charts would be, with Try again
    if ui.FIRST.get(view, "sweep") not in failed:  # the others still draw (and train)
        gone = {n: runs[n].snapshot for n in failed}  # ... the views leave them out
        rest = {n: r for n, r in runs.items() if n not in failed}
        live.live_panel(ctx, rest, labels, lambda snaps: ui.draw(ctx, view, cfg, snaps | gone))

page.explanation(ctx, "hyperparams")
page.finish(ctx)
