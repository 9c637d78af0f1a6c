/**
 * The device_risk analyzer Worker: validates its slice against lib/analyzer-contract.ts, builds the
 * feature vector from ./vector.ts, runs models/device-risk/model.onnx with onnxruntime-web and returns
 * an AnalyzerResult. Reached only over RPC from the session Durable Object (house-style 7);
 * failures throw AnalyzerError, whose message starts with the ERR_ANALYZER_* code
 * (lib/analyzer-runtime.ts explains why).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { AnalyzerInput, AnalyzerResult, AnalyzerService } from "../../lib/analyzer-contract.ts";
import { createAnalyze } from "../../lib/onnx/analyze.ts";
import model from "../../models/device-risk/model.onnx";
import { DEVICE_RISK_VECTOR } from "./vector.ts";

const analyzeSlice = createAnalyze("device_risk", DEVICE_RISK_VECTOR, model);

export default class DeviceRiskAnalyzer extends WorkerEntrypoint implements AnalyzerService<"device_risk"> {
  /** The input is validated inside: RPC callers are a trust boundary too. */
  async analyze(input: AnalyzerInput<"device_risk">): Promise<AnalyzerResult> {
    return analyzeSlice(input);
  }

  override async fetch(): Promise<Response> {
    return new Response(null, { status: 404 });
  }
}
