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

function themed(fig, template) {
  // Streamlit's theme, as its chart element applies it: its template, a bold title
  const layout = { ...(fig.layout || {}) }; // a copy: a failed draw retries the same figure
  layout.template = template;
  if (layout.title && typeof layout.title.text === "string" && layout.title.text) {
    layout.title = { ...layout.title, text: "<b>" + layout.title.text + "</b>" };
  }
  if (layout.uirevision === undefined) layout.uirevision = "bnviz"; // a zoom survives redraws
  delete layout.width; // the column's width
  return { data: fig.data || [], layout };
}
