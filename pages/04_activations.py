"""Activation functions: f and f′, the three questions, the zig-zag, dead ReLUs trained live."""

from bnviz.lessons import activations as A
from bnviz.ui import activations as ui
from bnviz.ui import controls, page

DEFAULT = A.ActivationSettings()
FIELDS = ["activation", *A.PARAMETER.values(), "seed", "lr", "steps", "dead_activation"]
PRESET_VIEWS = {"zigzag": "zigzag", "dead_relu": "dead", "dead_remedy": "dead"}
# the settings each view reads (One function shows its activation's parameter only); a preset
# sets, and is matched on, its own view's: Dead ReLUs lost its sentence once One function's
# activation had been changed (an audit)
READS = {"function": ["activation", *A.PARAMETER.values()], "gallery": [],
         "zigzag": ["lr", "steps"], "dead": ["dead_activation"], "race": []}  # fmt: skip

ctx = page.begin("activations", "nav.activations")
cfg = ctx.settings(A.ActivationSettings, DEFAULT)
page.show_notes(ctx)

# ---- settings: each view shows the few it uses (one activation picker at a time)
controls.seed_url_values(ctx, cfg, FIELDS)
shown = controls.view_state(ctx, ui.VIEWS)  # a link to ?view=race shows no preset
params = [A.PARAMETER[a] for a in [controls.current(ctx, "activation", cfg)] if a in A.PARAMETER]
main = [f for f in READS[shown] if f in params or f not in A.PARAMETER.values()]
# no randomness (One function, All nine), or seeds 0–2 fixed (ReLU vs tanh): the seed greyed
unused = ["seed"] if shown in ("function", "gallery", "race") else []
cfg = page.settings(ctx, cfg, main, ["seed"], unused, by_view=True)
if shown == "gallery":  # draws every function at its link's parameters, with no control for them
    ctx.used |= set(A.PARAMETER.values())
cfg = cfg.replace(**{f: controls.current(ctx, f, cfg) for f in FIELDS})
presets = {}
for name, values in A.PRESETS.items():
    shown_in = PRESET_VIEWS.get(name, "function")
    presets[name] = {
        **{f: getattr(DEFAULT, f) for f in READS[shown_in]},
        **values,
        "view": shown_in,
    }
active = page.presets(ctx, presets, {})
view = page.views(ctx, ui.VIEWS)
other = view == "dead" and cfg.dead_activation != "relu"  # its own sentence: none die
page.look_for(ctx, active, f"dead_{cfg.dead_activation}" if other else view)

ui.draw(ctx, view, cfg)
ctx.remember(cfg, DEFAULT)
page.explanation(ctx, "activations")
page.finish(ctx)
