// Builds the optional native addon (*.c → build/docs2model_kernels.node: OpenBLAS matMul and fused kernels)
// with one cc command.
// Run by `npm install`/`npm ci` with --optional: any missing piece (compiler, Node headers, cblas.h,
// libopenblas) prints why and exits 0, and training then uses the stock tfjs kernels.
// Usage: node --import tsx src/kernels/native/build.ts [--optional] [--force]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ADDON_PATH, loadKernelAddon } from "./addon.ts";

const here = import.meta.dirname;
const sources = readdirSync(here).filter((f) => f.endsWith(".c")).sort().map((f) => join(here, f));
/** The newest of the C sources and headers: the addon is rebuilt when any of them changed. */
const newestSource = Math.max(...readdirSync(here).filter((f) => /\.[ch]$/.test(f)).map((f) => statSync(join(here, f)).mtimeMs));
const optional = process.argv.includes("--optional");
const force = process.argv.includes("--force");

/** Node's own headers: beside the binary for official and distro builds, else node-gyp's cache. */
function nodeIncludeDir(): string | undefined {
  const candidates = [
    join(dirname(process.execPath), "..", "include", "node"),
    join(homedir(), ".cache", "node-gyp", process.versions.node, "include", "node"),
    join(homedir(), ".node-gyp", process.versions.node, "include", "node"),
    "/usr/include/node",
  ];
  return candidates.find((dir) => existsSync(join(dir, "node_api.h")));
}

function build(): string {
  if (process.platform === "win32") throw new Error("building on Windows is not supported (no cc/OpenBLAS set-up)");
  if (!force && existsSync(ADDON_PATH) && statSync(ADDON_PATH).mtimeMs >= newestSource && loadKernelAddon()) {
    return "up to date";
  }
  const include = nodeIncludeDir();
  if (!include) throw new Error("Node's headers (node_api.h) were not found beside the node binary");
  const cc = process.env.CC ?? "cc";
  mkdirSync(dirname(ADDON_PATH), { recursive: true });
  const tmp = `${ADDON_PATH}.${process.pid}.tmp`;
  // The math flags let sums and dot products vectorize (reordered additions) while keeping infinities
  // and NaNs. -fopenmp gives the fused kernels their own parallel loops (libgomp comes with gcc); a
  // compiler without OpenMP (clang without libomp) gets a second try, single-threaded kernels.
  const args = (openmp: boolean) => ["-O3", "-fPIC", "-shared", "-std=gnu11", "-Wall", ...(openmp ? ["-fopenmp"] : ["-Wno-unknown-pragmas"]), "-fno-math-errno", "-fno-trapping-math", "-fassociative-math", "-fno-signed-zeros",
    ...(process.platform === "darwin" ? ["-undefined", "dynamic_lookup"] : []), `-I${include}`, "-I/usr/include/openblas", ...sources, "-o", tmp, "-lopenblas"];
  let openmp = true;
  try {
    try {
      execFileSync(cc, args(true), { stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") throw error;
      openmp = false;
      execFileSync(cc, args(false), { stdio: ["ignore", "pipe", "pipe"] });
    }
  } catch (error) {
    rmSync(tmp, { force: true });
    const e = error as { code?: string; stderr?: Buffer };
    if (e.code === "ENOENT") throw new Error(`no C compiler (${cc})`);
    const firstLine = e.stderr?.toString().split("\n").find((l) => /error|cannot find/i.test(l)) ?? "compile failed";
    throw new Error(`${firstLine.trim()} (install a C compiler and OpenBLAS: apt-get install -y build-essential libopenblas-dev)`);
  }
  renameSync(tmp, ADDON_PATH);
  const addon = loadKernelAddon();
  if (!addon) {
    rmSync(ADDON_PATH, { force: true });
    throw new Error("the built addon does not load or computes a wrong product");
  }
  return `built ${ADDON_PATH} (${addon.info()}${openmp ? "" : "; without OpenMP: fused kernels single-threaded"})`;
}

try {
  console.error(`native kernels: ${build()}`);
} catch (error) {
  console.error(`native kernels: not built — ${(error as Error).message}; training uses the stock tfjs matMul`);
  process.exitCode = optional ? 0 : 1;
}
