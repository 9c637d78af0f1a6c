/**
 * Two dispatchers of one outbox row (lib/outbox.ts): the one whose message list was not kept
 * deletes the delivery rows only it inserted, else they would stay pending with nothing to send
 * them (docs/reliability.md "Outbox").
 */
import { describe, expect, it } from "vitest";
import type { DeliveryMessage } from "../../lib/events.ts";
import { unannouncedDeliveries } from "../../lib/outbox.ts";

const message = (endpointId: string): DeliveryMessage => ({
  deliveryId: `msg_${endpointId}`,
  endpointId,
  tenantId: "ten_1",
  generation: 0,
});

describe("a dispatcher that lost the race to fix the message list", () => {
  it("withdraws nothing when it saw the same endpoints", () => {
    expect(unannouncedDeliveries([message("a"), message("b")], [message("b"), message("a")])).toEqual([]);
  });

  it("withdraws the deliveries of an endpoint added after the kept list was read", () => {
    expect(unannouncedDeliveries([message("a"), message("c")], [message("a")])).toEqual(["msg_c"]);
  });

  it("withdraws nothing of the kept list when it saw fewer endpoints", () => {
    expect(unannouncedDeliveries([message("a")], [message("a"), message("b")])).toEqual([]);
    expect(unannouncedDeliveries([], [message("a")])).toEqual([]);
  });
});
