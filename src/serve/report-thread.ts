// The report thread: evaluates a run's best model on its validation data (vitlens report's
// numbers and gallery) off the event loop.
import { workerData } from "node:worker_threads";
import { collectReport } from "../report/collect.js";
import { dataUri } from "../render/report-html.js";
import { blendHeat, rawToPng } from "../render/overlay.js";
import type { Precision } from "../backend/precision.js";
import { serveThread, threadBackend } from "../worker/thread-server.js";

const { threads, precision } = workerData as { threads: number; precision?: Precision };

/** The calls this thread answers (the server calls them through TypedThread<ReportHandlers>). */
const handlers = {
  report: async ({ run }: { run: string }) => {
    const d = await collectReport(run, threadBackend(threads, precision));
    const gallery = await Promise.all(d.gallery.map(async (g) => ({
      name: g.name, label: g.label, predicted: g.predicted, score: g.score, correct: g.correct, map: g.map.title,
      input: dataUri(await rawToPng(g.image)), overlay: dataUri(await rawToPng(blendHeat(g.image, g.map))),
    })));
    const ev = d.evaluation;
    return {
      value: {
        classNames: d.classNames, gallery,
        evaluation: ev && { samples: ev.samples, accuracy: ev.accuracy, top5: ev.top5, loss: ev.loss, perClass: ev.perClass, confusion: ev.confusion },
      },
    };
  },
};

export type ReportHandlers = typeof handlers;

serveThread(() => ({ info: {}, handlers }));
