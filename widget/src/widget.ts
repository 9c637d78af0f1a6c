/**
 * `Facet.mount(element, options)`: one verification session in one element. Connects with the
 * client secret, renders each step the server drives (docs/protocol.md § Node steps), streams
 * camera and microphone once allowed, sends device and interaction signals, and reports events
 * to the integrator through `onEvent` (the hosted page turns them into postMessage events).
 */
import type { ServerMessage } from "../../lib/widget-protocol.ts";
import { Capture, isVirtualCamera, type LightHint, PermissionProblem, requestMedia } from "./capture.ts";
import { Connection } from "./connection.ts";
import { format, pickStrings, type StringKey, type Strings } from "./i18n/index.ts";
import { BehaviorTracker, deviceSignals } from "./signals.ts";
import { View } from "./view.ts";

export type WidgetEvent =
  | { type: "ready"; sessionId: string }
  | { type: "step"; nodeId: string; nodeType: string }
  | { type: "progress"; nodeId: string; usableSeconds: number; requiredSeconds: number }
  | { type: "complete"; sessionId: string | null; status: "complete" | "incomplete"; reason: string | null }
  | { type: "error"; code: string; message: string };

export interface MountOptions {
  clientSecret: string;
  onEvent?: (event: WidgetEvent) => void;
  /** BCP 47 tag; default: the session's locale, then the browser's */
  locale?: string;
  /** origin of the Facet edge; default: where widget.js was loaded from */
  apiBase?: string;
  /** shown as "Start a new check" after an incomplete ending, when given */
  onRetry?: () => void;
}

export interface MountedWidget {
  /** bytes sent so far, by kind (the e2e tests and integrators' diagnostics read it) */
  stats(): Connection["stats"];
  unmount(): void;
}

const SECRET = /^cs_[A-Za-z0-9_-]{43}$/;
/** Interaction signals go out this often (the server keeps the last). */
const SIGNALS_EVERY_MS = 4_000;
/** Keeps the idle timer alive while the user reads or types (IDLE_TIMEOUT_SECONDS is 60). */
const PING_EVERY_MS = 15_000;
/** With media flowing the server answers at least every ping; silence this long means the link is gone. */
const SILENCE_LIMIT_MS = 35_000;
/** RMS above which the microphone hears speech-level sound (for response latency). */
const SPEECH_RMS = 0.03;

const INCOMPLETE_REASONS: Record<string, StringKey> = {
  timeout: "reason_timeout",
  disconnected: "reason_disconnected",
  interrupted: "reason_disconnected",
  expired: "reason_expired",
  cancelled: "reason_cancelled",
};

const HINT_KEYS: Record<LightHint, StringKey> = {
  no_image: "hintNoImage",
  dark: "hintDark",
  bright: "hintBright",
  ok: "hintOk",
};

