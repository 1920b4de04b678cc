// The download lock: a live holder makes others wait (then a clear error), a dead holder's stale
// lock is taken over, and a failed download releases it.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import lockfile from "proper-lockfile";
import { VitlensError } from "../src/errors.js";
import { withFileLock } from "../src/hub/file-lock.js";

const target = () => join(mkdtempSync(join(tmpdir(), "vitlens-lock-")), "weights.pth");

describe("download lock", () => {
  it("waits while another holder has it, says so once, then gives up with the lock's path", async () => {
    const path = target();
    const release = await lockfile.lock(path, { realpath: false });
    const waits: string[] = [];
    let ran = false;
    await assert.rejects(withFileLock(path, { label: "weights.pth", waitMs: 1200, onWait: (l) => waits.push(l) }, async () => void (ran = true)),
      (e: unknown) => e instanceof VitlensError && e.message === `weights.pth: another process has been downloading it for too long (lock ${path}.lock); run again when it is done, or delete the lock if no download is running`);
    assert.equal(ran, false);
    assert.equal(waits.length, 1);
    await release();
  });

  it("runs once the holder releases it", async () => {
    const path = target();
    const release = await lockfile.lock(path, { realpath: false });
    setTimeout(() => void release(), 300);
    const t0 = Date.now();
    assert.equal(await withFileLock(path, { label: "weights.pth" }, async () => 42), 42);
    assert.ok(Date.now() - t0 >= 250);
    assert.ok(!existsSync(`${path}.lock`), "released after the call");
  });

  it("a lock left by a process that died (not refreshed for a minute) is taken over", async () => {
    const path = target();
    mkdirSync(`${path}.lock`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, old, old);
    const t0 = Date.now();
    assert.equal(await withFileLock(path, { label: "weights.pth" }, async () => "ok"), "ok");
    assert.ok(Date.now() - t0 < 2000);
  });

  it("a failed download releases the lock", async () => {
    const path = target();
    await assert.rejects(withFileLock(path, { label: "weights.pth" }, async () => {
      throw new VitlensError("weights.pth: the server said no");
    }), /the server said no/);
    assert.ok(!existsSync(`${path}.lock`));
    assert.equal(await withFileLock(path, { label: "weights.pth", waitMs: 100 }, async () => 1), 1);
  });
});
