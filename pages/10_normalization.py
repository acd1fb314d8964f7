"""Normalization zoo: BatchNorm, LayerNorm, InstanceNorm and GroupNorm on one N×C×H×W tensor."""

from bnviz.lessons import normalization as N
from bnviz.ui import controls, page
from bnviz.ui import normalization as ui

DEFAULT = N.NormSettings()
MAIN = ["kind", "batch", "size"]
MORE = ["channels", "groups", "seed"]

ctx = page.begin("normalization")
cfg = ctx.settings(N.NormSettings, DEFAULT)
page.show_notes(ctx)
controls.seed_url_values(ctx, cfg, MAIN + MORE)
unused = [] if controls.current(ctx, "kind", cfg) == "group" else ["groups"]  # GroupNorm's only
cfg = page.settings(ctx, cfg, MAIN, MORE, unused=unused)
ctx.remember(cfg, DEFAULT)
active = page.presets(ctx, N.PRESETS, {f: getattr(DEFAULT, f) for f in MAIN + MORE})
page.look_for(ctx, active, custom=cfg.replace(seed=DEFAULT.seed) != DEFAULT)

ui.draw(ctx, cfg)
page.explanation(ctx, "normalization")
page.finish(ctx)
