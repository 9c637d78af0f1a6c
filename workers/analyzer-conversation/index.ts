/**
 * The conversation analyzer Worker: validates its slice against lib/analyzer-contract.ts, builds the
 * feature vector from ./vector.ts, runs models/conversation/model.onnx with onnxruntime-web and returns
 * an AnalyzerResult. Reached only over RPC from the session Durable Object (house-style 7);
 * failures throw AnalyzerError, whose message starts with the ERR_ANALYZER_* code
 * (lib/analyzer-runtime.ts explains why).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { AnalyzerInput, AnalyzerResult, AnalyzerService } from "../../lib/analyzer-contract.ts";
import { createAnalyze } from "../../lib/onnx/analyze.ts";
import model from "../../models/conversation/model.onnx";
import { CONVERSATION_VECTOR } from "./vector.ts";

const analyzeSlice = createAnalyze("conversation", CONVERSATION_VECTOR, model);

export default class ConversationAnalyzer
  extends WorkerEntrypoint
  implements AnalyzerService<"conversation">
{
  /** The input is validated inside: RPC callers are a trust boundary too. */
  async analyze(input: AnalyzerInput<"conversation">): Promise<AnalyzerResult> {
    return analyzeSlice(input);
  }

  override async fetch(): Promise<Response> {
    return new Response(null, { status: 404 });
  }
}
