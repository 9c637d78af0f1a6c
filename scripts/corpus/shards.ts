/**
 * Runs a corpus builder's own script as `n` child processes (`--shard i/n`), one per core, and
 * waits for all of them: the face engine is single-threaded per process, so the liveness windows
 * (scripts/corpus/build.ts) and the session scenarios (scripts/corpus/scenarios/build.ts) each
 * split their plan this way. Each shard writes its own rows file; the caller merges them.
 */
import { spawn } from "node:child_process";

export async function runShards(script: string, shards: number, limit: number, label: string): Promise<void> {
  const extra = limit > 0 ? ["--limit", String(limit)] : [];
  await Promise.all(
    Array.from(
      { length: shards },
      (_, i) =>
        new Promise<void>((ok, fail) => {
          const child = spawn(process.execPath, [script, "--shard", `${i}/${shards}`, ...extra], {
            stdio: ["ignore", "inherit", "inherit"],
          });
          child.on("exit", (code) => (code === 0 ? ok() : fail(new Error(`${label} ${i} exited ${code}`))));
        }),
    ),
  );
}
