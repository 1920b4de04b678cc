// `vitlens caption --json` prints captions without a folder of strips (issue 10).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fixture, root } from "./helpers.js";

function vitlens(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("caption --json without --out", () => {
  const images = [fixture("hf-tiny-0.png"), fixture("timm-tiny-0.png")];
  const model = fixture("captioner-tiny");

  it("prints one JSON line per image, the captions --out writes, and writes nothing", () => {
    const cwd = mkdtempSync(join(tmpdir(), "vitlens-caption-json-"));
    const r = vitlens(cwd, "caption", "--model", model, "--json", "--max-len", "4", ...images);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(cwd), []);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { image: string; caption: string; words: string[]; tokens: string[]; score: number });
    assert.deepEqual(lines.map((l) => l.image), images);
    assert.deepEqual(Object.keys(lines[0]), ["image", "caption", "words", "tokens", "score"]);

    const out = join(cwd, "strips");
    const written = vitlens(cwd, "caption", "--model", model, "--out", out, "--max-len", "4", ...images);
    assert.equal(written.code, 0, written.stderr);
    const saved = JSON.parse(readFileSync(join(out, "captions.json"), "utf8")) as Array<Record<string, unknown>>;
    assert.deepEqual(lines, saved.map(({ image, caption, words, tokens, score }) => ({ image, caption, words, tokens, score })));
    assert.ok(lines.every((l) => typeof l.caption === "string" && l.tokens.length > 0 && Number.isFinite(l.score)));
  });

  const refusals: Array<[string, string[], string]> = [
    ["neither --out nor --json", [], "vitlens: error: --out <dir> is required unless --json prints the captions\n"],
    ["--raw without --out", ["--json", "--raw"], "vitlens: error: --raw writes <image>.caption.safetensors into --out: give --out <dir>\n"],
  ];
  for (const [what, flags, message] of refusals) {
    it(`refuses ${what} in one line`, () => {
      const cwd = mkdtempSync(join(tmpdir(), "vitlens-caption-json-"));
      const r = vitlens(cwd, "caption", "--model", model, ...flags, images[0]);
      assert.notEqual(r.code, 0);
      assert.equal(r.stderr, message);
      assert.deepEqual(readdirSync(cwd), []);
    });
  }
});
