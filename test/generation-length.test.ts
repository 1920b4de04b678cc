// How long a caption may grow, as transformers 5's _prepare_generated_length decides it: max_new_tokens
// (flag or file) wins, then a max_length a file set, else 20 new tokens; config.json's serialized 20
// (PretrainedConfig's generic default) is not a setting. The BLIP and ViT-GPT-2 parity tests check
// the lengths these give against transformers' own sequences; this file pins each rule.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generatedLength, HF_DEFAULTS, readGenerationSettings } from "../src/caption/generation-config.js";

function folder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "vitlens-genlen-"));
  for (const [name, json] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(json));
  return dir;
}

describe("generation length", () => {
  it("max_new_tokens from generation_config.json counts from the tokens fed, and --max-len overrides it", () => {
    const dir = folder({ "generation_config.json": { max_length: 40, max_new_tokens: 7 } });
    const { settings, maxLengthSet } = readGenerationSettings(dir, {});
    assert.equal(settings.maxNewTokens, 7);
    assert.equal(maxLengthSet, true);
    assert.equal(generatedLength(settings, maxLengthSet, 3, undefined), 10, "max_length is ignored when max_new_tokens is set");
    assert.equal(generatedLength(settings, maxLengthSet, 3, 2), 5);
  });

  it("a max_length in generation_config.json is the total length, even 20", () => {
    const dir = folder({ "generation_config.json": { max_length: 20 } });
    const { settings, maxLengthSet } = readGenerationSettings(dir, { max_length: 50 });
    assert.equal(maxLengthSet, true);
    assert.equal(generatedLength(settings, maxLengthSet, 4, undefined), 20);
  });

  it("config.json's max_length 20 is the generic default, not a setting: 20 new tokens, capped at the positions", () => {
    const { settings, maxLengthSet } = readGenerationSettings(folder({}), { max_length: 20 });
    assert.equal(maxLengthSet, false);
    assert.equal(generatedLength(settings, maxLengthSet, 5, undefined), 25);
    assert.equal(generatedLength(settings, maxLengthSet, 5, undefined, 16), 16);
    const other = readGenerationSettings(folder({}), { max_length: 32 });
    assert.equal(other.maxLengthSet, true, "any other value in config.json was set on purpose");
    assert.equal(generatedLength(other.settings, other.maxLengthSet, 5, undefined), 32);
  });

  it("nothing set: HF's defaults, 20 new tokens", () => {
    const { settings, maxLengthSet } = readGenerationSettings(folder({}), {});
    assert.deepEqual(settings.maxNewTokens, HF_DEFAULTS.maxNewTokens);
    assert.equal(generatedLength(settings, maxLengthSet, 1, undefined), 21);
  });
});
