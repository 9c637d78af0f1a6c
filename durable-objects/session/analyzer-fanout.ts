/**
 * Calls the six analyzer Workers in parallel, each with its own slice and its own timeout
 * (product-spec §5: a failed or timed-out analyzer is named, never silently passed). Results
 * are validated on arrival; a malformed result counts as a model failure.
 */
import {
  ANALYZERS,
  type AnalyzerErrorCode,
  type AnalyzerInputs,
  type AnalyzerName,
  type AnalyzerResult,
  AnalyzerResultSchema,
} from "../../lib/analyzer-contract.ts";

export type AnalyzerOutcome = AnalyzerResult | { error: AnalyzerErrorCode };

interface AnalyzerBinding {
  analyze(input: unknown): Promise<unknown>;
}

export function analyzerBindings(env: Env): Record<AnalyzerName, AnalyzerBinding> {
  // The generated Env types each binding as Service<that Worker's entrypoint>; the shared
  // contract (lib/analyzer-contract.ts) is what the DO relies on.
  return {
    liveness: env.ANALYZER_LIVENESS as unknown as AnalyzerBinding,
    coercion: env.ANALYZER_COERCION as unknown as AnalyzerBinding,
    environment: env.ANALYZER_ENVIRONMENT as unknown as AnalyzerBinding,
    behavior: env.ANALYZER_BEHAVIOR as unknown as AnalyzerBinding,
    device_risk: env.ANALYZER_DEVICE_RISK as unknown as AnalyzerBinding,
    conversation: env.ANALYZER_CONVERSATION as unknown as AnalyzerBinding,
  };
}

function errorCodeOf(error: unknown): AnalyzerErrorCode {
  const message = error instanceof Error ? error.message : "";
  for (const code of ["ERR_ANALYZER_INPUT", "ERR_ANALYZER_MODEL", "ERR_ANALYZER_TIMEOUT"] as const) {
    if (message.startsWith(code)) return code;
  }
  return "ERR_ANALYZER_UNAVAILABLE";
}

export async function callAnalyzer(
  binding: AnalyzerBinding,
  name: AnalyzerName,
  input: unknown,
  timeoutMs: number,
): Promise<AnalyzerOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<AnalyzerOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ error: "ERR_ANALYZER_TIMEOUT" }), timeoutMs);
  });
  const call = (async (): Promise<AnalyzerOutcome> => {
    try {
      const parsed = AnalyzerResultSchema.safeParse(await binding.analyze(input));
      if (!parsed.success || parsed.data.analyzer !== name) return { error: "ERR_ANALYZER_MODEL" };
      return parsed.data;
    } catch (error) {
      return { error: errorCodeOf(error) };
    }
  })();
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runAllAnalyzers(
  bindings: Record<AnalyzerName, AnalyzerBinding>,
  slices: AnalyzerInputs,
  timeoutMs: number,
): Promise<Record<AnalyzerName, AnalyzerOutcome>> {
  const outcomes = await Promise.all(
    ANALYZERS.map((name) => callAnalyzer(bindings[name], name, slices[name], timeoutMs)),
  );
  return Object.fromEntries(ANALYZERS.map((name, i) => [name, outcomes[i]])) as Record<
    AnalyzerName,
    AnalyzerOutcome
  >;
}
