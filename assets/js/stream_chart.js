// bnviz live chart (st.components.v2): draw the server's figure once, then append only the
// points new since the last answer. One request in flight at most; slower answers stretch
// the interval (and the chart says so); the loop ends when every run has ended. loadPlotly is
// prepended by bnviz/ui/stream_chart.py (load_plotly.js).
const BASE_MS = 500; // twice a second, like the old fragment timer
const MAX_MS = 8000;
const SLOW_MS = 250; // an answer slower than this doubles the interval
const IDLE_MS = window.__bnvizIdleMs || 2000; // paused or queued runs: ask less often (a test
// makes it long, to see the chart asks at once when the page shows a run resumed)
const KEEP = 2000; // points per trace before the tab thins its own copy by half
const WAITING = "bnviz-waiting"; // bnviz/figures/theme.py WAITING
const LONE_PX = 9; // a lone point's marker (bnviz/figures/theme.py LONE_POINT_PX)
// A run the server does not know: Reset in another tab (the page's rerun shows the new run),
// or a restarted server, where the rerun it asks for never comes (Streamlit 1.67 runs no
// script for it) and the page is reloaded: its address holds its settings, so its runs
// attach again, from their checkpoints (audit 24: the chart said "press Reset", which would
// have thrown the resumed runs away). Asked every GONE_RETRY_MS; reloaded at most once a
// minute (sessionStorage), else the chart stops and says so.
const GONE_TRIES = 3;
const GONE_RETRY_MS = 3000;
const GONE_RELOADED = "bnvizGoneReload";

function reloadOnce() {
  const last = Number(sessionStorage.getItem(GONE_RELOADED) || 0);
  if (Date.now() - last < 60000) return false;
  sessionStorage.setItem(GONE_RELOADED, String(Date.now()));
  console.warn("bnviz: the page's runs are not on the server (restarted?); reloading it");
  location.reload();
  return true;
}

function lonePoints(data, lone) {
  // plotly draws no line through one point: a run paused before its second evaluation showed
  // an accuracy chart with axes and a legend over nothing. A line with one point gets its
  // marker, unclipped at the axis's edge, until it has a second (bnviz/figures/theme.py
  // mark_lone_points draws every other chart so). True when a trace changed.
  let changed = false;
  for (const tr of data) {
    const marked = lone.has(tr);
    if (tr.mode !== "lines" && !marked) continue;
    let n = 0;
    for (let i = 0; i < tr.y.length && n < 2; i++) if (tr.x[i] !== null && tr.y[i] !== null) n++;
    if ((n === 1) === marked) continue;
    changed = true;
    if (marked) {
      lone.delete(tr);
      Object.assign(tr, { mode: "lines", cliponaxis: true });
    } else {
      lone.add(tr);
      tr.marker = { ...(tr.marker || {}), size: LONE_PX };
      Object.assign(tr, { mode: "lines+markers", cliponaxis: false });
    }
  }
  return changed;
}

function thin(P, live) {
  const data = live.plot.data;
  if (!data.some((tr) => tr.x.length > KEEP)) return Promise.resolve();
  for (const tr of data) {
    if (tr.x.length > KEEP / 2) {
      const last = tr.x.length - 1;
      const keep = (_, i) => i % 2 === 0 || i === last;
      tr.x = Array.from(tr.x).filter(keep);
      tr.y = Array.from(tr.y).filter(keep);
    }
  }
  return P.react(live.plot, data, live.plot.layout); // same uirevision: zoom survives
}

function axesUpdate(live, ans) {
  // the loss axis labelled as the server labels a whole figure (live_api.y_ticks): 1-2-5 or
  // 1-3 across the data, never plotly's small "2" and "5" between powers of ten; the step
  // axis spans to the last step trained (live_api.x_span), on the loss and accuracy charts
  // alike (the accuracy chart ended at its last evaluation, 90 steps short of the loss's).
  // What changed, as relayout paths ({} when nothing did).
  const update = {};
  const ticks = ans.yticks;
  const key = JSON.stringify(ticks || {});
  if (ticks && ticks.tickvals && key !== live.ticks) {
    live.ticks = key;
    Object.assign(update, { "yaxis.tickvals": ticks.tickvals, "yaxis.ticktext": ticks.ticktext });
    // a run past the ceiling (live_api.ceiling: a diverging loss at 10^30) leaves the chart
    // at its top instead of squeezing every other curve to a line along the bottom
    const clip = ticks.autorangeoptions && ticks.autorangeoptions.clipmax;
    if (clip) update["yaxis.autorangeoptions.clipmax"] = clip;
  }
  if (ans.xspan && ans.xspan !== live.span) {
    live.span = ans.xspan; // a zoomed axis keeps its range: this sets only what autorange covers
    update["xaxis.autorangeoptions.include"] = [0, ans.xspan];
  }
  return update;
}

