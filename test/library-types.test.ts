// Issue 21, library: the README's library example compiles against vitlens' published types
// (openModel takes everything --model takes, softmax takes the logits tensor), and does what it says.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import ts from "typescript";
import { jsBackend } from "../src/backend/index.js";
import { loadBatch } from "../src/data/preprocess.js";
import { openModel, softmax, topK, VitlensError } from "../src/index.js";
import { loadModel } from "../src/checkpoint/load.js";
import { fixture, root } from "./helpers.js";
import { FakeHub } from "./hub-server.js";

/** The first ```ts block of README's "## Library" section. */
function readmeExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Library\n"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README's Library section has a ts example");
  return m[1];
}

describe("the README's library example", () => {
  it("type-checks against dist/src/index.d.ts as `vitlens`", () => {
    const dir = mkdtempSync(join(tmpdir(), "vitlens-types-"));
    const file = join(dir, "example.ts");
    writeFileSync(file, readmeExample());
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const program = ts.createProgram([file], {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true,
      noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [join(root, "node_modules", "@types")],
      paths: { vitlens: [join(root, "dist", "src", "index.d.ts")] },
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    assert.deepEqual(problems, []);
  });
});

describe("openModel and softmax", () => {
  const COMMIT = "0123456789abcdef0123456789abcdef01234567";
  const files = new Map(["config.json", "model.safetensors", "preprocessor_config.json"].map((f) => [f, readFileSync(fixture("hf-tiny", f))]));
  const hub = new FakeHub(new Map([["acme/tiny-vit", { commit: COMMIT, files }]]));
  let endpoint = "";
  before(async () => (endpoint = await hub.start()));
  after(() => hub.stop());

  it("openModel loads a Hub id (downloaded), hf-hub: and hf: ids, a folder and a preset; a path-like typo is 'no such file'", async () => {
    const hubOptions = { endpoint, cacheDir: mkdtempSync(join(tmpdir(), "vitlens-hf-")), offline: false };
    const local = loadModel(fixture("hf-tiny"));
    const pixels = await loadBatch([fixture("hf-tiny-0.png")], local.preprocess);
    const expected = local.model.forward(pixels, jsBackend).logits!.data;
    for (const spec of ["acme/tiny-vit", "hf-hub:acme/tiny-vit", "hf:acme/tiny-vit", fixture("hf-tiny")]) {
      const { model, labels } = await openModel(spec, { hub: hubOptions });
      assert.deepEqual(model.forward(pixels, jsBackend).logits!.data, expected, spec);
      assert.deepEqual(labels, local.labels);
    }
    assert.equal((await openModel("vit-ti16", { hub: hubOptions })).model.config.hiddenSize, 192);
    await assert.rejects(openModel("./no/such.safetensors", { hub: hubOptions }), /--model \.\/no\/such\.safetensors: no such file or folder/);
  });

  it("softmax takes the logits tensor (a row per image) or one row; null logits are refused in one line", () => {
    const logits = { data: Float32Array.from([0, Math.log(3), 1, 1]), shape: [2, 2] };
    const rows = softmax(logits);
    assert.deepEqual(rows.map((r) => r.map((p) => Number(p.toFixed(6)))), [[0.25, 0.75], [0.5, 0.5]]);
    assert.deepEqual(softmax(logits.data.subarray(0, 2)), rows[0]);
    assert.deepEqual(topK(rows[0], 1), [{ index: 1, score: rows[0][1] }]);
    assert.throws(() => softmax(null), (e: unknown) => e instanceof VitlensError && /no logits \(the model has no classification head/.test(e.message));
  });
});
