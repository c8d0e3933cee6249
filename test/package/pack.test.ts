// The package as a user gets it: `npm pack`, then an install of the tarball
// into a fresh project with the network off (--offline: dependencies come from
// npm's cache only; and a proxy address nothing listens on, so a request that
// slipped through would fail), then a transcription through the public API and
// one through the installed `whisper-native` command.
//
// An offline `npm install <tarball>` would need the registry's metadata
// (packuments) of every dependency in npm's cache, and a fresh machine whose
// only install was `npm install` from this repository's lockfile has the
// dependencies' tarballs cached but not their metadata. So the fresh project
// gets a lockfile: the tarball, and our runtime dependencies pinned exactly as
// this repository's lockfile has them (resolved address and integrity), which
// `npm ci --offline` installs from the cached tarballs alone.
//
// The tarball carries this platform's prebuilt addon, so the install must use
// it and compile nothing; a second install of the same tarball with the
// prebuilds removed must build from source, still offline. When prebuilds/<platform>-<arch>/ has no binary, or
// one older than the native sources, the test first builds it with
// `npm run prebuildify` (node-gyp, a few minutes on 2 cores; it says so).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../lib/model.js';
import type { TranscriptionResult } from '../../lib/options.js';
import {
  GREEDY,
  audioPath,
  hasShared,
  randomModelPath,
  readClip,
  repoRoot,
} from '../helpers/shared.js';

const target = `${process.platform}-${process.arch}`;
const prebuildDir = path.join(repoRoot, 'prebuilds', target);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Nothing listens on port 9 (discard) here: a request through it fails at once. */
const NO_NETWORK = 'http://127.0.0.1:9';

/** The environment for npm and the installed package: npm's own script variables left out. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Keep the cache (the offline install reads it) and the user's config file.
    const keep = key === 'npm_config_cache' || key === 'npm_config_userconfig';
    if (!key.toLowerCase().startsWith('npm_') || keep) env[key] = value;
  }
  return env;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (asynchronously: vitest's worker must stay responsive). */
