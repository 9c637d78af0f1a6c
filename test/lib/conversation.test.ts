/**
 * The conversation node's offline condition language (durable-objects/session/conversation.ts):
 * spoken numbers, intents from the documented lexicons, mentions, condition order and prompt
 * templating.
 */
import { describe, expect, it } from "vitest";
import {
  chooseOutcome,
  classifyIntent,
  followUpDue,
  isEvasive,
  mentions,
  parseNumbers,
  renderPrompt,
  replyIntent,
  words,
} from "../../durable-objects/session/conversation.ts";

const data = {
  metadata: { amount: 2400, payee: "ACME Ltd", nested: { n: "500" } },
  providedData: { pin: "1234" },
};
const said = (text: string) => ({ spoke: true, text, recognized: true });

describe("spoken numbers", () => {
  it.each([
    ["five hundred", [500]],
    ["two thousand four hundred", [2400]],
    ["twenty four hundred euros", [2400]],
    ["it was 2,400 euros", [2400]],
    ["2400.50", [2400.5]],
    ["two hundred and fifty", [250]],
    ["a hundred", [100]],
    ["a thousand and one", [1001]],
    ["one million two hundred thousand", [1_200_000]],
    ["twelve point five", [12.5]],
    ["forty-two", [42]],
    ["five six", [5, 6]],
    ["between three hundred and five hundred", [300, 500]],
    ["one thousand nine hundred ninety nine", [1999]],
    ["yes i did", []],
    ["", []],
  ])("%s", (text, expected) => {
    expect(parseNumbers(text)).toEqual(expected);
  });
});

describe("intents", () => {
  it.each([
    ["yes", "affirm"],
    ["yeah I did", "affirm"],
    ["Yes, I authorise it.", "affirm"],
    ["that's correct", "affirm"],
    ["I do", "affirm"],
    ["no", "deny"],
    ["nope", "deny"],
    ["I didn't", "deny"],
    ["I do not", "deny"],
    ["that's not correct", "deny"],
    ["not me", "deny"],
    ["no, yes I did", "deny"],
    ["I refuse to answer", "refuse"],
    ["I won't say", "refuse"],
    ["not telling", "refuse"],
    ["none of your business", "refuse"],
    ["no comment", "refuse"],
    ["I don't know", null],
    ["not sure", null],
    ["the weather is nice", null],
    ["", null],
  ])("%s → %s", (text, intent) => {
    expect(classifyIntent(text)).toBe(intent);
  });

  it("reads a reply as no_reply, unclear or an intent", () => {
    expect(replyIntent({ spoke: false, text: "", recognized: true })).toBe("no_reply");
    expect(replyIntent(said("hmm the weather"))).toBe("unclear");
    expect(replyIntent({ spoke: true, text: "", recognized: true })).toBe("unclear");
    expect(replyIntent(said("yes"))).toBe("affirm");
  });
});

describe("mentions", () => {
  it("matches whole words after NFKC lower-casing", () => {
    expect(mentions("I paid ＡＣＭＥ yesterday", ["acme"])).toBe(true);
    expect(mentions("I paid acme ltd", ["acme ltd"])).toBe(true);
    expect(mentions("acmeltd", ["acme"])).toBe(false);
    expect(mentions("my brother told me to", ["lawyer", "brother"])).toBe(true);
    expect(mentions("nobody", ["body"])).toBe(false);
  });
  it("expands contractions the same way on both sides", () => {
    expect(words("I DON'T — it’s fine")).toEqual(["i", "do", "not", "it", "is", "fine"]);
  });
});

