// Shared by bnviz's chart components (prepended to each by Python): plotly.js from the
// server's own copy, loaded once per page however many charts ask for it; the template
// Streamlit's own chart theme resolves to, fetched once per tab, and a figure themed with it.
function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__bnvizPlotly) {
    window.__bnvizPlotly = new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = url;
      tag.onload = () => {
        if (window.Plotly) return resolve(window.Plotly);
        window.__bnvizPlotly = null; // loaded, yet no Plotly (a page, not the script): again
        tag.remove();
        reject(new Error("plotly.js loaded without defining Plotly"));
      };
      tag.onerror = () => {
        window.__bnvizPlotly = null;
        reject(new Error("plotly.js did not load"));
      };
      document.head.appendChild(tag);
    });
  }
  return window.__bnvizPlotly;
}

const TEMPLATE_WAIT_MS = 10000; // a request that hangs: the charts are drawn without it

function loadTemplate(url) {
  // one request per tab however many charts ask; without it (the server restarting, or not
  // answering) a chart is drawn in plotly's plain style, and the next figure asks again
  if (!window.__bnvizTemplate) {
    window.__bnvizTemplate = fetch(url, { signal: AbortSignal.timeout(TEMPLATE_WAIT_MS) })
      .then((res) => {
        if (!res.ok) throw new Error("chart template: HTTP " + res.status);
        return res.json();
      })
      .catch(() => {
        window.__bnvizTemplate = null;
        return undefined;
      });
  }
  return window.__bnvizTemplate;
}

function named(el, layout) {
  // a screen reader's name for the chart: its title, without its markup (plotly's SVG has
  // none), or its panels' titles (preprocessing's images have no other)
  const text = layout?.title?.text || (layout?.annotations || []).map((a) => a.text).join(", ");
  el.role = "figure";
  el.ariaLabel = text.replace(/<[^>]*>/g, " ").trim();
}

function themed(fig, template) {
  // Streamlit's theme, as its chart element applies it: its template, a bold title
  const layout = { ...(fig.layout || {}) }; // a copy: a failed draw retries the same figure
  layout.template = template;
  if (layout.title && typeof layout.title.text === "string" && layout.title.text) {
    layout.title = { ...layout.title, text: "<b>" + layout.title.text + "</b>" };
  }
  if (layout.uirevision === undefined) layout.uirevision = "bnviz"; // a zoom survives redraws
  // with one uirevision, plotly.js gave an axis with no range an earlier figure's (the lab's
  // histograms kept steps -1 to 6 all run): an axis without a range autoranges (one that
  // matches another takes that one's)
  for (const k in layout) {
    const axis = layout[k];
    const free = /^[xy]axis\d*$/.test(k) && !axis.range && !axis.matches;
    if (free) layout[k] = { autorange: true, ...axis };
  }
  delete layout.width; // the column's width
  return { data: fig.data || [], layout };
}

// Chart heights are chosen for a 1280x720 projector. A taller window (a 1920x1080 one)
// stretches every chart up to MAX_STRETCH times: at 1080 px they were wide flat strips over
// half the screen (audit 16). A figure with locked axis ratios (images, tiles) keeps its
// height, where taller would only gain blank space, unless its layout.meta.stretch says
// otherwise (a square plot in a wide column grows; it keeps its partner's height beside it).
// An image trace locks its axes without saying so in the layout (plotly does it itself).
const DESIGN_HEIGHT = 720;
const MAX_STRETCH = 1.35;

function stretch(layout, data) {
  const k = Math.min(MAX_STRETCH, Math.max(1, window.innerHeight / DESIGN_HEIGHT));
  const told = layout && layout.meta && layout.meta.stretch;
  if (told !== undefined) return told ? k : 1;
  const locked = Object.keys(layout || {}).some(
    (key) => /^[xy]axis\d*$/.test(key) && layout[key] && layout[key].scaleanchor,
  );
  return locked || (data || []).some((trace) => trace.type === "image") ? 1 : k;
}

function stretched(layout, height, data, plot) {
  // a copy of layout at height (the figure's own) times stretch(), or the screen's height
  // while plot is shown full screen; a legend placed in the container keeps its distance in px
  // from the bottom edge
  const full = plot && document.fullscreenElement === plot;
  const k = full ? window.innerHeight / height : stretch(layout, data);
  const out = { ...layout, height: Math.round(height * k) };
  for (const [key, leg] of Object.entries(out)) {
    if (/^legend\d*$/.test(key) && leg && leg.yref === "container" && leg.y) {
      out[key] = { ...leg, y: leg.y / k };
    }
  }
  return out;
}

// The toolbar's "Full screen" (st.plotly_chart's own toolbar had one; a teacher enlarges one
// chart on the projector). Entering or leaving it is a resize to every chart: each draws again
// at the height stretched() gives it (the screen's, full screen).
const FULL_SCREEN = {
  name: "fullscreen",
  title: "Full screen (Esc leaves)",
  icon: {
    width: 1000,
    height: 1000,
    path:
      "M0 0H380V110H110V380H0ZM620 0H1000V380H890V110H620ZM0 620H110V890H380V1000H0Z" +
      "M890 620H1000V1000H620V890H890Z",
  },
  click: (plot) =>
    document.fullscreenElement ? document.exitFullscreen() : plot.requestFullscreen(),
};
if (!window.__bnvizFullScreen) {
  window.__bnvizFullScreen = true;
  document.addEventListener("fullscreenchange", () => window.dispatchEvent(new Event("resize")));
}
// Both chart scripts' toolbar: no lasso or box select (nothing reads a selection), no
// "Share chart..." to plotly's cloud (offline classrooms), and the full-screen button.
const TOOLBAR = {
  displaylogo: false,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "sendChartToCloud"],
  modeBarButtonsToAdd: [FULL_SCREEN],
};

