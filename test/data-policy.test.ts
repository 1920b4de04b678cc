// The data issue's loose ends, each found by using the commands: unreadable validation images,
// ICO files in folders, split folders of class folders, the Hub's parquet conversion layout,
// messages that name the right thing, one bad-file policy in predict --json and attention.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { hubConfigSplits } from "../src/data/hf-dataset.js";
import { downloadDataset, selectedParquet } from "../src/hub/dataset-snapshot.js";
import { trainDataSelection } from "../src/train/trainer.js";
import { fixture, root } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "vitlens-data-policy-"));
const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", cwd: root });
const model = join(root, "models", "fashion-mnist-vit");
const sample = (name: string) => join(root, "samples", "fashion", name);

/** dir/<class>/<file> from samples/fashion. */
function classFolders(dir: string, files: Record<string, string[]>): string {
  for (const [cls, names] of Object.entries(files)) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (const n of names) copyFileSync(sample(n), join(dir, cls, n));
  }
  return dir;
}
const truncated = (path: string) => writeFileSync(path, readFileSync(join(root, "samples", "cat.jpg")).subarray(0, 100));

describe("data: every command reads the data people have, and says what it did", () => {
  it("train: unreadable validation images are named, and none readable stops the run instead of a NaN epoch and no best/", () => {
    const train = classFolders(join(tmp, "train"), { Dress: ["3_dress.png"], Bag: ["8_bag.png"] });
    const val = classFolders(join(tmp, "val"), { Dress: ["3_dress.png"], Bag: [] });
    truncated(join(val, "Bag", "broken.jpg"));
    const some = vitlens("train", "--model", model, "--data", train, "--val", val, "--out", join(tmp, "run1"), "--epochs", "1", "--lr", "0");
    assert.equal(some.status, 0, some.stderr);
    assert.match(some.stdout + some.stderr, /warning: skipped .*broken\.jpg: not a readable image \(truncated JPEG\) \(validation\)/);
    const bad = join(tmp, "val-bad");
    mkdirSync(join(bad, "Dress"), { recursive: true });
    truncated(join(bad, "Dress", "a.jpg"));
    const none = vitlens("train", "--model", model, "--data", train, "--val", bad, "--out", join(tmp, "run2"), "--epochs", "1");
    assert.equal(none.status, 1);
    assert.match(none.stderr, /validation: none of the 1 validation image\(s\) could be read \(1 skipped\)/);
  });

  it("ICO files in a folder are images; a folder with one populated class names that class", () => {
    const dir = classFolders(join(tmp, "ico"), { Bag: ["8_bag.png"] });
    copyFileSync(fixture("pixels", "icon.ico"), join(dir, "Bag", "icon.ico"));
    const r = vitlens("eval", "--model", model, "--data", dir, "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).samples, 2);
    const flat = join(tmp, "flat");
    mkdirSync(flat);
    for (const n of ["a", "b", "c"]) copyFileSync(sample("3_dress.png"), join(flat, `3_${n}.png`));
    const t = vitlens("train", "--model", "vit-ti16", "--data", flat, "--val", flat, "--out", join(tmp, "run3"));
    assert.equal(t.status, 1);
    assert.match(t.stderr, /only class "3" holds images; a classifier needs at least two/);
  });

  // train/ + test/, and the Hub's other split words (training/ + dev/): splits, not classes
  for (const [name, train, heldOut] of [["splits", "train", "test"], ["words", "training", "dev"]]) {
    it(`split folders of class folders (${train}/, ${heldOut}/) are splits, not classes: ${train} trains, ${heldOut} is scored and validates`, () => {
      const dir = join(tmp, name);
      classFolders(join(dir, train), { Dress: ["3_dress.png"], Bag: ["8_bag.png"] });
      classFolders(join(dir, heldOut), { Dress: ["3_dress.png"], Trouser: ["1_trouser.png"] });
      const e = vitlens("eval", "--model", model, "--data", dir);
      assert.equal(e.status, 0, e.stderr);
      assert.match(e.stdout, new RegExp(`on class folders .*${name}/${heldOut} \\(2 images, 2 classes\\)`));
      const t = vitlens("train", "--model", model, "--data", dir, "--out", join(tmp, `run-${name}`), "--epochs", "1", "--lr", "0");
      assert.equal(t.status, 0, t.stderr);
      assert.match(t.stdout + t.stderr, new RegExp(`data: class folders .*${name}/${train} .*; validation: class folders .*${name}/${heldOut}`));
    });
  }

  it("without a train split, train takes the first split and validates on another, never the same one", () => {
    const dir = join(tmp, "no-train");
    classFolders(join(dir, "dev"), { Dress: ["3_dress.png"], Bag: ["8_bag.png"] });
    classFolders(join(dir, "test"), { Dress: ["3_dress.png"], Trouser: ["1_trouser.png"] });
    const t = vitlens("train", "--model", model, "--data", dir, "--out", join(tmp, "run-no-train"), "--epochs", "1", "--lr", "0");
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout + t.stderr, /data: class folders .*no-train\/dev .*; validation: class folders .*no-train\/test/);
    // what a Hub download of such a dataset fetches: the split trained on and another to validate on
    const files = ["data/dev-00000.parquet", "data/test-00000.parquet"];
    assert.deepEqual(selectedParquet(files, null, "hf:x/y", trainDataSelection({ val: false }).data), files);
    assert.deepEqual(selectedParquet(files, null, "hf:x/y", trainDataSelection({ val: false, split: "test" }).data), files.slice().reverse());
    assert.deepEqual(selectedParquet([...files, "data/train-00000.parquet"], null, "hf:x/y", trainDataSelection({ val: false }).data),
      ["data/train-00000.parquet", "data/dev-00000.parquet"]);
    // a split the user names is the dataset's own name, as the reader takes it: no download of dev for --split validation
    const converted = ["plain/dev/0000.parquet", "plain/test/0000.parquet"];
    assert.throws(() => selectedParquet(converted, null, "hf:x/y", trainDataSelection({ val: false, split: "validation" }).data), /--split validation: hf:x\/y has splits dev, test/);
    assert.deepEqual(selectedParquet(converted, null, "hf:x/y", trainDataSelection({ val: false, split: "dev" }).data), converted);
  });

  /** hf:x/<name> in its own HF cache, as earlier downloads left it: one parquet file per split, no card; the hub offline. */
  const cachedDataset = (name: string, splits: string[]) => {
    const cache = join(tmp, `hub-cache-${name}`);
    const repo = join(cache, `datasets--x--${name}`);
    const snapshot = join(repo, "snapshots", "e".repeat(40));
    mkdirSync(join(snapshot, "data"), { recursive: true });
    mkdirSync(join(repo, "refs"), { recursive: true });
    writeFileSync(join(repo, "refs", "main"), "e".repeat(40));
    for (const split of splits) copyFileSync(fixture("hf-dataset", "data", "test-00000-of-00001.parquet"), join(snapshot, "data", `${split}-00000.parquet`));
    return { snapshot, hub: { endpoint: "http://127.0.0.1:9", cacheDir: cache, offline: true } };
  };

  it("offline, a cached dataset without a train split trains on what the online run fetched (its first split), not refused", async () => {
    const { snapshot, hub } = cachedDataset("y", ["dev", "test"]);
    const train = trainDataSelection({ val: false }).data;
    // without a card, the cache cannot say the dataset has no other split first: refused, never guessed
    await assert.rejects(downloadDataset("hf:x/y", hub, train), /the cached snapshot has no train split/);
    // a card listing the splits: every one is cached, so the first is the one the online run took
    const card = (splits: string[]) => writeFileSync(join(snapshot, "README.md"),
      `---\nconfigs:\n- config_name: default\n  data_files:\n${splits.map((s) => `  - split: ${s}\n    path: data/${s}-*\n`).join("")}---\n`);
    card(["dev", "test"]);
    assert.equal(await downloadDataset("hf:x/y", hub, train), snapshot);
    assert.equal(await downloadDataset("hf:x/y", hub, trainDataSelection({ val: false, split: "test" }).data), snapshot);
    await assert.rejects(downloadDataset("hf:x/y", hub, trainDataSelection({ val: false, split: "train" }).data), /the cached snapshot has no train split \(it holds/);
    card(["extra", "dev", "test"]); // a split first in the card that the cache lacks: refused
    await assert.rejects(downloadDataset("hf:x/y", hub, train), /the cached snapshot has no train split/);
  });

  it("offline without a card, only a wish's first preference is taken from the cache: eval never scores train because test was not fetched", async () => {
    const { snapshot, hub } = cachedDataset("z", ["train"]);
    const evalWish = { splits: [{ prefer: ["test", "validation", "train"], otherwise: "first-split" as const }] }; // eval's default
    await assert.rejects(downloadDataset("hf:x/z", hub, evalWish), /the cached snapshot holds train but no test split, which the dataset may have \(no card lists its splits\)/);
    assert.equal(await downloadDataset("hf:x/z", hub, { splits: [{ prefer: ["train"], exact: true, otherwise: "refuse" }] }), snapshot); // --split train
    assert.equal(await downloadDataset("hf:x/z", hub, trainDataSelection({ val: false }).data), snapshot); // train: its first preference, held-out optional
  });

  it("the Hub's parquet conversion layout: one folder per config, split folders inside", () => {
    const dir = join(tmp, "converted");
    for (const [config, split] of [["plain", "train"], ["plain", "test"], ["other", "train"]]) {
      mkdirSync(join(dir, config, split), { recursive: true });
      copyFileSync(fixture("hf-dataset", "data", "test-00000-of-00001.parquet"), join(dir, config, split, "0000.parquet"));
    }
    assert.match(vitlens("eval", "--model", model, "--data", dir).stderr, /the dataset has configs other, plain \(one folder each\); pass --config NAME/);
    const r = vitlens("eval", "--model", model, "--data", dir, "--config", "plain");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Hugging Face dataset .*converted \(plain\), split test/);
    // split names are the dataset's own, whatever they are: imdb's unsupervised is not training data, dev stays dev
    const splitsOf = (files: string[], config?: string) => Object.fromEntries(hubConfigSplits(files, null, "hf:x/y", config).splits);
    assert.deepEqual(splitsOf(["plain_text/train/0000.parquet", "plain_text/test/0000.parquet", "plain_text/unsupervised/0000.parquet"]),
      { train: ["plain_text/train/0000.parquet"], test: ["plain_text/test/0000.parquet"], unsupervised: ["plain_text/unsupervised/0000.parquet"] });
    const twoConfigs = ["en/dev/0000.parquet", "en/partial-train/0000.parquet", "en/partial-train/0001.parquet", "fr/unsupervised/0000.parquet"];
    assert.deepEqual(splitsOf(twoConfigs, "en"), { dev: ["en/dev/0000.parquet"], train: ["en/partial-train/0000.parquet", "en/partial-train/0001.parquet"] });
    assert.throws(() => splitsOf(twoConfigs), /hf:x\/y: the dataset has configs en, fr \(one folder each\); pass --config NAME/);
  });

  it("messages name the right thing: a Hub id without owner, every class unknown", () => {
    assert.match(vitlens("eval", "--model", model, "--data", "hf:beans").stderr, /--data hf:beans: expected hf:owner\/name\[@revision\]/);
    const dir = classFolders(join(tmp, "unknown"), { Hat: ["3_dress.png"] });
    const r = vitlens("eval", "--model", model, "--data", dir, "--unknown-classes", "skip");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /none of its images is of a class the model has \("T-shirt\/top", "Trouser", "Pullover", \.\.\. \(10 in all\)\); nothing to evaluate/);
  });

  it("predict --json gives every image a line (the unreadable ones say why); attention skips them too", () => {
    const dir = join(tmp, "mixed");
    mkdirSync(dir);
    copyFileSync(sample("3_dress.png"), join(dir, "3_dress.png"));
    truncated(join(dir, "broken.jpg"));
    const p = vitlens("predict", "--model", model, "--json", dir);
    assert.equal(p.status, 0, p.stderr);
    const lines = p.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.find((l) => l.image.endsWith("broken.jpg")), { image: join(dir, "broken.jpg"), skipped: "not a readable image (truncated JPEG)" });
    assert.equal(lines.find((l) => l.image.endsWith("3_dress.png")).top[0].label, "Dress");
    const a = vitlens("attention", "--model", model, "--out", join(tmp, "maps"), join(dir, "broken.jpg"), join(dir, "3_dress.png"));
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stderr, /skipped .*broken\.jpg: not a readable image \(truncated JPEG\)\n.*1 image drawn, 1 skipped/s);
    assert.equal(vitlens("attention", "--model", model, "--out", join(tmp, "maps"), "--strict", join(dir, "broken.jpg")).status, 1);
  });
});