function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: cleanEnv(),
      shell: process.platform === 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function mustRun(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.status !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${output}`);
  }
  return result.stdout + result.stderr;
}

/** Newest modification time among the files the addon is built from. */
function newestNativeSource(): number {
  let newest = 0;
  const visit = (file: string) => {
    const stat = fs.statSync(file);
    if (stat.isDirectory()) for (const entry of fs.readdirSync(file)) visit(path.join(file, entry));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const file of ['native/engine', 'native/binding', 'native/sources.cjs', 'binding.gyp']) {
    visit(path.join(repoRoot, file));
  }
  return newest;
}

function currentPrebuild(): string | undefined {
  const files = fs.existsSync(prebuildDir)
    ? fs.readdirSync(prebuildDir).filter((f) => f.endsWith('.node'))
    : [];
  const file = files.length === 1 ? path.join(prebuildDir, files[0]!) : undefined;
  return file !== undefined && fs.statSync(file).mtimeMs >= newestNativeSource() ? file : undefined;
}

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  [field: string]: unknown;
}

/**
 * Makes `dir` a fresh project that depends on `tarball` alone, with a lockfile
 * pinning the tarball and our runtime dependency tree (see the top comment),
 * then installs it offline. Returns npm's output (install scripts in the foreground).
 */
async function installTarballOffline(dir: string, tarball: string): Promise<string> {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
    license: string;
    dependencies: Record<string, string>;
    bin: Record<string, string>;
    engines: Record<string, string>;
  };
  const repoLock = JSON.parse(
    fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8'),
  ) as { packages: Record<string, LockEntry> };
  const spec = `file:${path.relative(dir, tarball).split(path.sep).join('/')}`;
  const name = path.basename(dir);
  const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name, version: '1.0.0', dependencies: { 'whisper-native': spec } },
    'node_modules/whisper-native': {
      version: manifest.version,
      resolved: spec,
      integrity,
      hasInstallScript: true,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  // The runtime closure: every installed entry that is not for development only.
  for (const [where, entry] of Object.entries(repoLock.packages)) {
    if (where !== '' && !entry.dev && !entry.devOptional) packages[where] = entry;
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name,
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: { 'whisper-native': spec },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'package-lock.json'),
    JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages }),
  );
  return mustRun(
    npm,
    [
      'ci',
      '--offline',
      `--proxy=${NO_NETWORK}`,
      `--https-proxy=${NO_NETWORK}`,
      '--foreground-scripts',
      '--no-audit',
      '--no-fund',
    ],
    dir,
  );
}

describe.skipIf(!hasShared)('npm pack, offline install, use', () => {
  let work: string;
  let project: string;
  let tarball: string;
  let packedFiles: string[];
  let installLog: string;
  let reference: Promise<TranscriptionResult> | undefined;
  /** The checkout's own greedy result for jfk.wav, computed once. */
  const expectedJfk = () =>
    (reference ??= (async () => {
      const model = await loadModel(randomModelPath, { threads: 2 });
      const result = await model.transcribe(await readClip('jfk'), GREEDY);
      await model.close();
      return result;
    })());

  beforeAll(async () => {
    if (currentPrebuild() === undefined) {
      console.log(
        `pack test: no current prebuild in prebuilds/${target}: building it from source ` +
          'first (npm run prebuildify: node-gyp, a few minutes on 2 cores)',
      );
      await mustRun(npm, ['run', 'prebuildify'], repoRoot);
      if (currentPrebuild() === undefined) throw new Error(`no binary in ${prebuildDir}`);
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-pack-'));
    // `npm pack` runs the prepare script (dist/ from lib/), as publishing does.
    const packed = await run(npm, ['pack', '--json', '--pack-destination', work], repoRoot);
    if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = path.join(work, report[0]!.filename);
    packedFiles = report[0]!.files.map((f) => f.path);

    project = path.join(work, 'project');
    installLog = await installTarballOffline(project, tarball);
  }, 900_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('packs the built code, the native sources and the prebuild, and nothing else', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/cjs/index.js',
        'dist/cjs/index.d.ts',
        'dist/esm/index.js',
        'dist/cjs/cli.js',
        'scripts/install.cjs',
        'binding.gyp',
        'CMakeLists.txt',
        'native/sources.cjs',
        'native/binding/addon.cc',
        'native/engine/transcribe.cc',
      ]),
    );
    expect(packedFiles.filter((f) => f.startsWith(`prebuilds/${target}/`))).toHaveLength(1);
    const unwanted = packedFiles.filter((f) =>
      /^(test|build|build-[^/]*|node_modules|bench)\//.test(f),
    );
    expect(unwanted).toEqual([]);
  });

  it('installs offline from the prebuild, compiling nothing', () => {
    const installed = path.join(project, 'node_modules', 'whisper-native');
    expect(installLog).toMatch(
      new RegExp(
        `whisper-native: using prebuilds[/\\\\]${target}[/\\\\]\\S+\\.node; nothing to build`,
      ),
    );
    expect(installLog).not.toContain('building the addon from source');
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
  });

  it('transcribes through the public API (ESM and CommonJS) as the checkout does', async () => {
    const script = path.join(project, 'use-api.mjs');
    fs.writeFileSync(
      script,
      [
        "import { loadModel, readAudioFile, toSrt } from 'whisper-native';",
        "import { createRequire } from 'node:module';",
        'const [modelPath, audio] = process.argv.slice(2);',
        "const cjs = createRequire(import.meta.url)('whisper-native');",
        'const model = await cjs.loadModel(modelPath, { threads: 2 });',
        'const { samples } = await readAudioFile(audio);',
        'const result = await model.transcribe(samples, { temperature: 0 });',
        'await model.close();',
        'const sameModule = cjs.loadModel === loadModel;',
        'console.log(JSON.stringify({ text: result.text, sameModule, srt: toSrt(result) }));',
      ].join('\n'),
    );
    const output = JSON.parse(
      await mustRun(process.execPath, [script, randomModelPath, audioPath('jfk')], project),
    ) as { text: string; sameModule: boolean; srt: string };

    const expected = await expectedJfk();
    expect(output.text).toBe(expected.text);
    expect(output.text.length).toBeGreaterThan(0);
    expect(output.sameModule).toBe(true);
    expect(output.srt).toMatch(/^1\r?\n00:00:00,000 --> /);
  });

  it('transcribes through the installed whisper-native command', async () => {
    const bin = path.join(
      project,
      'node_modules',
      '.bin',
      process.platform === 'win32' ? 'whisper-native.cmd' : 'whisper-native',
    );
    const result = await run(
      bin,
      [
        'transcribe',
        audioPath('jfk'),
        '--model',
        randomModelPath,
        ...['--beam-size', '1', '--best-of', '1', '--temperature', '0', '--format', 'json'],
      ],
      project,
    );
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/jfk\.wav: 11\.0 s of audio in /);
    const expected = await expectedJfk();
    expect((JSON.parse(result.stdout) as { text: string }).text).toBe(expected.text);
  });

  // A platform with no prebuild (or one that does not load) gets the native
  // sources from the same tarball and builds them with cmake-js, offline: this
  // catches a source file, header or build script missing from `files`.
  it('without a prebuild, builds the addon from the tarball offline and transcribes', async () => {
    const unpacked = path.join(work, 'unpacked');
    fs.mkdirSync(unpacked);
    await mustRun('tar', ['-xzf', tarball, '-C', unpacked], work);
    fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
    const sourceOnly = path.join(work, 'source-only.tgz');
    await mustRun('tar', ['-czf', sourceOnly, '-C', unpacked, 'package'], work);

    const sourceProject = path.join(work, 'source-project');
    const log = await installTarballOffline(sourceProject, sourceOnly);
    expect(log).toContain('building the addon from source');
    const installed = path.join(sourceProject, 'node_modules', 'whisper-native');
    expect(fs.existsSync(path.join(installed, 'prebuilds'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'build', 'Release', 'whisper_native.node'))).toBe(
      true,
    );

    const script = path.join(sourceProject, 'use-api.mjs');
    fs.writeFileSync(
      script,
      [
        "import { loadModel, readAudioFile } from 'whisper-native';",
        'const [modelPath, audio] = process.argv.slice(2);',
        'const model = await loadModel(modelPath, { threads: 2 });',
        'const { samples } = await readAudioFile(audio);',
        'const result = await model.transcribe(samples, { temperature: 0 });',
        'await model.close();',
        'console.log(JSON.stringify({ text: result.text }));',
      ].join('\n'),
    );
    const output = JSON.parse(
      await mustRun(process.execPath, [script, randomModelPath, audioPath('jfk')], sourceProject),
    ) as { text: string };
    expect(output.text).toBe((await expectedJfk()).text);
  }, 900_000);
});
