/**
 * The client commands as a user (or CI) runs them: a real `chronoverse start` on port 0 with its
 * own data directory, and `chronoverse <command>` as separate processes talking to it over HTTP,
 * with a config file of their own (XDG_CONFIG_HOME). One story, in order: register, create a
 * token, login, apply a folder, re-apply (nothing changes), edit a file (the diff), run --wait
 * (exit codes follow the run), a DAG run and one task's logs, logs (stored and followed live), get
 * with label selectors, prune, export round trip.
 *
 * The heartbeats target a listener of the test on 127.0.0.1 that answers 200 or 500; the
 * container runs on the test run's podman (test/helpers/podman-setup.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const MAIN = path.resolve('src/cli/main.ts');
const NODE = existsSync('node_modules/.bin/node') ? path.resolve('node_modules/.bin/node') : process.execPath;
const children: ChildProcess[] = [];

let root: string;
let folder: string;
let config: string;
let server: { child: ChildProcess; url: string };
let listener: Server;
let target: string;
let token: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [MAIN, ...args], {
      env: { PATH: process.env.PATH, HOME: root, XDG_CONFIG_HOME: config, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [MAIN, 'start'], {
      env: { PATH: process.env.PATH, HOME: root, PORT: '0', ...env },
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as { url?: string };
          if (entry.url) return resolve({ child, url: entry.url });
        } catch {
          // a partial line
        }
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

async function post(url: string, body: unknown, bearer?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

const CHECK = () => `apiVersion: chronoverse/v1
kind: Workflow
metadata:
  name: site check
  labels:
    team: web
spec:
  kind: HEARTBEAT
  schedule:
    type: interval
    interval_minutes: 60
  payload:
    endpoint: ${target}/ok
`;

const REPORT = () => `# The container prints three lines, a moment apart.
apiVersion: chronoverse/v1
kind: Workflow
metadata:
  name: nightly report
  labels:
    team: data
    tier: batch
spec:
  kind: CONTAINER
  schedule:
    type: cron
    cron: 30 2 * * *
    timezone: Europe/Paris
  payload:
    image: ${inject('testImage')}
    cmd:
      - sh
      - -c
      - for i in 1 2 3; do echo "report line $i"; sleep 0.3; done
`;

/** A DAG: a container build whose output reaches a fan-out of two containers, then a heartbeat. */
const PIPELINE = () => `apiVersion: chronoverse/v1
kind: Workflow
metadata:
  name: nightly build
  labels:
    team: platform
spec:
  kind: DAG
  schedule:
    type: cron
    cron: 0 3 * * *
    timezone: Europe/Berlin
  payload:
    tasks:
      - name: build
        kind: CONTAINER
        payload:
          image: ${inject('testImage')}
          cmd:
            - sh
            - -c
            - echo building; echo ::output version=1.4.2
      - name: test
        kind: CONTAINER
        depends_on:
          - build
        for_each:
          - unit
          - e2e
        payload:
          image: ${inject('testImage')}
          cmd:
            - sh
            - -c
            - echo "testing {{item}} on {{tasks.build.outputs.version}}"
      - name: publish
        kind: HEARTBEAT
        depends_on:
          - test
        payload:
          endpoint: ${target}/ok
`;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cv-client-'));
  folder = path.join(root, 'workflows');
  config = path.join(root, 'config');
  await mkdir(folder);
  listener = createServer((req, res) => {
    res.statusCode = req.url?.startsWith('/fail') ? 500 : 200;
    res.end('ok');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  server = await startServer({
    DATA_DIR: path.join(root, 'data'),
    DOCKER_HOST: inject('dockerHost'),
    // Heartbeats to the test's own listener, and the test image from the local registry.
    CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
    CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES: 'docker.io,localhost',
  });
  const session = await post(`${server.url}/api/v1/auth/register`, {
    email: 'ci@example.com',
    password: 'correct horse battery',
  });
  token = (await post(`${server.url}/api/v1/auth/tokens`, { name: 'ci' }, session.token as string))
    .token as string;
}, 120_000);

