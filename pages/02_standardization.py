"""Input standardization: loss contours and descent paths with raw and standardized features."""

from bnviz.lessons import standardization as S
from bnviz.ui import controls, page
from bnviz.ui import standardization as ui

DEFAULT = S.StandardizationConfig()
MAIN = ["scale", "offset", "optimizer", "lr", "lr_std", "steps"]
MORE = ["beta", "same_lr", "w1_0", "w2_0", "model", "noise", "n", "seed"]
FIELDS = MAIN + MORE

ctx = page.begin("standardization", "nav.standardization")
cfg = ctx.settings(S.StandardizationConfig, DEFAULT)
view = ctx.settings(S.View, S.View())
page.show_notes(ctx)

# ---- controls: what matters in view, the rest under "more"
first = ui.seed_url_values(ctx, cfg, view, FIELDS)
ui.rate_follows_the_seed(ctx)
skip = {"lr_std"} if controls.current(ctx, "same_lr", cfg) else set()
skip |= {"beta"} if controls.current(ctx, "optimizer", cfg) == "gd" else set()
cfg = page.settings(
    ctx, cfg, [n for n in MAIN if n not in skip], [n for n in MORE if n not in skip]
)
ctx.remember(cfg, DEFAULT)
# a preset's rate is a share of this seed's limit 2/λmax: seed 0's, at seed 1, bounced for 79
# steps where the sentence says 100–125 (a share of 0.986, not 0.99)
seeded = DEFAULT.replace(seed=cfg.seed)
presets = {name: S.preset_values(name, seeded) for name in S.PRESETS}
active = page.presets(ctx, presets, {f: getattr(DEFAULT, f) for f in FIELDS})
view = ui.view_settings(ctx, cfg, view, first)
ctx.remember(view, S.View())
page.look_for(ctx, active, custom=cfg.replace(seed=DEFAULT.seed) != DEFAULT)

ui.draw(ctx, cfg, view)  # the two contour panels first
page.explanation(ctx, "standardization")
page.finish(ctx)
