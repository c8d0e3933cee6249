// Model files by name: the table of whisper.cpp's published ggml models, the
// cache directory they are kept in, `downloadModel` (HTTP(S) with redirects,
// resume of partial files by Range requests, retries, sha1 verification,
// atomic rename, removal of what killed downloads left) and `resolveModel`
// (a path, or a name already downloaded).
// Uses node:http/node:https only. It does not load or parse models.
//
// Downloads of one file may run at once, in this process or in others that
// share the cache: each writes a file of its own and renames it onto the final
// name only once it is verified, so no two ever write the same file.
import { createReadStream, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WhisperError } from './errors.js';
import * as check from './validate.js';

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
  /**
   * The repository URL (http: or https:, without query or fragment); the file
   * is `<baseUrl>/ggml-<name>.bin`. Default: DEFAULT_BASE_URL.
   */
  baseUrl?: string;
  /**
   * The expected SHA-1 (40 hex digits), or `false` to skip the check.
   * Default: the published checksum in MODELS (no check where there is none).
   */
  sha1?: string | false;
  /** Called as bytes arrive. Default: none. */
  onProgress?: (progress: DownloadProgress) => void;
  /**
   * Stops this call, which rejects with `signal.reason`; the download itself
   * stops (keeping its bytes to resume) once no call waits for it. Default: none.
   */
  signal?: AbortSignal;
  /** Times a failed connection is retried, resuming where it stopped: 0 to 100. Default: 3. */
  retries?: number;
  /** Redirects followed per request: 0 to 100. Default: 10. */
  maxRedirects?: number;
}

/** Milliseconds without a byte before a connection counts as failed. */
const IDLE_TIMEOUT_MS = 60_000;
const USER_AGENT = 'whisper-native (model download)';
const DEFAULT_RETRIES = 3;
const DEFAULT_MAX_REDIRECTS = 10;
const MAX_RETRIES = 100;
const MAX_REDIRECTS = 100;
/** The wait before a retry doubles from 250 ms up to this (a longer timer would overflow). */
const MAX_RETRY_DELAY_MS = 30_000;
/**
 * How long a download's own file must have gone unwritten before it counts as
 * the leftover of a dead process (see removeLeftovers). A live download
 * writes as bytes arrive and, with the default retries, gives up within
 * minutes when none do. One taken all the same (elsewhere, retrying a dead
 * connection for an hour) starts over or fails its SHA-1: never a wrong file.
 */
const LEFTOVER_AGE_MS = 60 * 60 * 1000;
const OPTION_NAMES = [
  'cacheDir',
  'baseUrl',
  'sha1',
  'onProgress',
  'signal',
  'retries',
  'maxRedirects',
] as const;

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
  signal: AbortSignal,
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
  signal: AbortSignal,
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

/**
 * SHA-1 of a file's whole content, as it is on disk: what gets installed is
 * what was checked, whoever wrote its bytes and in how many attempts.
 */
async function sha1OfFile(path: string, signal: AbortSignal): Promise<string> {
  // Imported here, not with the package: node:crypto and Node's streams add
  // ~0.9 MB resident to every process, downloading or not.
  const { createHash } = await import('node:crypto');
  const { pipeline } = await import('node:stream/promises');
  const hash = createHash('sha1');
  await pipeline(
    createReadStream(path),
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) hash.update(chunk);
    },
    { signal },
  );
  return hash.digest('hex');
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
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