afterAll(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await new Promise((resolve) => listener?.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('chronoverse client commands against a real server', () => {
  it('refuses to work without a login, exit 77, saying how to log in', async () => {
    const result = await cli(['get', 'workflows']);
    expect(result.code).toBe(77);
    expect(result.stderr).toMatch(/not logged in: run `chronoverse login/);
  });

  it('logs in with a personal access token, keeping it in a 0600 config file', async () => {
    const bad = await cli(['login', '--server', server.url, '--token', 'cvp_wrong']);
    expect(bad.code).toBe(77);
    const result = await cli(['login', '--server', server.url, '--token', token, '--context', 'local']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^logged in to http:\/\/localhost:\d+ as ci@example\.com \(context "local"/,
    );
    const file = path.join(config, 'chronoverse', 'config.yaml');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toContain(token);
    const contexts = await cli(['context']);
    expect(contexts.stdout).toMatch(/^CURRENT\s+NAME\s+SERVER\n\*\s+local\s+http:\/\/localhost/);
  });

  it('applies a folder of definitions (two workflows and a DAG), then re-applies it without changing anything', async () => {
    await writeFile(path.join(folder, 'check.yaml'), CHECK());
    await writeFile(path.join(folder, 'pipeline.yaml'), PIPELINE());
    await writeFile(path.join(folder, 'report.yaml'), REPORT());
    const first = await cli(['apply', '-f', folder]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(
      'workflow/site check created\nworkflow/nightly build created\nworkflow/nightly report created\n',
    );
    const again = await cli(['apply', '-f', folder]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      'workflow/site check unchanged\nworkflow/nightly build unchanged\nworkflow/nightly report unchanged\n',
    );
    const versions = await cli(['describe', 'workflow', 'nightly build']);
    expect(versions.stdout).toMatch(/\nVersion:\s+1\n/);
    const diff = await cli(['diff', '-f', folder]);
    expect(diff).toMatchObject({ code: 0, stdout: '' });
  });

  it('runs with --wait and exits with the run result: 0 for a success', async () => {
    const result = await cli(['run', 'site check', '--wait']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^job\/[0-9a-f-]{36} created\njob\/[0-9a-f-]{36} COMPLETED\n$/);
  }, 60_000);

  it('shows the diff of an edited file, applies it, and the failing run exits 1', async () => {
    await writeFile(
      path.join(folder, 'check.yaml'),
      CHECK().replace('/ok', '/fail').replace('team: web', 'team: web\n    tier: frontend'),
    );
    const preview = await cli(['diff', '-f', folder]);
    expect(preview.code).toBe(1);
    const dry = await cli(['apply', '-f', folder, '--dry-run']);
    expect(dry.stdout).toMatch(/^workflow\/site check changed \(dry run\)\n/);
    const applied = await cli(['apply', '-f', folder]);
    expect(applied.code).toBe(0);
    const lines = applied.stdout.split('\n');
    expect(lines[0]).toBe('workflow/site check changed');
    expect(lines).toContain('--- workflow/site check (server)');
    expect(lines).toContain(`+++ workflow/site check (${path.join(folder, 'check.yaml')})`);
    expect(lines).toContain(`-    endpoint: ${target}/ok`);
    expect(lines).toContain(`+    endpoint: ${target}/fail`);
    expect(lines).toContain('+    tier: frontend');
    expect(lines.filter((l) => /^[-+] /.test(l) || /^[-+]\s/.test(l))).toHaveLength(3);
    expect(applied.stdout).toMatch(
      /\nworkflow\/nightly build unchanged\nworkflow\/nightly report unchanged\n$/,
    );

    const failed = await cli(['run', 'site check', '--wait']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^job\/[0-9a-f-]{36} created\njob\/[0-9a-f-]{36} FAILED\n$/);
    expect(failed.stderr).toMatch(/UNEXPECTED_STATUS/);
    // The edit made version 2; version 1 (the /ok endpoint) still runs, and succeeds.
    const older = await cli(['run', 'site check', '--version', '1', '--wait']);
    expect(older.stderr).toBe('');
    expect(older.code).toBe(0);
    expect(older.stdout).toMatch(/^job\/[0-9a-f-]{36} created\njob\/[0-9a-f-]{36} COMPLETED\n$/);
    const unknown = await cli(['run', 'site check', '--version', '9']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/version/);

    // A retry is a new job of the same workflow (it fails again); a final job cannot be canceled.
    const job = /^job\/([0-9a-f-]{36}) created/.exec(failed.stdout)![1]!;
    const retried = await cli(['retry', job, '--wait']);
    expect(retried.code).toBe(1);
    expect(retried.stdout).toMatch(
      new RegExp(`^job/[0-9a-f-]{36} created \\(retry of ${job}\\)\njob/[0-9a-f-]{36} FAILED\n$`),
    );
    const cancel = await cli(['cancel', job]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/^chronoverse: .*\(CV_PRECONDITION_FAILED, 412\)\n$/);
  }, 60_000);

  it("follows a running job's logs until it ends, and prints the stored ones afterwards", async () => {
    const started = await cli(['run', 'nightly report']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const job = /^job\/([0-9a-f-]{36}) created/.exec(started.stdout)![1]!;
    const followed = await cli(['logs', job, '-f']);
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe('report line 1\nreport line 2\nreport line 3\n');
    const stored = await cli(['logs', job]);
    expect(stored).toMatchObject({ code: 0, stdout: 'report line 1\nreport line 2\nreport line 3\n' });
    // A workflow name means its latest job.
    expect((await cli(['logs', 'nightly report'])).stdout).toBe(stored.stdout);
    const heartbeat = await cli(['logs', 'site check']);
    expect(heartbeat.code).toBe(1);
    expect(heartbeat.stderr).toMatch(/keeps no logs/);
  }, 120_000);

  it("runs a DAG with --wait, and reads one task instance's logs with --task", async () => {
    const result = await cli(['run', 'nightly build', '--wait']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^job\/[0-9a-f-]{36} created\njob\/[0-9a-f-]{36} COMPLETED\n$/);
    const run = /^job\/([0-9a-f-]{36}) created/.exec(result.stdout)![1]!;
    // The build's output reached the second fan-out item's command.
    const second = await cli(['logs', run, '--task', 'test[1]']);
    expect(second).toMatchObject({ code: 0, stdout: 'testing e2e on 1.4.2\n' });
    const build = await cli(['logs', 'nightly build', '--task', 'build']);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/^building\n/);
    const unknown = await cli(['logs', run, '--task', 'deploy']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/has no task "deploy" \(yet\); it has build, test, publish/);
    // The run is one job of the workflow: its task instances are not listed as jobs.
    const jobs = await cli(['get', 'jobs', '--workflow', 'nightly build', '-o', 'json']);
    expect(
      (JSON.parse(jobs.stdout) as { id: string; status: string }[]).map((j) => [j.id, j.status]),
    ).toEqual([[run, 'COMPLETED']]);
  }, 120_000);

  it('lists with label selectors, as a table, JSON and names', async () => {
    const web = await cli(['get', 'workflows', '-l', 'team=web']);
    expect(web.stdout.split('\n')[0]).toMatch(
      /^NAME\s+KIND\s+STATUS\s+SCHEDULE\s+LAST RUN\s+NEXT RUN\s+LABELS$/,
    );
    expect(web.stdout).toMatch(/\nsite check\s+HEARTBEAT\s+/);
    expect(web.stdout).not.toMatch(/nightly report/);
    const json = JSON.parse(
      (await cli(['get', 'workflows', '-l', 'tier in (batch),!gpu', '-o', 'json'])).stdout,
    ) as {
      name: string;
      labels: Record<string, string>;
    }[];
    expect(json.map((w) => w.name)).toEqual(['nightly report']);
    expect(json[0]!.labels).toEqual({ 'chronoverse.io/managed-by': 'cli', team: 'data', tier: 'batch' });
    expect((await cli(['get', 'workflows', '-o', 'name'])).stdout).toBe(
      'workflow/nightly report\nworkflow/nightly build\nworkflow/site check\n',
    );
    expect((await cli(['get', 'workflows', '-l', 'team=platform'])).stdout).toMatch(
      /\nnightly build\s+DAG\s+/,
    );
    // The run, the failed run, the run of version 1 and the failed run's retry, newest first.
    const jobs = await cli(['get', 'jobs', '--workflow', 'site check', '-o', 'json']);
    expect((JSON.parse(jobs.stdout) as { status: string }[]).map((j) => j.status)).toEqual([
      'FAILED',
      'COMPLETED',
      'FAILED',
      'COMPLETED',
    ]);
    const bad = await cli(['get', 'workflows', '-l', 'team=-x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/-l "team": value "-x"/);
    const describe = await cli(['describe', 'workflow', 'site check']);
    expect(describe.stdout).toMatch(/^Name:\s+site check\n/);
    // Applied, then edited: version 2.
    expect(describe.stdout).toMatch(/\nVersion:\s+2\n/);
    expect(describe.stdout).toMatch(/\nLabels:\s+chronoverse\.io\/managed-by=cli,team=web,tier=frontend\n/);
  });

  it('pauses with a note and resumes by name, saying when nothing changed; describe shows the pause', async () => {
    const paused = await cli(['pause', 'site check', '--note', 'upstream down, INC-42']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toBe('workflow/site check paused: upstream down, INC-42\n');
    const again = await cli(['pause', 'site check', '--note', 'other']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      /^workflow\/site check was already paused \(since \S+\); its note is kept\n$/,
    );
    const describe = await cli(['describe', 'workflow', 'site check']);
    expect(describe.stdout).toMatch(/\nStatus:\s+PAUSED\n/);
    expect(describe.stdout).toMatch(/\nPaused:\s+\S+: upstream down, INC-42\n/);
    const resumed = await cli(['resume', 'site check', '-o', 'json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      name: 'site check',
      status: 'ACTIVE',
      paused_at: null,
    });
    const notPaused = await cli(['resume', 'site check']);
    expect(notPaused.stdout).toBe('workflow/site check was not paused\n');
    const unknown = await cli(['pause', 'no such workflow']);
    expect(unknown.code).toBe(1);
    const usage = await cli(['pause']);
    expect(usage.code).toBe(2);
  });

  it('backfills a past range: a dry run lists the fire times, then starts it', async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 3 * 3_600_000);
    const range = ['--from', from.toISOString(), '--to', to.toISOString()];
    const dry = await cli(['backfill', 'site check', ...range, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    // An hourly schedule: three of its fire times in any three hours.
    expect(dry.stdout).toMatch(
      /^(\d{4}-\d{2}-\d{2}T\S+Z\n){3}3 fire times of workflow\/site check \(dry run: nothing started\)\n$/,
    );
    const started = await cli(['backfill', 'site check', ...range, '--max-parallel', '2']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(
      /^backfill\/\S+ started for workflow\/site check: 3 fire times, at most 2 at once\n$/,
    );
    const future = await cli([
      'backfill',
      'site check',
      '--from',
      from.toISOString(),
      '--to',
      '2099-01-01T00:00:00Z',
    ]);
    expect(future.code).toBe(1);
    expect(future.stderr).toMatch(/to/);
    expect((await cli(['backfill', 'site check', '--from', from.toISOString()])).code).toBe(2);
  });

  it('reports every problem of the files at file:line:column and applies nothing', async () => {
    const broken = path.join(root, 'broken');
    await mkdir(broken);
    await writeFile(
      path.join(broken, 'a.yaml'),
      CHECK().replace('site check', 'another').replace(`${target}/ok`, 'nope'),
    );
    await writeFile(path.join(broken, 'b.yaml'), REPORT().replace('cron: 30 2 * * *', 'cron: 30 25 * * *'));
    const result = await cli(['apply', '-f', broken]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `${path.join(broken, 'a.yaml')}:13:15: spec.payload.endpoint must be an http:// or https:// URL\n` +
        `${path.join(broken, 'b.yaml')}:13:11: spec.schedule.cron hour field '25' is out of range 0–23\n` +
        'nothing applied: 2 problems\n',
    );
    expect((await cli(['get', 'workflows', '-o', 'name'])).stdout).not.toMatch(/another/);

    // Valid here, refused by the server's policy (a registry it does not allow): the server's
    // field error, at the file's line and column; the other documents are applied.
    const refused = path.join(root, 'refused');
    await mkdir(refused);
    await writeFile(
      path.join(refused, 'r.yaml'),
      REPORT().replace('nightly report', 'elsewhere').replace(inject('testImage'), 'quay.io/org/app:1'),
    );
    const partly = await cli(['apply', '-f', refused]);
    expect(partly.code).toBe(1);
    expect(partly.stdout).toBe('workflow/elsewhere failed\n');
    expect(partly.stderr).toMatch(
      new RegExp(
        `^${path.join(refused, 'r.yaml')}:16:12: spec\\.payload\\.image .*CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES`,
      ),
    );
  });

  it('prunes the managed workflows no file names any more', async () => {
    await unlink(path.join(folder, 'report.yaml'));
    const withoutPrune = await cli(['apply', '-f', folder]);
    expect(withoutPrune.stdout).toBe('workflow/site check unchanged\nworkflow/nightly build unchanged\n');
    const pruned = await cli(['apply', '-f', folder, '--prune']);
    expect(pruned.stderr).toBe('');
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toBe(
      'workflow/site check unchanged\nworkflow/nightly build unchanged\nworkflow/nightly report pruned\n',
    );
    expect((await cli(['get', 'workflows', '-o', 'name'])).stdout).toBe(
      'workflow/nightly build\nworkflow/site check\n',
    );
  });

  it('exports the workflows back to the very documents they were applied from', async () => {
    const exported = await cli(['export']);
    expect(exported.code).toBe(0);
    const toJS = (text: string) =>
      (parseAllDocuments(text) as unknown as { toJS(): unknown }[]).map((d) => d.toJS());
    // Oldest first: the order they were applied in.
    const files = [
      ...toJS(await readFile(path.join(folder, 'check.yaml'), 'utf8')),
      ...toJS(await readFile(path.join(folder, 'pipeline.yaml'), 'utf8')),
    ];
    expect(toJS(exported.stdout)).toEqual(files);
    // Applying the export changes nothing.
    const file = path.join(root, 'exported.yaml');
    await writeFile(file, exported.stdout);
    expect((await cli(['apply', '-f', file])).stdout).toBe(
      'workflow/site check unchanged\nworkflow/nightly build unchanged\n',
    );
    // One file per workflow, named after it.
    const dir = path.join(root, 'exported');
    const written = await cli(['export', '-d', dir]);
    expect(written.stdout).toBe(
      `workflow/site check exported to ${path.join(dir, 'site-check.yaml')}\n` +
        `workflow/nightly build exported to ${path.join(dir, 'nightly-build.yaml')}\n`,
    );
    expect(toJS(await readFile(path.join(dir, 'site-check.yaml'), 'utf8'))).toEqual([files[0]]);
    expect(toJS(await readFile(path.join(dir, 'nightly-build.yaml'), 'utf8'))).toEqual([files[1]]);
  });

  it('takes CHRONOVERSE_URL and CHRONOVERSE_TOKEN instead of a config file (CI)', async () => {
    const result = await cli(['get', 'workflows', '-o', 'name'], {
      XDG_CONFIG_HOME: path.join(root, 'nowhere'),
      CHRONOVERSE_URL: server.url,
      CHRONOVERSE_TOKEN: token,
    });
    expect(result).toMatchObject({ code: 0, stdout: 'workflow/nightly build\nworkflow/site check\n' });
    const usage = await cli(['run']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/expected one workflow/);
    const badVersion = await cli(['run', 'site check', '--version', 'latest']);
    expect(badVersion.code).toBe(2);
    expect(badVersion.stderr).toMatch(/--version must be a version number/);
    // Forgetting the context forgets the token: logged out.
    expect((await cli(['context', 'delete', 'local'])).stdout).toBe('context local deleted\n');
    expect(await readFile(path.join(config, 'chronoverse', 'config.yaml'), 'utf8')).not.toContain(token);
    expect((await cli(['get', 'workflows'])).code).toBe(77);
  });

  it('prints shell completion scripts that the shells accept', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toMatch(/complete -F _chronoverse chronoverse/);
    const checked = await new Promise<number | null>((resolve) => {
      const child = spawn('bash', ['-n'], { stdio: ['pipe', 'ignore', 'inherit'] });
      child.on('exit', resolve);
      child.stdin.end(bash.stdout);
    });
    expect(checked).toBe(0);
    expect((await cli(['completion', 'zsh'])).stdout).toMatch(/^#compdef chronoverse\n/);
    expect((await cli(['completion', 'fish'])).code).toBe(2);
  });
});
