import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, TEST_API_KEY, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { key, KeyFile } from '../support/key-file';

const CHROMIUM = '/usr/bin/chromium';
const BOARD = '/admin/queues';
const SCREENSHOT = '/tmp/bull-board.png';
const ROLES = ['echo', 'docs.ingest', 'docs.analyze', 'docs.store'];
const COMPLETED_MESSAGES = ['board-ok-1', 'board-ok-2', 'board-ok-3'];

const viewer = key('viewer', ['dashboard:read']);
const env = testEnv({ API_KEYS_FILE: new KeyFile([viewer]).path, AUTH_FAILURES_PER_MINUTE: '0' });
const api = new ApiServer(env);
const worker = new WorkerProcess(env);
let browser: Browser;
const ids = { completed: [] as string[], failed: '', delayed: '' };

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the browser test needs Debian's Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  }
  await Promise.all([
    chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    }).then((launched) => (browser = launched)),
    api.start(),
    worker.start(),
  ]);

  for (const message of COMPLETED_MESSAGES) ids.completed.push(await api.submit('echo', { message }));
  ids.failed = await api.submit('echo', { message: 'board-doomed', failTimes: 5 }, { options: { attempts: 2 } });
  ids.delayed = await api.submit('echo', { message: 'board-later' }, { options: { delayMs: 3_600_000 } });
  await waitFor(
    'the echo tasks to finish',
    async () => {
      const views = await Promise.all([...ids.completed, ids.failed].map((id) => api.task(id)));
      return views.every((view, i) => view?.state === (i < ids.completed.length ? 'completed' : 'failed'));
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
});

afterAll(async () => {
  await Promise.all([browser?.close(), api.stop(), worker.stop()]);
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

const basic = { username: TEST_API_KEY.id, password: TEST_API_KEY.secret };

/** A fresh browser context (its own credentials, headers and cookies) with one page; close its context after. */
/** What the browser reported against the page's Content Security Policy (or any script error), by page. */
const policyViolations = new WeakMap<Page, string[]>();

async function openPage(options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ ...options, viewport: { width: 1400, height: 1000 } });
  // Generous: the browser shares two cores with the other test files' processes.
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const violations: string[] = [];
  policyViolations.set(page, violations);
  page.on('console', (message) => {
    const text = message.text();
    // The one refusal the policy means: the board's Google Fonts stylesheet (it falls back to local fonts; no request leaves for a third party).
    if (text.includes('https://fonts.googleapis.com/')) return;
    if (/Content Security Policy|Refused to (?:load|execute|apply)/i.test(text)) violations.push(text);
  });
  page.on('pageerror', (error) => violations.push(error.message));
  return page;
}

async function withPage(options: BrowserContextOptions, use: (page: Page) => Promise<void>): Promise<void> {
  const page = await openPage(options);
  try {
    await use(page);
    // The pages work under the API's CSP: nothing refused, no script error.
    expect(policyViolations.get(page)).toEqual([]);
  } finally {
    await page.context().close();
  }
}

/** The sidebar link to one role's queue. */
function queueLink(page: Page, role: string) {
  return page.getByRole('navigation').getByRole('link', { name: role, exact: true });
}

/** A status tab of the open queue, e.g. "COMPLETED" with its badge "3". */
function statusTab(page: Page, status: string, count: number) {
  return page.getByRole('link').filter({ hasText: new RegExp(`^${status}\\s*${count}$`) });
}

/** Loads the board and waits until every role's queue is listed. */
async function expectBoard(page: Page): Promise<void> {
  const response = await page.goto(api.baseUrl + BOARD);
  expect(response?.status()).toBe(200);
  await page.getByText('Taskyard', { exact: true }).first().waitFor();
  for (const role of ROLES) await queueLink(page, role).waitFor();
}

