/**
 * widget.js entry (bundled as an IIFE by scripts/lib/build-widget.ts): exposes
 * `window.Facet.mount(element, { clientSecret, onEvent, locale? })` for the script embed, and
 * runs the hosted page (`GET /verify`) when it finds its root element there.
 *
 * Hosted page: the client secret comes from `location.hash`, which browsers never send to a
 * server, and is removed from the address bar at once. Events go to the embedding window with
 * `postMessage` as `facet:ready|progress|complete|error`, addressed to each origin the edge
 * listed as allowed for this tenant (the browser delivers only to the one that matches the
 * parent), never to `*` (docs/widget.md).
 */
import { HOSTED_PAGE_CSS } from "./styles.ts";
import { type MountedWidget, type MountOptions, mount, type WidgetEvent } from "./widget.ts";

const script = document.currentScript instanceof HTMLScriptElement ? document.currentScript : null;
const scriptOrigin = script?.src ? new URL(script.src).origin : location.origin;

const Facet = {
  version: "1",
  mount(element: HTMLElement, options: MountOptions): MountedWidget {
    return mount(element, options, scriptOrigin);
  },
};

declare global {
  interface Window {
    Facet: typeof Facet;
  }
}
window.Facet = Facet;

function postToParent(event: WidgetEvent, allowedOrigins: string[]): void {
  if (window.parent === window) return;
  const type =
    event.type === "ready"
      ? "facet:ready"
      : event.type === "progress"
        ? "facet:progress"
        : event.type === "complete"
          ? "facet:complete"
          : event.type === "error"
            ? "facet:error"
            : null;
  if (!type) return;
  const { type: _inner, ...detail } = event;
  for (const origin of allowedOrigins) window.parent.postMessage({ type, ...detail }, origin);
}

function runHostedPage(root: HTMLElement): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(HOSTED_PAGE_CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  const secret = decodeURIComponent(location.hash.replace(/^#/, ""));
  // Keep the secret out of the address bar, history and any later copy-paste of the URL.
  history.replaceState(null, "", location.pathname + location.search);
  const allowed = (
    document.querySelector('meta[name="facet-allowed-origins"]')?.getAttribute("content") ?? ""
  )
    .split(" ")
    .filter((o) => /^https?:\/\/[^/]+$/.test(o));
  const locale = new URLSearchParams(location.search).get("locale") ?? undefined;
  Facet.mount(root, {
    clientSecret: secret,
    ...(locale ? { locale } : {}),
    onEvent: (event) => postToParent(event, allowed),
  });
}

const hostedRoot = document.getElementById("facet-hosted");
if (hostedRoot) runHostedPage(hostedRoot);
