// bnviz steady chart (st.components.v2): a figure redrawn in place with Plotly.react.
//
// st.plotly_chart gives every new figure a new element id, so a live panel that redraws twice
// a second unmounted and remounted its charts each time: the chart area went blank for 50 ms
// to 0.25 s per tick, a flicker on a projector. Here the element keeps its key, the same div
// takes each new figure, and a zoom survives the redraws (uirevision).
//
// Prepended by bnviz/ui/plot.py: TEMPLATE_URL, the template Streamlit's own chart theme resolves
// to in the browser (so these charts look like every st.plotly_chart on the page), fetched once
// per tab: Streamlit sends this script again with every redraw; PLOTLY_URL, the server's copy
// of plotly.js; loadPlotly (load_plotly.js). The element's data is the figure's JSON, as bytes.
const CONFIG = { displayModeBar: "hover", responsive: true }; // with toolbar(P) at each draw

const DEFAULT_HEIGHT = 450; // plotly's own, for a figure that sets none
const BAR_GAP = 0.02; // a colour bar's distance from its plot, as plotly's own (x = 1.02)
const RETRY_MS = 500; // plotly.js not loaded: the first retry after 1 s, then 2, 4, 8 s
const MAX_RETRY_MS = 8000;
// A live chart takes a new figure twice a second, and a Plotly.react while a zoom was dragged
// could end the drag (a test's zoom did not take, under load). While a button is held on the
// chart the newest figure waits, drawn after the release; a press whose release the page never
// saw (let go outside the window) stops holding it after this long.
const HOLD_MAX_MS = 10000;
const AFTER_RELEASE_MS = 100;
// Streamlit calls this function again for each new figure, and may run an earlier call's
// cleanup late, after the next call has taken the element (its calls are async). Taken as an
// unmount, that left a finished run's chart blank for good (CI: babysitting, "no chart drawn").
// A cleanup now tears down only once the element has left the page, looked at this long after.
const LEAVE_MS = 1000;

function text(data) {
  return typeof data === "string" ? data : new TextDecoder().decode(data);
}

async function barsBesidePlots(P, box) {
  // A plot kept to equal axis units (constrain: "domain") shrinks inside its figure, but
  // plotly puts a colour bar by the figure's right edge: at 1920 px the standardized panel's
  // bar stood 200 px from its plot. Each bar moves beside its plot's shrunk domain (paper
  // coordinates, as the bar's x); the next figure starts there (no jump on each redraw).
  // A moved bar no longer widens the right margin, so the plot moves once more: a few rounds.
  const gd = box.plot;
  for (let round = 0; round < 3; round++) {
    const index = [];
    const xs = [];
    for (const trace of gd._fullData || []) {
      const axis = trace.showscale && trace.xaxis && gd._fullLayout[trace.xaxis.replace("x", "xaxis")];
      if (!axis || !trace.colorbar || trace.colorbar.xref !== "paper") continue;
      const x = axis.domain[1] + BAR_GAP;
      box.barX[trace.index] = x;
      if (Math.abs(trace.colorbar.x - x) > 0.005) {
        index.push(trace.index);
        xs.push(x);
      }
    }
    if (!index.length) return;
    await P.restyle(gd, { "colorbar.x": xs }, index);
  }
}

function stretchedHeight(fig, plot) {
  return stretched(fig.layout, fig.layout?.height || DEFAULT_HEIGHT, fig.data, plot).height + "px";
}

function holding(box) {
  // a mouse button or finger down on the chart (a zoom or pan being dragged)
  return box.heldSince !== null && performance.now() - box.heldSince < HOLD_MAX_MS;
}

