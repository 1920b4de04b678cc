// Builds the native addon at install time. A failed build must not fail a user's `npm install`:
// vitlens then runs on the js reference backend and says so once at startup. In CI (the CI
// environment variable set, as every CI service sets it) a failed build fails the install: CI
// proves the addon builds (test/native-boundary.test.ts also fails there without it).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

if (process.env.VITLENS_SKIP_NATIVE === "1") process.exit(0);

// npm exports the path of its bundled node-gyp to lifecycle scripts; outside npm, find it
// beside the npm that runs us.
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const npmCli = process.env.npm_execpath;
  if (npmCli) {
    const bundled = join(dirname(dirname(npmCli)), "node_modules", "node-gyp", "bin", "node-gyp.js");
    if (existsSync(bundled)) return bundled;
  }
  return null;
}

const gyp = nodeGyp();
const result = gyp
  ? spawnSync(process.execPath, [gyp, "rebuild"], { stdio: "inherit" })
  : { status: 1 };
if (result.status !== 0 && process.env.CI) {
  console.error(
    `vitlens: the native addon did not build (${gyp ? `node-gyp exited with ${result.status ?? result.signal}` : "node-gyp not found"}); ` +
      "CI is set, so the install fails (needs libdnnl-dev, g++, make).",
  );
  process.exit(1);
}
if (result.status !== 0) {
  console.warn(
    "vitlens: the native addon did not build (is libdnnl-dev installed? `apt-get install libdnnl-dev g++ make`).\n" +
      "vitlens: installing anyway; it will run on the slow js reference backend. Rebuild with `npm run build:native`.",
  );
}