// The toolbar's titles in Chinese on a Chinese page (audit 31: "Autoscale" over a Chinese
// chart). plotly.js has a zh-CN locale, but the plotly package ships no locale files: these
// are the titles of the buttons a 2-D chart's toolbar keeps, and what a zoom says, as that
// locale has them. This script goes with every redraw of a chart: no more than these.
const ZH_CN = {
  "Download plot as a PNG": "下载图表为 PNG 格式",
  Zoom: "缩放",
  Pan: "平移",
  "Zoom in": "放大",
  "Zoom out": "缩小",
  Autoscale: "自动缩放",
  "Reset axes": "重置轴",
  "Double-click to zoom back out": "双击返回缩放前",
};
const FULL_SCREEN_ZH = "全屏（按 Esc 退出）";

function toolbar(P) {
  // TOOLBAR in the page's language, which the page sets on <html lang> (common.html_lang)
  const zh = (document.documentElement.lang || "").toLowerCase().startsWith("zh");
  if (!zh) return { ...TOOLBAR, locale: "en-US" };
  if (!window.__bnvizZhLocale) {
    P.register({ moduleType: "locale", name: "zh-CN", dictionary: ZH_CN });
    window.__bnvizZhLocale = true;
  }
  const full = { ...FULL_SCREEN, title: FULL_SCREEN_ZH };
  return { ...TOOLBAR, locale: "zh-CN", modeBarButtonsToAdd: [full] };
}

// Streamlit 1.67's page can go white: under load, after a Reset on a view that redraws itself
// (the lab's Distributions), a delta now and then arrives for a place the page no longer has
// ("'setIn' cannot be called on an ElementNode", thrown in Streamlit's own code), React drops
// the whole app and nothing draws it again (CI: 90 s of a blank page). The link in the address
// bar holds the page's settings, so a reload brings the same page and runs back. At most
// REVIVE_MAX reloads a minute: a page that keeps failing stays as it is.
const REVIVE_WAIT_MS = 1500;
const REVIVE_MAX = 3;

function revive() {
  const root = document.getElementById("root");
  if (!root || root.childElementCount > 0) return;
  const now = Date.now();
  const recent = JSON.parse(sessionStorage.getItem("bnvizRevived") || "[]")
    .filter((t) => now - t < 60000);
  if (recent.length >= REVIVE_MAX) return;
  sessionStorage.setItem("bnvizRevived", JSON.stringify([...recent, now]));
  console.warn("bnviz: the page went blank (Streamlit dropped it); reloading it");
  location.reload();
}

if (!window.__bnvizRevive) {
  window.__bnvizRevive = true;
  const root = document.getElementById("root");
  if (root) {
    new MutationObserver(() => {
      if (root.childElementCount === 0) setTimeout(revive, REVIVE_WAIT_MS);
    }).observe(root, { childList: true });
  }
}

// The browser's Back and Forward: Streamlit reruns the page with the earlier address, but the
// page's widgets keep their values and write them back, so Back after a preset did nothing (the
// address flickered). The earlier address holds that page's settings: the page is loaded
// afresh from it. Entries Streamlit pushed (state {}) are addresses the app wrote; the entry a
// tab opened with (state null) only when the app kept it as it was: one it rewrote (a bad
// value's note) would be rewritten and pushed again, and Back would never leave it. Kept: the
// address at the first moment no script runs 2 s or more after this script came, or at a click
// or key while it is and no script runs (a rewrite ends the first run; a preset clicked within
// 2 s left Back doing nothing).
const KEPT_WAIT_MS = window.__bnvizKeptWaitMs || 2000; // a test holds it off to test a click

if (!window.__bnvizBack) {
  window.__bnvizBack = true;
  const kept = () => JSON.parse(sessionStorage.getItem("bnvizKept") || "[]");
  const opened = location.href;
  const idle = () =>
    document.querySelector("[data-test-script-state]")?.dataset.testScriptState === "notRunning";
  const keep = () => {
    if (idle() && history.state === null && location.href === opened && !kept().includes(opened)) {
      sessionStorage.setItem("bnvizKept", JSON.stringify([...kept(), opened].slice(-50)));
    }
  };
  // ...and the page's first run over: under load its last part (which writes a bad value's
  // note into the address) came more than 2 s after this script, and the address as typed was
  // kept; Back to it rewrote it again (CI: a second Back stayed on the lab's rewritten address)
  const keepWhenIdle = () => (idle() ? keep() : setTimeout(keepWhenIdle, 250));
  setTimeout(keepWhenIdle, KEPT_WAIT_MS);
  window.addEventListener("pointerdown", keep, true); // a click or key while no script runs
  window.addEventListener("keydown", keep, true);
  window.addEventListener("popstate", (event) => {
    if (event.state !== null || kept().includes(location.href)) location.reload();
  });
}
