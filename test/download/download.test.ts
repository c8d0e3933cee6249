// downloadModel and resolveModel against a local HTTP server on 127.0.0.1
// (ephemeral port) that serves ../shared/models/ggml-tiny.en-random.bin as
// ggml-tiny.en.bin and as ggml-tiny-q5_1.bin (a name without a published
// checksum), with behaviours chosen by path: plain (honours Range and
// If-Range), cut (drops the connection half-way through its first response),
// changing (cut, then serves another file), slow (64 KiB every 10 ms),
// norange (ignores Range), redirect, loop, missing, flaky (503). Leading
// /small serves the model's first MiB instead, for the tests whose point is
// not the size; leading /noetag leaves the ETag out. The server closes itself
// after the tests; every request is logged.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { WhisperError } from '../../lib/errors.js';
import {
  MODELS,
  defaultCacheDir,
  downloadModel,
  resolveModel,
  type DownloadOptions,
  type DownloadProgress,
} from '../../lib/download.js';

// $WHISPER_SHARED, else ../shared beside the repository (as test/helpers/shared.ts
// resolves it; kept local so this file depends on nothing else under test/).
const sharedDir = resolve(
  process.env.WHISPER_SHARED ?? join(__dirname, '..', '..', '..', 'shared'),
);
const randomModelPath = join(sharedDir, 'models', 'ggml-tiny.en-random.bin');
const hasShared = existsSync(randomModelPath);
if (!hasShared)
  console.warn(`${randomModelPath} not found (set WHISPER_SHARED): server tests skipped`);

interface LoggedRequest {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
}

let model: Buffer;
let modelSha1 = '';
/** The model's first MiB, served under /small. */
let small: Buffer;
let smallSha1 = '';
/** The model's second MiB: what /small/changing serves after its cut. */
let smallChanged: Buffer;
let server: Server;
let baseUrl = '';
let requests: LoggedRequest[] = [];
let cutDone = false;
let tempRoot = '';
const etags = new Map<Buffer, string>();

const SERVED_FILES = new Set(['ggml-tiny.en.bin', 'ggml-tiny-q5_1.bin']);
const FLAGS = new Set(['small', 'noetag']);
const SLOW_CHUNK = 64 << 10;
const SLOW_DELAY_MS = 10;

interface Serving {
  honourRange: boolean;
  etag: string | undefined;
  slow: boolean;
}

/** Sends `bytes` and ends the response, at once or SLOW_CHUNK every SLOW_DELAY_MS. */
function send(res: ServerResponse, bytes: Buffer, slow: boolean): void {
  if (!slow) {
    res.end(bytes);
    return;
  }
  let offset = 0;
  const next = (): void => {
    if (res.destroyed) return;
    if (offset >= bytes.length) {
      res.end();
      return;
    }
    res.write(bytes.subarray(offset, offset + SLOW_CHUNK));
    offset += SLOW_CHUNK;
    setTimeout(next, SLOW_DELAY_MS);
  };
  next();
}

/**
 * Answers a GET for `body`: 206 for a satisfiable Range if `honourRange` (and
 * If-Range, when sent, names this body's ETag), 416 past the end, else 200.
 */
function serveBytes(req: IncomingMessage, res: ServerResponse, body: Buffer, how: Serving): void {
  const ifRange = req.headers['if-range'];
  const rangeApplies = how.honourRange && (ifRange === undefined || ifRange === how.etag);
  const match = rangeApplies ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
  const etag = how.etag === undefined ? {} : { etag: how.etag };
  if (match === null) {
    res.writeHead(200, { ...etag, 'content-length': body.length });
    send(res, body, how.slow);
    return;
  }
  const start = Number(match[1]);
  if (start >= body.length) {
    res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    return;
  }
  res.writeHead(206, {
    ...etag,
    'content-length': body.length - start,
    'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
  });
  send(res, body.subarray(start), how.slow);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const ifRange = req.headers['if-range'];
  requests.push({ path: url, range: req.headers.range, ifRange: ifRange?.toString() });
  const segments = url.slice(1).split('/');
  const flags: string[] = [];
  while (segments.length > 2 && FLAGS.has(segments[0]!)) flags.push(segments.shift()!);
  const prefix = flags.map((flag) => `/${flag}`).join('');
  const body = flags.includes('small') ? small : model;
  const etagOf = (bytes: Buffer) => (flags.includes('noetag') ? undefined : etags.get(bytes));
  const [kind, file] = segments;
  if (kind === 'redirect') {
    res.writeHead(302, { location: `${prefix}/plain/${file}` }).end();
  } else if (kind === 'loop') {
    res.writeHead(302, { location: url }).end();
  } else if (segments.length !== 2 || !SERVED_FILES.has(file!) || kind === 'missing') {
    res.writeHead(404).end('not here');
  } else if (kind === 'flaky') {
    res.writeHead(503).end('busy');
  } else if ((kind === 'cut' || kind === 'changing') && !cutDone) {
    // Promise the whole file, send half, then drop the connection.
    cutDone = true;
    const etag = etagOf(body);
    res.writeHead(200, { ...(etag === undefined ? {} : { etag }), 'content-length': body.length });
    res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
  } else {
    const served = kind === 'changing' ? smallChanged : body;
    serveBytes(req, res, served, {
      honourRange: kind !== 'norange',
      etag: etagOf(served),
      slow: kind === 'slow',
    });
  }
}