async function draw(box) {
  // one draw at a time; a figure that arrives meanwhile is drawn next (the newest only)
  if (box.busy) return;
  if (holding(box)) {
    // drawn on release, or once the hold is taken as lost
    clearTimeout(box.holdTimer);
    box.holdTimer = setTimeout(() => draw(box), HOLD_MAX_MS);
    return;
  }
  box.busy = true;
  let drawing = null; // the figure being drawn: kept for the retry if its draw fails
  try {
    while (box.next && !holding(box)) {
      const [P, template] = await Promise.all([
        loadPlotly(PLOTLY_URL),
        loadTemplate(TEMPLATE_URL),
      ]);
      if (box.gone) return;
      drawing = box.next; // the newest figure that arrived meanwhile
      const fig = themed(drawing, template);
      fig.layout = stretched(fig.layout, fig.layout.height || DEFAULT_HEIGHT, fig.data, box.plot);
      box.next = null;
      box.drawn = drawing; // redrawn as it is when the window's height changes the stretch
      box.plot.style.height = fig.layout.height + "px";
      for (const [i, x] of Object.entries(box.barX)) {
        const bar = fig.data[i] && fig.data[i].colorbar;
        if (bar && bar.x === undefined) bar.x = x;
      }
      // Plotly.react onto axes locked to each other (scaleanchor) kept the last figure's x
      // range when its own was new (audit 35: standardization's "Same scale" drew its raw
      // panel over "Shifted"'s -2.6 to 6.5, an empty strip; a new uirevision did not help):
      // new locked ranges are drawn anew
      const l = fig.layout;
      const axes = Object.keys(l).filter((k) => /^[xy]axis\d*$/.test(k) && l[k]);
      const locked = axes.some((k) => l[k].scaleanchor) && JSON.stringify(axes.map((k) => l[k].range));
      const anew = locked && box.locked && box.locked !== locked;
      box.locked = locked;
      await P[anew ? "newPlot" : "react"](box.plot, fig.data, l, { ...toolbar(P), ...CONFIG });
      await barsBesidePlots(P, box);
      box.draws += 1;
      box.root.dataset.draws = String(box.draws);
      box.wait = 0;
      drawing = null;
    }
  } catch (err) {
    box.root.dataset.error = String(err);
    // plotly.js did not load (a busy or restarting server) or its draw failed: try again, less
    // and less often, or a finished run's chart, which no rerun redraws, stayed blank (seen
    // under load in CI); a newer figure, if one came meanwhile, is the one retried
    if (!box.next) box.next = drawing;
    box.wait = Math.min(2 * (box.wait || RETRY_MS), MAX_RETRY_MS);
    if (box.next && !box.gone) setTimeout(() => draw(box), box.wait);
  } finally {
    box.busy = false;
  }
}

export default function (component) {
  const { data, parentElement } = component;
  let box = parentElement.__bnvizPlot;
  if (!box) {
    parentElement.replaceChildren();
    const root = document.createElement("div");
    root.className = "bnviz-plot";
    const plot = document.createElement("div");
    plot.style.width = "100%";
    root.appendChild(plot);
    parentElement.appendChild(root);
    box = { root, plot, next: null, busy: false, gone: false, draws: 0, barX: {} };
    box.heldSince = null;
    root.addEventListener("pointerdown", () => (box.heldSince = performance.now()), true);
    box.release = () => {
      if (box.heldSince === null) return;
      box.heldSince = null;
      clearTimeout(box.holdTimer);
      // after plotly's own mouseup has set the zoom: drawn before it, the figure ended the
      // drag at its last step (an aborted zoom, under load)
      box.holdTimer = setTimeout(() => box.next && !box.gone && draw(box), AFTER_RELEASE_MS);
    };
    // captured: plotly's drag handlers stop the events they use; blur is the window's own
    // (an element's blur, e.g. an input losing focus to this press, does not bubble)
    window.addEventListener("pointerup", box.release, true);
    window.addEventListener("pointercancel", box.release, true);
    window.addEventListener("blur", box.release);
    box.resize = new ResizeObserver(() => {
      // not while hidden (a view being swapped out): plotly.js throws "Resize must be passed
      // a displayed plot div element"
      if (window.Plotly && box.plot.data && box.plot.offsetParent) {
        window.Plotly.Plots.resize(box.plot).then(() => barsBesidePlots(window.Plotly, box));
      }
    });
    box.resize.observe(root);
    box.onWindow = () => {
      // a window made taller or shorter (a browser maximized on the projector): the same
      // figure again, at the new stretch (uirevision keeps a zoom)
      const drawn = box.drawn;
      if (!drawn || box.next || box.plot.style.height === stretchedHeight(drawn, box.plot)) return;
      box.next = drawn;
      draw(box);
    };
    window.addEventListener("resize", box.onWindow);
    parentElement.__bnvizPlot = box;
  }
  const spec = text(data);
  if (spec !== box.spec) {
    // a new figure (a rerun that changed nothing passes the same one again)
    box.spec = spec;
    const fig = JSON.parse(spec);
    named(box.root, fig.layout);
    // its place is kept before plotly.js has loaded
    if (!box.plot.style.height) {
      box.plot.style.height = stretchedHeight(fig, box.plot);
    }
    box.next = fig;
    draw(box);
  }
  return () =>
    setTimeout(() => {
      if (!parentElement.isConnected && parentElement.__bnvizPlot === box) leave(box, parentElement);
    }, LEAVE_MS);
}

function leave(box, parentElement) {
  box.gone = true;
  box.resize.disconnect();
  clearTimeout(box.holdTimer);
  window.removeEventListener("pointerup", box.release, true);
  window.removeEventListener("pointercancel", box.release, true);
  window.removeEventListener("blur", box.release);
  window.removeEventListener("resize", box.onWindow);
  if (window.Plotly) window.Plotly.purge(box.plot);
  delete parentElement.__bnvizPlot;
}
