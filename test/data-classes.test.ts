// The data people have: classes matched by name everywhere (folders, CSV, parquet; eval, train,
// --val), Hugging Face datasets written by `datasets` itself (scripts/reference/hf_datasets.py),
// pixels as PIL sees them (EXIF, CMYK, BMP, ICO), one policy for bad files, degenerate data.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { loadModel } from "../src/checkpoint/load.js";
import { alignToModel, foldClassName, matchClassNames } from "../src/data/classes.js";
import { openData } from "../src/data/datasets.js";
import { imagePixels } from "../src/data/preprocess.js";
import { decodeRaw, setExifRotate } from "../src/data/raw-image.js";
import { fixture, maxAbsDiff, root } from "./helpers.js";
import { FakeHub } from "./hub-server.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-classes-"));
const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", cwd: root });
const fashionModel = join(root, "models", "fashion-mnist-vit");
const fashion = join(root, "samples", "fashion");
/** samples/fashion/3_dress.png -> its folder name as a user would write it: "dress" */
const folderName = (file: string) => basename(file, ".png").replace(/^\d+_/, "");

/** Class folders named like the model's labels (lower case, "/" as "-"): sorted, they are not in the head's order. */
function classFolders(out: string, only?: string[]): string {
  for (const f of readdirSync(fashion)) {
    const cls = folderName(f);
    if (only && !only.includes(cls)) continue;
    mkdirSync(join(out, cls), { recursive: true });
    copyFileSync(join(fashion, f), join(out, cls, f));
  }
  return out;
}

