// A Ctrl-C that comes after a command's last item stopped nothing: the command exits 0, not 130.
// (SIGINT is emitted to the handler directly: a real one cannot be timed to land after the last image.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { catchInterrupt, stoppedEarly, wasInterrupted, watchInterrupt } from "../src/cli/interrupt.js";

describe("Ctrl-C after the last item", () => {
  it("a claimed Ctrl-C with items left stops early; with every item done it counts as finished", () => {
    watchInterrupt();
    const interrupted = catchInterrupt();
    assert.equal(stoppedEarly(3, 3), false, "no Ctrl-C yet");
    process.emit("SIGINT"); // claimed, no acknowledgement: the handler only sets the flag
    assert.equal(interrupted(), true);
    assert.equal(stoppedEarly(2, 3), true);
    assert.equal(wasInterrupted(), true, "exit 130 while items were left");
    assert.equal(stoppedEarly(3, 3), false);
    assert.equal(wasInterrupted(), false, "every item done: exit 0");
  });
});
