/**
 * The widget's DOM: one card in a shadow root, with a camera stage (preview, framing oval,
 * lighting hint, challenge prompt) and a content area (heading, text, caption, progress, email
 * form, buttons). Screen readers get the step heading focused on every step change, a polite
 * live region for prompts and progress, and an alert region for errors (WCAG 4.1.3). All text is
 * set with textContent; nothing from the server is parsed as HTML.
 */
import type { Strings } from "./i18n/index.ts";
import { WIDGET_CSS } from "./styles.ts";

export interface Action {
  label: string;
  kind: "primary" | "secondary";
  onClick(): void;
}

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

function ovalOverlay(): SVGSVGElement {
  // A dimmed frame with an oval cut-out: the even-odd rule punches the ellipse out of the rect.
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 400 300");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  const shade = document.createElementNS(SVG, "path");
  shade.setAttribute("class", "shade");
  shade.setAttribute("fill-rule", "evenodd");
  shade.setAttribute("d", "M0 0H400V300H0Z M200 40a78 104 0 1 0 0.01 0Z");
  const ring = document.createElementNS(SVG, "ellipse");
  ring.setAttribute("class", "ring");
  ring.setAttribute("cx", "200");
  ring.setAttribute("cy", "144");
  ring.setAttribute("rx", "78");
  ring.setAttribute("ry", "104");
  svg.append(shade, ring);
  return svg;
}

export class View {
  readonly root: ShadowRoot;
  readonly video: HTMLVideoElement;
  #strings: Strings;
  #card: HTMLElement;
  #brand: HTMLElement;
  #stage: HTMLElement;
  #hint: HTMLElement;
  #challenge: HTMLElement;
  #heading: HTMLHeadingElement;
  #badge: HTMLElement;
  #body: HTMLElement;
  #caption: HTMLElement;
  #captionLabel: HTMLElement;
  #captionText: HTMLElement;
  #status: HTMLElement;
  #alert: HTMLElement;
  #progress: HTMLElement;
  #bar: HTMLElement;
  #progressText: HTMLElement;
  #meter: HTMLElement;
  #meterBar: HTMLElement;
  #meterLabel: HTMLElement;
  #form: HTMLFormElement;
  #actions: HTMLElement;
  #lastHint = "";

