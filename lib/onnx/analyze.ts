/**
 * The body of every analyzer's `analyze()`: validate the slice against the contract, build the
 * fixed-length vector from the Worker's `vector.ts`, run the ONNX model, assemble the result.
 * Kept apart from `lib/analyzer-runtime.ts` because it imports onnxruntime-web and the wasm
 * binary, which only a Worker bundle can load (house-style 7: one written contract, sessions
 * loaded lazily once per isolate, request data never in module scope).
 *
 * Model contract (written by models/build-lib.ts): input `x` float32 [1, D]; outputs `score`
 * [1, 1] and `contributions` [1, D]; metadata `facet.model_version` and `facet.features` (the
 * comma-separated feature names, which must equal the vector's order or we refuse to run).
 */
import {
  type AnalyzerInput,
  AnalyzerInputSchemas,
  type AnalyzerName,
  type AnalyzerResult,
} from "../analyzer-contract.ts";
import { AnalyzerError, type AnalyzerVector, assembleResult, buildVector } from "../analyzer-runtime.ts";
import { META_FEATURES, META_VERSION, readModelMetadata } from "./metadata.ts";
import { loadSession, ort } from "./ort-workerd.ts";

interface LoadedModel {
  session: ort.InferenceSession;
  version: string;
}

const models = new WeakMap<ArrayBuffer, Promise<LoadedModel>>();

async function load<S>(vector: AnalyzerVector<S>, modelBytes: ArrayBuffer): Promise<LoadedModel> {
  const meta = readModelMetadata(modelBytes);
  const version = meta[META_VERSION];
  const expected = vector.features.map((f) => f.name).join(",");
  if (!version) throw new AnalyzerError("ERR_ANALYZER_MODEL", "model has no facet.model_version");
  if (meta[META_FEATURES] !== expected) {
    throw new AnalyzerError("ERR_ANALYZER_MODEL", "model feature order differs from vector.ts");
  }
  const session = await loadSession(modelBytes);
  return { session, version };
}

function loadOnce<S>(vector: AnalyzerVector<S>, modelBytes: ArrayBuffer): Promise<LoadedModel> {
  let model = models.get(modelBytes);
  if (model === undefined) {
    model = load(vector, modelBytes);
    models.set(modelBytes, model);
    model.catch(() => models.delete(modelBytes));
  }
  return model;
}

/** Returns the `analyze` implementation for one analyzer Worker. */
export function createAnalyze<N extends AnalyzerName>(
  name: N,
  vector: AnalyzerVector<AnalyzerInput<N>>,
  modelBytes: ArrayBuffer,
): (input: unknown) => Promise<AnalyzerResult> {
  return async (input) => {
    // workerd freezes timers during pure CPU work (a Spectre mitigation), so this measures the
    // wall time around I/O only; it is informative, never used for decisions.
    const started = performance.now();
    const parsed = AnalyzerInputSchemas[name].safeParse(input);
    if (!parsed.success) {
      const paths = parsed.error.issues.map((i) => i.path.join(".") || "(root)");
      throw new AnalyzerError(
        "ERR_ANALYZER_INPUT",
        `invalid ${name} slice at ${[...new Set(paths)].join(", ")}`,
      );
    }
    const slice = parsed.data as AnalyzerInput<N>;
    const built = buildVector(vector, slice);

    let model: LoadedModel;
    let outputs: ort.InferenceSession.ReturnType;
    try {
      model = await loadOnce(vector, modelBytes);
      const x = new ort.Tensor("float32", built.values, [1, built.values.length]);
      outputs = await model.session.run({ x });
    } catch (err) {
      if (err instanceof AnalyzerError) throw err;
      throw new AnalyzerError("ERR_ANALYZER_MODEL", err instanceof Error ? err.message : "inference failed");
    }
    const score = outputs.score?.data[0];
    const contributions = outputs.contributions?.data;
    if (typeof score !== "number" || !(contributions instanceof Float32Array)) {
      throw new AnalyzerError("ERR_ANALYZER_MODEL", "model outputs are not float32 score/contributions");
    }
    return assembleResult(
      vector,
      slice,
      built,
      { score, contributions },
      model.version,
      performance.now() - started,
    );
  };
}
