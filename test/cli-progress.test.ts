// Issue 21, progress: every long command reports progress on stderr — a line at each 10% when
// stderr is not a terminal, a cli-progress bar when it is — and --quiet silences it; results stay
// on stdout, untouched.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { root } from "./helpers.js";
import { vitlens } from "./cli-child.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-progress-"));
const model = join(root, "models", "fashion-mnist-vit");
const fashion = join(root, "samples", "fashion");
const samples = readdirSync(fashion).map((f) => join(fashion, f));
const twenty = [...samples, ...samples];

/** Class folders of the bundled samples, each image twice: 20 images. */
const data = join(dir, "cf");
for (const f of readdirSync(fashion)) {
  const cls = join(data, f.replace(/^\d+_|\.png$/g, ""));
  mkdirSync(cls, { recursive: true });
  for (const k of [0, 1]) cpSync(join(fashion, f), join(cls, `${k}.png`));
}

const lines = (stderr: string, label: string) => stderr.split("\n").filter((l) => l.startsWith(`${label} `));

describe("progress when stderr is not a terminal", () => {
  it("predict: a line per 10%, with rate and time left; results unchanged on stdout; --quiet: none", () => {
    const r = vitlens(["predict", "--batch-size", "2", "--model", model, ...twenty]);
    assert.equal(r.code, 0, r.stderr);
    const got = lines(r.stderr, "predict");
    assert.equal(got.length, 10, r.stderr);
    assert.match(got[0], /^predict 2\/20 images \(10%\), [\d.]+ images\/s, (<1 s|about \d+ (s|min)) left$/);
    assert.match(got[9], /^predict 20\/20 images \(100%\), [\d.]+ images\/s$/);
    const quiet = vitlens(["--quiet", "predict", "--batch-size", "2", "--model", model, ...twenty]);
    assert.equal(quiet.stderr, "");
    assert.equal(quiet.stdout, r.stdout);
    const after = vitlens(["predict", "--quiet", "--batch-size", "2", "--model", model, ...twenty]);
    assert.equal(after.stderr, "", "--quiet after the command name works too");
  });

  it("eval, attention, bench: the same lines", () => {
    const e = vitlens(["eval", "--batch-size", "4", "--model", model, "--data", data]);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(lines(e.stderr, "eval").map((l) => l.replace(/,.*/, "")), [4, 8, 12, 16, 20].map((n) => `eval ${n}/20 images (${n * 5}%)`));
    const a = vitlens(["attention", "--model", model, "--out", join(dir, "maps"), ...samples]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(lines(a.stderr, "attention").length, 10, a.stderr);
    const b = vitlens(["bench", "--model", model, "--batch", "1", "--iters", "4", "--warmup", "1"]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(lines(b.stderr, "bench").length, 5, b.stderr);
  });

  it("caption, eval-captioner and report: the same lines", () => {
    const grids = join(root, "samples", "grids");
    const c = vitlens(["caption", "--json", "--model", join(root, "models", "fashion-grid-captioner"), join(grids, "val")]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(lines(c.stderr, "caption").pop()!, /^caption 12\/12 images \(100%\), [\d.]+ images\/s$/);
    assert.ok(lines(c.stderr, "caption").length >= 9, c.stderr);
    assert.equal(c.stdout.trim().split("\n").length, 12);
    const e = vitlens(["eval-captioner", "--model", join(root, "models", "fashion-grid-captioner"), "--captions", join(grids, "val.json"), "--images", grids]);
    assert.equal(e.code, 0, e.stderr);
    assert.match(lines(e.stderr, "eval-captioner").pop()!, /^eval-captioner 12\/12 images \(100%\)/);
    const run = join(dir, "legacy");
    cpSync(join(root, "test", "fixtures", "legacy-runs", "classifier"), run, { recursive: true });
    const r = vitlens(["report", run]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^report 12\/12 validation images \(100%\)/m);
  });
});

describe("progress on a terminal", () => {
  it("a cli-progress bar on stderr (run under script(1)); the results still print whole", { skip: spawnSync("script", ["--version"]).status !== 0 ? "no script(1)" : false }, () => {
    const cmd = [process.execPath, join(root, "bin", "vitlens.js"), "predict", "--batch-size", "1", "--model", model, ...twenty].map((a) => `'${a}'`).join(" ");
    const r = spawnSync("script", ["-qfec", cmd, "/dev/null"], { encoding: "utf8", cwd: root });
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /predict [░█]+ \d+\/20 images \| [\d.-]+ images\/s \| ETA/);
    assert.equal((r.stdout.match(/3_dress\.png\r?\n/g) ?? []).length, 2, "every result printed");
    assert.doesNotMatch(r.stdout, /predict \d+\/20 images \(\d+%\)/, "no plain lines on a terminal");
  });
});