function setPaths(layout, update) {
  // relayout's dotted paths written into the layout itself: the redraw extendTraces does
  // anyway then applies them (a relayout of its own redrew the chart a second time, ~11 ms)
  for (const [path, value] of Object.entries(update)) {
    const keys = path.split(".");
    const last = keys.pop();
    let node = layout;
    for (const k of keys) node = node[k] = node[k] || {};
    node[last] = value;
  }
}

function statusLine(d, ans) {
  // "Without BN: training · step 120 / 1500 · 480 steps/s" for each run (when asked for);
  // no rate unless it is training (a finished run read "0 steps/s", or its last rate)
  // a run that says how long it has left leaves out its rate (bnviz/ui/live.py status_text)
  return d.names
    .map((n) =>
      (ans.state[n] === "diverged"
        ? d.status.diverged // "no BN: diverged at step 8", as its warning says (live.py)
        : ans.state[n] === "running" && !timeLeft(d, ans, n)
          ? d.status.template
          : d.status.idle
      )
        .replace("{label}", d.status.labels[n] || n)
        .replace("{state}", d.status.states[ans.state[n]] || ans.state[n])
        .replace("{step}", String((ans.shown || ans.step)[n])) // a diverged run: its step N
        .replace("{steps}", String(ans.steps[n]))
        .replace("{rate}", String(Math.round(ans.rate[n]))) +
        steered(d, ans, n) +
        timeLeft(d, ans, n),
    )
    .join("\n");
}

function steered(d, ans, n) {
  // " · learning rate now 0.5 (by hand)" for a run whose rate was changed live (run.steered)
  const lr = (ans.steered || {})[n];
  return lr === undefined || !d.status.steered ? "" : d.status.steered.replace("{lr}", String(lr));
}

function timeLeft(d, ans, n) {
  // " · about 4 min left" for a training run that needs a minute or more (run.time_left)
  const rate = ans.rate[n];
  if (ans.state[n] !== "running" || !(rate > 0) || !d.status.left) return "";
  const seconds = (ans.steps[n] - (ans.shown || ans.step)[n]) / rate;
  if (seconds < d.status.left.from) return "";
  return d.status.left.text.replace("{minutes}", String(Math.ceil(seconds / 60)));
}

function say(live, ans) {
  const d = live.data;
  if (d.status && ans && ans.step) live.status.textContent = statusLine(d, ans);
  let text = "";
  const seconds = String(Math.round(live.interval / 100) / 10);
  if (ans && ans.gone) text = live.goneTries >= GONE_TRIES ? d.gone : d.seeking;
  else if (live.down) text = d.down.replace("{seconds}", seconds); // no answer at all
  else if (live.interval > BASE_MS && !(ans && ans.done))
    text = d.busy.replace("{seconds}", seconds);
  live.note.textContent = text;
  live.root.dataset.interval = String(live.interval);
}

function stateClass(live, state) {
  // What a run's state means for the page's buttons (bnviz/ui/live.py state_class).
  if (live.data.ended.includes(state)) return "ended";
  return state === "paused" ? "paused" : "active";
}

function ended(live, ans) {
  // A run has ended, paused or gone on since the page drew it (here or in another tab of a
  // shared run): the page reruns once (its run buttons, and a divergence's "diverged at step
  // N" warning); a streamed view does not rerun on its own.
  if (!ans || !ans.state) return;
  const now = [];
  for (const [n, state] of Object.entries(ans.state)) {
    const drawn = stateClass(live, (live.data.states || {})[n] || "");
    const cls = stateClass(live, state);
    if (cls !== drawn && live.told[n] !== cls) {
      live.told[n] = cls; // once per change, until the page draws it
      now.push(n);
    }
  }
  if (now.length && live.trigger) live.trigger("ended", now.join(",") + " " + Date.now());
}

