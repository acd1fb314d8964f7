// Shared by bnviz's chart components (prepended to each by Python): plotly.js from the
// server's own copy, loaded once per page however many charts ask for it.
function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__bnvizPlotly) {
    window.__bnvizPlotly = new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = url;
      tag.onload = () => resolve(window.Plotly);
      tag.onerror = () => {
        window.__bnvizPlotly = null;
        reject(new Error("plotly.js did not load"));
      };
      document.head.appendChild(tag);
    });
  }
  return window.__bnvizPlotly;
}
