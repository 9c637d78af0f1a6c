/**
 * The coercion analyzer Worker: validates its slice against lib/analyzer-contract.ts, builds the
 * feature vector from ./vector.ts, runs models/coercion/model.onnx with onnxruntime-web and returns
 * an AnalyzerResult. Reached only over RPC from the session Durable Object (house-style 7);
 * failures throw AnalyzerError, whose message starts with the ERR_ANALYZER_* code
 * (lib/analyzer-runtime.ts explains why).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { AnalyzerInput, AnalyzerResult, AnalyzerService } from "../../lib/analyzer-contract.ts";
import { createAnalyze } from "../../lib/onnx/analyze.ts";
import model from "../../models/coercion/model.onnx";
import { COERCION_VECTOR } from "./vector.ts";

const analyzeSlice = createAnalyze("coercion", COERCION_VECTOR, model);

export default class CoercionAnalyzer extends WorkerEntrypoint implements AnalyzerService<"coercion"> {
  /** The input is validated inside: RPC callers are a trust boundary too. */
  async analyze(input: AnalyzerInput<"coercion">): Promise<AnalyzerResult> {
    return analyzeSlice(input);
  }

  override async fetch(): Promise<Response> {
    return new Response(null, { status: 404 });
  }
}
