/**
 * HTML of the demo integrator's verification pages: the page that embeds widget.js with a
 * client secret, the browser script that mounts it, and the report page an integrator would
 * build from `GET /v1/sessions/{id}` — per-analyzer scores as inline SVG bars (no CDN, no
 * script), the fused decision and its reasons, node outcomes and the transcript.
 */

export const escapeHtml = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const DEMO_CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24;background:#fff}
table{border-collapse:collapse;width:100%;margin:1rem 0 2rem}td,th{border-bottom:1px solid #d8dee4;padding:.45rem .5rem;text-align:left;vertical-align:top}
code{font-size:13px}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
.start{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;background:#f3f6fb;border:1px solid #d9e2f1;border-radius:12px;padding:1rem 1.25rem;margin:1rem 0 2rem}
.start p{margin:0;flex:1 1 20rem}button,.button{font:inherit;font-weight:600;background:#2f5fd0;color:#fff;border:0;border-radius:10px;padding:.7rem 1.1rem;cursor:pointer;text-decoration:none;display:inline-block}
button:focus-visible,.button:focus-visible{outline:3px solid #9bb7f0;outline-offset:2px}
.decision{display:inline-block;padding:.2rem .7rem;border-radius:999px;font-weight:700}
.approve{background:#e3f6ec;color:#145c37}.review{background:#fff4d6;color:#7a4a00}.reject{background:#fdecea;color:#9b1c13}
.summary{display:flex;gap:2rem;flex-wrap:wrap;align-items:center;margin:1rem 0}.summary div{min-width:9rem}.summary b{display:block;font-size:1.6rem}
.muted{color:#5b6573}.pane{max-width:32rem}`;

export interface VerifyPageOptions {
  apiBase: string;
  sessionId: string;
  clientSecret: string;
}

/** The page that embeds the widget (script embed). The secret travels in a data attribute, not a URL. */
export function verifyPage(o: VerifyPageOptions): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Verify your identity · Demo integrator</title><link rel="icon" href="data:,"><style>${DEMO_CSS}</style></head>
<body><p><a href="/">← Demo integrator</a></p><h1>Verify your identity</h1>
<p class="muted">Session <code>${escapeHtml(o.sessionId)}</code>. The widget below comes from <code>${escapeHtml(o.apiBase)}/widget.js</code>.</p>
<div class="pane"><div id="facet" data-client-secret="${escapeHtml(o.clientSecret)}" data-session-id="${escapeHtml(o.sessionId)}"></div></div>
<script src="${escapeHtml(o.apiBase)}/widget.js"></script><script src="/demo.js"></script></body></html>`;
}

/** The demo's browser script (served as /demo.js: the page's CSP allows no inline script). */
export const DEMO_JS = `"use strict";
(function () {
  var el = document.getElementById("facet");
  if (!el || !window.Facet) return;
  var id = el.getAttribute("data-session-id");
  var secret = el.getAttribute("data-client-secret");
  el.removeAttribute("data-client-secret");
  window.Facet.mount(el, {
    clientSecret: secret,
    onEvent: function (event) {
      if (event.type === "complete") setTimeout(function () { location.href = "/report/" + encodeURIComponent(id); }, 1500);
    },
    onRetry: function () {
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/start";
      document.body.appendChild(form);
      form.submit();
    },
  });
})();
`;

interface AnalyzerResult {
  score: number;
  confidence: number;
  modelVersion: string;
  latencyMs: number;
}

export interface SessionForReport {
  id: string;
  status: string;
  incompleteReason: string | null;
  clientReferenceId: string;
  createdAt: string;
  finishedAt: string | null;
  report: {
    risk: {
      score: number;
      decision: string;
      reasons: { code: string; analyzer: string; contribution: number }[];
      analyzers: Record<string, AnalyzerResult | undefined>;
      thresholds: { review: number; reject: number };
      policyVersion: string;
    };
    nodes: { id: string; type: string; outcome: string; at: string }[];
    transcript: { nodeId: string; speaker: string; text: string; atMs: number }[];
    degraded: { component: string; code: string; detail: string }[];
  } | null;
}

const ANALYZERS = ["liveness", "coercion", "environment", "behavior", "device_risk", "conversation"];

/** Horizontal bars: risk score 0..1 per analyzer, its confidence as a thin bar below. */
function analyzerChart(analyzers: Record<string, AnalyzerResult | undefined>): string {
  const row = 46;
  const width = 560;
  const label = 130;
  const bar = width - label - 60;
  const rows = ANALYZERS.map((name, i) => {
    const a = analyzers[name];
    const y = i * row + 8;
    if (!a)
      return `<text x="0" y="${y + 14}" font-size="13">${name}</text><text x="${label}" y="${y + 14}" font-size="13" fill="#9b1c13">missing</text>`;
    const w = Math.max(1, Math.round(a.score * bar));
    const c = Math.max(1, Math.round(a.confidence * bar));
    const colour = a.score >= 0.7 ? "#c0392b" : a.score >= 0.4 ? "#d39b00" : "#2e9d63";
    return `<text x="0" y="${y + 14}" font-size="13">${escapeHtml(name)}</text>
<rect x="${label}" y="${y}" width="${bar}" height="18" rx="4" fill="#eef1f5"/><rect x="${label}" y="${y}" width="${w}" height="18" rx="4" fill="${colour}"/>
<text x="${label + bar + 8}" y="${y + 14}" font-size="13">${a.score.toFixed(2)}</text>
<rect x="${label}" y="${y + 22}" width="${c}" height="4" rx="2" fill="#7d8da3"/>
<text x="${label + bar + 8}" y="${y + 28}" font-size="10" fill="#5b6573">conf ${a.confidence.toFixed(2)}</text>`;
  }).join("");
  const height = ANALYZERS.length * row + 8;
  return `<svg role="img" aria-labelledby="chart-title" width="100%" viewBox="0 0 ${width} ${height}" style="max-width:${width}px;font-family:system-ui,sans-serif">
<title id="chart-title">Risk score per analyzer (0 = no risk, 1 = high risk); the thin bar is the analyzer's confidence</title>${rows}</svg>`;
}

export function reportPage(s: SessionForReport): string {
  const r = s.report;
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${r ? "" : '<meta http-equiv="refresh" content="2">'}<title>Report ${escapeHtml(s.id)} · Demo integrator</title><link rel="icon" href="data:,"><style>${DEMO_CSS}</style></head>
<body><p><a href="/">← Demo integrator</a></p><h1>Verification report</h1>
<p class="muted">Session <code>${escapeHtml(s.id)}</code> · reference <code>${escapeHtml(s.clientReferenceId)}</code> · created ${escapeHtml(s.createdAt)}</p>`;
  if (!r)
    return `${head}<p>Status: <b>${escapeHtml(s.status)}</b>. The report appears here once the session has ended (this page refreshes).</p></body></html>`;
  const analyzerRows = ANALYZERS.map((name) => {
    const a = r.risk.analyzers[name];
    return a
      ? `<tr><td>${escapeHtml(name)}</td><td>${a.score.toFixed(3)}</td><td>${a.confidence.toFixed(2)}</td><td><code>${escapeHtml(a.modelVersion)}</code></td><td>${escapeHtml(a.latencyMs)} ms</td></tr>`
      : `<tr><td>${escapeHtml(name)}</td><td colspan="4">missing</td></tr>`;
  }).join("");
  const reasons = r.risk.reasons
    .map(
      (x) =>
        `<tr><td><code>${escapeHtml(x.code)}</code></td><td>${escapeHtml(x.analyzer)}</td><td>${x.contribution.toFixed(3)}</td></tr>`,
    )
    .join("");
  const nodes = r.nodes
    .map(
      (n) =>
        `<tr><td><code>${escapeHtml(n.id)}</code></td><td>${escapeHtml(n.type)}</td><td><b>${escapeHtml(n.outcome)}</b></td><td>${escapeHtml(n.at)}</td></tr>`,
    )
    .join("");
  const transcript =
    r.transcript.length === 0
      ? '<p class="muted">No transcript (no conversation step, or no speech recognised).</p>'
      : `<table><thead><tr><th>at</th><th>node</th><th>speaker</th><th>text</th></tr></thead><tbody>${r.transcript
          .map(
            (t) =>
              `<tr><td>${(t.atMs / 1000).toFixed(1)} s</td><td><code>${escapeHtml(t.nodeId)}</code></td><td>${escapeHtml(t.speaker)}</td><td>${escapeHtml(t.text)}</td></tr>`,
          )
          .join("")}</tbody></table>`;
  const degraded =
    r.degraded.length === 0
      ? ""
      : `<h2>Degraded</h2><ul>${r.degraded.map((d) => `<li><code>${escapeHtml(d.code)}</code> ${escapeHtml(d.component)}: ${escapeHtml(d.detail)}</li>`).join("")}</ul>`;
  return `${head}
<div class="summary"><div>Status<b>${escapeHtml(s.status)}</b>${s.incompleteReason ? `<span class="muted">${escapeHtml(s.incompleteReason)}</span>` : ""}</div>
<div>Decision<b><span class="decision ${escapeHtml(r.risk.decision)}">${escapeHtml(r.risk.decision)}</span></b></div>
<div>Risk score<b>${escapeHtml(r.risk.score)}</b><span class="muted">review ≥ ${escapeHtml(r.risk.thresholds.review)}, reject ≥ ${escapeHtml(r.risk.thresholds.reject)}</span></div></div>
<h2>Analyzers</h2>${analyzerChart(r.risk.analyzers)}
<table><thead><tr><th>analyzer</th><th>score</th><th>confidence</th><th>model</th><th>latency</th></tr></thead><tbody>${analyzerRows}</tbody></table>
<h2>Reasons</h2><table><thead><tr><th>code</th><th>analyzer</th><th>contribution</th></tr></thead><tbody>${reasons}</tbody></table>
<p class="muted">Fusion policy <code>${escapeHtml(r.risk.policyVersion)}</code>.</p>
<h2>Steps</h2><table><thead><tr><th>node</th><th>type</th><th>outcome</th><th>at</th></tr></thead><tbody>${nodes}</tbody></table>
<h2>Transcript</h2>${transcript}${degraded}
<p><form method="post" action="/start"><button type="submit">Start another verification</button></form></p></body></html>`;
}
