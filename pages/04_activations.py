"""Activation functions: f and f′, the three questions, the zig-zag, dead ReLUs trained live."""

from bnviz.lessons import activations as A
from bnviz.ui import activations as ui
from bnviz.ui import controls, page

DEFAULT = A.ActivationSettings()
FIELDS = ["activation", *A.PARAMETER.values(), "seed", "lr", "steps", "dead_activation"]
PRESET_VIEWS = {"zigzag": "zigzag", "dead_relu": "dead", "dead_remedy": "dead"}

ctx = page.begin("activations", "nav.activations")
cfg = ctx.settings(A.ActivationSettings, DEFAULT)
page.show_notes(ctx)

# ---- settings: each view shows the few it uses (one activation picker at a time)
controls.seed_url_values(ctx, cfg, FIELDS)
shown = controls.view_state(ctx, ui.VIEWS)  # a link to ?view=race shows no preset
params = [A.PARAMETER[a] for a in [controls.current(ctx, "activation", cfg)] if a in A.PARAMETER]
main = {"function": ["activation", *params], "gallery": [], "zigzag": ["lr", "steps"], "race": []}
cfg = page.settings(ctx, cfg, main.get(shown, ["dead_activation"]), ["seed"], by_view=True)
cfg = cfg.replace(**{f: controls.current(ctx, f, cfg) for f in FIELDS})
# a preset sets, and is matched on, the settings its own view reads: Dead ReLUs lost its
# sentence once One function's activation had been changed (an audit)
READS = {"function": ["activation", *A.PARAMETER.values()], "zigzag": ["lr", "steps"]}
presets = {}
for name, values in A.PRESETS.items():
    shown_in = PRESET_VIEWS.get(name, "function")
    reads = {f: getattr(DEFAULT, f) for f in READS.get(shown_in, ["dead_activation"])}
    presets[name] = {**reads, **values, "view": shown_in}
active = page.presets(ctx, presets, {})
view = page.views(ctx, ui.VIEWS)
other = view == "dead" and cfg.dead_activation != "relu"  # its own sentence: none die
page.look_for(ctx, active, f"dead_{cfg.dead_activation}" if other else view)

ui.draw(ctx, view, cfg)
ctx.remember(cfg, DEFAULT)
page.explanation(ctx, "activations")
page.finish(ctx)