describe("chooseOutcome", () => {
  const outcomes = [
    { when: "refuse", next: "r" },
    { when: "number_equals:amount", next: "eq" },
    { when: "number_near:metadata.amount", next: "near" },
    { when: "mentions:acme, bank", next: "m" },
    { when: "affirm", next: "a" },
    { when: "deny", next: "d" },
    { when: "no_reply", next: "n" },
    { when: "unclear", next: "u" },
    { when: "", next: "f" },
  ];
  it("takes the first matching condition in order", () => {
    expect(chooseOutcome(outcomes, said("two thousand four hundred"), data)).toBe("number_equals:amount");
    expect(chooseOutcome(outcomes, said("about 2,450"), data)).toBe("number_near:metadata.amount");
    expect(chooseOutcome(outcomes, said("three thousand"), data)).toBe("unclear");
    expect(chooseOutcome(outcomes, said("yes it was acme"), data)).toBe("mentions:acme, bank");
    expect(chooseOutcome(outcomes, said("yes"), data)).toBe("affirm");
    expect(chooseOutcome(outcomes, said("no I didn't"), data)).toBe("deny");
    expect(chooseOutcome(outcomes, said("I refuse, 2400"), data)).toBe("refuse");
    expect(chooseOutcome(outcomes, { spoke: false, text: "", recognized: true }, data)).toBe("no_reply");
  });
  it("compares with providedData and string fields", () => {
    const o = [
      { when: "number_equals:providedData.pin", next: "x" },
      { when: "number_equals:metadata.nested.n", next: "y" },
      { when: "", next: "f" },
    ];
    expect(chooseOutcome(o, said("one two three four"), data)).toBe("fallback");
    expect(chooseOutcome(o, said("1234"), data)).toBe("number_equals:providedData.pin");
    expect(chooseOutcome(o, said("five hundred"), data)).toBe("number_equals:metadata.nested.n");
    expect(chooseOutcome(o, said("five hundred"), { metadata: {}, providedData: {} })).toBe("fallback");
  });
  it("without a recognizer decides only no_reply and the fallback", () => {
    const blind = { spoke: true, text: "", recognized: false };
    expect(chooseOutcome(outcomes, blind, data)).toBe("fallback");
    expect(chooseOutcome(outcomes, { spoke: false, text: "", recognized: false }, data)).toBe("no_reply");
    expect(chooseOutcome(outcomes, { spoke: false, text: "", recognized: false }, data, true)).toBe(
      "fallback",
    );
    expect(chooseOutcome([{ when: "affirm", next: "a" }], blind, data)).toBeNull();
  });
});

describe("renderPrompt", () => {
  it("fills metadata and providedData placeholders", () => {
    expect(renderPrompt("Did you pay {{metadata.amount}} euros to {{ metadata.payee }}?", data)).toBe(
      "Did you pay 2400 euros to ACME Ltd?",
    );
    expect(renderPrompt("{{metadata.nested.n}} / {{providedData.pin}} / {{metadata.missing}}", data)).toBe(
      "500 / 1234 / ",
    );
    expect(renderPrompt("{{metadata.nested}} {{other.x}}", data)).toBe(" {{other.x}}");
    expect(
      renderPrompt("{{metadata.payee}}", { metadata: { payee: "x".repeat(600) }, providedData: {} }),
    ).toHaveLength(500);
  });
});

describe("isEvasive", () => {
  it("counts no reply, refusals and content-free unclear replies", () => {
    expect(isEvasive({ spoke: false, text: "", recognized: false }, "no_reply")).toBe(true);
    expect(isEvasive({ spoke: true, text: "", recognized: false }, "fallback")).toBe(false);
    expect(isEvasive(said("not telling"), "refuse")).toBe(true);
    expect(isEvasive(said("hmm well"), "fallback")).toBe(true);
    expect(isEvasive(said("two thousand four hundred"), "number_equals:amount")).toBe(false);
    expect(isEvasive(said("three thousand"), "fallback")).toBe(false);
    expect(isEvasive(said("my lawyer"), "mentions:lawyer")).toBe(false);
    expect(isEvasive(said("yes"), "affirm")).toBe(false);
  });
});

describe("followUpDue", () => {
  const outcomes = [
    { when: "number_equals:amount", next: "ok" },
    { when: "", next: "other" },
  ];
  it("inconsistent: a recognised reply that fell through to the fallback", () => {
    const inconsistent = { when: "inconsistent" as const };
    expect(followUpDue(inconsistent, outcomes, said("three thousand"), "fallback")).toBe(true);
    expect(followUpDue(inconsistent, outcomes, said("2400"), "number_equals:amount")).toBe(false);
    expect(
      followUpDue(inconsistent, outcomes, { spoke: false, text: "", recognized: true }, "fallback"),
    ).toBe(false);
    expect(
      followUpDue(inconsistent, outcomes, { spoke: true, text: "", recognized: false }, "fallback"),
    ).toBe(false);
    expect(followUpDue(inconsistent, [{ when: "", next: "x" }], said("anything"), "fallback")).toBe(false);
  });
  it("evasive: no reply, refusal, or content-free speech", () => {
    const evasive = { when: "evasive" as const };
    expect(followUpDue(evasive, outcomes, { spoke: false, text: "", recognized: true }, "fallback")).toBe(
      true,
    );
    expect(followUpDue(evasive, outcomes, said("not telling"), "fallback")).toBe(true);
    expect(followUpDue(evasive, outcomes, said("three thousand"), "fallback")).toBe(false);
    expect(followUpDue(undefined, outcomes, said("not telling"), "fallback")).toBe(false);
  });
  it("repeated: only when the reply was flagged as repeated across sessions", () => {
    const repeated = { when: "repeated" as const };
    expect(followUpDue(repeated, outcomes, said("2400"), "number_equals:amount", true)).toBe(true);
    expect(followUpDue(repeated, outcomes, said("2400"), "number_equals:amount", false)).toBe(false);
    expect(followUpDue(repeated, outcomes, said("not telling"), "fallback")).toBe(false);
  });
});
