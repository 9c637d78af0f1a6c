/**
 * Files a process could have written during a test: everything under `dir` modified at or after
 * `since` (ms). The raw-retention tests search them for their canary; unreadable entries are
 * skipped, and so are files too large to hold a test's media.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export function changedFiles(
  dir: string,
  since: number,
  skip: (path: string) => boolean = () => false,
): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (skip(path)) continue;
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch {
      continue;
    }
    if (stat.isDirectory()) out.push(...changedFiles(path, since, skip));
    else if (stat.isFile() && stat.mtimeMs >= since && stat.size < 256 * 1024 * 1024) out.push(path);
  }
  return out;
}
