/**
 * `npm run session [-- --frames <dir of .jpg> --wav <16 kHz mono PCM16 .wav>]`: one scripted
 * verification against the platform `npm start` runs. It creates a session through the public
 * API (start → permissions → liveness → end), streams the frames and audio from files over the
 * widget protocol, then shows the decision and the demo receiver's verified webhook.
 * Without arguments it writes synthetic media to `.dev/media` first (no face in it: expect the
 * liveness node to answer `no_face` until the tokenizer has its face model).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import jpeg from "jpeg-js";
import { REPO } from "../lib/platform.ts";
import { ScriptedClient } from "../lib/scripted-client.ts";

const { values } = parseArgs({ options: { frames: { type: "string" }, wav: { type: "string" } } });
const facetFile = join(REPO, ".dev", "facet.json");
if (!existsSync(facetFile)) {
  console.error("No .dev/facet.json: run `npm start` first.");
  process.exit(1);
}
const facet = JSON.parse(readFileSync(facetFile, "utf8")) as {
  apiBase: string;
  apiKey: string;
  demoUrl: string;
};

function writeSyntheticMedia(dir: string) {
  mkdirSync(join(dir, "frames"), { recursive: true });
  const w = 320;
  const h = 240;
  for (let f = 0; f < 10; f++) {
    const data = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        const inOval = ((x - 160 - f * 2) / 70) ** 2 + ((y - 120) / 95) ** 2 < 1;
        const texture = ((x * 7 + y * 13 + f * 5) % 17) * 3;
        data[i] = inOval ? 200 + (texture % 40) : 60 + texture;
        data[i + 1] = inOval ? 160 + (texture % 30) : 90 + texture;
        data[i + 2] = inOval ? 140 : 120 + texture;
        data[i + 3] = 255;
      }
    }
    writeFileSync(
      join(dir, "frames", `${String(f).padStart(3, "0")}.jpg`),
      jpeg.encode({ data, width: w, height: h }, 80).data,
    );
  }
  const seconds = 4;
  const pcm = Buffer.alloc(16000 * seconds * 2);
  for (let i = 0; i < 16000 * seconds; i++) {
    const syllable = 0.5 + 0.5 * Math.sin((2 * Math.PI * 4 * i) / 16000);
    const voice = Math.sin((2 * Math.PI * 140 * i) / 16000) + 0.4 * Math.sin((2 * Math.PI * 280 * i) / 16000);
    pcm.writeInt16LE(Math.round(6000 * syllable * voice), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write("WAVEfmt ", 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24);
  header.writeUInt32LE(32000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(pcm.length, 40);
  writeFileSync(join(dir, "voice.wav"), Buffer.concat([header, pcm]));
}

/** Reads a canonical PCM WAV; anything but 16 kHz mono 16-bit is refused with a hint. */
function readWav(path: string): Int16Array {
  const buf = readFileSync(path);
  if (buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE")
    throw new Error(`${path}: not a WAV file`);
  let at = 12;
  let format: { channels: number; rate: number; bits: number; code: number } | null = null;
  while (at + 8 <= buf.length) {
    const id = buf.toString("ascii", at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === "fmt ")
      format = {
        code: buf.readUInt16LE(at + 8),
        channels: buf.readUInt16LE(at + 10),
        rate: buf.readUInt32LE(at + 12),
        bits: buf.readUInt16LE(at + 22),
      };
    if (id === "data") {
      if (format?.code !== 1 || format.channels !== 1 || format.rate !== 16000 || format.bits !== 16) {
        throw new Error(
          `${path}: need 16 kHz mono PCM16 (ffmpeg -i in.wav -ac 1 -ar 16000 -sample_fmt s16 out.wav)`,
        );
      }
      const data = buf.subarray(at + 8, at + 8 + size);
      return new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

const mediaDir = join(REPO, ".dev", "media");
if (!values.frames || !values.wav) writeSyntheticMedia(mediaDir);
const framesDir = values.frames ?? join(mediaDir, "frames");
const frames = readdirSync(framesDir)
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort()
  .map((f) => new Uint8Array(readFileSync(join(framesDir, f))));
const audio = readWav(values.wav ?? join(mediaDir, "voice.wav"));
if (frames.length === 0) throw new Error(`${framesDir}: no .jpg frames`);

const flow = [
  { id: "start", type: "start", next: "permissions" },
  { id: "permissions", type: "permissions", outcomes: { granted: "liveness", denied: "end" } },
  {
    id: "liveness",
    type: "liveness",
    challenges: 0,
    minSeconds: 3,
    outcomes: { live: "end", spoof: "end", no_face: "end", inconclusive: "end" },
  },
  { id: "end", type: "end" },
];
const created = await fetch(`${facet.apiBase}/v1/sessions`, {
  method: "POST",
  headers: { authorization: `Bearer ${facet.apiKey}`, "content-type": "application/json" },
  body: JSON.stringify({ clientReferenceId: "scripted-user", metadata: { source: "npm run session" }, flow }),
});
if (created.status !== 201) throw new Error(`create failed: ${created.status} ${await created.text()}`);
const { session, clientSecret } = (await created.json()) as {
  session: { id: string };
  clientSecret: { secret: string };
};
console.log(
  `session ${session.id}: streaming ${frames.length} frame(s) and ${(audio.length / 16000).toFixed(1)} s of audio (looped) …`,
);

const client = await ScriptedClient.connect(facet.apiBase, clientSecret.secret);
const closed = await client.stream({ frames, audio, msPerCaptureSecond: 1000 });
const steps = client.messages
  .filter((m) => m.type === "node")
  .map((m) => (m.type === "node" ? m.nodeType : ""));
console.log(`connection closed ${closed.code}; steps: ${steps.join(" → ")}`);

const view = (await (
  await fetch(`${facet.apiBase}/v1/sessions/${session.id}`, {
    headers: { authorization: `Bearer ${facet.apiKey}` },
  })
).json()) as {
  session: {
    status: string;
    report: {
      nodes: { id: string; outcome: string }[];
      risk: { score: number; decision: string; reasons: { code: string }[] };
    } | null;
  };
};
console.log(
  `status ${view.session.status}; nodes: ${view.session.report?.nodes.map((n) => `${n.id}=${n.outcome}`).join(", ")}`,
);
console.log(
  `risk ${view.session.report?.risk.score} → ${view.session.report?.risk.decision}; reasons: ${view.session.report?.risk.reasons.map((r) => r.code).join(", ")}`,
);

for (let i = 0; i < 50; i++) {
  const events = (await (await fetch(new URL("/api/webhooks", facet.demoUrl))).json()) as {
    type: string;
    sessionId: string;
    verified: boolean;
  }[];
  const hook = events.find((e) => e.sessionId === session.id && e.type === "session.completed");
  if (hook) {
    console.log(
      `demo receiver: session.completed ${hook.verified ? "signature verified ✓" : "SIGNATURE INVALID ✗"}`,
    );
    process.exit(hook.verified ? 0 : 1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
console.error("demo receiver: no session.completed within 10 s");
process.exit(1);
