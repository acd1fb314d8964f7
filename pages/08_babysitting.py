"""Babysitting the learning process: six checks, each on runs trained live on digits."""

import streamlit as st

from bnviz.figures import babysitting as figs
from bnviz.lessons import babysitting as B
from bnviz.ui import controls, live, page, plot

DEFAULT = B.BabysitSettings()
SLOTS = {name for runs in B.PRESETS.values() for name in runs}  # every view's run names
MAIN, MORE = ["weight_decay"], ["seed"]


def show(fig, key: str, where=st) -> None:
    """One chart of the live panel."""
    plot.chart(where, fig, key=f"babysitting.{key}")


def draw(snaps) -> None:
    """The view's figures of the runs' latest snapshots."""
    lang = ctx.lang
    if view == "init_loss":
        show(figs.first_loss_figure(snaps, lang=lang), "first_loss")
    elif view == "overfit":
        left, right = st.columns(2)
        show(figs.loss_curves_figure(snaps, lang=lang, title="overfit_title"), "loss", left)
        show(figs.accuracy_figure(snaps, lang=lang), "acc", right)
    elif view == "lr":
        note = None
        if (high := snaps.get("high")) is not None and len(high.telemetry.get("dead", ())):
            note = ctx.tr("babysitting.high_dead", share=f"{B.last_layer_dead(high):.0%}")
        show(figs.loss_curves_figure(snaps, lang=lang, note=note), "loss")
    elif view == "gap":
        show(figs.accuracy_figure(snaps, lang=lang, labels=labels), "acc")
        lines = []  # one line: two took the second below a 1280x720 screen (audit 27)
        for name, snap in snaps.items():
            train, val = B.final(snap, "train_acc"), B.final(snap, "test_acc")
            if train == train:  # NaN before the first evaluation
                line = dict(val=val, points=100 * (train - val))  # as running stats
                lines.append(ctx.tr("babysitting.gap_line", label=labels[name], **line))
        if lines:
            st.caption(" · ".join(lines))
    elif view == "ratio":
        tables = {figs.run_label(labels[n], s, lang): B.ratio_table(s) for n, s in snaps.items()}
        show(figs.ratio_tables_figure(tables, lang=lang), "ratio")
    else:
        snap = snaps["watch"]
        show(figs.weights_strip_figure(snap, lang=lang), "weights")
        if len(snap.first_layer.get("step", ())):
            kept = snap.first_layer["w"].shape[1]
            shown = min(B.STRIP_UNITS, kept)
            st.caption(ctx.tr("babysitting.roughness", units=kept, shown=shown))


ctx = page.begin("babysitting")
cfg = ctx.settings(B.BabysitSettings, DEFAULT)
page.show_notes(ctx)
controls.seed_url_values(ctx, cfg, MAIN + MORE)  # a last visit's view is put back first
shown = controls.view_state(ctx, B.CHECKS)  # known before the pills: the link's view counts
# weight decay is check 4's (the gap): greyed out on the others, as other pages do (audit 34)
cfg = page.settings(ctx, cfg, MAIN, MORE, unused=[] if shown == "gap" else ["weight_decay"])
ctx.remember(cfg, DEFAULT)
defaults = {f: getattr(DEFAULT, f) for f in MAIN + MORE}
active = page.presets(ctx, {check: {"view": check} for check in B.CHECKS}, defaults)
view = page.views(ctx, B.CHECKS)
page.look_for(ctx, active, view)

configs = B.run_configs(view, cfg)
labels = {name: ctx.tr(f"babysitting.preset.{name}") for name in configs}
if view == "gap":
    labels["decay"] = ctx.tr("babysitting.decay_label", value=cfg.weight_decay)
live.leave(ctx, SLOTS - set(configs))  # another view's runs stop counting against this tab
runs = live.attached(ctx, configs)
live.controls(ctx, configs, runs)
live.sidebar(ctx, next(iter(configs.values())), runs)
live.live_panel(ctx, runs, labels, draw, warn=False)  # the legend says where it diverged

page.explanation(ctx, "babysitting")
page.finish(ctx)
