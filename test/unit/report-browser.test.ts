import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/paths.ts";
import { writeReports } from "../../src/report/write.ts";
import { realisticRun } from "./support/realistic-run.ts";
import { removeTempDirs, tempDir } from "./support/fake-cluster.ts";

// report.html as a person opens it: Debian's Chromium (installed by `npm test`
// as root on Debian, scripts/run.sh) driven by playwright-core, on a report
// written from a realistic run (test/unit/support/realistic-run.ts). Where no
// Chromium is installed the checks are skipped, saying so.
const executablePath = "/usr/bin/chromium";
const noChromium = existsSync(executablePath) ? undefined : `no Chromium at ${executablePath}: install Debian's chromium (npm test does, as root on Debian)`;
/** The screenshot docs/report.png is copied from (reports/ is ignored by git). */
const screenshotPath = join(projectRoot, "reports/browser-test/report.png");

interface ChartSeen {
  title: string;
  width: number;
  height: number;
  /** Data marks (bars, points, areas, rules) the browser drew with a size. */
  drawnMarks: number;
}

describe("report.html in a browser", () => {
  let context: BrowserContext | undefined;
  let runDir = "";
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (noChromium) return;
    runDir = await writeReports(tempDir("sc-report-"), realisticRun());
    context = await chromium.launchPersistentContext(tempDir("sc-chromium-profile-"), {
      executablePath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1100, height: 1400 },
    });
    context.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    context.on("weberror", (error) => consoleErrors.push(String(error.error())));
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    removeTempDirs();
  });

  it("opens without a console error, and draws every chart with its marks", async ({ skip }) => {
    if (noChromium || !context) return skip(noChromium ?? "Chromium did not start");
    const page = await context.newPage();
    await page.goto(pathToFileURL(join(runDir, "report.html")).href, { waitUntil: "load" });
    const charts: ChartSeen[] = await page.$$eval("svg.marks", (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const marks = [...svg.querySelectorAll("g.role-mark > *")].filter((mark) => {
          const b = (mark as SVGGraphicsElement).getBBox();
          return b.width > 0 || b.height > 0;
        });
        // Every title text of the chart (a faceted chart has a header per panel besides its own title).
        const title = [...svg.querySelectorAll("g.role-title text")].map((t) => t.textContent).join(" | ");
        return { title, width: box.width, height: box.height, drawnMarks: marks.length };
      }),
    );
    expect(consoleErrors, "console errors").toEqual([]);
    expect(charts.map((c) => c.title)).toEqual([
      "Seconds from the disruption to the first verified query",
      "Recovery after pod deletion, by phase (s)",
      "Timeline: mysqld killed (SIGKILL from the node)",
      expect.stringMatching(/^Acknowledged commits: the design's setup/),
      "Backup and restore of ecomdb (s)",
      expect.stringContaining("fio on a claim like the design's against the baseline"),
    ]);
    for (const chart of charts) {
      expect(chart.width * chart.height, `${chart.title}: drawn area`).toBeGreaterThan(100 * 100);
      expect(chart.drawnMarks, `${chart.title}: data marks drawn with a size`).toBeGreaterThan(0);
    }
    mkdirSync(join(projectRoot, "reports/browser-test"), { recursive: true });
    await page.screenshot({ path: screenshotPath });
    expect(statSync(screenshotPath).size).toBeGreaterThan(20_000);
  }, 60_000);

  it("links every file of the failed check's folder, and each opens", async ({ skip }) => {
    if (noChromium || !context) return skip(noChromium ?? "Chromium did not start");
    const page = await context.newPage();
    await page.goto(pathToFileURL(join(runDir, "report.html")).href, { waitUntil: "load" });
    const links = await page.$$eval(".failure a", (as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(links.map((l) => l.slice(pathToFileURL(runDir).href.length + 1))).toEqual([
      "failures/02-binding/",
      "failures/02-binding/diagnostics.txt",
      "failures/02-binding/events.txt",
      "failures/02-binding/objects.yaml",
      "failures/02-binding/logs/mysql-6d4cf56db6-x7k2p.mysql.log",
    ]);
    for (const link of links) expect(existsSync(fileURLToPath(link)), link).toBe(true);
    await page.goto(links.find((l) => l.endsWith("events.txt"))!);
    expect(await page.textContent("body")).toContain('ProvisioningFailed storageclass.storage.k8s.io "fast-ssd" not found');
    expect(readFileSync(fileURLToPath(links[1]!), "utf8")).toContain('StorageClass "fast-ssd" does not exist');
  }, 60_000);
});