/** Loads the board and sees it refused: Chromium gives up on the challenge, or shows the 401. */
async function expectNoBoard(page: Page): Promise<void> {
  const outcome = await page.goto(api.baseUrl + BOARD).catch((err: Error) => err);
  if (outcome instanceof Error) expect(outcome.message).toContain('ERR_INVALID_AUTH_CREDENTIALS');
  else expect(outcome?.status()).toBe(401);
  expect(await page.getByRole('link', { name: 'docs.ingest' }).count()).toBe(0);
  expect(await page.getByText('board-ok-1').count()).toBe(0);
}

describe('Bull Board at /admin/queues', () => {
  it('challenges a request without credentials with 401, a Basic realm and the API error shape', async () => {
    const response = await fetch(api.baseUrl + BOARD);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
    expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });

    // Its static assets and its API are behind the same door.
    for (const path of [`${BOARD}/api/queues`, `${BOARD}/static/favicon-32x32.png`]) {
      const asset = await fetch(api.baseUrl + path);
      expect({ path, status: asset.status, challenge: asset.headers.has('www-authenticate') }).toEqual({ path, status: 401, challenge: true });
      await asset.body?.cancel();
    }
  });

  it('shows a browser without credentials no board', async () => {
    await withPage({}, expectNoBoard);
  });

  it('with Basic credentials lists every role queue, and the echo queue shows its completed, failed and delayed jobs', async () => {
    await withPage({ httpCredentials: basic }, async (page) => {
      await expectBoard(page);

      await queueLink(page, 'echo').click();
      await page.waitForURL(/\/admin\/queues\/queue\/echo/);
      await statusTab(page, 'COMPLETED', COMPLETED_MESSAGES.length).waitFor();
      await statusTab(page, 'FAILED', 1).waitFor();
      await statusTab(page, 'DELAYED', 1).waitFor();

      await statusTab(page, 'COMPLETED', COMPLETED_MESSAGES.length).click();
      await page.waitForURL(/status=completed/);
      for (const id of ids.completed) await page.getByText(id, { exact: true }).waitFor();
      for (const message of COMPLETED_MESSAGES) await page.getByText(`"${message}"`).first().waitFor();
      expect(await page.getByText(ids.failed, { exact: true }).count()).toBe(0);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      await statusTab(page, 'FAILED', 1).click();
      await page.waitForURL(/status=failed/);
      await page.getByText(ids.failed, { exact: true }).waitFor();
      await page.getByText('planned failure 2 of 5').first().waitFor();
      for (const id of ids.completed) expect(await page.getByText(id, { exact: true }).count()).toBe(0);

      await statusTab(page, 'DELAYED', 1).click();
      await page.waitForURL(/status=delayed/);
      await page.getByText(ids.delayed, { exact: true }).waitFor();
    });
  });

  it('loads with a Bearer key too', async () => {
    await withPage({ extraHTTPHeaders: { authorization: `Bearer ${TEST_API_KEY.secret}` } }, expectBoard);
  });

  it('shows a dashboard:read key the board without its actions, and an admin key with them', async () => {
    const retryButtons = async (credentials: { username: string; password: string }) => {
      let count = 0;
      await withPage({ httpCredentials: credentials }, async (page) => {
        await expectBoard(page);
        await page.goto(`${api.baseUrl}${BOARD}/queue/echo?status=failed`);
        await page.getByText(ids.failed, { exact: true }).waitFor();
        count = await page.getByRole('button', { name: /retry|clean|promote/i }).count();
      });
      return count;
    };
    expect(await retryButtons({ username: viewer.id, password: viewer.secret })).toBe(0);
    expect(await retryButtons(basic)).toBeGreaterThan(0);
  });

  it('serves Swagger UI under the same policy', async () => {
    await withPage({}, async (page) => {
      const response = await page.goto(`${api.baseUrl}/docs`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      await page.getByText('Taskyard API').first().waitFor();
      await page.getByText('/v1/tasks/{id}').first().waitFor();
    });
  });

  it('shows no board for wrong Basic credentials', async () => {
    await withPage({ httpCredentials: { username: TEST_API_KEY.id, password: 'not-the-secret' } }, expectNoBoard);
    await withPage({ httpCredentials: { username: 'someone-else', password: TEST_API_KEY.secret } }, expectNoBoard);
  });
});