export function mount(element: HTMLElement, options: MountOptions, scriptOrigin: string): MountedWidget {
  let { lang, strings } = pickStrings(options.locale, navigator.language);
  const view = new View(element, strings);
  view.setStrings(strings, lang);
  const emit = (event: WidgetEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // an integrator's handler must not break the session
    }
  };
  const setState = (state: string) => {
    element.dataset.facetState = state;
  };
  setState("connecting");

  if (!SECRET.test(options.clientSecret)) {
    view.step({ title: strings.connectFailedTitle, body: strings.connectFailedBody, result: "no" });
    setState("failed");
    emit({ type: "error", code: "ERR_CLIENT_SECRET_INVALID", message: "malformed client secret" });
    return { stats: () => ({}) as Connection["stats"], unmount: () => view.root.replaceChildren() };
  }

  const apiBase = options.apiBase ?? scriptOrigin;
  const behavior = new BehaviorTracker();
  behavior.attach(document);
  let capture: Capture | null = null;
  let sessionId: string | null = null;
  let ended = false;
  let lastError: string | null = null;
  let hint: LightHint | null = null;
  const timers: number[] = [];

  let lastHeard = Date.now();
  const connection = new Connection(apiBase, options.clientSecret, {
    onMessage: (message) => {
      lastHeard = Date.now();
      handle(message);
    },
    onClose: (code, reason, opened) => {
      if (ended) return;
      if (!opened) {
        finish();
        view.step({ title: strings.connectFailedTitle, body: strings.connectFailedBody, result: "no" });
        setState("failed");
        emit({ type: "error", code: "ERR_CONNECT", message: "the connection was refused" });
        return;
      }
      // Closed without a `complete`: the server ends such a session incomplete / disconnected.
      showEnd("incomplete", code === 1006 || code === 1001 ? "disconnected" : (lastError ?? reason));
    },
  });

  const sendSignals = () => connection.send({ type: "signals", behavior: behavior.snapshot() });
  timers.push(window.setInterval(sendSignals, SIGNALS_EVERY_MS));
  timers.push(window.setInterval(() => connection.send({ type: "ping" }), PING_EVERY_MS));
  // A dropped network often leaves the socket looking open for minutes (no FIN arrives): the
  // browser's offline signal and the server's silence end the session on this side too. The
  // server has already ended it `incomplete` / `disconnected` or `timeout` by then.
  const lostConnection = () => {
    if (ended || !sessionId) return;
    showEnd("incomplete", "disconnected");
    connection.close();
  };
  timers.push(
    window.setInterval(() => {
      if (Date.now() - lastHeard > SILENCE_LIMIT_MS) lostConnection();
    }, 5_000),
  );

  const t = (key: StringKey) => strings[key];

  function speak(text: string): void {
    const synth = "speechSynthesis" in window ? window.speechSynthesis : null;
    if (!synth) return;
    try {
      synth.cancel();
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = lang;
      synth.speak(utterance);
    } catch {
      // captions carry the prompt anyway
    }
  }

  async function startMedia(): Promise<boolean> {
    if (capture) return true;
    const stream = await requestMedia();
    connection.send({ type: "hello", device: deviceSignals(isVirtualCamera(stream)) });
    capture = new Capture(stream, view.video, {
      video: (tsMs, jpeg) => connection.sendVideo(tsMs, jpeg, capture?.audioActive ?? false),
      audio: (tsMs, pcm, rms) => {
        connection.sendAudio(tsMs, pcm);
        view.level(rms);
        if (rms > SPEECH_RMS) behavior.spoke();
      },
      hint: (next) => {
        if (next === hint) return;
        hint = next;
        view.hint(next, t(HINT_KEYS[next]));
      },
    });
    await capture.start(new URL("/widget/audio-worklet.js", apiBase).toString());
    return true;
  }

  function permissionsStep(nodeId: string, camera: boolean, microphone: boolean): void {
    setState("permissions");
    const answer = (granted: boolean) => {
      connection.send({
        type: "permissions",
        camera: granted || !camera,
        microphone: granted || !microphone,
      });
      view.step({ title: t("working"), focus: false });
    };
    const ask = () => {
      view.step({ title: t("permTitle"), body: t("permAsking"), focus: false });
      startMedia()
        .then(() => answer(true))
        .catch((error: unknown) => {
          const kind = error instanceof PermissionProblem ? error.kind : "other";
          setState("permissions-blocked");
          view.step({
            title: t("permBlockedTitle"),
            body: kind === "missing" ? t("permMissingBody") : t("permBlockedBody"),
            result: "no",
            actions: [
              { label: t("permRetry"), kind: "primary", onClick: ask },
              { label: t("permSkip"), kind: "secondary", onClick: () => answer(false) },
            ],
          });
        });
    };
    behavior.prompted();
    view.step({
      title: t("permTitle"),
      body: t("permBody"),
      actions: [
        { label: t("permAllow"), kind: "primary", onClick: ask },
        { label: t("permDecline"), kind: "secondary", onClick: () => answer(false) },
      ],
    });
    emit({ type: "step", nodeId, nodeType: "permissions" });
  }

  /** Steps that need the camera: if no permissions step came first, ask now. */
  function cameraStep(title: string, body: string): void {
    view.step({ title, body, stage: true });
    if (hint) view.hint(hint, t(HINT_KEYS[hint]));
    startMedia().catch(() => {
      view.step({ title: t("permBlockedTitle"), body: t("permBlockedBody"), result: "no" });
    });
  }

  function handle(message: ServerMessage): void {
    switch (message.type) {
      case "ready": {
        sessionId = message.sessionId;
        if (!options.locale) {
          ({ lang, strings } = pickStrings(message.locale, navigator.language));
          view.setStrings(strings, lang);
        }
        connection.send({ type: "hello", device: deviceSignals(false) });
        emit({ type: "ready", sessionId: message.sessionId });
        return;
      }
      case "node": {
        sendSignals();
        emit({ type: "step", nodeId: message.nodeId, nodeType: message.nodeType });
        switch (message.nodeType) {
          case "permissions":
            permissionsStep(message.nodeId, message.camera, message.microphone);
            return;
          case "liveness":
            setState("liveness");
            cameraStep(t("liveTitle"), t("liveIntro"));
            view.progress(
              0,
              message.minSeconds,
              format(t("progress"), { done: 0, total: message.minSeconds }),
            );
            return;
          case "conversation":
            setState("conversation");
            cameraStep(t("conversationTitle"), message.noReplyNeeded ? "" : t("conversationListen"));
            view.caption(t("conversationCaption"), message.prompt, lang);
            speak(message.prompt);
            behavior.prompted();
            return;
          case "enter_email":
            setState("enter_email");
            view.step({ title: t("emailTitle"), body: message.prompt });
            behavior.prompted();
            view.emailForm((value) => {
              connection.send(value === null ? { type: "cancel_step" } : { type: "email", value });
              view.step({ title: t("working"), focus: false });
            });
            return;
          case "recognition":
          case "face_compare":
            setState(message.nodeType);
            cameraStep(t("faceTitle"), t("faceBody"));
            return;
        }
        return;
      }
      case "challenge": {
        const key = `challenge_${message.action}` as StringKey;
        view.challenge(t(key));
        behavior.prompted();
        return;
      }
      case "challenge_result":
        // answered: a short confirmation in place of the prompt; the other way: say so (the next
        // prompt replaces it when this one's time is up); no movement in time: the prompt goes away
        view.challenge(
          message.passed
            ? t("challenge_done")
            : message.reason === "opposite"
              ? t("challenge_opposite")
              : null,
        );
        return;
      case "progress": {
        view.progress(
          message.usableSeconds,
          message.requiredSeconds,
          format(t("progress"), {
            done: Math.min(message.usableSeconds, message.requiredSeconds),
            total: message.requiredSeconds,
          }),
        );
        emit(message);
        return;
      }
      case "slow_down":
        capture?.slowDown();
        return;
      case "pong":
        return;
      case "error":
        lastError = message.code;
        emit({ type: "error", code: message.code, message: message.message });
        return;
      case "complete":
        showEnd(message.status, message.reason);
        return;
    }
  }

  function finish(): void {
    ended = true;
    for (const timer of timers) clearInterval(timer);
  }

  function showEnd(status: "complete" | "incomplete", reason: string | null): void {
    if (ended) return;
    finish();
    capture?.stop();
    capture = null;
    behavior.detach();
    window.speechSynthesis?.cancel();
    setState(status);
    if (status === "complete") {
      view.step({ title: t("doneTitle"), body: t("doneBody"), result: "ok" });
    } else {
      const key = INCOMPLETE_REASONS[reason ?? ""] ?? "reason_other";
      view.step({
        title: t("incompleteTitle"),
        body: t(key),
        result: "no",
        actions: options.onRetry ? [{ label: t("retry"), kind: "primary", onClick: options.onRetry }] : [],
      });
    }
    emit({ type: "complete", sessionId, status, reason });
  }

  const onPageHide = () => connection.close();
  window.addEventListener("pagehide", onPageHide);
  window.addEventListener("offline", lostConnection);

  return {
    stats: () => ({ ...connection.stats }),
    unmount() {
      window.removeEventListener("pagehide", onPageHide);
      window.removeEventListener("offline", lostConnection);
      finish();
      ended = true;
      capture?.stop();
      behavior.detach();
      connection.close();
      view.root.replaceChildren();
    },
  };
}

export type { Strings };