async function ask(live) {
  if (live.data.frozen) {
    live.timer = setTimeout(() => ask(live).catch(() => {}), IDLE_MS); // held: points to read
    return;
  }
  let P;
  try {
    P = live.P = await loadPlotly(live.data.plotly);
  } catch (err) {
    live.interval = Math.min(live.interval * 2, MAX_MS); // the server is busy or restarting
    say(live, null);
    live.timer = setTimeout(() => ask(live).catch(() => {}), live.interval);
    return;
  }
  const url = live.data.src + (live.since ? "&since=" + live.since.join(",") : "");
  const t0 = performance.now();
  live.busy = true;
  let ans = null;
  let ok = false;
  try {
    live.ctrl = new AbortController();
    const res = await fetch(url, { signal: live.ctrl.signal, cache: "no-store" });
    ans = await res.json();
    ok = res.ok || res.status === 404;
  } catch (err) {
    if (live.stopped) return;
  }
  live.down = !ans; // the server did not answer (restarting?), or not with JSON
  if (live.stopped) return;
  const took = performance.now() - t0;
  if (ans && ans.figure) {
    // Streamlit's chart theme, as every other chart on the page has it (an audit: these two
    // titles were not bold and their axis titles larger than on all the other views)
    const fig = themed(ans.figure, await loadTemplate(live.data.template));
    named(live.root, fig.layout);
    live.layout = fig.layout; // as the server sent it: a taller window stretches it again
    fig.layout = stretched(fig.layout, fig.layout.height || live.data.height, fig.data, live.plot);
    live.plot.style.height = fig.layout.height + "px";
    lonePoints(fig.data, live.lone);
    await P.newPlot(live.plot, fig.data, fig.layout, { ...toolbar(P), responsive: true });
    live.ticks = JSON.stringify(ans.yticks || {});
    live.span = ans.xspan;
    live.root.dataset.painted = String(Math.round(performance.now() - live.born));
  } else if (ans && ans.index) {
    const update = axesUpdate(live, ans);
    if (ans.index.length) {
      setPaths(live.plot.layout, update);
      const notes = live.plot.layout.annotations || [];
      if (notes.length && ans.x.some((xs) => xs.length)) {
        // the first points: the figure's "Waiting for data" note goes (bnviz/figures/theme.py)
        live.plot.layout.annotations = notes.filter((a) => a.name !== WAITING);
      }
      await P.extendTraces(live.plot, { x: ans.x, y: ans.y }, ans.index);
      if (lonePoints(live.plot.data, live.lone)) await P.redraw(live.plot);
      await thin(P, live);
      live.updates += 1;
      live.root.dataset.updates = String(live.updates);
    } else if (Object.keys(update).length) {
      await P.relayout(live.plot, update); // no new points: the accuracy chart between evaluations
    }
  }
  if (ans && ans.step) live.since = live.data.names.map((n) => ans.step[n]);
  if (ans && ans.state) live.seen = ans.state;
  live.busy = false;
  const slow = !ok || took > SLOW_MS;
  live.interval = slow ? Math.min(live.interval * 2, MAX_MS) : Math.max(BASE_MS, live.interval / 2);
  if (ans && ans.gone) live.goneTries = (live.goneTries || 0) + 1;
  else if (ans) live.goneTries = 0;
  say(live, ans);
  ended(live, ans);
  if (ans && ans.gone) {
    if (live.trigger) live.trigger("ended", "gone " + Date.now()); // the page reruns
    if (live.goneTries < GONE_TRIES) {
      live.timer = setTimeout(() => ask(live).catch(() => {}), GONE_RETRY_MS);
      return;
    }
    if (reloadOnce()) return;
  }
  if (ans && ans.done) {
    live.root.dataset.ended = "1"; // every run has ended: no more requests
    return;
  }
  const idle =
    ans &&
    ans.state &&
    Object.values(ans.state).every((s) => s !== "running") &&
    !Object.values(live.data.states || {}).includes("running"); // the page: resumed since
  const wait = idle ? Math.max(live.interval, IDLE_MS) : live.interval;
  live.timer = setTimeout(() => ask(live).catch(() => {}), wait);
}