  constructor(host: HTMLElement, strings: Strings) {
    this.#strings = strings;
    this.root = host.shadowRoot ?? host.attachShadow({ mode: "open" });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(WIDGET_CSS);
    this.root.adoptedStyleSheets = [sheet];
    this.video = h("video", { muted: "", playsinline: "", autoplay: "" });
    this.#hint = h("p", { class: "hint", "aria-hidden": "true" });
    this.#challenge = h("p", { class: "challenge", "aria-hidden": "true" });
    this.#stage = h("div", { class: "stage", role: "img" }, [
      this.video,
      ovalOverlay(),
      this.#hint,
      this.#challenge,
    ]);
    this.#brand = h("span", { class: "brand" });
    this.#heading = h("h2", { tabindex: "-1" });
    this.#badge = h("div", { class: "result", "aria-hidden": "true" });
    this.#body = h("p", { class: "body" });
    this.#captionLabel = h("span", { class: "caption-label" });
    this.#captionText = h("p", { lang: "" });
    this.#caption = h("div", { class: "caption" }, [this.#captionLabel, this.#captionText]);
    // Visually hidden: what it announces (challenge, lighting hint) is already shown on the stage.
    this.#status = h("p", { class: "sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.#alert = h("p", { class: "error", role: "alert" });
    this.#bar = h("div", { class: "bar" });
    this.#progress = h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0" }, [this.#bar]);
    this.#progressText = h("p", { class: "progress-text", "aria-hidden": "true" });
    this.#meterBar = h("div", { class: "level" });
    this.#meterLabel = h("span");
    this.#meter = h("div", { class: "meter", "aria-hidden": "true" }, [
      this.#meterLabel,
      h("div", { class: "track" }, [this.#meterBar]),
    ]);
    this.#form = h("form", { class: "email", novalidate: "" });
    this.#actions = h("div", { class: "actions" });
    const content = h("div", { class: "content" }, [
      this.#badge,
      this.#heading,
      this.#body,
      this.#caption,
      this.#status,
      this.#progress,
      this.#progressText,
      this.#meter,
      this.#form,
      this.#alert,
      this.#actions,
    ]);
    this.#card = h("section", { class: "card" }, [
      h("header", { class: "top" }, [h("span", { class: "mark", "aria-hidden": "true" }), this.#brand]),
      this.#stage,
      content,
    ]);
    this.root.replaceChildren(this.#card);
    this.setStrings(strings, "en");
    this.step({ title: strings.connecting });
  }

  setStrings(strings: Strings, lang: string): void {
    this.#strings = strings;
    this.#card.setAttribute("lang", lang);
    this.#card.setAttribute("aria-label", strings.brand);
    this.#brand.textContent = strings.brand;
    this.#stage.setAttribute("aria-label", strings.cameraPreview);
    this.#progress.setAttribute("aria-label", strings.progressLabel);
    this.#meterLabel.textContent = strings.micLevel;
  }

  /** Shows one step: everything not named is hidden, the heading takes focus. */
  step(opts: {
    title: string;
    body?: string;
    stage?: boolean;
    actions?: Action[];
    result?: "ok" | "no";
    focus?: boolean;
  }): void {
    this.#heading.textContent = opts.title;
    this.#body.textContent = opts.body ?? "";
    this.#body.hidden = !opts.body;
    this.#stage.hidden = !opts.stage;
    this.#caption.hidden = true;
    this.#progress.hidden = true;
    this.#progressText.hidden = true;
    this.#meter.hidden = true;
    this.#form.hidden = true;
    this.#form.replaceChildren();
    this.#challenge.hidden = true;
    this.#hint.hidden = true;
    this.#status.textContent = "";
    this.#alert.textContent = "";
    this.#badge.hidden = !opts.result;
    if (opts.result) {
      this.#badge.className = `result ${opts.result}`;
      this.#badge.textContent = opts.result === "ok" ? "✓" : "!";
    }
    this.setActions(opts.actions ?? []);
    if (opts.focus !== false) this.#heading.focus({ preventScroll: true });
  }

  setActions(actions: Action[]): void {
    this.#actions.replaceChildren(
      ...actions.map((a) => {
        const button = h("button", { type: "button", class: a.kind }, [a.label]);
        button.addEventListener("click", () => a.onClick());
        return button;
      }),
    );
    this.#actions.hidden = actions.length === 0;
  }

  /** Announces a sentence politely to screen readers (the stage shows it to everyone else). */
  status(text: string): void {
    this.#status.textContent = text;
  }

  alert(text: string): void {
    this.#alert.textContent = text;
  }

  challenge(text: string | null): void {
    this.#challenge.hidden = text === null;
    this.#challenge.textContent = text ?? "";
    if (text) this.status(text);
  }

  /** Lighting hint over the preview; only a changed hint reaches the live region. */
  hint(kind: string, text: string): void {
    this.#stage.dataset.hint = kind;
    this.#hint.hidden = false;
    this.#hint.textContent = text;
    if (kind !== this.#lastHint && kind !== "ok" && this.#challenge.hidden) this.status(text);
    this.#lastHint = kind;
  }

  progress(done: number, total: number, text: string): void {
    this.#progress.hidden = false;
    this.#progressText.hidden = false;
    const clamped = Math.min(done, total);
    this.#bar.style.width = `${total > 0 ? Math.round((clamped / total) * 100) : 0}%`;
    this.#progress.setAttribute("aria-valuemax", String(total));
    this.#progress.setAttribute("aria-valuenow", String(clamped));
    this.#progress.setAttribute("aria-valuetext", text);
    this.#progressText.textContent = text;
  }

  caption(label: string, text: string, lang: string): void {
    this.#caption.hidden = false;
    this.#captionLabel.textContent = label;
    this.#captionText.textContent = text;
    this.#captionText.setAttribute("lang", lang);
  }

  level(rms: number): void {
    if (this.#stage.hidden) return;
    this.#meter.hidden = false;
    // ~-50 dBFS … 0 dBFS onto 0 … 100 %
    const db = 20 * Math.log10(Math.max(rms, 1e-5));
    this.#meterBar.style.width = `${Math.max(0, Math.min(100, ((db + 50) / 50) * 100))}%`;
  }

  /** The enter_email form; calls back with a valid address, or null when the user skips. */
  emailForm(onDone: (value: string | null) => void): void {
    const s = this.#strings;
    const input = h("input", {
      id: "facet-email",
      type: "email",
      name: "email",
      autocomplete: "email",
      inputmode: "email",
      required: "",
      "aria-describedby": "facet-email-error",
    });
    const error = h("p", { class: "error", id: "facet-email-error", "aria-live": "polite" });
    const submit = h("button", { type: "submit", class: "primary" }, [s.emailSubmit]);
    const skip = h("button", { type: "button", class: "secondary" }, [s.emailSkip]);
    this.#form.replaceChildren(
      h("label", { for: "facet-email" }, [s.emailLabel]),
      input,
      error,
      h("div", { class: "actions" }, [submit, skip]),
    );
    this.#form.hidden = false;
    this.#form.onsubmit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (value.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
        input.setAttribute("aria-invalid", "true");
        error.textContent = s.emailInvalid;
        input.focus();
        return;
      }
      onDone(value);
    };
    skip.addEventListener("click", () => onDone(null));
    input.focus();
  }
}