beforeAll(async () => {
  tempRoot = mkdtempSync(join(tmpdir(), 'wn-download-'));
  if (!hasShared) return;
  model = readFileSync(randomModelPath);
  modelSha1 = createHash('sha1').update(model).digest('hex');
  small = model.subarray(0, 1 << 20);
  smallSha1 = createHash('sha1').update(small).digest('hex');
  smallChanged = model.subarray(1 << 20, 2 << 20);
  for (const bytes of [model, small, smallChanged]) {
    etags.set(bytes, `"${createHash('sha1').update(bytes).digest('hex')}"`);
  }
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Never outlive the tests, even if afterAll is not reached.
  server.unref();
});

afterAll(async () => {
  rmSync(tempRoot, { recursive: true, force: true });
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

let cacheCount = 0;
/** A fresh, empty cache directory and a clean request log. */
function freshCache(): string {
  requests = [];
  return join(tempRoot, `cache-${++cacheCount}`);
}

function sha1Of(path: string): string {
  return createHash('sha1').update(readFileSync(path)).digest('hex');
}

async function rejection(promise: Promise<unknown>): Promise<WhisperError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WhisperError);
  return error as WhisperError;
}

/** The names in a cache directory: the model, and any partial or temporary file left. */
function filesIn(cacheDir: string): string[] {
  return readdirSync(cacheDir).sort();
}

/** A promise that resolves when `onProgress` has seen at least `bytes`, and that callback. */
function progressPast(bytes: number): {
  reached: Promise<void>;
  onProgress: (p: DownloadProgress) => void;
} {
  let reachedResolve!: () => void;
  const reached = new Promise<void>((resolve) => (reachedResolve = resolve));
  return { reached, onProgress: (p) => p.receivedBytes >= bytes && reachedResolve() };
}