/** predict --csv's accuracy against the true class indices of the files. */
function predictAccuracy(files: string[], truth: Map<string, number>): number {
  const csv = join(dir, `p-${Math.random().toString(36).slice(2)}.csv`);
  const r = vitlens("predict", "--model", fashionModel, "--csv", csv, ...files);
  assert.equal(r.status, 0, r.stderr);
  const rows = readFileSync(csv, "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  assert.equal(rows.length, files.length);
  return rows.filter(([f, y]) => truth.get(f) === Number(y)).length / rows.length;
}

describe("one rule for classes: by name, else folded; integer labels are indices", () => {
  it("folding and ambiguity", () => {
    assert.equal(foldClassName("T-shirt/top"), foldClassName("t_shirt_top"));
    assert.equal(foldClassName("Ankle boot"), "ankleboot");
    const m = matchClassNames(["Bag", "t-shirt-top", "ankle_boot", "Sock"], ["T-shirt/top", "Bag", "Ankle boot"]);
    assert.deepEqual([...m.toModel], [1, 0, 2, -1]);
    assert.deepEqual(m.unmatched, ["Sock"]);
    // two model classes that fold alike: only exact names match
    assert.deepEqual([...matchClassNames(["a-b", "a_b", "ab"], ["a-b", "a b"]).toModel], [0, -1, -1]);
  });

  it("eval on class folders named like the labels (another sort order) scores as predict does: 100%", () => {
    const cf = classFolders(join(dir, "cf"));
    const r = vitlens("eval", "--model", fashionModel, "--data", cf, "--json");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const files = readdirSync(fashion).map((f) => join(cf, folderName(f), f));
    const truth = new Map(readdirSync(fashion).map((f) => [f, Number(/^(\d+)_/.exec(f)![1])]));
    assert.equal(out.accuracy, predictAccuracy(files, truth));
    assert.equal(out.accuracy, 1);
    assert.equal(out.perClass[0].label, "T-shirt/top");
    assert.equal(out.perClass[0].count, 1);
    // two classes only: the old positional rule scored 0% here
    const two = classFolders(join(dir, "cf2"), ["dress", "bag"]);
    assert.equal(JSON.parse(vitlens("eval", "--model", fashionModel, "--data", two, "--json").stdout).accuracy, 1);
  });

  it("a CSV of the model's exact names (one holding '/') scores 100%", () => {
    const csv = join(dir, "names.csv");
    writeFileSync(csv, "filename,label\n" + readdirSync(fashion).map((f) => {
      const cfg = JSON.parse(readFileSync(join(fashionModel, "config.json"), "utf8"));
      return `${join(fashion, f)},"${cfg.id2label[/^(\d+)_/.exec(f)![1]]}"`;
    }).join("\n") + "\n");
    const r = vitlens("eval", "--model", fashionModel, "--data", csv, "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).accuracy, 1);
  });

  it("a data class the model lacks: eval names it and stops, or skips its images with --unknown-classes skip", () => {
    const cf = classFolders(join(dir, "cf-unknown"), ["bag", "dress"]);
    mkdirSync(join(cf, "sock"));
    copyFileSync(join(fashion, "8_bag.png"), join(cf, "sock", "x.png"));
    const r = vitlens("eval", "--model", fashionModel, "--data", cf);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^vitlens: error: class\(es\) "sock" of --data .* match none of the model's 10 classes \("T-shirt\/top", "Trouser", "Pullover", \.\.\. \(10 in all\)\); rename them, or pass --unknown-classes skip to leave their 1 image\(s\) out\n$/);
    const s = vitlens("eval", "--model", fashionModel, "--data", cf, "--unknown-classes", "skip", "--json");
    assert.equal(s.status, 0, s.stderr);
    const out = JSON.parse(s.stdout);
    assert.equal(out.samples, 2);
    assert.equal(out.left_out, 1);
    assert.deepEqual(out.unknown_classes, ["sock"]);
  });

  it("train on a subset of the head's classes, named: keeps the head, validates by name, picks best/ on the right number", () => {
    const data = classFolders(join(dir, "subset"), ["dress", "bag", "trouser"]);
    const run = join(dir, "subset-run");
    const r = vitlens("train", "--model", fashionModel, "--data", data, "--val", data, "--epochs", "1", "--lr", "0", "--out", run);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /note: kept the checkpoint's head: 3 of its 10 classes, matched by name/);
    const config = JSON.parse(readFileSync(join(run, "best", "config.json"), "utf8"));
    assert.equal(Object.keys(config.id2label).length, 10);
    assert.equal(config.id2label["8"], "Bag");
    const metrics = readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    // lr 0: the pretrained model, scored by name: every validation image right
    assert.ok(metrics.filter((m) => m.type === "epoch").every((m) => m.val_accuracy === 1), JSON.stringify(metrics.at(-1)));
  });

  it("train on named classes the head lacks: a new head, and the log says which class did not match", () => {
    const data = classFolders(join(dir, "renamed"), ["dress", "bag"]);
    mkdirSync(join(data, "sock"));
    copyFileSync(join(fashion, "8_bag.png"), join(data, "sock", "x.png"));
    const r = vitlens("train", "--model", fashionModel, "--data", data, "--val-split", "0", "--epochs", "1", "--out", join(dir, "renamed-run"));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /note: new head: 3 classes, randomly initialised \(the data's class\(es\) "sock" match none of the checkpoint's 10/);
  });

  it("integer labels beyond the head are refused in eval, naming the count", async () => {
    const flat = join(dir, "flat-big");
    mkdirSync(flat);
    copyFileSync(join(fashion, "8_bag.png"), join(flat, "12_x.png"));
    copyFileSync(join(fashion, "8_bag.png"), join(flat, "1_x.png"));
    const r = vitlens("eval", "--model", fashionModel, "--data", flat);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /integer labels go up to 12 but the model has 10 classes/);
    const ds = await openData(flat);
    assert.throws(() => alignToModel(ds, ["a", "b"], "x"), /labels go up to 12/);
  });
});

describe("degenerate data gets one line", () => {
  it("one class: train stops; empty classes are named", () => {
    const one = classFolders(join(dir, "one"), ["bag"]);
    mkdirSync(join(one, "empty-class"));
    const r = vitlens("train", "--model", "vit-ti16", "--data", one, "--val-split", "0", "--epochs", "1", "--out", join(dir, "one-run"), "--image-size", "28");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /warning: --data .*: class\(es\) with no images: "empty-class"/);
    assert.match(r.stderr, /error: --data .*: only class "bag" holds images; a classifier needs at least two/);
    assert.equal(existsSync(join(dir, "one-run")), false, "a refused run leaves no empty --out folder");
    mkdirSync(join(dir, "mine"));
    const mine = vitlens("train", "--model", "vit-ti16", "--data", one, "--val-split", "0", "--epochs", "1", "--out", join(dir, "mine", "a", "run"), "--image-size", "28");
    assert.equal(mine.status, 1);
    assert.deepEqual(readdirSync(join(dir, "mine")), [], "only the folders the command made are removed");
    assert.equal(existsSync(join(dir, "mine")), true, "the user's own folder stays");
    const flat = join(dir, "flat3");
    mkdirSync(flat);
    for (const k of [0, 1]) copyFileSync(join(fashion, "3_dress.png"), join(flat, `3_${k}.png`));
    const f = vitlens("train", "--model", "vit-ti16", "--data", flat, "--val-split", "0", "--epochs", "1", "--out", join(dir, "flat-run"), "--image-size", "28");
    assert.equal(f.status, 1);
    assert.match(f.stderr, /class\(es\) with no images: "0", "1", "2"/);
  });
});

