/**
 * The environment analyzer Worker: validates its slice against lib/analyzer-contract.ts, builds the
 * feature vector from ./vector.ts, runs models/environment/model.onnx with onnxruntime-web and returns
 * an AnalyzerResult. Reached only over RPC from the session Durable Object (house-style 7);
 * failures throw AnalyzerError, whose message starts with the ERR_ANALYZER_* code
 * (lib/analyzer-runtime.ts explains why).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { AnalyzerInput, AnalyzerResult, AnalyzerService } from "../../lib/analyzer-contract.ts";
import { createAnalyze } from "../../lib/onnx/analyze.ts";
import model from "../../models/environment/model.onnx";
import { ENVIRONMENT_VECTOR } from "./vector.ts";

const analyzeSlice = createAnalyze("environment", ENVIRONMENT_VECTOR, model);

export default class EnvironmentAnalyzer extends WorkerEntrypoint implements AnalyzerService<"environment"> {
  /** The input is validated inside: RPC callers are a trust boundary too. */
  async analyze(input: AnalyzerInput<"environment">): Promise<AnalyzerResult> {
    return analyzeSlice(input);
  }

  override async fetch(): Promise<Response> {
    return new Response(null, { status: 404 });
  }
}
