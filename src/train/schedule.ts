/** Learning-rate schedules, as functions of progress. */
export type Schedule =
  | { kind: "step"; stepSize: number; gamma: number } // StepLR, stepped per epoch
  | { kind: "cosine"; warmupSteps: number; totalSteps: number; minLr: number } // per step
  | { kind: "constant" };

/** The schedule a run's options name: StepLR per epoch, cosine over every step of the run, or constant. */
export function scheduleFor(
  o: { schedule: "step" | "cosine" | "constant"; stepSize: number; gamma: number; warmupSteps: number; epochs: number }, stepsPerEpoch: number,
): Schedule {
  if (o.schedule === "step") return { kind: "step", stepSize: o.stepSize, gamma: o.gamma };
  if (o.schedule === "cosine") return { kind: "cosine", warmupSteps: o.warmupSteps, totalSteps: o.epochs * stepsPerEpoch, minLr: 0 };
  return { kind: "constant" };
}

/** The learning rate for (epoch, global step), PyTorch StepLR / linear-warmup cosine semantics. */
export function learningRate(s: Schedule, baseLr: number, epoch: number, step: number): number {
  switch (s.kind) {
    case "step":
      return baseLr * s.gamma ** Math.floor(epoch / s.stepSize);
    case "cosine": {
      if (step < s.warmupSteps) return (baseLr * (step + 1)) / s.warmupSteps;
      const t = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
      return s.minLr + 0.5 * (baseLr - s.minLr) * (1 + Math.cos(Math.PI * t));
    }
    case "constant":
      return baseLr;
  }
}
