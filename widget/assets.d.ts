/**
 * Types of `widget/dist/assets.js`, the module scripts/lib/build-widget.ts generates from
 * widget/src (git-ignored, like every build output): the bundled browser code as strings, which
 * the edge serves (workers/edge/routes/hosted.ts) and which therefore ships inside the edge
 * bundle. Build it before bundling the edge.
 */
declare module "*/widget/dist/assets.js" {
  /** widget.js: the IIFE that defines `window.Facet` and runs the hosted page */
  export const WIDGET_JS: string;
  /** the AudioWorklet module that chunks microphone PCM */
  export const AUDIO_WORKLET_JS: string;
  /** strong ETag values (hex SHA-256 prefixes) of the two scripts */
  export const WIDGET_ETAG: string;
  export const AUDIO_WORKLET_ETAG: string;
}
