// vsearch review UI: small plain JavaScript, no library, no network outside this server.
"use strict";

function csrf() {
  const m = document.querySelector('meta[name="csrf"]');
  return m ? m.content : "";
}

async function postJson(url, body) {
  const r = await fetch(url, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()}, body: JSON.stringify(body)});
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function svgEl(name, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// tube page: start the player at the tube (or at ?at=), draw the path on the still
function tubePage() {
  const v = document.getElementById("player");
  if (v) v.addEventListener("loadedmetadata", () => { v.currentTime = parseFloat(v.dataset.seek || "0"); });
  const svg = document.getElementById("path");
  if (!svg) return;
  const pts = JSON.parse(svg.dataset.path || "[]");
  if (!pts.length) return;
  svg.appendChild(svgEl("polyline", {points: pts.map(p => p.join(",")).join(" "), class: "track"}));
  svg.appendChild(svgEl("circle", {cx: pts[0][0], cy: pts[0][1], r: 0.012, class: "start"}));
  const last = pts[pts.length - 1];
  svg.appendChild(svgEl("circle", {cx: last[0], cy: last[1], r: 0.012, class: "end"}));
}

// zone page: click points on the still -> polygon -> search with zone=entered:x,y x,y ...
function zonePage() {
  const img = document.getElementById("zone-img");
  if (!img) return;
  const poly = document.getElementById("zone-poly"), value = document.getElementById("zone-value");
  const text = document.getElementById("zone-text"), mode = document.getElementById("zone-mode");
  let pts = [];
  function update() {
    poly.setAttribute("points", pts.map(p => p.join(",")).join(" "));
    value.value = pts.length >= 3 ? mode.value + ":" + pts.map(p => p.join(",")).join(" ") : "";
    text.textContent = value.value;
  }
  document.getElementById("zone-svg").addEventListener("click", (ev) => {
    const r = ev.currentTarget.getBoundingClientRect();
    const x = Math.min(Math.max((ev.clientX - r.left) / r.width, 0), 1);
    const y = Math.min(Math.max((ev.clientY - r.top) / r.height, 0), 1);
    pts.push([x.toFixed(3), y.toFixed(3)]);
    update();
  });
  mode.addEventListener("change", update);
  document.getElementById("zone-clear").addEventListener("click", () => { pts = []; update(); });
}

// search page: place the coverage bar and timeline marks (positions as data-*: the CSP forbids inline styles),
// make a synopsis of the hits, then open its page
function searchPage() {
  document.querySelectorAll("[data-width]").forEach((e) => { e.style.width = e.dataset.width + "%"; });
  document.querySelectorAll("[data-left]").forEach((e) => { e.style.left = e.dataset.left + "%"; });
  const b = document.getElementById("make-synopsis");
  if (!b) return;
  b.addEventListener("click", async () => {
    const status = document.getElementById("synopsis-status");
    b.disabled = true;
    status.textContent = b.dataset.working;
    try {
      const r = await postJson("/api/synopsis", {tube_ids: JSON.parse(b.dataset.tubes)});
      window.location = "/synopsis/" + r.synopsis_id;
    } catch (e) {
      status.textContent = e.message;
      b.disabled = false;
    }
  });
}

// synopsis page: a click on an object opens its original at that moment (source map: samples per tube)
function synopsisPage() {
  document.querySelectorAll("video.syn-video").forEach(async (v) => {
    const map = await (await fetch(v.dataset.map, {credentials: "same-origin"})).json();
    v.dataset.ready = "1";
    v.addEventListener("click", (ev) => {
      ev.preventDefault();
      const r = v.getBoundingClientRect();
      // the video is letterboxed inside its element: map the click to output pixels
      const scale = Math.min(r.width / map.width_px, r.height / map.height_px);
      const ox = (r.width - map.width_px * scale) / 2, oy = (r.height - map.height_px * scale) / 2;
      const x = (ev.clientX - r.left - ox) / scale, y = (ev.clientY - r.top - oy) / scale;
      const t = v.currentTime;
      let best = null;
      for (const e of map.tubes) {
        if (t < e.synopsis_start_s - 0.25 || t > e.synopsis_end_s + 0.25) continue;
        for (const [syn, src, box] of e.samples) {
          const d = Math.abs(syn - t);
          if (x >= box[0] - 4 && x <= box[2] + 4 && y >= box[1] - 4 && y <= box[3] + 4 && (!best || d < best.d)) {
            best = {d: d, tube: e.tube_id, at: e.source_start_pts_s + (t - e.synopsis_start_s)};
          }
        }
      }
      if (best) window.location = "/tube/" + best.tube + "?at=" + best.at.toFixed(3);
    });
  });
}

// basket: export in the background, polling its progress
function basketPage() {
  document.querySelectorAll("button.export").forEach((b) => {
    b.addEventListener("click", async () => {
      const sec = b.closest("section"), bar = sec.querySelector(".export-progress");
      const status = sec.querySelector(".export-status");
      b.disabled = true; bar.hidden = false; bar.removeAttribute("value");
      try {
        let job = await postJson("/api/export", {query: b.dataset.query, tube_ids: JSON.parse(b.dataset.tubes)});
        while (job.state === "running") {
          status.textContent = b.dataset.running + " " + job.elapsed_s + " s";
          await new Promise((ok) => setTimeout(ok, 500));
          job = await (await fetch("/api/export/" + job.job, {credentials: "same-origin"})).json();
        }
        bar.max = 1; bar.value = 1;
        if (job.state === "done") {
          status.innerHTML = "";
          status.append(b.dataset.done + ": " + job.result.objects + " / " + job.result.bundle + " — SHA-256 "
            + job.result.manifest_sha256 + " ");
          const a = document.createElement("a");
          a.href = "/api/export/" + job.job + "/zip"; a.textContent = "zip"; a.id = "export-zip";
          status.append(a);
        } else {
          status.textContent = b.dataset.failed + ": " + job.error;
        }
        sec.dataset.state = job.state;
      } catch (e) {
        status.textContent = b.dataset.failed + ": " + e.message;
        sec.dataset.state = "failed";
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  tubePage(); zonePage(); searchPage(); synopsisPage(); basketPage();
});
