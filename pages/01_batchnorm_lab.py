"""BatchNorm lab: two identical networks, one with BN, trained side by side in the background."""

from bnviz.lessons.batchnorm_lab import DEFAULT, PRESETS, View, batch_of_one, pair
from bnviz.ui import controls, lab, live, page

MAIN = ["activation", "init", "lr", "depth"]
MORE = ["dataset", "width", "optimizer", "batch_size", "steps", "bn_placement", "bn_momentum"]
MORE += ["seed"]
EXTRA = {"leaky_relu": "leaky_slope", "elu": "elu_alpha", "maxout": "maxout_k"}

ctx = page.begin("lab", "nav.batchnorm_lab")
cfg = ctx.settings(type(DEFAULT), DEFAULT, fixed=["norm"])  # pair() trains without and with BN
picked = ctx.settings(View, View())  # the layer and steps the charts show
page.show_notes(ctx)
optional = ["momentum", "init_scale", "n_samples", *EXTRA.values()]
if controls.seed_url_values(ctx, cfg, MAIN + MORE + optional):  # the link's first run
    ctx.notes.extend(lab.link_notes(ctx, cfg, picked))
more = [*MORE, *(f for a, f in EXTRA.items() if controls.current(ctx, "activation", cfg) == a)]
more += ["momentum"] if controls.current(ctx, "optimizer", cfg) == "momentum" else []
more += ["init_scale"] if controls.current(ctx, "init", cfg) == "scaled" else []
more += ["n_samples"] if controls.current(ctx, "dataset", cfg) == "mnist" else []
cfg = page.settings(ctx, cfg, MAIN, more)
ctx.remember(cfg, DEFAULT)
defaults = {f: getattr(DEFAULT, f) for f in MAIN + MORE + optional}
shown = controls.view_state(ctx, lab.VIEWS)  # before the pills: a link's boundary view counts
active = page.presets(ctx, lab.presets_for(shown, PRESETS, DEFAULT), defaults)

configs = pair(cfg)
runs = live.attached(ctx, configs)
live.controls(ctx, configs, runs)
live.sidebar(ctx, cfg, runs, lr=True)
one = batch_of_one(cfg)  # batch size 1: only the net without BN trains
page.look_for(ctx, active, view=one, custom=not one and cfg.replace(seed=DEFAULT.seed) != DEFAULT)

# ---- what to look at
view = controls.view_choice(ctx, lab.VIEWS, ctx.tr("lab.view"), lambda v: ctx.tr(f"lab.views.{v}"))
labels = {"plain": ctx.tr("lab.run.plain"), "bn": ctx.tr("lab.run.bn")}
draw = lab.drawer(ctx, cfg, view, labels, picked)
live.live_panel(ctx, runs, labels, draw, streams=view == "loss")
page.explanation(ctx, "batchnorm_lab")
page.finish(ctx)
