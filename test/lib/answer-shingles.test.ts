/**
 * What counts as "the same answer" across sessions (durable-objects/session/answer-shingles.ts):
 * normalisation, 3-gram shingles, and the containment rule, on clean text and on what
 * PocketSphinx actually heard from flite voices reading one script (docs/conversation.md
 * "Repetition across sessions" has the full measured matrix).
 */
import { describe, expect, it } from "vitest";
import {
  answerShingles,
  MIN_SHINGLES,
  normalizeAnswer,
  overlap,
  REPEAT_THRESHOLD,
  sameAnswer,
  shingles,
} from "../../durable-objects/session/answer-shingles.ts";

describe("normalizeAnswer", () => {
  it("lower-cases, expands contractions, folds number words to digits and drops fillers", () => {
    expect(normalizeAnswer("Um, I'm sending Two Thousand Four Hundred euros to the bank, uh, today")).toEqual(
      ["i", "am", "sending", "2400", "euros", "to", "bank", "today"],
    );
  });

  it("reads one amount the same whichever way it is said or written", () => {
    const forms = [
      "I paid two thousand four hundred",
      "I paid twenty four hundred",
      "I paid 2,400",
      "I paid 2400",
    ];
    for (const f of forms) expect(normalizeAnswer(f)).toEqual(["i", "paid", "2400"]);
    expect(normalizeAnswer("a hundred and five pounds")).toEqual(["105", "pounds"]);
  });

  it("keeps numbers apart and in order", () => {
    expect(normalizeAnswer("five six and 2,400 dollars")).toEqual(["5", "6", "and", "2400", "dollars"]);
  });
});

describe("shingles", () => {
  it("are the distinct word 3-grams in order", () => {
    expect(shingles(["a", "b", "c", "d", "a", "b", "c"])).toEqual(["a b c", "b c d", "c d a", "d a b"]);
    expect(shingles(["a", "b"])).toEqual([]);
  });

  it("a short answer is never compared", () => {
    expect(answerShingles("yes I did")).toBeNull();
    expect(answerShingles("two thousand four hundred euros to my brother")).toBeNull();
    const long = answerShingles("I am sending the money to my cousin because he needs it for his business");
    expect(long?.length ?? 0).toBeGreaterThanOrEqual(MIN_SHINGLES);
  });
});

// What the recognizer heard (test/tokenizer, flite voices through PocketSphinx, 2026-11-26).
const HEARD = {
  cousinSlt: "hi and sending them money to my cousin because he needed for his new business in the city",
  cousinRms: "i am sending the money to my cousin because he needs it for his new business in the city",
  cousinAwb: "i am sending the money to my cousin because he needed for his new business in the city",
  kitchenSlt: "the payment is for the kitchen renovation an hour builder finished at the end of last month",
  kitchenRms:
    "the payment is for the kitchen renovation that our bill burr finished at the end of last month",
  flatSlt: "i am paying the deposit for a flat that my daughter will are and when she starts university",
  flatRms: "i am paying the deposit for a flat that my daughter will rent when she starts university",
};
const sh = (t: string) => answerShingles(t) ?? [];

describe("sameAnswer", () => {
  it("containment counts shared shingles against the smaller set", () => {
    expect(overlap(["a", "b", "c"], ["a", "b", "c", "d", "e", "f"])).toEqual({ shared: 3, containment: 1 });
    expect(overlap([], ["a"])).toEqual({ shared: 0, containment: 0 });
  });

  it("one script read by different voices is the same answer despite recognition errors", () => {
    expect(sameAnswer(sh(HEARD.cousinSlt), sh(HEARD.cousinRms))).toBe(true);
    expect(sameAnswer(sh(HEARD.cousinRms), sh(HEARD.cousinAwb))).toBe(true);
    expect(sameAnswer(sh(HEARD.kitchenSlt), sh(HEARD.kitchenRms))).toBe(true);
    expect(sameAnswer(sh(HEARD.flatSlt), sh(HEARD.flatRms))).toBe(true);
    expect(overlap(sh(HEARD.cousinSlt), sh(HEARD.cousinRms)).containment).toBeGreaterThanOrEqual(
      REPEAT_THRESHOLD,
    );
  });

  it("different answers are not, even when they open alike (4 of 6 shingles shared)", () => {
    expect(sameAnswer(sh(HEARD.cousinRms), sh(HEARD.flatRms))).toBe(false);
    expect(sameAnswer(sh(HEARD.kitchenRms), sh(HEARD.flatSlt))).toBe(false);
    expect(
      sameAnswer(
        sh("well I am sending the money to my brother today"),
        sh("I am just sending the money to my sister today"),
      ),
    ).toBe(false);
  });
});
