/**
 * Module shapes of the non-JavaScript imports the analyzer Workers bundle. wrangler turns a
 * `.wasm` import into a compiled `WebAssembly.Module` (workerd may not compile wasm from bytes at
 * run time; see /work/shared/platform-notes.md) and, through the `Data` rule in each analyzer's
 * wrangler.toml, an `.onnx` import into an `ArrayBuffer`.
 */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}

declare module "*.onnx" {
  const bytes: ArrayBuffer;
  export default bytes;
}
