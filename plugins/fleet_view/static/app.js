/* The Fleet view page: reads the Fleet JSON API of this server and draws the fleet.
 *
 * No framework and no build step. Every value from the API is put in the page as text (textContent),
 * never as HTML. The Airflow UI shows this page in a frame: links to DAG runs then move the Airflow UI
 * itself (its history), since the frame may not navigate the top window.
 */
"use strict";

(function () {
  const config = JSON.parse(document.body.dataset.config || "{}");
  const ROOT = config.root || "";
  const UI_ROOT = config.uiRoot || "";
  const REFRESH_MS = 60000;
  const state = { clusters: [], chart: null, auditCursors: [], auditCursor: null, auditNext: null };

  // -- small helpers -----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function replace(id, ...children) {
    const node = document.getElementById(id);
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
    return node;
  }

  function empty(title, ...lines) {
    return el("div", { class: "empty" }, el("strong", { text: title }), ...lines.map((l) => el("div", {}, l)));
  }

  function code(text) {
    return el("code", { text });
  }

  const STATE_CLASS = {
    ready: "s-ok", healthy: "s-ok", ok: "s-ok", success: "s-ok",
    provisioning: "s-info", requested: "s-info", recovering: "s-info", dry_run: "s-info",
    degraded: "s-warn", suspect: "s-warn", sold_out: "s-warn", decommissioning: "s-warn",
    failed: "s-bad", error: "s-bad",
    deleted: "", skipped: "", unavailable: "s-warn",
  };

  function badge(text) {
    return el("span", { class: `badge ${STATE_CLASS[text] || ""}`, text: text || "unknown" });
  }

  function timelineClass(stateName) {
    const cls = STATE_CLASS[stateName] || "";
    return { "s-ok": "t-ok", "s-warn": "t-warn", "s-bad": "t-bad", "s-info": "t-info" }[cls] || "t-off";
  }

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  function ago(iso) {
    if (!iso) return "";
    const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (seconds < 90) return `${Math.round(seconds)} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} days ago`;
  }

  function time(iso) {
    return el("time", { datetime: iso, title: `${iso} (${ago(iso)})`, text: when(iso) });
  }

  function showBanner(text, link) {
    const banner = document.getElementById("banner");
    banner.replaceChildren(text, link ? " " : "", link || "");
    banner.hidden = false;
  }

  async function api(path, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined && value !== "") query.set(key, value);
    }
    const url = `${ROOT}/api/${path}${query.toString() ? `?${query}` : ""}`;
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401 || response.status === 403) {
      const next = `${ROOT}/${window.location.search}`;
      showBanner("Your Airflow session has ended or does not allow this view.",
        el("a", { href: `${UI_ROOT}/auth/login?next=${encodeURIComponent(next)}`, target: "_top", text: "Log in again" }));
    }
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : response.statusText;
      throw new Error(`${response.status}: ${detail}`);
    }
    return body;
  }

  function failed(id, what, error) {
    replace(id, empty(`${what} could not be loaded`, error.message,
      "The view reads the fleet registry through the yunfleet_db connection; check it under Admin → Connections."));
  }

  // -- links into the Airflow UI -------------------------------------------------------------------

  function openInAirflow(event) {
    const path = event.currentTarget.getAttribute("href");
    try {
      const top = window.top;
      if (top !== window && top.location.origin === window.location.origin) {
        // Inside the Airflow UI's frame: move the UI itself (its router follows history changes).
        event.preventDefault();
        const current = top.history.state || {};
        const idx = typeof current.idx === "number" ? current.idx + 1 : 0;
        top.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx }, "", path);
        top.dispatchEvent(new PopStateEvent("popstate", { state: top.history.state }));
      }
    } catch (_) {
      /* not allowed to reach the top window: follow the link in this frame */
    }
  }

  function runLink(item) {
    if (!item.run_path) return item.run_id || "";
    return el("a", { href: `${UI_ROOT}${item.run_path}`, class: "mono", onclick: openInAirflow,
      "data-testid": "run-link", text: `${item.dag_id} / ${item.run_id}` });
  }

  // -- clusters ------------------------------------------------------------------------------------

  function zoneCounts(cluster) {
    const live = cluster.live || {};
    if (live.status === "ok" && live.nodes) {
      return { zones: live.nodes, pending: live.pending_pods, source: `live, read ${ago(live.read_at)}` };
    }
    const observed = cluster.observed;
    const why = live.status === "unavailable" ? `live read unavailable (${live.error}); ` : "";
    if (observed && observed.zones && Object.keys(observed.zones).length) {
      return { zones: observed.zones, pending: observed.pods_pending,
        source: `${why}as observed by reconcile_capacity ${ago(observed.at)}` };
    }
    return { zones: null, pending: null, source: `${why}no observation yet` };
  }

  function clusterCard(cluster) {
    const counts = zoneCounts(cluster);
    const zoneNames = cluster.zones.length ? cluster.zones : Object.keys(counts.zones || {});
    const zoneBoxes = zoneNames.map((zone) => {
      const c = (counts.zones || {})[zone];
      return el("div", { class: "zonecount", "data-testid": "zone-nodes", "data-zone": zone },
        el("div", { class: "muted", text: zone }),
        c ? el("span", {}, el("b", { text: `${c.ready}/${c.total}` }), " nodes Ready")
          : el("span", { class: "muted", text: "unavailable" }));
    });
    const pools = cluster.pools.length
      ? el("table", {},
        el("thead", {}, el("tr", {}, el("th", { text: "Pool" }), el("th", { text: "Zone" }), el("th", { text: "Type" }),
          el("th", { class: "num", text: "Min" }), el("th", { class: "num", text: "Desired" }), el("th", { class: "num", text: "Max" }))),
        el("tbody", {}, cluster.pools.map((p) => el("tr", { "data-testid": "pool" },
          el("td", { text: p.name || "" }), el("td", { text: p.zone_id || "all zones" }), el("td", { class: "mono", text: p.instance_type || "" }),
          el("td", { class: "num", text: p.min_size ?? "" }), el("td", { class: "num", text: p.desired_size ?? "" }),
          el("td", { class: "num", text: p.max_size ?? "" })))))
      : el("p", { class: "muted", text: "No node pool." });
    const ticket = cluster.ticket_id
      ? el("a", { href: "#audit", text: cluster.ticket_id, onclick: (e) => { e.preventDefault(); filterAudit({ ticket_id: cluster.ticket_id }); } })
      : "—";
    return el("article", { class: "card", "data-testid": "cluster", "data-cluster": cluster.name },
      el("header", {}, el("h3", { text: cluster.name }), badge(cluster.state),
        cluster.kubernetes_version ? el("span", { class: "muted", text: `Kubernetes ${cluster.kubernetes_version}` }) : null),
      el("dl", { class: "facts" },
        el("dt", { text: "API server" }), el("dd", { class: "mono", text: cluster.api_server }),
        el("dt", { text: "Region" }), el("dd", { text: cluster.region_id }),
        el("dt", { text: "Ticket" }), el("dd", {}, ticket),
        el("dt", { text: "Pending pods" }), el("dd", { "data-testid": "pending-pods",
          text: counts.pending === null || counts.pending === undefined ? "unavailable" : String(counts.pending) })),
      el("div", { class: "zonebar" }, zoneBoxes),
      el("div", { class: "source", text: counts.source }),
      el("h3", { class: "muted", text: cluster.pools_requested ? "Pools (requested)" : "Pools" }),
      pools);
  }

  async function loadClusters() {
    try {
      const data = await api("clusters");
      state.clusters = data.clusters;
      if (!data.clusters.length) {
        replace("clusters-body", empty("No cluster is registered yet.",
          el("span", {}, "Provision one: trigger the ", code("provision_cluster"), " DAG from the DAG list with a ",
            code("ticket_id"), ", or from a terminal: ",
            code("yunfleet ticket provision_cluster OPS-1 --set cluster_name=demo --unpause"), "."),
          "It appears here as soon as provisioning registers it."));
      } else {
        replace("clusters-body", el("div", { class: "cards" }, data.clusters.map(clusterCard)));
      }
      fillClusterSelects(data.clusters);
    } catch (error) {
      failed("clusters-body", "Clusters", error);
    }
  }

  function fillClusterSelects(clusters) {
    const names = clusters.map((c) => c.name);
    for (const select of [document.getElementById("capacity-cluster"), document.querySelector("#audit-form [name=cluster]")]) {
      const keep = select.value;
      const first = select.id === "capacity-cluster" ? [] : [el("option", { value: "", text: "all" })];
      select.replaceChildren(...first, ...names.map((n) => el("option", { value: n, text: n })));
      if (keep && names.includes(keep)) select.value = keep;
      else if (select.id !== "capacity-cluster" && keep) { select.append(el("option", { value: keep, text: keep })); select.value = keep; }
    }
  }

  // -- zones ---------------------------------------------------------------------------------------

  function timeline(zone, windowStart, now) {
    const bar = el("div", { class: "timeline", "data-testid": "timeline", title: "last 24 hours" });
    for (const seg of zone.timeline) {
      const from = Math.max(windowStart, seg.from ? new Date(seg.from).getTime() : windowStart);
      const to = seg.to ? new Date(seg.to).getTime() : now;
      if (to <= windowStart || to <= from) continue;
      const width = ((to - from) / (now - windowStart)) * 100;
      bar.append(el("span", { class: timelineClass(seg.state),
        title: `${seg.state} ${seg.from ? `from ${when(seg.from)}` : ""} ${seg.to ? `to ${when(seg.to)}` : "until now"}${seg.reason ? ` — ${seg.reason}` : ""}`,
        "data-width": width.toFixed(2) }));
    }
    // widths through the CSSOM (inline style attributes are refused by the page's policy)
    for (const span of bar.children) span.style.width = `${span.dataset.width}%`;
    return bar;
  }

  async function loadZones() {
    try {
      const data = await api("zones", { since: "24h" });
      if (!data.zones.length) {
        replace("zones-body", empty("No zone state is recorded yet.",
          el("span", {}, "Zone health (the ", code("zone_health"), " DAG) writes each zone's state here once it runs; until then every zone counts as healthy."),
          el("span", {}, "Unpause ", code("zone_health"), " in the DAG list to start probing.")));
        return;
      }
      const now = Date.now();
      const windowStart = now - 24 * 3600 * 1000;
      const rows = data.zones.map((z) => el("tr", { "data-testid": "zone", "data-zone": z.zone_id, "data-scope": z.scope },
        el("td", { class: "mono", text: z.zone_id === "*" ? "whole cluster" : z.zone_id }),
        el("td", { text: z.scope || "fleet" }),
        el("td", {}, badge(z.state)),
        el("td", {}, z.since ? time(z.since) : ""),
        el("td", {}, timeline(z, windowStart, now)),
        el("td", { class: "muted", text: (z.detail && (z.detail.reason || z.detail.message)) || "" })));
      const parts = [el("table", {},
        el("thead", {}, el("tr", {}, ["Zone", "Scope", "State", "Since", "Last 24 hours", "Detail"].map((h) => el("th", { text: h })))),
        el("tbody", {}, rows))];
      const evacuations = (data.evacuations || []).filter((e) => !e.ended_at);
      if (evacuations.length) {
        parts.push(el("h3", { text: "Evacuations in force" }), el("ul", {}, evacuations.map((e) =>
          el("li", { "data-testid": "evacuation" }, el("b", { text: e.zone_id }), ` since ${when(e.started_at || e.at)}`,
            e.expires_at ? `, expires ${when(e.expires_at)}` : "", e.ticket_id ? `, ticket ${e.ticket_id}` : "",
            e.reason ? ` — ${e.reason}` : ""))));
      }
      if (data.history && data.history.zone_transitions === "absent") {
        parts.push(el("p", { class: "muted", text: "Transition history is not kept by this registry yet: each timeline starts at the zone's current state." }));
      }
      replace("zones-body", parts);
    } catch (error) {
      failed("zones-body", "Zones", error);
    }
  }

  // -- capacity ------------------------------------------------------------------------------------

  function drawChart(points) {
    const wrap = document.getElementById("capacity-chart-wrap");
    wrap.hidden = false;
    const series = (key) => points.filter((p) => p[key] !== null && p[key] !== undefined)
      .map((p) => ({ x: new Date(p.at).getTime(), y: p[key] }));
    const styles = getComputedStyle(document.documentElement);
    const color = (name) => styles.getPropertyValue(name).trim();
    const datasets = [
      { label: "Nodes", data: series("nodes"), borderColor: color("--accent"), backgroundColor: color("--accent") },
      { label: "Nodes Ready", data: series("nodes_ready"), borderColor: color("--ok"), backgroundColor: color("--ok"), borderDash: [4, 3] },
      { label: "Pods running", data: series("pods_running"), borderColor: color("--info"), backgroundColor: color("--info"), yAxisID: "pods" },
      { label: "Pods pending", data: series("pods_pending"), borderColor: color("--bad"), backgroundColor: color("--bad"), yAxisID: "pods" },
    ];
    if (typeof window.Chart !== "function") {
      wrap.hidden = true;
      return;
    }
    if (state.chart) state.chart.destroy();
    const grid = color("--line");
    const text = color("--muted");
    state.chart = new window.Chart(document.getElementById("capacity-chart"), {
      type: "line",
      data: { datasets },
      options: {
        animation: false, maintainAspectRatio: false, parsing: false, normalized: true,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        elements: { point: { radius: points.length > 60 ? 0 : 2 }, line: { tension: 0, stepped: "before", borderWidth: 2 } },
        scales: {
          x: { type: "linear", grid: { color: grid }, ticks: { color: text, maxTicksLimit: 8, callback: (v) => when(new Date(v).toISOString()).slice(5, 16) } },
          y: { beginAtZero: true, title: { display: true, text: "nodes", color: text }, grid: { color: grid }, ticks: { color: text, precision: 0 } },
          pods: { position: "right", beginAtZero: true, title: { display: true, text: "pods", color: text }, grid: { drawOnChartArea: false }, ticks: { color: text, precision: 0 } },
        },
        plugins: {
          legend: { labels: { color: text, usePointStyle: true } },
          tooltip: { callbacks: { title: (items) => items.length ? when(new Date(items[0].parsed.x).toISOString()) : "" } },
        },
      },
    });
  }

  async function loadCapacity() {
    const cluster = document.getElementById("capacity-cluster").value;
    const since = document.getElementById("capacity-since").value;
    const wrap = document.getElementById("capacity-chart-wrap");
    if (!cluster) {
      wrap.hidden = true;
      replace("capacity-body", empty("No cluster to chart.", "Capacity appears once a cluster is registered and reconcile_capacity has run."));
      return;
    }
    try {
      const data = await api("capacity", { cluster, since });
      const mine = data.clusters.find((c) => c.cluster === cluster) || { points: [], actions: [] };
      if (!mine.points.length) {
        wrap.hidden = true;
        if (state.chart) { state.chart.destroy(); state.chart = null; }
        replace("capacity-body", empty(`No capacity history for ${cluster} in this period.`,
          el("span", {}, "The ", code("reconcile_capacity"), " DAG records the nodes and pods it observes on each run (every 5 minutes once it is unpaused, and at once on unschedulable pods)."),
          el("span", {}, "Unpause it in the DAG list, or pick a longer period.")));
        return;
      }
      drawChart(mine.points);
      const last = mine.points[mine.points.length - 1];
      const recent = mine.actions.slice(-15).reverse();
      replace("capacity-body",
        el("p", { class: "muted", "data-testid": "capacity-last" },
          `Last run ${ago(last.at)}: ${last.nodes ?? "?"} nodes (${last.nodes_ready ?? "?"} Ready), `,
          `${last.pods_running ?? "?"} pods running, ${last.pods_pending ?? "?"} pending. ${mine.points.length} runs in the period.`),
        recent.length
          ? el("table", {},
            el("thead", {}, el("tr", {}, ["When", "Tier", "What", "Zone", "Change", "Why"].map((h) => el("th", { text: h })))),
            el("tbody", {}, recent.map((a) => el("tr", { "data-testid": "capacity-action" },
              el("td", {}, time(a.at)), el("td", { text: a.tier }), el("td", { class: "mono", text: a.subject }),
              el("td", { text: a.zone_id || "" }), el("td", { class: "num", text: `${a.current} → ${a.desired}` }),
              el("td", { text: a.reason || a.kind || "" })))))
          : el("p", { class: "muted", text: "No scaling decision in this period." }));
    } catch (error) {
      wrap.hidden = true;
      failed("capacity-body", "Capacity", error);
    }
  }

  // -- DNS -----------------------------------------------------------------------------------------

  async function loadDns() {
    try {
      const data = await api("registrations");
      const parts = [];
      if (data.status !== "ok") {
        parts.push(el("div", { class: "empty", "data-testid": "dns-unavailable" },
          el("strong", { text: "Service names unavailable" }), data.error || "", " The API server names below come from the registry."));
      } else if (!data.services.length) {
        parts.push(empty("No Service is exported.",
          el("span", {}, "Annotate a Service of type LoadBalancer with ", code('yunfleet.io/export: "true"'),
            " (and optionally ", code('yunfleet.io/weight: "30"'), "); the ", code("register_services"),
            " DAG publishes it as ", code(`<svc>.<ns>.<cluster>.${data.domain}`), " and ", code(`<svc>.<ns>.global.${data.domain}`), " within 2 minutes.")));
      } else {
        const rows = [];
        for (const svc of data.services) {
          for (const name of svc.names) {
            const targets = name.targets.length ? name.targets : [{ address: "—" }];
            targets.forEach((t, i) => rows.push(el("tr", { "data-testid": "dns-target", class: t.enabled === false ? "off" : "" },
              el("td", { text: i === 0 ? `${svc.namespace}/${svc.service}` : "" }),
              el("td", { class: "mono", text: i === 0 ? name.fqdn : "" }),
              el("td", { class: "mono", text: t.address }),
              el("td", { text: t.cluster || (name.global ? "unattributed" : name.scope) }),
              el("td", { class: "num", text: name.weighted && t.weight !== null && t.weight !== undefined ? String(t.weight) : "—" }),
              el("td", {}, t.enabled === false ? badge("disabled") : badge("ok")))));
          }
        }
        parts.push(el("table", {},
          el("thead", {}, el("tr", {}, ["Service", "Name", "Target", "Cluster", "Weight", "Answering"].map((h) => el("th", { text: h })))),
          el("tbody", {}, rows)));
        if (data.read_at) parts.push(el("p", { class: "source", text: `Read from the DNS zone ${data.domain} ${ago(data.read_at)}.` }));
      }
      if (data.api_servers.length) {
        parts.push(el("h3", { class: "muted", text: "API servers" }), el("table", {},
          el("tbody", {}, data.api_servers.map((a) => el("tr", { "data-testid": "api-name" },
            el("td", { class: "mono", text: a.fqdn }), el("td", { class: "mono", text: a.targets.map((t) => t.address).join(", ") }),
            el("td", { text: a.cluster }))))));
      }
      replace("dns-body", parts);
    } catch (error) {
      failed("dns-body", "DNS names", error);
    }
  }

  // -- audit ---------------------------------------------------------------------------------------

  const form = document.getElementById("audit-form");

  function localInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  }

  function formFilters() {
    const data = new FormData(form);
    const filters = {};
    for (const key of ["ticket_id", "cluster", "outcome"]) {
      const value = String(data.get(key) || "").trim();
      if (value) filters[key] = value;
    }
    for (const key of ["since", "until"]) {
      const value = String(data.get(key) || "");
      if (value) filters[key] = new Date(value).toISOString();
    }
    return filters;
  }

  function setForm(filters) {
    for (const key of ["ticket_id", "outcome"]) form.elements[key].value = filters[key] || "";
    const select = form.elements.cluster;
    if (filters.cluster && ![...select.options].some((o) => o.value === filters.cluster)) {
      select.append(el("option", { value: filters.cluster, text: filters.cluster }));
    }
    select.value = filters.cluster || "";
    form.elements.since.value = localInput(filters.since);
    form.elements.until.value = localInput(filters.until);
  }

  function syncUrl(filters) {
    const query = new URLSearchParams(filters).toString();
    window.history.replaceState(null, "", `${window.location.pathname}${query ? `?${query}` : ""}#audit`);
  }

  function filterAudit(filters) {
    setForm(filters);
    state.auditCursors = [];
    state.auditCursor = null;
    syncUrl(filters);
    loadAudit();
    document.getElementById("audit").scrollIntoView({ behavior: "smooth" });
  }

  function runsSummary(data, filters) {
    if (!data.runs || !data.runs.length || !filters.ticket_id) return [];
    return el("div", { class: "summary" },
      el("strong", { text: `Ticket ${filters.ticket_id}: ${data.total} audited calls in ${data.runs.length} DAG run${data.runs.length > 1 ? "s" : ""}` }),
      el("ul", {}, data.runs.map((r) => el("li", { "data-testid": "audit-run" }, runLink(r), " — ",
        Object.entries(r.outcomes).map(([k, v]) => `${v} ${k}`).join(", "),
        r.clusters.length ? `, cluster ${r.clusters.join(", ")}` : "", `, ${when(r.first_at)} → ${when(r.last_at)}`))));
  }

  async function loadAudit() {
    const filters = formFilters();
    try {
      const data = await api("audit", { ...filters, limit: 50, cursor: state.auditCursor });
      state.auditNext = data.next_cursor;
      replace("audit-summary", runsSummary(data, filters));
      const start = state.auditCursors.length * 50;
      document.getElementById("audit-count").textContent = data.total
        ? `${start + 1}–${start + data.events.length} of ${data.total} events` : "";
      document.getElementById("audit-older").disabled = !data.next_cursor;
      document.getElementById("audit-newer").disabled = state.auditCursors.length === 0;
      if (!data.events.length) {
        const any = Object.keys(filters).length > 0;
        replace("audit-body", any
          ? empty("No audited call matches these filters.", "Widen the period, or clear the filters.")
          : empty("Nothing is audited yet.",
            "Every call that changes the cloud or a cluster is recorded here, with its ticket, once a DAG such as provision_cluster runs."));
        return;
      }
      replace("audit-body", el("table", {},
        el("thead", {}, el("tr", {}, ["When", "Ticket", "Cluster", "DAG run", "Task", "Call", "Target", "Outcome"].map((h) => el("th", { text: h })))),
        el("tbody", {}, data.events.map((e) => el("tr", { "data-testid": "audit-row", class: e.outcome === "error" ? "error-row" : "" },
          el("td", {}, time(e.occurred_at)),
          el("td", {}, e.ticket_id ? el("a", { href: "#audit", text: e.ticket_id, onclick: (ev) => { ev.preventDefault(); filterAudit({ ticket_id: e.ticket_id }); } }) : ""),
          el("td", { text: e.cluster || "" }),
          el("td", {}, runLink(e)),
          el("td", { class: "mono", text: e.task_id ? `${e.task_id}${e.map_index !== null && e.map_index >= 0 ? `[${e.map_index}]` : ""}` : "" }),
          el("td", { class: "mono", text: `${e.product} ${e.action}` }),
          el("td", { class: "mono", text: e.target || "" }),
          el("td", {}, badge(e.outcome), e.error_code ? el("div", { class: "mono muted", text: e.error_code }) : null))))));
    } catch (error) {
      replace("audit-summary");
      failed("audit-body", "The audit log", error);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filterAudit(formFilters());
  });
  document.getElementById("audit-clear").addEventListener("click", () => filterAudit({}));
  document.getElementById("audit-older").addEventListener("click", () => {
    if (!state.auditNext) return;
    state.auditCursors.push(state.auditCursor);
    state.auditCursor = state.auditNext;
    loadAudit();
  });
  document.getElementById("audit-newer").addEventListener("click", () => {
    if (!state.auditCursors.length) return;
    state.auditCursor = state.auditCursors.pop();
    loadAudit();
  });

  // -- page ----------------------------------------------------------------------------------------

  async function refresh() {
    await loadClusters();
    await Promise.all([loadZones(), loadCapacity(), loadDns()]);
    document.getElementById("refreshed").textContent = `updated ${when(new Date().toISOString())}`;
  }

  document.getElementById("refresh").addEventListener("click", () => { refresh(); loadAudit(); });
  document.getElementById("capacity-cluster").addEventListener("change", loadCapacity);
  document.getElementById("capacity-since").addEventListener("change", loadCapacity);
  if (config.user) document.getElementById("user").textContent = config.user;

  const initial = Object.fromEntries(new URLSearchParams(window.location.search));
  setForm(initial);
  refresh();
  loadAudit();
  window.setInterval(refresh, REFRESH_MS);
})();