function start(root, data) {
  root.replaceChildren();
  const box = document.createElement("div");
  box.className = "bnviz-live";
  const plot = document.createElement("div");
  plot.style.height = stretched({}, data.height).height + "px";
  const note = document.createElement("div");
  note.className = "bnviz-live-note";
  note.style.cssText = "font-size: 0.8rem; opacity: 0.7; min-height: 1.2em";
  const status = document.createElement("div");
  status.className = "bnviz-live-status";
  status.style.cssText = "font-size: 0.85rem; white-space: pre-line";
  if (data.status && data.status.hidden) {
    // the same lines, unseen: a chart beside the one that shows them starts at the same height
    status.style.visibility = "hidden";
    status.setAttribute("aria-hidden", "true");
  }
  status.textContent = (data.status && data.status.loading) || ""; // till the first answer
  box.append(status, plot, note);
  root.appendChild(box);
  const live = { src: data.src, data, root: box, plot, note, status, since: null, stopped: false };
  live.told = {}; // the state class each run's last rerun was asked for
  live.lone = new WeakSet(); // traces drawn with a marker while they have one point
  Object.assign(live, { interval: BASE_MS, updates: 0, born: performance.now() });
  // plotly's "responsive" follows the window only: the sidebar opened or closed changes the
  // column, and the charts kept their width (audit 14: one ran under the other, off the screen)
  live.resize = new ResizeObserver(() => {
    if (live.P && live.plot.data && live.plot.offsetParent) live.P.Plots.resize(live.plot);
  });
  live.resize.observe(box);
  live.onWindow = () => {
    // a window made taller or shorter: the chart's height at the new stretch (load_plotly.js)
    if (!live.layout || !live.plot.data) return;
    const layout = stretched(live.layout, live.layout.height || live.data.height, [], live.plot);
    if (live.plot.style.height === layout.height + "px") return;
    live.plot.style.height = layout.height + "px";
    // sized from its box (autosize): a relayout of the height fixed the width too, at the
    // narrower window's (the chart kept 400 of its 720 px after a 1280 to 1920 resize)
    const update = { autosize: true };
    for (const key of Object.keys(layout)) {
      if (/^legend\d*$/.test(key) && layout[key] && layout[key].y !== undefined) {
        update[key + ".y"] = layout[key].y;
      }
    }
    live.P.relayout(live.plot, update);
  };
  window.addEventListener("resize", live.onWindow);
  live.stop = () => {
    live.stopped = true;
    clearTimeout(live.timer);
    if (live.ctrl) live.ctrl.abort();
    live.resize.disconnect();
    window.removeEventListener("resize", live.onWindow);
  };
  ask(live).catch(() => {});
  return live;
}

function askNow(live) {
  // The page drew its runs in other states than the chart last read (its Resume, or Pause):
  // ask at once. Resumed, the chart waited up to IDLE_MS for its next request, its status
  // saying "paused" and no new point under enabled Pause buttons (a Pause: up to BASE_MS).
  const seen = live.seen || {};
  const drawn = live.data.states || {};
  const changed = Object.keys(drawn).some((n) => n in seen && seen[n] !== drawn[n]);
  if (!changed || live.busy || live.stopped || live.root.dataset.ended === "1") return;
  clearTimeout(live.timer);
  live.timer = setTimeout(() => ask(live).catch(() => {}), 0);
}

// Streamlit may run an earlier call's cleanup late, after the next call has taken the element
// (bnviz/ui/plot.js, LEAVE_MS): a cleanup stops the chart only once the element has left the
// page, looked at this long after. Taken at once, a late one stopped a run's chart for good.
const LEAVE_MS = 1000;

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const current = parentElement.__bnvizLive;
  if (current && current.src === data.src) {
    current.data = data; // a page rerun: keep the chart, its points and its zoom
    askNow(current);
  } else {
    if (current) current.stop();
    parentElement.__bnvizLive = start(parentElement, data);
  }
  const live = parentElement.__bnvizLive;
  live.trigger = setTriggerValue;
  live.told = {}; // the page has drawn the states in data.states
  return () =>
    setTimeout(() => {
      if (parentElement.isConnected || parentElement.__bnvizLive !== live) return;
      live.stop();
      delete parentElement.__bnvizLive;
    }, LEAVE_MS);
}
