"""Running statistics: BN's running_mean/running_var live, train vs eval mode, batch size 1."""

from bnviz.config import RunConfig
from bnviz.lessons import running_stats as rs
from bnviz.ui import page
from bnviz.ui import running_stats as ui

ctx = page.begin("running_stats", "nav.running_stats")
cfg = ctx.settings(RunConfig, rs.DEFAULT)
view_cfg = ctx.settings(rs.View, rs.View())
page.show_notes(ctx)
shown = ui.view_shown(ctx, cfg, view_cfg)  # set before the pills compare their views
cfg, view_cfg = ui.settings(ctx, cfg, view_cfg, shown)  # greys out what the view does not use
ctx.remember(cfg, rs.DEFAULT)
ctx.remember(view_cfg, rs.View())
active = page.presets(ctx, *ui.presets())
view = page.views(ctx, ui.VIEWS)
page.look_for(ctx, active, ui.sentence(view, cfg, view_cfg))

ui.draw(ctx, view, cfg, view_cfg)
page.explanation(ctx, "running_stats")
page.finish(ctx)
