// Model files by name: the table of whisper.cpp's published ggml models, the
// cache directory they are kept in, `downloadModel` (HTTP(S) with redirects,
// resume of partial files by Range requests, retries, sha1 verification,
// atomic rename) and `resolveModel` (a path, or a name already downloaded).
// Uses node:http/node:https only. It does not load or parse models.
import type { Hash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WhisperError } from './errors.js';

/** whisper.cpp's model repository on Hugging Face; `<base>/ggml-<name>.bin`. */
export const DEFAULT_BASE_URL = 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main';

export interface ModelEntry {
  /** The name users type: `tiny.en`, `large-v3-turbo-q5_0`, ... */
  name: string;
  /** The file in the repository and in the cache: `ggml-<name>.bin`. */
  file: string;
  /**
   * SHA-1 of the file as whisper.cpp's models/README.md publishes it;
   * undefined where it publishes none (those downloads are not verified
   * unless the caller passes `sha1`).
   */
  sha1: string | undefined;
}

// Names: those of whisper.cpp's models/download-ggml-model.sh (its tdrz model
// lives in another repository and is left out). Checksums: only those listed
// in whisper.cpp's models/README.md; the quantized files it does not list
// stay undefined rather than guessed.
const MODEL_CHECKSUMS: [name: string, sha1: string | undefined][] = [
  ['tiny', 'bd577a113a864445d4c299885e0cb97d4ba92b5f'],
  ['tiny.en', 'c78c86eb1a8faa21b369bcd33207cc90d64ae9df'],
  ['tiny-q5_1', undefined],
  ['tiny.en-q5_1', undefined],
  ['tiny-q8_0', undefined],
  ['base', '465707469ff3a37a2b9b8d8f89f2f99de7299dac'],
  ['base.en', '137c40403d78fd54d454da0f9bd998f78703390c'],
  ['base-q5_1', undefined],
  ['base.en-q5_1', undefined],
  ['base-q8_0', undefined],
  ['small', '55356645c2b361a969dfd0ef2c5a50d530afd8d5'],
  ['small.en', 'db8a495a91d927739e50b3fc1cc4c6b8f6c2d022'],
  ['small-q5_1', undefined],
  ['small.en-q5_1', undefined],
  ['small-q8_0', undefined],
  ['medium', 'fd9727b6e1217c2f614f9b698455c4ffd82463b4'],
  ['medium.en', '8c30f0e44ce9560643ebd10bbe50cd20eafd3723'],
  ['medium-q5_0', undefined],
  ['medium.en-q5_0', undefined],
  ['medium-q8_0', undefined],
  ['large-v1', 'b1caaf735c4cc1429223d5a74f0f4d0b9b59a299'],
  ['large-v2', '0f4c8e34f21cf1a914c59d8b3ce882345ad349d6'],
  ['large-v2-q5_0', '00e39f2196344e901b3a2bd5814807a769bd1630'],
  ['large-v2-q8_0', undefined],
  ['large-v3', 'ad82bf6a9043ceed055076d0fd39f5f186ff8062'],
  ['large-v3-q5_0', 'e6e2ed78495d403bef4b7cff42ef4aaadcfea8de'],
  ['large-v3-turbo', '4af2b29d7ec73d781377bfd1758ca957a807e941'],
  ['large-v3-turbo-q5_0', 'e050f7970618a659205450ad97eb95a18d69c9ee'],
  ['large-v3-turbo-q8_0', undefined],
];

/** Every model `downloadModel` knows, in the order whisper.cpp lists them. */
export const MODELS: readonly ModelEntry[] = MODEL_CHECKSUMS.map(([name, sha1]) => ({
  name,
  file: `ggml-${name}.bin`,
  sha1,
}));

export interface DownloadProgress {
  /** Bytes of the file on disk so far, resumed bytes included. */
  receivedBytes: number;
  /** The file's size, when the server says it. */
  totalBytes: number | undefined;
}