describe("Hugging Face datasets written by `datasets` (parquet, a card's ClassLabel)", () => {
  const repo = fixture("hf-dataset");

  it("splits, names in ClassLabel order, bytes-embedded, zstd and path-only files", async () => {
    const train = await openData(repo);
    assert.deepEqual(train.classNames, ["Trouser", "T-shirt/top", "Bag", "Ankle boot", "Dress"]);
    assert.equal(train.labelKind, "names");
    assert.equal(train.size, 10);
    const val = await openData(repo, { split: "validation" }); // zstd
    assert.equal(val.size, 5);
    const paths = await openData(fixture("hf-dataset-paths")); // names from the parquet schema's huggingface metadata
    assert.deepEqual(paths.classNames, train.classNames);
    const test = await openData(repo, { split: "test" });
    // the same pixels whether the bytes are embedded or the path is stored
    for (let i = 0; i < test.size; i++) assert.deepEqual((await test.raw(i)).data, (await paths.raw(i)).data);
    await assert.rejects(openData(repo, { split: "nope" }), /--split nope: .* has splits train, validation, test/);
    await assert.rejects(openData(repo, { imageColumn: "nope" }), /--image-column nope: .* has columns image, label/);
  });

  it("configs: a card with two (dataset_info as a list), --config picks one, none given is an error naming them", async () => {
    const multi = join(dir, "multi");
    mkdirSync(join(multi, "a"), { recursive: true });
    mkdirSync(join(multi, "b"), { recursive: true });
    copyFileSync(join(repo, "data", "train-00000-of-00001.parquet"), join(multi, "a", "train.parquet"));
    copyFileSync(join(repo, "data", "test-00000-of-00001.parquet"), join(multi, "b", "data-test.parquet"));
    writeFileSync(join(multi, "README.md"), ["---", "dataset_info:", "- config_name: a", "  features:", "  - name: image", "    dtype: image",
      "  - name: label", "    dtype:", "      class_label:", "        names:", "          '0': x0", "          '1': x1", "          '2': x2", "          '3': x3", "          '4': x4",
      "- config_name: b", "configs:", "- config_name: a", "  data_files: a/*.parquet", "- config_name: b", "  data_files:", "  - split: test", "    path: b/**", "---", ""].join("\n"));
    await assert.rejects(openData(multi), /has configs a, b; pass --config NAME/);
    const a = await openData(multi, { config: "a" });
    assert.deepEqual(a.classNames, ["x0", "x1", "x2", "x3", "x4"]); // the card's names win over the parquet metadata's
    assert.equal(a.size, 10);
    const b = await openData(multi, { config: "b", split: "test" });
    assert.deepEqual(b.classNames, ["Trouser", "T-shirt/top", "Bag", "Ankle boot", "Dress"]); // b's card entry has no features
    await assert.rejects(openData(multi, { config: "c" }), /--config c: .* has configs a, b/);
  });

  it("HF imagefolder metadata.csv (file_name + label names) is read by name", () => {
    const d = join(dir, "imagefolder");
    mkdirSync(d);
    const cfg = JSON.parse(readFileSync(join(fashionModel, "config.json"), "utf8"));
    const rows = readdirSync(fashion).map((f) => {
      copyFileSync(join(fashion, f), join(d, f));
      return `${f},${cfg.id2label[/^(\d+)_/.exec(f)![1]].toLowerCase().replace(/\W+/g, "_")}`;
    });
    writeFileSync(join(d, "metadata.csv"), `file_name,label\n${rows.join("\n")}\n`);
    const r = vitlens("eval", "--model", fashionModel, "--data", d, "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).accuracy, 1);
  });

  it("eval per split = predict --csv on the same images as files; train from scratch names the head in index order", () => {
    const r = vitlens("eval", "--model", fashionModel, "--data", repo, "--split", "test", "--json");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const images = join(fixture("hf-dataset-paths"), "images");
    const cfg = JSON.parse(readFileSync(join(fashionModel, "config.json"), "utf8"));
    const names = ["Trouser", "T-shirt/top", "Bag", "Ankle boot", "Dress"];
    const truth = new Map(readdirSync(images).map((f, k) => [f, Number(cfg.label2id[names[[0, 0, 1, 1, 2, 2, 3, 3, 4, 4][k]]])]));
    assert.equal(out.accuracy, predictAccuracy(readdirSync(images).sort().map((f) => join(images, f)), truth));
    const paths = vitlens("eval", "--model", fashionModel, "--data", fixture("hf-dataset-paths"), "--json");
    assert.equal(JSON.parse(paths.stdout).accuracy, out.accuracy);

    const run = join(dir, "hf-run");
    const t = vitlens("train", "--model", "vit-ti16", "--data", repo, "--epochs", "1", "--image-size", "28", "--patch-size", "7", "--hidden-size", "16",
      "--layers", "1", "--mlp-size", "32", "--heads", "2", "--batch-size", "4", "--out", run);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /validation: Hugging Face dataset .*, split validation \(5 images/);
    const config = JSON.parse(readFileSync(join(run, "best", "config.json"), "utf8"));
    assert.deepEqual(Object.values(config.id2label), names);
  });
});

describe("pixels as PIL sees them (scripts/reference/hf_datasets.py)", () => {
  const pix = (f: string) => fixture("pixels", f);
  const pilRgb = async (f: string) => (await sharp(pix(f)).removeAlpha().raw().toBuffer({ resolveWithObject: true }));

  for (const [file, reference] of [["cmyk.jpg", "cmyk.rgb.png"], ["rgb24.bmp", "rgb24.bmp.rgb.png"], ["palette8.bmp", "palette8.bmp.rgb.png"], ["icon.ico", "icon.ico.rgb.png"], ["exif6.jpg", "exif6.upright.png"]]) {
    it(`${file} decodes to PIL's RGB exactly`, async () => {
      const a = await decodeRaw(pix(file));
      const b = await pilRgb(reference);
      assert.deepEqual([a.height, a.width], [b.info.height, b.info.width]);
      assert.equal(maxAbsDiff(a.data, b.data), 0);
    });
  }

  it("an orientation-6 photo gives its upright pixels' logits; --no-exif-rotate its stored ones", async () => {
    const { model, preprocess } = loadModel(fixture("hf-tiny"));
    const logits = async (f: string) => {
      const t = await imagePixels(await decodeRaw(pix(f)), preprocess); // (3, H, W)
      return model.forward({ data: t.data, shape: [1, ...t.shape] }).logits!.data;
    };
    assert.ok(maxAbsDiff(await logits("exif6.jpg"), await logits("exif6.upright.png")) < 1e-4);
    setExifRotate(false);
    try {
      const stored = await decodeRaw(pix("exif6.jpg"));
      assert.deepEqual([stored.height, stored.width], [64, 48]);
      assert.ok(maxAbsDiff(await logits("exif6.jpg"), await logits("exif6.stored.png")) < 1e-4);
    } finally {
      setExifRotate(true);
    }
    const cli = (...flags: string[]) => JSON.parse(vitlens("predict", "--model", fixture("hf-tiny"), "--json", ...flags, pix("exif6.jpg")).stdout).logits as number[];
    assert.ok(maxAbsDiff(cli(), cli("--no-exif-rotate")) > 1e-3);
  });
});

describe("one policy for bad files", () => {
  it("predict and eval skip an unreadable image, name it in vitlens' words, count it, and exit 0; --strict stops", async () => {
    const cf = classFolders(join(dir, "bad"), ["bag", "dress"]);
    const jpeg = await sharp(join(fashion, "8_bag.png")).jpeg().toBuffer();
    writeFileSync(join(cf, "bag", "broken.jpg"), jpeg.subarray(0, jpeg.length >> 1));
    const csv = join(dir, "bad.csv");
    const p = vitlens("predict", "--model", fashionModel, "--csv", csv, join(cf, "bag"), join(cf, "dress"));
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stderr, /vitlens: skipped .*broken\.jpg: not a readable image \(truncated JPEG\)\n/);
    assert.equal(readFileSync(csv, "utf8").trim().split("\n").length, 3); // header + the two readable images
    const e = vitlens("eval", "--model", fashionModel, "--data", cf, "--json");
    assert.equal(e.status, 0, e.stderr);
    const out = JSON.parse(e.stdout);
    assert.equal(out.samples, 2);
    assert.equal(out.skipped, 1);
    assert.match(out.skippedFiles[0], /broken\.jpg: not a readable image \(truncated JPEG\)/);
    assert.match(e.stderr, /skipped .*broken\.jpg/);
    assert.equal(vitlens("eval", "--model", fashionModel, "--data", cf, "--strict").status, 1);
    assert.equal(vitlens("predict", "--model", fashionModel, "--strict", join(cf, "bag")).status, 1);
  });

  it("a dataset in which nothing is readable exits 1", () => {
    const d = join(dir, "unreadable");
    mkdirSync(join(d, "bag"), { recursive: true });
    writeFileSync(join(d, "bag", "x.png"), "not a png");
    const r = vitlens("eval", "--model", fashionModel, "--data", d);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--data .*: its image could not be read/);
  });
});