/** A response's strong ETag: the only validator If-Range takes besides a date, which is not exact. */
function strongEtag(response: IncomingMessage): string | undefined {
  const etag = response.headers.etag;
  return etag !== undefined && !etag.startsWith('W/') ? etag : undefined;
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

/** A checked download: what to fetch, where to put it and how to check it. */
interface Download {
  entry: ModelEntry;
  /** The final path, resolved (so that one file has one spelling). */
  file: string;
  url: URL;
  /** The expected SHA-1 in lowercase; undefined when the file is not verified. */
  expected: string | undefined;
  retries: number;
  maxRedirects: number;
}

interface Attempt {
  url: URL;
  /** This download's own file, which no other download writes. */
  temp: string;
  signal: AbortSignal;
  onProgress: (progress: DownloadProgress) => void;
  maxRedirects: number;
  /** Whether the file's SHA-1 is checked at the end, whatever bytes `temp` starts with. */
  verified: boolean;
  /** The strong ETag of the response `temp`'s bytes came from, if it had one. */
  etag: string | undefined;
}

/**
 * One request into `attempt.temp`: resumes its bytes with a Range request
 * when that is safe, appends (206) or starts over (200, a server that ignores
 * Range or whose file changed), and returns once the body has arrived in full.
 */
async function downloadOnce(attempt: Attempt): Promise<void> {
  const { url, temp, signal, onProgress, maxRedirects } = attempt;
  // Bytes are resumed only when a wrong result cannot be installed: the
  // SHA-1 is checked at the end, or If-Range makes the server answer with the
  // whole file (200) when its file is no longer the one they came from.
  const canResume = attempt.verified || attempt.etag !== undefined;
  const have = canResume ? sizeOf(temp) : 0;
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    'accept-encoding': 'identity',
  };
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    if (attempt.etag !== undefined) headers['if-range'] = attempt.etag;
  }
  const response = await getFollowingRedirects(url, headers, signal, maxRedirects).catch(
    (error: unknown) => {
      throw signal.aborted ? signal.reason : networkError(error, `GET ${url.href} failed`);
    },
  );
  const status = response.statusCode ?? 0;
  if (status === 416 && have > 0) {
    // The partial is as long as the file (or longer, from another version): start over.
    response.resume();
    await rm(temp, { force: true });
    attempt.etag = undefined;
    return downloadOnce(attempt);
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
    await rm(temp, { force: true });
    attempt.etag = undefined;
    throw new WhisperError(
      'ERR_DOWNLOAD_NETWORK',
      `GET ${url.href} resumed at byte ${start}, expected ${have}`,
    );
  }
  const resuming = status === 206;
  // The bytes about to be written come from this response's version of the file.
  if (!resuming) attempt.etag = strongEtag(response);
  let received = resuming ? have : 0;
  // Each chunk is on disk before the next is read, so whatever arrived before
  // a failure stays in the file for the next attempt to resume from.
  const output = await open(temp, resuming ? 'a' : 'w');
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      await output.write(chunk);
      received += chunk.length;
      onProgress({ receivedBytes: received, totalBytes: total });
      // A caller's onProgress may have been the last to leave (see leave()).
      signal.throwIfAborted();
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
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
}

/**
 * This download's own file, `<file>.<pid>.<random>.partial`. When `resume`,
 * it takes over the `<file>.partial` an earlier download left, by a rename:
 * of two downloads claiming it at once one gets it and the other starts from
 * zero, so no two ever append to the same file.
 */