export interface DownloadOptions {
  /** Where models are kept. Default: `defaultCacheDir()`. */
  cacheDir?: string;
  /** The repository URL; the file is `<baseUrl>/ggml-<name>.bin`. Default: DEFAULT_BASE_URL. */
  baseUrl?: string;
  /**
   * The expected SHA-1 (40 hex digits), or `false` to skip the check.
   * Default: the published checksum in MODELS (no check where there is none).
   */
  sha1?: string | false;
  /** Called as bytes arrive. Default: none. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Stops the download, keeping the partial file; rejects with `signal.reason`. Default: none. */
  signal?: AbortSignal;
  /** Times a failed connection is retried, resuming where it stopped. Default: 3. */
  retries?: number;
  /** Redirects followed per request. Default: 10. */
  maxRedirects?: number;
}

/** Milliseconds without a byte before a connection counts as failed. */
const IDLE_TIMEOUT_MS = 60_000;
const USER_AGENT = 'whisper-native (model download)';

/**
 * Where models are cached: `$WHISPER_NATIVE_CACHE` if set; otherwise
 * `whisper-native` in the platform's cache directory: `$XDG_CACHE_HOME` or
 * `~/.cache` on Linux and others, `~/Library/Caches` on macOS,
 * `%LOCALAPPDATA%` on Windows.
 */
export function defaultCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  const override = env.WHISPER_NATIVE_CACHE;
  if (override !== undefined && override !== '') return override;
  let base: string;
  if (platform === 'win32') {
    base = env.LOCALAPPDATA || join(home, 'AppData', 'Local');
  } else if (platform === 'darwin') {
    base = join(home, 'Library', 'Caches');
  } else {
    // The XDG spec says to ignore a relative XDG_CACHE_HOME.
    const xdg = env.XDG_CACHE_HOME;
    base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(home, '.cache');
  }
  return join(base, 'whisper-native');
}

function findModel(name: string): ModelEntry | undefined {
  return MODELS.find((model) => model.name === name);
}

function unknownModel(name: string): WhisperError {
  const names = MODELS.map((model) => model.name).join(', ');
  return new WhisperError(
    'ERR_UNKNOWN_MODEL',
    `Unknown model name ${JSON.stringify(name)}; expected one of: ${names}`,
  );
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isFile(),
    () => false,
  );
}

/**
 * The model file for `nameOrPath`: an existing file at that path, or the
 * cached file of a model name. Rejects with ERR_MODEL_NOT_FOUND (saying how
 * to download a known name that is not cached yet).
 */
export async function resolveModel(
  nameOrPath: string,
  options: { cacheDir?: string } = {},
): Promise<string> {
  if (await isFile(nameOrPath)) return resolve(nameOrPath);
  const entry = findModel(nameOrPath);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  if (entry === undefined) {
    throw new WhisperError(
      'ERR_MODEL_NOT_FOUND',
      `No model file at ${resolve(nameOrPath)}, and ${JSON.stringify(nameOrPath)} is not a model name ` +
        `(${MODELS.map((model) => model.name).join(', ')})`,
    );
  }
  const cached = join(cacheDir, entry.file);
  if (await isFile(cached)) return cached;
  throw new WhisperError(
    'ERR_MODEL_NOT_FOUND',
    `Model ${entry.name} is not downloaded (looked for ${cached}); ` +
      `run \`npx whisper-native download ${entry.name}\` first`,
  );
}

/** One GET; the response is handed over before its body is read. */
async function get(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  // Loaded on the first download, not with the package: node:https alone
  // adds ~3 MB to the resident memory of a process that never downloads.
  const client = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolvePromise, reject) => {
    const request = client.get(url, { headers, signal, timeout: IDLE_TIMEOUT_MS }, resolvePromise);
    request.on('error', reject);
    request.on('timeout', () =>
      request.destroy(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)),
    );
  });
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** GETs `url`, following redirects (never from https to http), up to `maxRedirects`. */
async function getFollowingRedirects(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  maxRedirects: number,
): Promise<IncomingMessage> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const response = await get(current, headers, signal);
    if (!REDIRECT_STATUSES.has(response.statusCode ?? 0)) return response;
    response.resume(); // discard the redirect's body
    const location = response.headers.location;
    if (redirects >= maxRedirects) {
      throw new WhisperError(
        'ERR_DOWNLOAD_REDIRECT',
        `More than ${maxRedirects} redirects, starting at ${url.href}`,
      );
    }
    const next = location === undefined ? undefined : new URL(location, current);
    if (next === undefined || (next.protocol !== 'https:' && next.protocol !== 'http:')) {
      throw new WhisperError(
        'ERR_DOWNLOAD_REDIRECT',
        `Redirect from ${current.href} without a usable Location`,
      );
    }
    if (current.protocol === 'https:' && next.protocol === 'http:') {
      throw new WhisperError(
        'ERR_DOWNLOAD_REDIRECT',
        `Refusing a redirect from ${current.href} to insecure ${next.href}`,
      );
    }
    current = next;
  }
}

