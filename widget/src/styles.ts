/**
 * The widget's stylesheet, applied to its shadow root as a constructed stylesheet (so it needs
 * no inline `<style>` and works under the hosted page's `style-src 'self'` and inside an
 * integrator's page without leaking in or out). Calm by design: no flashing, no colour strobes
 * (photosensitive users; WCAG 2.3.1), motion only when the user does not ask to reduce it.
 */
export const WIDGET_CSS = `
:host { all: initial; display: block; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.card { max-width: 30rem; margin: 0 auto; background: #fff; border: 1px solid #d9dee5; border-radius: 16px;
  box-shadow: 0 1px 2px rgba(16,24,40,.05), 0 8px 24px rgba(16,24,40,.06); overflow: hidden; }
.top { display: flex; align-items: center; gap: .5rem; padding: .85rem 1.25rem; border-bottom: 1px solid #eef1f4;
  font-size: .875rem; color: #4a5563; letter-spacing: .01em; }
.mark { width: .75rem; height: .75rem; border-radius: 50%; background: #2f5fd0; box-shadow: inset 0 0 0 3px #dfe8fb; }
.stage { position: relative; aspect-ratio: 4 / 3; background: #1d232b; }
.stage video { width: 100%; height: 100%; object-fit: cover; transform: scaleX(-1); display: block; }
.stage svg { position: absolute; inset: 0; width: 100%; height: 100%; }
.shade { fill: rgba(15, 20, 28, .55); }
.ring { fill: none; stroke: #fff; stroke-width: 2.5; stroke-dasharray: 6 5; }
.stage[data-hint="ok"] .ring { stroke: #3ecf8e; stroke-dasharray: none; }
.challenge { position: absolute; left: .75rem; right: .75rem; bottom: .75rem; margin: 0; padding: .6rem .85rem;
  background: rgba(255,255,255,.95); color: #1b1f24; border-radius: 10px; font-weight: 600; text-align: center; }
.hint { position: absolute; left: .75rem; right: .75rem; top: .75rem; margin: 0; padding: .35rem .7rem; border-radius: 999px;
  background: rgba(15,20,28,.7); color: #fff; font-size: .875rem; text-align: center; }
.content { padding: 1.25rem 1.25rem 1.5rem; }
h2 { font-size: 1.3rem; line-height: 1.3; margin: 0 0 .5rem; font-weight: 650; }
h2:focus { outline: none; }
p { margin: 0 0 .85rem; }
.body { color: #3b4552; }
.error:empty { margin: 0; min-height: 0; }
.caption { background: #f3f6fb; border-left: 4px solid #2f5fd0; border-radius: 6px; padding: .7rem .9rem; margin: 0 0 1rem; }
.caption-label { display: block; font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: #4a5563; margin-bottom: .2rem; }
.caption p { margin: 0; font-size: 1.1rem; font-weight: 600; }
.progress { height: .5rem; background: #e8ecf1; border-radius: 999px; overflow: hidden; margin: .25rem 0 .35rem; }
.bar { height: 100%; width: 0; background: #2f5fd0; border-radius: 999px; transition: width .6s ease; }
.progress-text { font-size: .875rem; color: #4a5563; }
.meter { display: flex; align-items: center; gap: .6rem; margin: .25rem 0 .5rem; font-size: .8rem; color: #4a5563; }
.meter .track { flex: 0 0 5rem; height: .3rem; background: #e8ecf1; border-radius: 999px; overflow: hidden; }
.meter .level { height: 100%; width: 0; background: #3ecf8e; }
.actions { display: flex; flex-direction: column; gap: .6rem; margin-top: 1.25rem; }
.actions:empty { display: none; }
button { font: inherit; font-weight: 600; border-radius: 10px; padding: .7rem 1.1rem; cursor: pointer; min-height: 44px; width: 100%; }
button.primary { background: #2f5fd0; color: #fff; border: 1px solid #2f5fd0; }
button.primary:hover { background: #254db0; }
button.secondary { background: #fff; color: #24303d; border: 1px solid #c4ccd6; }
button.secondary:hover { background: #f3f5f8; }
button:focus-visible, input:focus-visible { outline: 3px solid #9bb7f0; outline-offset: 2px; }
label { display: block; font-weight: 600; margin-bottom: .35rem; }
input { font: inherit; width: 100%; padding: .65rem .75rem; border: 1px solid #aeb8c4; border-radius: 10px; min-height: 44px; }
input[aria-invalid="true"] { border-color: #b42318; }
.error { color: #b42318; font-size: .9rem; margin: .4rem 0 0; min-height: 1.2em; }
.result { display: flex; align-items: center; justify-content: center; width: 3rem; height: 3rem; border-radius: 50%;
  margin: .25rem 0 1rem; font-size: 1.5rem; font-weight: 700; }
.result.ok { background: #e3f6ec; color: #1a7f4b; }
.result.no { background: #fdecea; color: #b42318; }
.foot { font-size: .8rem; color: #5b6573; padding: .75rem 1.25rem; border-top: 1px solid #eef1f4; background: #fafbfc; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (prefers-reduced-motion: reduce) { .bar { transition: none; } }
@media (max-width: 480px) { .card { border-radius: 0; border-left: 0; border-right: 0; box-shadow: none; } .content { padding: 1rem 1rem 1.25rem; } }
`;

/** Page-level styles for the hosted page (its body; the widget itself lives in a shadow root). */
export const HOSTED_PAGE_CSS = `
html, body { margin: 0; min-height: 100%; background: #f3f5f8; }
body { padding: 2rem 1rem; }
@media (max-width: 480px) { html, body { background: #fff; } body { padding: 0; } }
`;
