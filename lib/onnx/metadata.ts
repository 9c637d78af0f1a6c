/**
 * Reads `ModelProto.metadata_props` from serialised ONNX bytes. onnxruntime-web does not expose
 * a model's custom metadata, yet each analyzer needs the model version and feature order that
 * `models/build-lib.ts` writes there. Walking the top-level protobuf fields by hand (protobuf
 * encoding spec: varint / length-delimited wire types) costs a few dozen lines instead of
 * bundling a protobuf library into every Worker. Field numbers from onnx.proto (IR version 8):
 * metadata_props = 14, StringStringEntryProto.key = 1, value = 2.
 */

const METADATA_PROPS = 14;

/** Metadata keys models/build-lib.ts writes and lib/onnx/analyze.ts checks. */
export const META_VERSION = "facet.model_version";
export const META_FEATURES = "facet.features";

class Cursor {
  pos = 0;
  readonly bytes: Uint8Array;
  // No parameter properties: Node's type stripping rejects them.
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  get done(): boolean {
    return this.pos >= this.bytes.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.bytes[this.pos++];
      if (b === undefined) throw new Error("truncated varint");
      // Values above 2^53 are never needed here (lengths and tags); multiply instead of shifting.
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error("varint too long");
    }
  }
  slice(length: number): Uint8Array {
    if (this.pos + length > this.bytes.length) throw new Error("truncated field");
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.slice(8);
    else if (wireType === 2) this.slice(this.varint());
    else if (wireType === 5) this.slice(4);
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

function readEntry(bytes: Uint8Array): [string, string] {
  const c = new Cursor(bytes);
  const decoder = new TextDecoder();
  let key = "";
  let value = "";
  while (!c.done) {
    const tag = c.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 2 && (field === 1 || field === 2)) {
      const text = decoder.decode(c.slice(c.varint()));
      if (field === 1) key = text;
      else value = text;
    } else c.skip(wireType);
  }
  return [key, value];
}

/** Key/value metadata of an ONNX model; throws on malformed protobuf. */
export function readModelMetadata(model: ArrayBuffer | Uint8Array): Record<string, string> {
  const c = new Cursor(model instanceof Uint8Array ? model : new Uint8Array(model));
  const out: Record<string, string> = {};
  while (!c.done) {
    const tag = c.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === METADATA_PROPS && wireType === 2) {
      const [key, value] = readEntry(c.slice(c.varint()));
      out[key] = value;
    } else c.skip(wireType);
  }
  return out;
}