/** The pid of a process that has ended (spawned, waited for and reaped). */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  expect(() => process.kill(pid!, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  return pid!;
}

/** Writes `bytes` to `name` in `cacheDir`, last modified `ageMs` ago. */
function writeAged(cacheDir: string, name: string, bytes: Uint8Array, ageMs: number): void {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, name);
  writeFileSync(path, bytes);
  const time = new Date(Date.now() - ageMs);
  utimesSync(path, time, time);
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * A fresh instance of lib/download.ts, with its own table of downloads under
 * way: as far as merging goes, another process sharing the cache directory.
 */
async function anotherProcess(): Promise<typeof import('../../lib/download.js')> {
  vi.resetModules();
  const other = await import('../../lib/download.js');
  expect(other.downloadModel).not.toBe(downloadModel);
  return other;
}

describe.skipIf(!hasShared)('downloadModel against a local server', () => {
  it('downloads, verifies and renames into the cache, reporting progress', async () => {
    const cacheDir = freshCache();
    const progress: DownloadProgress[] = [];
    const path = await downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/plain`,
      sha1: modelSha1,
      onProgress: (p) => progress.push(p),
    });
    expect(path).toBe(join(cacheDir, 'ggml-tiny.en.bin'));
    expect(sha1Of(path)).toBe(modelSha1);
    expect(existsSync(`${path}.partial`)).toBe(false);
    expect(progress.at(-1)).toEqual({ receivedBytes: model.length, totalBytes: model.length });
    expect(
      progress.every((p, i) => i === 0 || p.receivedBytes > progress[i - 1]!.receivedBytes),
    ).toBe(true);
    // A second call finds the file and does not ask the server.
    expect(await downloadModel('tiny.en', { cacheDir, baseUrl: `${baseUrl}/plain` })).toBe(path);
    expect(requests).toHaveLength(1);
  });

  it('keeps the partial file when the connection drops, and resumes it with a Range request', async () => {
    const cacheDir = freshCache();
    cutDone = false;
    const options = { cacheDir, baseUrl: `${baseUrl}/cut`, sha1: modelSha1 };
    const error = await rejection(downloadModel('tiny.en', { ...options, retries: 0 }));
    expect(error.code).toBe('ERR_DOWNLOAD_NETWORK');
    const partial = join(cacheDir, 'ggml-tiny.en.bin.partial');
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(model.length);

    const path = await downloadModel('tiny.en', options);
    expect(sha1Of(path)).toBe(modelSha1);
    expect(requests.map((r) => r.range)).toEqual([undefined, `bytes=${kept}-`]);
  });

  it('retries a dropped connection by itself, resuming where it stopped', async () => {
    const cacheDir = freshCache();
    cutDone = false;
    const path = await downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/cut`,
      sha1: smallSha1,
    });
    expect(sha1Of(path)).toBe(smallSha1);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.range).toMatch(/^bytes=\d+-$/);
  });

  it('starts over when the server ignores Range (200 instead of 206)', async () => {
    const cacheDir = freshCache();
    const partial = join(cacheDir, 'ggml-tiny.en.bin.partial');
    // A stale partial whose bytes are wrong: if they were kept the SHA-1 would fail.
    await import('node:fs/promises').then((fs) => fs.mkdir(cacheDir, { recursive: true }));
    writeFileSync(partial, Buffer.alloc(1000, 0xee));
    const path = await downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/norange`,
      sha1: smallSha1,
    });
    expect(requests.map((r) => r.range)).toEqual(['bytes=1000-']);
    expect(statSync(path).size).toBe(small.length);
    expect(sha1Of(path)).toBe(smallSha1);
  });

  it('starts over when the partial is already as long as the file (416)', async () => {
    const cacheDir = freshCache();
    await import('node:fs/promises').then((fs) => fs.mkdir(cacheDir, { recursive: true }));
    writeFileSync(join(cacheDir, 'ggml-tiny.en.bin.partial'), Buffer.alloc(small.length + 10));
    const path = await downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/plain`,
      sha1: smallSha1,
    });
    expect(sha1Of(path)).toBe(smallSha1);
    expect(requests.map((r) => r.range)).toEqual([`bytes=${small.length + 10}-`, undefined]);
  });

  it('follows redirects, up to a limit', async () => {
    const cacheDir = freshCache();
    const path = await downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/redirect`,
      sha1: smallSha1,
    });
    expect(sha1Of(path)).toBe(smallSha1);
    expect(requests.map((r) => r.path)).toEqual([
      '/small/redirect/ggml-tiny.en.bin',
      '/small/plain/ggml-tiny.en.bin',
    ]);

    const loop = await rejection(
      downloadModel('tiny.en', {
        cacheDir: freshCache(),
        baseUrl: `${baseUrl}/small/loop`,
        maxRedirects: 3,
      }),
    );
    expect(loop.code).toBe('ERR_DOWNLOAD_REDIRECT');
    expect(loop.message).toBe(
      `More than 3 redirects, starting at ${baseUrl}/small/loop/ggml-tiny.en.bin`,
    );
    expect(requests).toHaveLength(4);
  });

  it('deletes the download when its SHA-1 does not match the published one', async () => {
    const cacheDir = freshCache();
    // No sha1 option: the table's checksum of the real tiny.en, which the random model does not have.
    const error = await rejection(
      downloadModel('tiny.en', { cacheDir, baseUrl: `${baseUrl}/small/plain` }),
    );
    expect(error.code).toBe('ERR_DOWNLOAD_CHECKSUM');
    expect(error.message).toBe(
      `ggml-tiny.en.bin from ${baseUrl}/small/plain/ggml-tiny.en.bin has SHA-1 ${smallSha1}, ` +
        'expected c78c86eb1a8faa21b369bcd33207cc90d64ae9df; the download was deleted',
    );
    expect(existsSync(join(cacheDir, 'ggml-tiny.en.bin.partial'))).toBe(false);
    expect(existsSync(join(cacheDir, 'ggml-tiny.en.bin'))).toBe(false);
  });

  it('reports an HTTP error status without retrying a 404', async () => {
    const cacheDir = freshCache();
    const error = await rejection(
      downloadModel('tiny.en', { cacheDir, baseUrl: `${baseUrl}/small/missing` }),
    );
    expect(error.code).toBe('ERR_DOWNLOAD_HTTP');
    expect(error.status).toBe(404);
    expect(error.message).toBe(
      `GET ${baseUrl}/small/missing/ggml-tiny.en.bin answered HTTP 404 Not Found`,
    );
    expect(requests).toHaveLength(1);
  });

  it('retries a 5xx a bounded number of times', async () => {
    const cacheDir = freshCache();
    const error = await rejection(
      downloadModel('tiny.en', { cacheDir, baseUrl: `${baseUrl}/small/flaky`, retries: 2 }),
    );
    expect(error.status).toBe(503);
    expect(requests).toHaveLength(3);
  });

  it('rejects with the reason of an aborted signal', async () => {
    const reason = new Error('cancelled');
    await expect(
      downloadModel('tiny.en', {
        cacheDir: freshCache(),
        baseUrl: `${baseUrl}/small/plain`,
        signal: AbortSignal.abort(reason),
      }),
    ).rejects.toBe(reason);
  });

  it('stops mid-transfer when the signal aborts, keeping the partial file to resume', async () => {
    const cacheDir = freshCache();
    const controller = new AbortController();
    const reason = new Error('cancelled mid-way');
    const download = downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/plain`,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.receivedBytes >= 1 << 20) controller.abort(reason);
      },
    });
    await expect(download).rejects.toBe(reason);
    const kept = statSync(join(cacheDir, 'ggml-tiny.en.bin.partial')).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(model.length);
    expect(requests).toHaveLength(1);
  });

  it('passes an error thrown by onProgress through, without retrying', async () => {
    const thrown = new Error('from the callback');
    await expect(
      downloadModel('tiny.en', {
        cacheDir: freshCache(),
        baseUrl: `${baseUrl}/small/plain`,
        onProgress: () => {
          throw thrown;
        },
      }),
    ).rejects.toBe(thrown);
    expect(requests).toHaveLength(1);
  });

  it('joins a download of the same file already under way in this process', async () => {
    const cacheDir = freshCache();
    const options = { cacheDir, baseUrl: `${baseUrl}/small/plain`, sha1: smallSha1 };
    const [first, second] = await Promise.all([
      downloadModel('tiny.en', options),
      downloadModel('tiny.en', options),
    ]);
    expect(second).toBe(first);
    expect(requests).toHaveLength(1);
    expect(sha1Of(first)).toBe(smallSha1);
  });

  it('shares one download between calls that spell the cache directory differently', async () => {
    const cacheDir = freshCache();
    const options = { baseUrl: `${baseUrl}/small/slow`, sha1: smallSha1 };
    const spelled = relative(process.cwd(), cacheDir);
    expect(spelled).not.toBe(cacheDir);
    const [absolute, relativePath] = await Promise.all([
      downloadModel('tiny.en', { ...options, cacheDir }),
      downloadModel('tiny.en', { ...options, cacheDir: spelled }),
    ]);
    // Each call gets the path as it spelled it.
    expect(absolute).toBe(join(cacheDir, 'ggml-tiny.en.bin'));
    expect(relativePath).toBe(join(spelled, 'ggml-tiny.en.bin'));
    expect(requests).toHaveLength(1);
    expect(readFileSync(absolute).equals(small)).toBe(true);
    expect(filesIn(cacheDir)).toEqual(['ggml-tiny.en.bin']);
  });

  it('two downloads that cannot share one (two processes) never write the same file', async () => {
    const cacheDir = freshCache();
    const other = await anotherProcess();
    // The slow one starts first; the fast one starts while the slow one is
    // writing, finishes first and installs the file while the slow one goes on.
    const { reached, onProgress } = progressPast(1);
    const slow = downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/slow`,
      sha1: smallSha1,
      onProgress,
    });
    await reached;
    const fast = other.downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/plain`,
      sha1: smallSha1,
    });
    const path = join(cacheDir, 'ggml-tiny.en.bin');
    expect(await fast).toBe(path);
    expect(readFileSync(path).equals(small)).toBe(true);
    expect(await slow).toBe(path);
    expect(readFileSync(path).equals(small)).toBe(true);
    expect(requests.map((r) => r.range)).toEqual([undefined, undefined]);
    expect(filesIn(cacheDir)).toEqual(['ggml-tiny.en.bin']);
  });

  it('of two processes resuming one partial file, one claims it and the other starts from zero', async () => {
    const cacheDir = freshCache();
    const other = await anotherProcess();
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, 'ggml-tiny.en.bin.partial'), small.subarray(0, 300_000));
    const options = { cacheDir, baseUrl: `${baseUrl}/small/slow`, sha1: smallSha1 };
    const results = await Promise.all([
      downloadModel('tiny.en', options),
      other.downloadModel('tiny.en', options),
    ]);
    expect(results).toEqual([
      join(cacheDir, 'ggml-tiny.en.bin'),
      join(cacheDir, 'ggml-tiny.en.bin'),
    ]);
    expect(readFileSync(results[0]).equals(small)).toBe(true);
    expect(requests.map((r) => r.range).sort()).toEqual(['bytes=300000-', undefined]);
    expect(filesIn(cacheDir)).toEqual(['ggml-tiny.en.bin']);
  });

  it("deletes the files of killed downloads of the model once an hour old, keeping live pids' and the resumable partial", async () => {
    const cacheDir = freshCache();
    const dead = deadPid();
    const bytes = Buffer.alloc(1000, 0xee);
    // Killed over an hour ago: deleted.
    writeAged(cacheDir, `ggml-tiny.en.bin.${dead}.0123456789ab.partial`, bytes, 2 * HOUR_MS);
    // Kept: unwritten for less than an hour (a download on another machine
    // sharing the folder, whose pid means nothing here); a live process's
    // (this one's, its parent's); another model's; not a download's name.
    const kept = [
      [`ggml-tiny.en.bin.${dead}.ba9876543210.partial`, 0.9 * HOUR_MS],
      [`ggml-tiny.en.bin.${process.pid}.aaaaaaaaaaaa.partial`, 2 * HOUR_MS],
      [`ggml-tiny.en.bin.${process.ppid}.bbbbbbbbbbbb.partial`, 2 * HOUR_MS],
      [`ggml-base.en.bin.${dead}.cccccccccccc.partial`, 2 * HOUR_MS],
      [`ggml-tiny.en.bin.${dead}.notes.partial`, 2 * HOUR_MS],
    ] as const;
    for (const [name, age] of kept) writeAged(cacheDir, name, bytes, age);
    // What a failed download gave back, however old: resumed, not deleted.
    writeAged(cacheDir, 'ggml-tiny.en.bin.partial', small.subarray(0, 300_000), 48 * HOUR_MS);
    const path = await downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/plain`,
      sha1: smallSha1,
    });
    expect(readFileSync(path).equals(small)).toBe(true);
    expect(requests.map((r) => r.range)).toEqual(['bytes=300000-']);
    expect(filesIn(cacheDir)).toEqual(['ggml-tiny.en.bin', ...kept.map(([name]) => name)].sort());
  });

  it('verifies the file on disk, not the bytes received: a file another writer changed is not installed', async () => {
    const cacheDir = freshCache();
    // Another writer (an older version of this package, say) appends to the
    // download's file after its last chunk.
    const error = await rejection(
      downloadModel('tiny.en', {
        cacheDir,
        baseUrl: `${baseUrl}/small/plain`,
        sha1: smallSha1,
        onProgress: (p) => {
          if (p.receivedBytes !== p.totalBytes) return;
          for (const name of filesIn(cacheDir).filter((n) => n.endsWith('.partial'))) {
            appendFileSync(join(cacheDir, name), 'appended by another writer');
          }
        },
      }),
    );
    expect(error.code).toBe('ERR_DOWNLOAD_CHECKSUM');
    expect(filesIn(cacheDir)).toEqual([]);
  });

  it("a call's abort rejects that call only: the download goes on for the others", async () => {
    const cacheDir = freshCache();
    const controller = new AbortController();
    const reason = new Error('the first caller gave up');
    const options = { cacheDir, baseUrl: `${baseUrl}/small/slow`, sha1: smallSha1 };
    const first = downloadModel('tiny.en', {
      ...options,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.receivedBytes >= 256 << 10) controller.abort(reason);
      },
    });
    const seen: number[] = [];
    const second = downloadModel('tiny.en', {
      ...options,
      onProgress: (p) => seen.push(p.receivedBytes),
    });
    await expect(first).rejects.toBe(reason);
    expect(await second).toBe(join(cacheDir, 'ggml-tiny.en.bin'));
    expect(sha1Of(join(cacheDir, 'ggml-tiny.en.bin'))).toBe(smallSha1);
    // The joining call got progress of its own, to the end.
    expect(seen.at(-1)).toBe(small.length);
    expect(requests).toHaveLength(1);
  });

  it("a call's onProgress that throws rejects that call only", async () => {
    const cacheDir = freshCache();
    const thrown = new Error('from the first callback');
    const options = { cacheDir, baseUrl: `${baseUrl}/small/slow`, sha1: smallSha1 };
    const first = downloadModel('tiny.en', {
      ...options,
      onProgress: () => {
        throw thrown;
      },
    });
    const second = downloadModel('tiny.en', options);
    await expect(first).rejects.toBe(thrown);
    expect(sha1Of(await second)).toBe(smallSha1);
    expect(requests).toHaveLength(1);
  });

  it('stops a shared download once every call has aborted, keeping its bytes to resume', async () => {
    const cacheDir = freshCache();
    const options = { cacheDir, baseUrl: `${baseUrl}/small/slow`, sha1: smallSha1 };
    const controllers = [new AbortController(), new AbortController()];
    const reasons = [new Error('first gave up'), new Error('second gave up')];
    const calls = [0, 1].map((i) =>
      downloadModel('tiny.en', {
        ...options,
        signal: controllers[i]!.signal,
        onProgress: (p) => {
          if (p.receivedBytes >= (i + 1) * (256 << 10)) controllers[i]!.abort(reasons[i]);
        },
      }),
    );
    await expect(calls[0]).rejects.toBe(reasons[0]);
    await expect(calls[1]).rejects.toBe(reasons[1]);
    // The last call rejected once the download had put its bytes back.
    expect(filesIn(cacheDir)).toEqual(['ggml-tiny.en.bin.partial']);
    const kept = statSync(join(cacheDir, 'ggml-tiny.en.bin.partial')).size;
    expect(kept).toBeGreaterThanOrEqual(512 << 10);
    expect(kept).toBeLessThan(small.length);

    const path = await downloadModel('tiny.en', { ...options, baseUrl: `${baseUrl}/small/plain` });
    expect(sha1Of(path)).toBe(smallSha1);
    expect(requests.map((r) => r.range)).toEqual([undefined, `bytes=${kept}-`]);
  });

  it('does not join calls expecting another SHA-1: each is verified against its own', async () => {
    const cacheDir = freshCache();
    const wrong = 'f'.repeat(40);
    const right = downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/slow`,
      sha1: smallSha1,
    });
    const error = await rejection(
      downloadModel('tiny.en', { cacheDir, baseUrl: `${baseUrl}/small/plain`, sha1: wrong }),
    );
    expect(error.code).toBe('ERR_DOWNLOAD_CHECKSUM');
    expect(error.message).toBe(
      `ggml-tiny.en.bin from ${baseUrl}/small/plain/ggml-tiny.en.bin has SHA-1 ${smallSha1}, ` +
        `expected ${wrong}; the download was deleted`,
    );
    expect(sha1Of(await right)).toBe(smallSha1);
    expect(requests).toHaveLength(2);
    expect(filesIn(cacheDir)).toEqual(['ggml-tiny.en.bin']);
  });

  it('never completes a partial file it cannot verify (a name without a published SHA-1)', async () => {
    const cacheDir = freshCache();
    mkdirSync(cacheDir, { recursive: true });
    // Another file's bytes: completed by a Range request, they would make a wrong model.
    writeFileSync(join(cacheDir, 'ggml-tiny-q5_1.bin.partial'), Buffer.alloc(1000, 0xee));
    const path = await downloadModel('tiny-q5_1', { cacheDir, baseUrl: `${baseUrl}/small/plain` });
    expect(readFileSync(path).equals(small)).toBe(true);
    expect(requests.map((r) => r.range)).toEqual([undefined]);
    expect(filesIn(cacheDir)).toEqual(['ggml-tiny-q5_1.bin']);
  });

  it('resumes an unverified download only with If-Range: a changed file starts over', async () => {
    const cacheDir = freshCache();
    cutDone = false;
    const path = await downloadModel('tiny-q5_1', {
      cacheDir,
      baseUrl: `${baseUrl}/small/changing`,
    });
    // The server's file changed between the cut and the retry: the retry's
    // If-Range names the old one, so the answer is the whole new file.
    expect(readFileSync(path).equals(smallChanged)).toBe(true);
    expect(requests.map((r) => [r.range, r.ifRange])).toEqual([
      [undefined, undefined],
      [expect.stringMatching(/^bytes=\d+-$/), etags.get(small)],
    ]);
  });

  it('restarts an unverified download from zero when the server gives no ETag', async () => {
    const cacheDir = freshCache();
    cutDone = false;
    const path = await downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/noetag/cut`,
      sha1: false,
    });
    expect(requests.map((r) => r.range)).toEqual([undefined, undefined]);
    expect(readFileSync(path).equals(small)).toBe(true);
  });

  it.each<[string, Record<string, unknown> | null, string, string]>([
    ['null options', null, 'ERR_INVALID_ARG_TYPE', 'Expected object for options but received null'],
    [
      'a misspelled option',
      { shaa1: 'x' },
      'ERR_INVALID_ARG_VALUE',
      "Unknown option 'shaa1' in options (did you mean 'sha1'?)",
    ],
    [
      'maxRedirects NaN',
      { maxRedirects: NaN },
      'ERR_INVALID_ARG_VALUE',
      'Expected an integer between 0 and 100 for options.maxRedirects but received NaN',
    ],
    [
      'maxRedirects -1',
      { maxRedirects: -1 },
      'ERR_INVALID_ARG_VALUE',
      'Expected an integer between 0 and 100 for options.maxRedirects but received -1',
    ],
    [
      'maxRedirects as a string',
      { maxRedirects: '3' },
      'ERR_INVALID_ARG_TYPE',
      "Expected number for options.maxRedirects but received type string ('3')",
    ],
    [
      'retries NaN',
      { retries: NaN },
      'ERR_INVALID_ARG_VALUE',
      'Expected an integer between 0 and 100 for options.retries but received NaN',
    ],
    [
      'retries Infinity',
      { retries: Infinity },
      'ERR_INVALID_ARG_VALUE',
      'Expected an integer between 0 and 100 for options.retries but received Infinity',
    ],
    [
      'retries 1.5',
      { retries: 1.5 },
      'ERR_INVALID_ARG_VALUE',
      'Expected an integer between 0 and 100 for options.retries but received 1.5',
    ],
    [
      'a baseUrl that is no URL',
      { baseUrl: 'not a url' },
      'ERR_INVALID_ARG_VALUE',
      'Expected an http: or https: URL without query or fragment for options.baseUrl but received "not a url"',
    ],
    [
      'a baseUrl of another protocol',
      { baseUrl: 'ftp://127.0.0.1/models' },
      'ERR_INVALID_ARG_VALUE',
      'Expected an http: or https: URL without query or fragment for options.baseUrl but received "ftp://127.0.0.1/models"',
    ],
    [
      'a baseUrl with a query',
      { baseUrl: 'http://127.0.0.1:1/models?rev=main' },
      'ERR_INVALID_ARG_VALUE',
      'Expected an http: or https: URL without query or fragment for options.baseUrl but received "http://127.0.0.1:1/models?rev=main"',
    ],
    [
      'a baseUrl that is not a string',
      { baseUrl: new URL('http://127.0.0.1:1') },
      'ERR_INVALID_ARG_TYPE',
      'Expected string for options.baseUrl but received an instance of URL',
    ],
    [
      'a cacheDir that is not a string',
      { cacheDir: 42 },
      'ERR_INVALID_ARG_TYPE',
      'Expected string for options.cacheDir but received type number (42)',
    ],
    [
      'an empty cacheDir',
      { cacheDir: '' },
      'ERR_INVALID_ARG_VALUE',
      "Expected a non-empty string for options.cacheDir but received ''",
    ],
    [
      'a cacheDir with a NUL',
      { cacheDir: 'a\0b' },
      'ERR_INVALID_ARG_VALUE',
      'Expected a path without NUL characters for options.cacheDir but received "a\\u0000b"',
    ],
    [
      'a malformed sha1',
      { sha1: 'abc' },
      'ERR_INVALID_ARG_VALUE',
      'Expected 40 hexadecimal digits for options.sha1 but received "abc"',
    ],
    [
      'an empty sha1 (which skipped the check)',
      { sha1: '' },
      'ERR_INVALID_ARG_VALUE',
      'Expected 40 hexadecimal digits for options.sha1 but received ""',
    ],
    [
      'sha1 true',
      { sha1: true },
      'ERR_INVALID_ARG_TYPE',
      'Expected a string or false for options.sha1 but received type boolean (true)',
    ],
    [
      'an onProgress that is not a function',
      { onProgress: 'log' },
      'ERR_INVALID_ARG_TYPE',
      "Expected function for options.onProgress but received type string ('log')",
    ],
    [
      'a signal that is not an AbortSignal',
      { signal: {} },
      'ERR_INVALID_ARG_TYPE',
      'Expected AbortSignal for options.signal but received an instance of Object',
    ],
  ])('rejects %s before any request', async (_, given, code, message) => {
    const cacheDir = freshCache();
    // Valid defaults a bad option replaces: a request would fail fast, with another code.
    const options =
      given === null
        ? null
        : { cacheDir, baseUrl: `${baseUrl}/small/missing`, retries: 0, ...given };
    await expect(downloadModel('tiny.en', options as DownloadOptions)).rejects.toMatchObject({
      name: 'WhisperError',
      code,
      message,
    });
    expect(requests).toEqual([]);
    expect(existsSync(cacheDir)).toBe(false);
  });

  it('rejects a model name that is not a string', async () => {
    await expect(downloadModel(42 as unknown as string)).rejects.toMatchObject({
      name: 'WhisperError',
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'Expected string for name but received type number (42)',
    });
  });

  it('resolveModel finds the downloaded file by name, or a path as it is', async () => {
    const cacheDir = freshCache();
    const path = await downloadModel('tiny.en', {
      cacheDir,
      baseUrl: `${baseUrl}/small/plain`,
      sha1: smallSha1,
    });
    expect(await resolveModel('tiny.en', { cacheDir })).toBe(path);
    expect(await resolveModel(randomModelPath, { cacheDir })).toBe(randomModelPath);
  });
});

describe('downloadModel: the files of downloads killed mid-way', () => {
  it('deletes those of a model already in the cache too, without a request', async () => {
    const cacheDir = freshCache();
    const dead = deadPid();
    writeAged(cacheDir, 'ggml-tiny.en.bin', Buffer.from('a model'), 0);
    writeAged(
      cacheDir,
      `ggml-tiny.en.bin.${dead}.0123456789ab.partial`,
      Buffer.alloc(10),
      1.1 * HOUR_MS,
    );
    const path = await downloadModel('tiny.en', { cacheDir, baseUrl: 'http://127.0.0.1:1' });
    expect(path).toBe(join(cacheDir, 'ggml-tiny.en.bin'));
    expect(filesIn(cacheDir)).toEqual(['ggml-tiny.en.bin']);
  });

  it('claims an old partial file as a fresh one, which no other machine takes for a leftover', async () => {
    const cacheDir = freshCache();
    writeAged(cacheDir, 'ggml-tiny.en.bin.partial', Buffer.alloc(1000), 48 * HOUR_MS);
    // A server that never answers: once it has the request, the download
    // has claimed the file and waits, not a byte written.
    let requested!: () => void;
    const asked = new Promise<void>((resolve) => (requested = resolve));
    const silent = createServer(() => requested());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const controller = new AbortController();
      const download = downloadModel('tiny.en', {
        cacheDir,
        baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        sha1: 'a'.repeat(40),
        signal: controller.signal,
      });
      await asked;
      const claimed = filesIn(cacheDir).find((name) => name.includes(`.${process.pid}.`));
      expect(claimed).toBeDefined();
      // Not a byte written yet, and yet modified now: not the partial's 48 hours ago.
      const stats = statSync(join(cacheDir, claimed!));
      expect(stats.size).toBe(1000);
      expect(Date.now() - stats.mtimeMs).toBeLessThan(60_000);
      controller.abort(new Error('done'));
      await expect(download).rejects.toThrow('done');
      // Given back for a later call to resume.
      expect(filesIn(cacheDir)).toEqual(['ggml-tiny.en.bin.partial']);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('resolveModel without a download', () => {
  it('says how to download a known name that is not cached', async () => {
    const cacheDir = freshCache();
    const error = await rejection(resolveModel('base.en', { cacheDir }));
    expect(error.code).toBe('ERR_MODEL_NOT_FOUND');
    expect(error.message).toBe(
      `Model base.en is not downloaded (looked for ${join(cacheDir, 'ggml-base.en.bin')}); ` +
        'run `npx whisper-native download base.en` first',
    );
  });

  it('says when something is neither a file nor a model name', async () => {
    const error = await rejection(resolveModel('nope.bin', { cacheDir: freshCache() }));
    expect(error.code).toBe('ERR_MODEL_NOT_FOUND');
    expect(error.message).toMatch(
      /^No model file at .*nope\.bin, and "nope\.bin" is not a model name \(tiny, tiny\.en, /,
    );
  });
});

describe('model table and cache directory', () => {
  it('lists every size with its quantized variants, as ggml-<name>.bin', () => {
    const names = MODELS.map((m) => m.name);
    for (const name of [
      'tiny.en',
      'tiny',
      'base.en',
      'base',
      'small.en',
      'small',
      'medium.en',
      'medium',
      'large-v1',
      'large-v2',
      'large-v3',
      'large-v3-turbo',
      'tiny-q5_1',
      'base-q8_0',
      'large-v3-turbo-q8_0',
    ]) {
      expect(names).toContain(name);
    }
    for (const model of MODELS) {
      expect(model.file).toBe(`ggml-${model.name}.bin`);
      if (model.sha1 !== undefined) expect(model.sha1).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('rejects an unknown name, listing the known ones', async () => {
    const error = await rejection(downloadModel('tiny.fr', { cacheDir: freshCache() }));
    expect(error.code).toBe('ERR_UNKNOWN_MODEL');
    expect(error.message).toMatch(
      /^Unknown model name "tiny\.fr"; expected one of: tiny, tiny\.en, /,
    );
  });

  it('picks $WHISPER_NATIVE_CACHE, else the platform cache directory', () => {
    expect(defaultCacheDir({ WHISPER_NATIVE_CACHE: '/models' }, 'linux', '/home/u')).toBe(
      '/models',
    );
    expect(defaultCacheDir({}, 'linux', '/home/u')).toBe('/home/u/.cache/whisper-native');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/xdg' }, 'linux', '/home/u')).toBe(
      '/xdg/whisper-native',
    );
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u')).toBe(
      '/home/u/.cache/whisper-native',
    );
    expect(defaultCacheDir({}, 'darwin', '/Users/u')).toBe(
      '/Users/u/Library/Caches/whisper-native',
    );
    expect(
      defaultCacheDir({ LOCALAPPDATA: 'C:/Users/u/AppData/Local' }, 'win32', 'C:/Users/u'),
    ).toBe(join('C:/Users/u/AppData/Local', 'whisper-native'));
  });
});
