/**
 * A scripted user for conversation tests through the real recognizer: grants permissions and
 * speaks a prepared answer whenever a conversation node with that id is shown (its follow-up
 * too), as 16 kHz audio in 200 ms chunks, silence otherwise.
 */
import type { ScriptedClient } from "../../scripts/lib/scripted-client.ts";

const SECOND = 16_000;

/**
 * A user who answers each conversation prompt `leadS` seconds after it appears (the way a person
 * waits for the question), with silence otherwise: 16 kHz audio in 200 ms chunks, one capture
 * second per `msPerSecond` of wall time, until the session closes.
 */
export async function converse(
  client: ScriptedClient,
  answers: Record<string, Int16Array>,
  leadS: number,
  msPerSecond = 1000,
): Promise<number> {
  const chunk = SECOND / 5;
  const queue: Int16Array[] = [];
  let seen = 0;
  let closed: number | null = null;
  void client.closed.then((c) => {
    closed = c.code;
  });
  for (let n = 0; closed === null && n < 5 * 60; n++) {
    for (; seen < client.messages.length; seen++) {
      const m = client.messages[seen];
      if (m?.type === "node" && m.nodeType === "permissions") {
        client.sendJson({ type: "permissions", camera: true, microphone: true });
      }
      const answer = m?.type === "node" && m.nodeType === "conversation" ? answers[m.nodeId] : undefined;
      if (answer) queue.push(new Int16Array(Math.round(leadS * SECOND)), answer);
    }
    const out = new Int16Array(chunk);
    let filled = 0;
    while (filled < chunk && queue.length > 0) {
      const head = queue[0] as Int16Array;
      const take = Math.min(chunk - filled, head.length);
      out.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.length) queue.shift();
      else queue[0] = head.subarray(take);
    }
    if (client.open) client.sendAudio(n * 200, out);
    await new Promise((r) => setTimeout(r, msPerSecond / 5));
  }
  return (await client.closed).code;
}