/** SHA-1 of a file's bytes so far (to continue hashing a resumed download). */
async function sha1(): Promise<Hash> {
  const { createHash } = await import('node:crypto');
  return createHash('sha1');
}

async function hashFile(path: string): Promise<Hash> {
  const hash = await sha1();
  // Imported here, as node:crypto is: importing the package would otherwise
  // load Node's streams (~0.9 MB resident) for every user, downloading or not.
  const { pipeline } = await import('node:stream/promises');
  await pipeline(createReadStream(path), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Where a response's body starts, and the whole file's size, from Content-Range / Content-Length. */
function bodyPlacement(response: IncomingMessage): { start: number; total: number | undefined } {
  if (response.statusCode === 206) {
    const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
    if (match === null) return { start: -1, total: undefined };
    return { start: Number(match[1]), total: match[2] === '*' ? undefined : Number(match[2]) };
  }
  const length = Number(response.headers['content-length'] ?? Number.NaN);
  return { start: 0, total: Number.isSafeInteger(length) ? length : undefined };
}

/** Errors worth another attempt: the connection failed, or the server did (5xx). */
function isTransient(error: unknown): boolean {
  return (
    error instanceof WhisperError &&
    (error.code === 'ERR_DOWNLOAD_NETWORK' || (error.status ?? 0) >= 500)
  );
}

/** Errors of the local file system, which no retry mends: passed through as they are. */
const FILE_SYSTEM_ERRORS = new Set([
  'ENOSPC',
  'EACCES',
  'EPERM',
  'EROFS',
  'EISDIR',
  'ENOTDIR',
  'EDQUOT',
]);

/** A failure on the way from the server, as a retryable ERR_DOWNLOAD_NETWORK. */
function networkError(error: unknown, what: string): unknown {
  if (error instanceof WhisperError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && FILE_SYSTEM_ERRORS.has(code)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new WhisperError('ERR_DOWNLOAD_NETWORK', `${what}: ${reason}`, { cause: error });
}

interface Attempt {
  url: URL;
  partial: string;
  options: DownloadOptions;
  maxRedirects: number;
}

/**
 * One request: resumes `partial` with a Range request when it has bytes,
 * appends (206) or starts over (200, a server that ignores Range), and returns
 * the SHA-1 of the whole partial file once the body has arrived in full.
 */
async function downloadOnce({ url, partial, options, maxRedirects }: Attempt): Promise<string> {
  const { signal, onProgress } = options;
  const have = sizeOf(partial);
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    'accept-encoding': 'identity',
  };
  if (have > 0) headers.range = `bytes=${have}-`;
  const response = await getFollowingRedirects(url, headers, signal, maxRedirects).catch(
    (error: unknown) => {
      throw signal?.aborted ? signal.reason : networkError(error, `GET ${url.href} failed`);
    },
  );
  const status = response.statusCode ?? 0;
  if (status === 416 && have > 0) {
    // The partial is as long as the file (or longer, from another version): start over.
    response.resume();
    await rm(partial, { force: true });
    return downloadOnce({ url, partial, options, maxRedirects });
  }
  if (status !== 200 && status !== 206) {
    response.resume();
    throw new WhisperError(
      'ERR_DOWNLOAD_HTTP',
      `GET ${url.href} answered HTTP ${status} ${response.statusMessage ?? ''}`.trim(),
      { status },
    );
  }
  const { start, total } = bodyPlacement(response);
  if (status === 206 && start !== have) {
    response.resume();
    await rm(partial, { force: true });
    throw new WhisperError(
      'ERR_DOWNLOAD_NETWORK',
      `GET ${url.href} resumed at byte ${start}, expected ${have}`,
    );
  }
  const resuming = status === 206;
  const hash = resuming ? await hashFile(partial) : await sha1();
  let received = resuming ? have : 0;
  let callbackError: { thrown: unknown } | undefined;
  // Each chunk is on disk before the next is read, so whatever arrived before
  // a failure stays in the partial file for the next attempt to resume from.
  const output = await open(partial, resuming ? 'a' : 'w');
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      hash.update(chunk);
      await output.write(chunk);
      received += chunk.length;
      try {
        onProgress?.({ receivedBytes: received, totalBytes: total });
      } catch (thrown) {
        callbackError = { thrown };
        throw thrown;
      }
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (callbackError !== undefined) throw callbackError.thrown;
    throw networkError(error, `Download of ${url.href} stopped after ${received} bytes`);
  } finally {
    await output.close();
  }
  if (total !== undefined && received !== total) {
    throw new WhisperError(
      'ERR_DOWNLOAD_NETWORK',
      `Download of ${url.href} ended after ${received} of ${total} bytes`,
    );
  }
  return hash.digest('hex');
}

/** Downloads under way in this process, by destination file: a second call joins the first. */
const downloadsInFlight = new Map<string, Promise<string>>();

/**
 * Downloads model `name` into the cache (or returns the cached file) and
 * returns its path. The bytes go to `<file>.partial`, which a later call
 * resumes; the file gets its final name only after its SHA-1 matches. A call
 * for a file this process is already downloading returns that download's
 * promise (its own `onProgress` and `signal` are then not used).
 */
export function downloadModel(name: string, options: DownloadOptions = {}): Promise<string> {
  const entry = findModel(name);
  if (entry === undefined) return Promise.reject(unknownModel(name));
  const file = join(options.cacheDir ?? defaultCacheDir(), entry.file);
  const running = downloadsInFlight.get(file);
  if (running !== undefined) return running;
  const download = downloadToCache(entry, file, options).finally(() =>
    downloadsInFlight.delete(file),
  );
  downloadsInFlight.set(file, download);
  return download;
}

async function downloadToCache(
  entry: ModelEntry,
  file: string,
  options: DownloadOptions,
): Promise<string> {
  const expected = options.sha1 === undefined ? entry.sha1 : options.sha1 || undefined;
  if (expected !== undefined && !/^[0-9a-f]{40}$/i.test(expected)) {
    throw new WhisperError(
      'ERR_INVALID_ARG_VALUE',
      `Expected 40 hexadecimal digits for sha1 but received ${JSON.stringify(expected)}`,
    );
  }
  const retries = options.retries ?? 3;
  if (await isFile(file)) return file;
  options.signal?.throwIfAborted();
  await mkdir(dirname(file), { recursive: true });
  const url = new URL(`${(options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/${entry.file}`);
  const partial = `${file}.partial`;
  const attempt: Attempt = { url, partial, options, maxRedirects: options.maxRedirects ?? 10 };
  let digest: string;
  for (let failures = 0; ; failures++) {
    try {
      digest = await downloadOnce(attempt);
      break;
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!isTransient(error) || failures >= retries) throw error;
      await sleep(250 * 2 ** failures, undefined, { signal: options.signal }).catch(
        (error: unknown) => {
          throw options.signal?.aborted ? options.signal.reason : error;
        },
      );
    }
  }
  if (expected !== undefined && digest !== expected.toLowerCase()) {
    await rm(partial, { force: true });
    throw new WhisperError(
      'ERR_DOWNLOAD_CHECKSUM',
      `${entry.file} from ${url.href} has SHA-1 ${digest}, expected ${expected.toLowerCase()}; the download was deleted`,
    );
  }
  await rename(partial, file);
  return file;
}
