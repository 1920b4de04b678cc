// Issue 21, outputs: every --out / --csv / --raw / report path is checked (its folder created)
// before any work, by one rule: a path whose folder cannot exist is one line naming the flag,
// before the model is even loaded; a missing folder is created.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fixture, root } from "./helpers.js";
import { vitlens } from "./cli-child.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-outputs-"));
const file = join(dir, "a-file");
writeFileSync(file, "not a folder");
const image = join(root, "samples", "fashion", "3_dress.png");
const absent = join(dir, "no-such-model.safetensors"); // any work would fail on this first

/** One line, naming the flag and the path, before anything else happened. */
function refusedFirst(args: string[], flag: string): void {
  const r = vitlens(args);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^vitlens: error: ${flag} ${file}/\\S+: its folder ${file}: exists and is a file \\(expected a folder\\)\\n$`), r.stderr);
}

describe("outputs are checked before any work", () => {
  it("predict --csv, posemb --out/--raw, attention --out, convert --out, report --out", () => {
    refusedFirst(["predict", "--model", absent, "--csv", join(file, "p.csv"), image], "--csv");
    refusedFirst(["posemb", "--model", absent, "--out", join(dir, "pos.png"), "--raw", join(file, "sim.safetensors")], "--raw");
    refusedFirst(["report", join(root, "test", "fixtures", "legacy-runs", "classifier"), "--out", join(file, "r.html")], "--out");
    const a = vitlens(["attention", "--model", absent, "--out", file, image]);
    assert.match(a.stderr, new RegExp(`^vitlens: error: --out ${file}: exists and is a file \\(expected a folder\\)\\n$`));
    const c = vitlens(["convert", "--model", absent, "--to", "hf", "--out", join(file, "x")]);
    assert.match(c.stderr, new RegExp(`^vitlens: error: --out ${file}/x: cannot be written \\(a part of the path is a file\\)\\n$`));
  });

  it("a missing folder is created, the same for every command", () => {
    const csv = join(dir, "new", "deeper", "p.csv");
    const p = vitlens(["predict", "--model", fixture("hf-tiny"), "--csv", csv, image]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(readFileSync(csv, "utf8"), /^filename,label\n3_dress\.png,\d\n$/);
    const pos = join(dir, "new2", "pos.png");
    const raw = join(dir, "new3", "sim.safetensors");
    const q = vitlens(["posemb", "--model", fixture("hf-tiny"), "--out", pos, "--raw", raw]);
    assert.equal(q.code, 0, q.stderr);
    assert.ok(existsSync(pos) && existsSync(raw));
  });
});
