// Device-side captioner timing without the CLI's dependencies: node scripts/bench-captioner-device.mjs [preset] [beam] [tokens] [iters]
import { captionerPreset } from "../dist/src/caption/captioner-presets.js";
import { benchCaptioner } from "../dist/src/cli/bench-captioner.js";
import { loadHfCaptioner } from "../dist/src/caption/hf-captioner.js";
import { getBackend } from "../dist/src/backend/index.js";
const [spec = "vit-gpt2", beam = "4", tokens = "16", iters = "3"] = process.argv.slice(2);
const be = getBackend();
const t0 = Date.now();
const cap = spec === "vit-gpt2" ? captionerPreset(spec) : loadHfCaptioner(spec);
console.error(`built ${spec} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const r = benchCaptioner(cap, { beam: Number(beam), tokens: Number(tokens), iters: Number(iters), warmup: 1 }, be);
console.log(JSON.stringify({ spec, backend: be.name, threads: be.getThreads?.() ?? 1, ...r, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }));
