// downloadModel and resolveModel against a local HTTP server on 127.0.0.1
// (ephemeral port) that serves ../shared/models/ggml-tiny.en-random.bin as
// ggml-tiny.en.bin, with behaviours chosen by path prefix: plain (honours
// Range), cut (drops the connection half-way through its first response),
// norange (ignores Range), redirect, loop, missing, flaky (503). Under /small
// it serves the model's first MiB instead, for the tests whose point is not
// the size. The server closes itself after the tests; every request is logged.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WhisperError } from '../../lib/errors.js';
import {
  MODELS,
  defaultCacheDir,
  downloadModel,
  resolveModel,
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
}

let model: Buffer;
let modelSha1 = '';
/** The model's first MiB, served under /small. */
let small: Buffer;
let smallSha1 = '';
let server: Server;
let baseUrl = '';
let requests: LoggedRequest[] = [];
let cutDone = false;
let tempRoot = '';

/** Answers a GET for `body`: 206 for a satisfiable Range if `honourRange`, 416 past the end, else 200. */
function serveBytes(
  res: ServerResponse,
  body: Buffer,
  range: string | undefined,
  honourRange: boolean,
): void {
  const match = honourRange ? /^bytes=(\d+)-$/.exec(range ?? '') : null;
  if (match === null) {
    res.writeHead(200, { 'content-length': body.length }).end(body);
    return;
  }
  const start = Number(match[1]);
  if (start >= body.length) {
    res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    return;
  }
  res.writeHead(206, {
    'content-length': body.length - start,
    'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
  });
  res.end(body.subarray(start));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const range = req.headers.range;
  requests.push({ path: url, range });
  const prefix = url.startsWith('/small/') ? '/small' : '';
  const body = prefix === '' ? model : small;
  const [, kind, file] = /^\/([^/]+)\/(.*)$/.exec(url.slice(prefix.length)) ?? [];
  if (kind === 'redirect') {
    res.writeHead(302, { location: `${prefix}/plain/${file}` }).end();
  } else if (kind === 'loop') {
    res.writeHead(302, { location: url }).end();
  } else if (file !== 'ggml-tiny.en.bin' || kind === 'missing') {
    res.writeHead(404).end('not here');
  } else if (kind === 'flaky') {
    res.writeHead(503).end('busy');
  } else if (kind === 'cut' && !cutDone) {
    // Promise the whole file, send half, then drop the connection.
    cutDone = true;
    res.writeHead(200, { 'content-length': body.length });
    res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
  } else {
    serveBytes(res, body, range, kind !== 'norange');
  }
}

beforeAll(async () => {
  tempRoot = mkdtempSync(join(tmpdir(), 'wn-download-'));
  if (!hasShared) return;
  model = readFileSync(randomModelPath);
  modelSha1 = createHash('sha1').update(model).digest('hex');
  small = model.subarray(0, 1 << 20);
  smallSha1 = createHash('sha1').update(small).digest('hex');
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

  it('rejects a malformed sha1 option', async () => {
    await expect(
      downloadModel('tiny', { cacheDir: freshCache(), sha1: 'abc' }),
    ).rejects.toMatchObject({
      name: 'WhisperError',
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected 40 hexadecimal digits for sha1 but received "abc"',
    });
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
