/**
 * onnxruntime-web inside workerd. workerd refuses to compile WebAssembly from bytes ("Wasm code
 * generation disallowed by embedder"), but a `.wasm` *import* arrives precompiled as a
 * `WebAssembly.Module` and `WebAssembly.instantiate(module, imports)` is allowed. So we import
 * ORT's non-JSEP wasm build together with its matching binary, hand ORT a small marker instead of
 * the real bytes (`env.wasm.wasmBinary`), and answer only the `WebAssembly.instantiate` call that
 * carries the marker with the imported module (recipe: /work/shared/platform-notes.md,
 * "onnxruntime-web inside workerd"). Mixing the JSEP entry with this binary fails, so the two
 * specifiers below must stay a matching pair; the hook depends on ORT's loader, which is why
 * onnxruntime-web is pinned and test/analyzers guards it with real inference.
 *
 * Sessions are created lazily, once per isolate and model, and hold no request data.
 */

import ortWasmModule from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
import * as ort from "onnxruntime-web/wasm";

/** Bytes ORT copies into the instantiate call instead of the 14 MB binary. */
const MARKER = new TextEncoder().encode("facet:ort-wasm-marker:v1");

function isMarker(source: unknown): boolean {
  let bytes: Uint8Array | null = null;
  if (source instanceof Uint8Array) bytes = source;
  else if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  if (bytes === null || bytes.length !== MARKER.length) return false;
  return bytes.every((b, i) => b === MARKER[i]);
}

type Instantiate = (
  source: unknown,
  imports?: WebAssembly.Imports,
) => Promise<WebAssembly.Instance | { instance: WebAssembly.Instance; module: WebAssembly.Module }>;

let configured = false;

function configure(): void {
  if (configured) return;
  configured = true;
  const original = WebAssembly.instantiate.bind(WebAssembly) as Instantiate;
  const hooked: Instantiate = async (source, imports) => {
    if (!isMarker(source)) return original(source, imports);
    // Emscripten expects the {instance, module} pair that instantiate(bytes) resolves to.
    const instance = (await original(ortWasmModule, imports)) as WebAssembly.Instance;
    return { instance, module: ortWasmModule };
  };
  (WebAssembly as unknown as { instantiate: Instantiate }).instantiate = hooked;
  ort.env.wasm.numThreads = 1; // no Web Workers or SharedArrayBuffer threads in workerd
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = MARKER;
}

const sessions = new WeakMap<ArrayBuffer, Promise<ort.InferenceSession>>();

/**
 * The inference session for a model bundled as a Data module, created on first use and reused
 * for the isolate's lifetime. A failed load is forgotten so the next request retries.
 */
export function loadSession(modelBytes: ArrayBuffer): Promise<ort.InferenceSession> {
  configure();
  let session = sessions.get(modelBytes);
  if (session === undefined) {
    // ORT may transfer or keep the buffer it is given: pass a copy, keep the module's bytes intact.
    session = ort.InferenceSession.create(new Uint8Array(modelBytes.slice(0)), {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    sessions.set(modelBytes, session);
    session.catch(() => sessions.delete(modelBytes));
  }
  return session;
}

export { ort };
