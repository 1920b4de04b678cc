// GELU as the product's post-op (the inference MLP's fc1): the same numbers as the product, then
// the backend's own GELU, on both backends.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backends, maxAbsDiff, randomArray } from "./helpers.js";

for (const be of backends()) {
  describe(`matmul with a GELU post-op (${be.name} backend)`, () => {
    it("equals matmul + bias, then geluForward (1e-5)", () => {
      const [m, n, k] = [37, 29, 23];
      const a = randomArray(m * k, 1, 2);
      const w = randomArray(n * k, 2, 0.5);
      const bias = randomArray(n, 3);
      const fused = new Float32Array(m * n);
      be.matmul(a, w, fused, { m, n, k, transB: true, bias, gelu: true });
      const plain = new Float32Array(m * n);
      be.matmul(a, w, plain, { m, n, k, transB: true, bias });
      const want = new Float32Array(m * n);
      be.geluForward(plain, want, m * n);
      assert.ok(maxAbsDiff(fused, want) < 1e-5, `differs by ${maxAbsDiff(fused, want)}`);
      assert.ok(maxAbsDiff(plain, want) > 0.1, "GELU changes the values: the test sees it");
    });
  });
}