async function ownFile(file: string, partial: string, resume: boolean): Promise<string> {
  const { randomBytes } = await import('node:crypto');
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.partial`;
  // Whatever keeps the claim from working (none there, taken, not ours to
  // move) leaves this download to start from zero.
  const claimed =
    resume &&
    (await rename(partial, temp).then(
      () => true,
      () => false,
    ));
  if (claimed) {
    // A rename keeps the time of the last write, maybe days ago: without a
    // touch, another machine sharing the cache could take the claimed file
    // for a dead download's leftover before this one's first write.
    const now = new Date();
    await utimes(temp, now, now).catch(() => undefined);
  }
  return temp;
}

/**
 * Deletes what downloads of `file` killed mid-way left behind: their own
 * files, `<file>.<pid>.<random>.partial`, which nothing resumes (a process
 * that fails or is aborted gives its bytes back as `<file>.partial` or
 * deletes them; one killed does neither). A file goes when no process `pid`
 * runs on this machine and it has not been written for LEFTOVER_AGE_MS: the
 * pid alone is not enough, as a cache shared with other machines (a network
 * folder) holds their downloads' files too, under pids unknown here. A live
 * pid's files are never touched, even when the pid is another program's now.
 * `<file>.partial` is the resume's (ownFile claims it) and is left alone.
 * Best effort: a file that cannot be read or deleted stays, and the call
 * goes on.
 */
async function removeLeftovers(file: string): Promise<void> {
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  await Promise.all(
    names.map(async (name) => {
      if (!name.startsWith(prefix)) return;
      const match = /^([1-9]\d*)\.[0-9a-f]+\.partial$/.exec(name.slice(prefix.length));
      if (match === null || !processGone(Number(match[1]))) return;
      const path = join(dir, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats === undefined || !stats.isFile() || now - stats.mtimeMs < LEFTOVER_AGE_MS) return;
      await rm(path, { force: true }).catch(() => undefined);
    }),
  );
}

/**
 * Whether no process `pid` runs on this machine: signal 0 only asks. EPERM
 * (another user's process) is a live one; a pid Node refuses (beyond 32
 * bits) is not known to be gone.
 */
function processGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * After a failure: leaves this download's bytes as `<file>.partial` for a
 * later call to resume, when that call could verify them and there is no
 * `<file>.partial` already; deletes them otherwise.
 */
async function giveBack(temp: string, partial: string, resumable: boolean): Promise<void> {
  if (resumable && sizeOf(temp) > 0 && !(await exists(partial))) {
    // Another download giving its bytes back between the check and the
    // rename is replaced: that costs a resume, never a wrong file, as each
    // file only ever had one writer.
    const givenBack = await rename(temp, partial).then(
      () => true,
      () => false,
    );
    if (givenBack) return;
  }
  await rm(temp, { force: true });
}

/**
 * Downloads into a file of its own, checks its SHA-1 over the whole file and
 * renames it onto `download.file`. On failure, its bytes go back to
 * `<file>.partial` (see giveBack) unless the checksum was wrong.
 */
async function downloadToCache(
  download: Download,
  signal: AbortSignal,
  onProgress: (progress: DownloadProgress) => void,
): Promise<void> {
  const { entry, file, url, expected, retries, maxRedirects } = download;
  const verified = expected !== undefined;
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  // Only a download that verifies its result resumes bytes of unknown origin.
  const temp = await ownFile(file, partial, verified);
  const attempt: Attempt = {
    url,
    temp,
    signal,
    onProgress,
    maxRedirects,
    verified,
    etag: undefined,
  };
  try {
    for (let failures = 0; ; failures++) {
      try {
        await downloadOnce(attempt);
        break;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!isTransient(error) || failures >= retries) throw error;
        const delay = Math.min(250 * 2 ** failures, MAX_RETRY_DELAY_MS);
        await sleep(delay, undefined, { signal }).catch((error: unknown) => {
          throw signal.aborted ? signal.reason : error;
        });
      }
    }
    if (verified) {
      const digest = await sha1OfFile(temp, signal);
      if (digest !== expected) {
        await rm(temp, { force: true });
        throw new WhisperError(
          'ERR_DOWNLOAD_CHECKSUM',
          `${entry.file} from ${url.href} has SHA-1 ${digest}, expected ${expected}; the download was deleted`,
        );
      }
    }
    await rename(temp, file);
  } catch (error) {
    // The download's own error is the one to report, not one of cleaning up.
    await giveBack(temp, partial, verified).catch(() => undefined);
    throw error;
  }
  // Bytes left for a resume are of no use once the file is in place.
  await rm(partial, { force: true });
}

/** A call waiting for a download, with its own way out. */
interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  onProgress: ((progress: DownloadProgress) => void) | undefined;
  /** Stops listening to the call's signal. */
  detach: () => void;
}

/** A download under way in this process and the calls waiting for it. */
interface SharedDownload {
  key: string;
  waiters: Set<Waiter>;
  /** Aborted when the last waiting call has left. */
  controller: AbortController;
  /** Settles once the file is installed, or the bytes are put back or deleted. */
  done: Promise<void>;
}

/**
 * Downloads under way in this process, by resolved destination file and
 * expected SHA-1: a call for the same file with the same expectation joins
 * the first; one expecting another SHA-1 (or none) runs its own download,
 * which verifies against its own expectation.
 */
const downloadsInFlight = new Map<string, SharedDownload>();

/**
 * Downloads model `name` into the cache (or returns the cached file) and
 * returns its path. The bytes go to a file of this download's own, which is
 * renamed onto the final name only after its SHA-1 matches; a failed download
 * leaves them as `<file>.partial`, which a later call resumes when it can
 * verify the result. A call for a file this process is already downloading,
 * expecting the same SHA-1, joins that download: each call still gets its
 * own `onProgress` calls, and its `signal` rejects only that call. Every
 * call deletes the files that downloads of the model killed mid-way left
 * (see removeLeftovers).
 */
export async function downloadModel(name: string, options?: DownloadOptions): Promise<string> {
  const { download, path, signal, onProgress } = checkCall(name, options);
  // Also when the file is there: a process killed mid-download is usually
  // followed by a call that completes it, too soon for its leftover to be
  // old enough, and later calls find the file.
  await removeLeftovers(download.file);
  if (await isFile(download.file)) return path;
  signal?.throwIfAborted();
  const key = `${download.file}\n${download.expected ?? 'unverified'}`;
  const shared = downloadsInFlight.get(key) ?? startDownload(key, download);
  await waitFor(shared, signal, onProgress);
  return path;
}

/** Checks every argument before anything touches the disk or the network. */
function checkCall(
  name: unknown,
  options: unknown,
): {
  download: Download;
  /** The file as the caller spelled its cache directory. */
  path: string;
  signal: AbortSignal | undefined;
  onProgress: ((progress: DownloadProgress) => void) | undefined;
} {
  check.assertString(name, 'name');
  const entry = findModel(name);
  if (entry === undefined) throw unknownModel(name);
  check.assertOptions(options, 'options', OPTION_NAMES);
  // Each option is read once: what is used is what was checked.
  const {
    cacheDir = defaultCacheDir(),
    baseUrl = DEFAULT_BASE_URL,
    sha1,
    onProgress,
    signal,
    retries = DEFAULT_RETRIES,
    maxRedirects = DEFAULT_MAX_REDIRECTS,
  } = (options ?? {}) as DownloadOptions;
  check.assertPath(cacheDir, 'options.cacheDir');
  const url = modelUrl(baseUrl, entry);
  const expected = expectedSha1(sha1, entry);
  if (onProgress !== undefined) check.assertFunction(onProgress, 'options.onProgress');
  if (signal !== undefined) check.assertAbortSignal(signal, 'options.signal');
  check.assertIntegerInRange(retries, 'options.retries', 0, MAX_RETRIES);
  check.assertIntegerInRange(maxRedirects, 'options.maxRedirects', 0, MAX_REDIRECTS);
  const path = join(cacheDir, entry.file);
  const download = { entry, file: resolve(path), url, expected, retries, maxRedirects };
  return { download, path, signal, onProgress };
}

/** `<baseUrl>/ggml-<name>.bin`, for an http(s) baseUrl the file name can be appended to. */
function modelUrl(baseUrl: unknown, entry: ModelEntry): URL {
  check.assertString(baseUrl, 'options.baseUrl');
  let url: URL | undefined;
  try {
    url = new URL(`${baseUrl.replace(/\/+$/, '')}/${entry.file}`);
  } catch {
    url = undefined;
  }
  // A query or fragment would swallow the appended file name.
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw check.valueError(
      'an http: or https: URL without query or fragment',
      'options.baseUrl',
      JSON.stringify(baseUrl),
    );
  }
  return url;
}

/** The SHA-1 to verify against, in lowercase, or undefined for none. */
function expectedSha1(sha1: unknown, entry: ModelEntry): string | undefined {
  if (sha1 === undefined) return entry.sha1;
  if (sha1 === false) return undefined;
  if (typeof sha1 !== 'string') throw check.typeError('a string or false', 'options.sha1', sha1);
  if (!/^[0-9a-f]{40}$/i.test(sha1)) {
    throw check.valueError('40 hexadecimal digits', 'options.sha1', JSON.stringify(sha1));
  }
  return sha1.toLowerCase();
}

/** Starts a download that calls join with waitFor; it answers each of them when it ends. */
function startDownload(key: string, download: Download): SharedDownload {
  const controller = new AbortController();
  const waiters = new Set<Waiter>();
  const shared: SharedDownload = { key, waiters, controller, done: Promise.resolve() };
  const onProgress = (progress: DownloadProgress): void => {
    for (const waiter of [...waiters]) {
      try {
        waiter.onProgress?.(progress);
      } catch (thrown) {
        // A throwing callback ends its own call only, with what it threw.
        leave(shared, waiter, thrown);
      }
    }
  };
  shared.done = downloadToCache(download, controller.signal, onProgress);
  downloadsInFlight.set(key, shared);
  const answerAll = (answer: (waiter: Waiter) => void): void => {
    forget(shared);
    for (const waiter of waiters) {
      waiter.detach();
      answer(waiter);
    }
    waiters.clear();
  };
  shared.done.then(
    () => answerAll((waiter) => waiter.resolve()),
    (error: unknown) => answerAll((waiter) => waiter.reject(error)),
  );
  return shared;
}

/** Takes a download out of the map, unless a newer one for the same key took its place. */
function forget(shared: SharedDownload): void {
  if (downloadsInFlight.get(shared.key) === shared) downloadsInFlight.delete(shared.key);
}

/** A promise for one call waiting on `shared`, which its own signal rejects. */
function waitFor(
  shared: SharedDownload,
  signal: AbortSignal | undefined,
  onProgress: ((progress: DownloadProgress) => void) | undefined,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const waiter: Waiter = { resolve: resolvePromise, reject, onProgress, detach: () => {} };
    shared.waiters.add(waiter);
    if (signal !== undefined) {
      const onAbort = (): void => leave(shared, waiter, signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.detach = () => signal.removeEventListener('abort', onAbort);
    }
  });
}

/**
 * One call gives up (its signal aborted, or its onProgress threw): it alone
 * rejects, with `reason`, and the download goes on for the others. When it
 * was the last, the download is cancelled, and the call rejects only once
 * the download has stopped and put its bytes back for a later resume (a
 * process that exits then leaves no file of its own behind).
 */
function leave(shared: SharedDownload, waiter: Waiter, reason: unknown): void {
  if (!shared.waiters.delete(waiter)) return;
  waiter.detach();
  if (shared.waiters.size > 0) {
    waiter.reject(reason);
    return;
  }
  // Calls from now on start a download of their own rather than join one
  // being cancelled.
  forget(shared);
  shared.controller.abort(reason);
  const rejectCall = (): void => waiter.reject(reason);
  shared.done.then(rejectCall, rejectCall);
}