describe("hf:owner/name datasets through the hub client (local stand-in hub)", () => {
  it("lists the tree, downloads card and parquet into datasets--owner--name, resumes a cut download, and works offline", async () => {
    const repoDir = fixture("hf-dataset");
    const files = new Map<string, Buffer>([["README.md", readFileSync(join(repoDir, "README.md"))], [".gitattributes", Buffer.from("*.parquet filter=lfs\n")]]);
    for (const f of readdirSync(join(repoDir, "data"))) files.set(`data/${f}`, readFileSync(join(repoDir, "data", f)));
    const testPart = readFileSync(join(repoDir, "data", "test-00000-of-00001.parquet"));
    const converted = new Map<string, Buffer>([["a/test/0000.parquet", testPart], ["b/test/0000.parquet", testPart], ["b/train/0000.parquet", testPart]]);
    const hub = new FakeHub(new Map([
      ["datasets/acme/fashion-tiny", { commit: "c".repeat(40), files }],
      ["datasets/acme/two-configs", { commit: "d".repeat(40), files: converted }],
    ]), null, { cutFirstDownloadAfter: 700 });
    const endpoint = await hub.start();
    const cache = mkdtempSync(join(tmpdir(), "vitlens-hfds-"));
    const env = { ...process.env, HF_ENDPOINT: endpoint, HF_HUB_CACHE: cache };
    const runIn = (hubCache: string, ...args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((ok) => {
      const child = spawn(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { cwd: root, env: { ...env, HF_HUB_CACHE: hubCache } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (status) => ok({ status, stdout, stderr }));
    });
    const run = (...args: string[]) => runIn(cache, ...args);
    try {
      const r = await run("eval", "--model", fashionModel, "--data", "hf:acme/fashion-tiny", "--split", "test", "--json");
      assert.equal(r.status, 0, r.stderr);
      const local = JSON.parse(vitlens("eval", "--model", fashionModel, "--data", repoDir, "--split", "test", "--json").stdout);
      assert.equal(JSON.parse(r.stdout).accuracy, local.accuracy);
      const cdn = hub.log.filter((q) => q.url.startsWith("/cdn/"));
      assert.equal(cdn[1].range, "bytes=700-"); // the cut first download resumed
      assert.ok(hub.log.some((q) => q.url.startsWith("/api/datasets/acme/fashion-tiny/tree/main")));
      const snapshotData = join(cache, "datasets--acme--fashion-tiny", "snapshots", "c".repeat(40), "data");
      assert.deepEqual(readdirSync(snapshotData), ["test-00000-of-00001.parquet"], "eval --split test downloads the test split only");
      const downloads = cdn.length;
      const byDefault = await run("eval", "--model", fashionModel, "--data", "hf:acme/fashion-tiny", "--json");
      assert.equal(byDefault.status, 0, byDefault.stderr);
      assert.equal(JSON.parse(byDefault.stdout).accuracy, local.accuracy, "eval scores test by default");
      assert.equal(hub.log.filter((q) => q.url.startsWith("/cdn/")).length, downloads, "nothing new to download");
      const val = await run("eval", "--model", fashionModel, "--data", "hf:acme/fashion-tiny", "--split", "validation", "--json");
      assert.equal(val.status, 0, val.stderr);
      assert.deepEqual(readdirSync(snapshotData).sort(), ["test-00000-of-00001.parquet", "validation-00000-of-00001.parquet"], "the training split is never fetched for eval");
      const noSplit = await run("eval", "--model", fashionModel, "--data", "hf:acme/fashion-tiny", "--split", "dev");
      assert.equal(noSplit.status, 1);
      assert.match(noSplit.stderr, /--split dev: hf:acme\/fashion-tiny@main has splits /);
      const trainCache = mkdtempSync(join(tmpdir(), "vitlens-hfds-train-"));
      const trained = await runIn(trainCache, "train", "--model", "vit-ti16", "--data", "hf:acme/fashion-tiny", "--image-size", "28", "--patch-size", "7",
        "--hidden-size", "16", "--layers", "1", "--mlp-size", "32", "--heads", "2", "--epochs", "1", "--batch-size", "4", "--out", join(trainCache, "run"));
      assert.equal(trained.status, 0, trained.stderr);
      assert.deepEqual(readdirSync(join(trainCache, "datasets--acme--fashion-tiny", "snapshots", "c".repeat(40), "data")).sort(),
        ["train-00000-of-00001.parquet", "validation-00000-of-00001.parquet"], "train fetches its split and the held-out one, not test");
      // the Hub's parquet conversion with two configs: one config's files only, chosen before any download
      const two = join(cache, "datasets--acme--two-configs", "snapshots", "d".repeat(40));
      const unnamed = await run("eval", "--model", fashionModel, "--data", "hf:acme/two-configs");
      assert.equal(unnamed.status, 1);
      assert.match(unnamed.stderr, /hf:acme\/two-configs@main: the dataset has configs a, b \(one folder each\); pass --config NAME/);
      assert.equal(existsSync(two), false, "nothing downloaded before the config is known");
      const b = await run("eval", "--model", fashionModel, "--data", "hf:acme/two-configs", "--config", "b", "--json");
      assert.equal(b.status, 0, b.stderr);
      assert.equal(JSON.parse(b.stdout).accuracy, local.accuracy);
      assert.deepEqual(readdirSync(two), ["b"]);
      assert.deepEqual(readdirSync(join(two, "b")), ["test"]);
    } finally {
      await hub.stop();
    }
    const offline = await run("eval", "--model", fashionModel, "--data", "hf:acme/fashion-tiny", "--split", "validation", "--json");
    assert.equal(offline.status, 0, offline.stderr); // hub gone: the cached snapshot, with a warning
    assert.match(offline.stderr, /hub unreachable .*using the cached dataset hf:acme\/fashion-tiny@main/);
    const notFetched = await run("eval", "--model", fashionModel, "--data", "hf:acme/fashion-tiny", "--split", "train");
    assert.equal(notFetched.status, 1);
    assert.match(notFetched.stderr, /hf:acme\/fashion-tiny@main: the hub cannot be reached and the cached snapshot has no train split \(it holds validation, test\); run once with the hub reachable/);
    // train would read train (not cached) and validation: refused offline, never trained on test instead
    const offlineTrain = await run("train", "--model", "vit-ti16", "--data", "hf:acme/fashion-tiny", "--epochs", "1", "--out", join(cache, "offline-run"));
    assert.equal(offlineTrain.status, 1);
    assert.match(offlineTrain.stderr, /cached snapshot has no train split/);
    // the reader itself: a split the card names but the folder lacks is an error when asked for, not a reason to pick another
    const snapshot = join(cache, "datasets--acme--fashion-tiny", "snapshots", "c".repeat(40));
    assert.match(vitlens("eval", "--model", fashionModel, "--data", snapshot, "--split", "train").stderr, /--split train: .*: the card names this split but its parquet files are not in the folder \(has validation, test\)/);
    const missing = await run("eval", "--model", fashionModel, "--data", "hf:acme/other");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /hf:acme\/other@main: cannot reach .* and the dataset is not in the cache/);
  });
});

describe("inspect says what preprocessing a model gets, and from where", () => {
  it("config, family convention, flag", () => {
    const hf = vitlens("inspect", "--model", fashionModel);
    assert.match(hf.stdout, /size {10}28x28 {2}\(preprocessor_config\.json\)\n {2}resize {8}straight to the input size {2}\(HF image processors resize straight\)\n {2}interpolation bilinear {2}\(preprocessor_config\.json\)/);
    const timm = vitlens("inspect", "--model", fixture("timm-tiny"), "--crop-pct", "0.9", "--image-size", "32");
    assert.match(timm.stdout, /size {10}32x32 {2}\(--image-size\)/);
    assert.match(timm.stdout, /resize {8}shorter side to size \/ 0\.9, then a centre crop {2}\(--crop-pct\)/);
    assert.match(timm.stdout, /interpolation bicubic {2}\(config\.json pretrained_cfg\)/);
  });
});
