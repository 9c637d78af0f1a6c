/**
 * The liveness analyzer Worker: validates its slice against lib/analyzer-contract.ts, builds the
 * feature vector from ./vector.ts, runs models/liveness/model.onnx with onnxruntime-web and returns
 * an AnalyzerResult. Reached only over RPC from the session Durable Object (house-style 7);
 * failures throw AnalyzerError, whose message starts with the ERR_ANALYZER_* code
 * (lib/analyzer-runtime.ts explains why).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { AnalyzerInput, AnalyzerResult, AnalyzerService } from "../../lib/analyzer-contract.ts";
import { createAnalyze } from "../../lib/onnx/analyze.ts";
import model from "../../models/liveness/model.onnx";
import { LIVENESS_VECTOR } from "./vector.ts";

const analyzeSlice = createAnalyze("liveness", LIVENESS_VECTOR, model);

export default class LivenessAnalyzer extends WorkerEntrypoint implements AnalyzerService<"liveness"> {
  /** The input is validated inside: RPC callers are a trust boundary too. */
  async analyze(input: AnalyzerInput<"liveness">): Promise<AnalyzerResult> {
    return analyzeSlice(input);
  }

  override async fetch(): Promise<Response> {
    return new Response(null, { status: 404 });
  }
}
