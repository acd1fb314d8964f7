"""Data preprocessing: center, normalize, PCA, whiten — the picture, the bowls, training, images."""

from bnviz.lessons import preprocessing as P
from bnviz.ui import page
from bnviz.ui import preprocessing as ui

DEFAULT = P.CloudConfig()

ctx = page.begin("preprocessing")
cfg = ctx.settings(P.CloudConfig, DEFAULT)
picked = ctx.settings(P.ImagesView, P.ImagesView())  # the Images view's patch
page.show_notes(ctx)
shown = ui.view_shown(ctx, cfg)  # known before the pills: the link's view counts
cfg = ui.sidebar(ctx, cfg, shown)  # greys out what the view shown does not use
ctx.remember(cfg, DEFAULT)
active = page.presets(ctx, ui.presets(), ui.defaults(DEFAULT))
view = page.views(ctx, ui.VIEWS)
page.look_for(ctx, active, view)
ui.show(ctx, view, cfg, picked)  # the runs of the training view train live through the scheduler

page.explanation(ctx, "preprocessing")
page.finish(ctx)
