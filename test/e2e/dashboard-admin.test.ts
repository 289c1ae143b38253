/**
 * The dashboard's access control in Chromium against the real gateway (embedded profile, PGlite in
 * memory), with sign-up by invitation (CHRONOVERSE_SIGNUP=invite): the first account registers
 * anyway and is the administrator; it opens the admin section, sees the mode, creates an
 * invitation and copies its link; a second browser context (another person) finds the registration
 * page asking for an invitation without the link, then opens the link, meets the password rule
 * (the server's strength advice under the field), and registers; the administrator's audit log
 * shows the registration (time with its zone), the invitation is used, and the newcomer has no
 * admin section. Waits only on roles, labels and text. Screenshots under
 * test-artifacts/dashboard-admin/<timestamp>/.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { artifactsDir, ensureDashboardBuilt, launchChromium } from '../helpers/browser.ts';

const UI_TIMEOUT = 60_000;
const PASSWORD = 'plum tractor velvet nine';

let runtime: Runtime;
let baseUrl: string;
let browser: Browser;
let shots: string;

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    timezoneId: 'Europe/Paris',
    locale: 'en-GB',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  context.setDefaultTimeout(UI_TIMEOUT);
  return context;
}

beforeAll(async () => {
  await ensureDashboardBuilt();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    DOCKER_HOST: inject('dockerHost'),
    // A loopback server would default to open: this installation is by invitation.
    CHRONOVERSE_SIGNUP: 'invite',
    LOG_LEVEL: 'warn',
  });
  runtime = await startRuntime({ config, logger: createLogger('warn'), roles: ['all'] });
  baseUrl = runtime.url!;
  browser = await launchChromium();
  shots = await artifactsDir('dashboard-admin');
  console.log(`dashboard-admin screenshots: ${shots}`);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
});

describe('dashboard access control in Chromium', { timeout: 240_000 }, () => {
  it('an administrator invites, a second person registers with the link, the audit log shows it', async () => {
    // The first account of the installation: registers whatever the mode, and is the administrator.
    const admin = await newContext();
    const page = await admin.newPage();
    await page.goto(`${baseUrl}/register`);
    await page.getByLabel('Email').fill('admin@example.com');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page
      .getByRole('heading', { name: /workflows/i })
      .first()
      .waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Administration' }).waitFor();
    await page.getByText('By invitation: only with an invitation link').first().waitFor();
    expect(
      await page
        .getByRole('radio', { name: /Use the server default \(CHRONOVERSE_SIGNUP: by invitation\)/ })
        .isChecked(),
    ).toBe(true);
    await shot(page, '01-admin-settings');

    await page
      .getByRole('navigation', { name: 'Administration' })
      .getByRole('link', { name: 'Invitations' })
      .click();
    await page.getByLabel('Email (optional)').fill('guest@example.com');
    await page.getByRole('button', { name: 'Create invitation' }).click();
    const linkField = page.getByLabel('Invitation link');
    await linkField.waitFor();
    const link = await linkField.inputValue();
    expect(link).toMatch(new RegExp(`^${baseUrl}/register\\?invite=cvi_`));
    await page.getByRole('button', { name: 'Copy link' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(
      await page.evaluate(() =>
        (
          globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
        ).navigator.clipboard.readText(),
      ),
    ).toBe(link);
    const invites = page.getByRole('table', { name: 'Invitations' });
    await invites.getByRole('row').filter({ hasText: 'guest@example.com' }).getByText('pending').waitFor();
    await shot(page, '02-admin-invitation');

    // Someone else, in their own browser.
    const guest = await newContext();
    const guestPage = await guest.newPage();
    await guestPage.goto(`${baseUrl}/register`);
    await guestPage.getByText(/Sign-up is by invitation/).waitFor();
    await guestPage.getByLabel('Email').fill('guest@example.com');
    await guestPage.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await guestPage.getByRole('button', { name: 'Create an account' }).click();
    await guestPage.getByText(/Enter the invitation code/).waitFor();

    await guestPage.goto(link);
    await guestPage.getByText(/You were invited/).waitFor();
    expect(await guestPage.getByLabel('Invitation code').inputValue()).toBe(
      new URL(link).searchParams.get('invite'),
    );
    await guestPage.getByLabel('Email').fill('guest@example.com');
    // The real estimator's advice, next to the field.
    await guestPage.getByLabel('Password', { exact: true }).fill('password123');
    await guestPage.getByRole('button', { name: 'Create an account' }).click();
    await guestPage.getByText(/^Too easy to guess \(strength \d of 4, at least 3 needed\)/).waitFor();
    expect(await guestPage.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await shot(guestPage, '03-guest-weak-password');
    await guestPage.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await guestPage.getByRole('button', { name: 'Create an account' }).click();
    await guestPage
      .getByRole('heading', { name: /workflows/i })
      .first()
      .waitFor();
    // Not an administrator: no admin section.
    expect(
      await guestPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count(),
    ).toBe(0);
    await guestPage.goto(`${baseUrl}/admin`);
    await guestPage.getByText(/Administrators only/).waitFor();

    // The newcomer's token: chosen scopes and a day of expiry, accepted by the real API.
    await guestPage.goto(`${baseUrl}/profile`);
    const scopes = guestPage.getByRole('group', { name: 'Scopes' });
    expect(await scopes.getByRole('checkbox', { name: 'admin' }).count()).toBe(0);
    await guestPage.getByLabel('Token name').fill('ci');
    await scopes.getByRole('checkbox', { name: 'write' }).uncheck();
    await scopes.getByRole('checkbox', { name: 'tokens' }).check();
    await guestPage.getByLabel('Expires after').selectOption('date');
    const day = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    await guestPage.getByLabel('Expires on').fill(day);
    await guestPage.getByRole('button', { name: 'Create token' }).click();
    expect(await guestPage.getByLabel('New token').inputValue()).toMatch(/^cvp_/);
    const tokenRow = guestPage
      .getByRole('table', { name: 'Active personal access tokens' })
      .getByRole('row')
      .filter({ hasText: 'ci' });
    await tokenRow.getByText('read, tokens').waitFor();
    await tokenRow.getByText('You (signed in)').waitFor();
    expect(await tokenRow.locator('time').textContent()).toMatch(/23:59 (CET|CEST|GMT\+1|GMT\+2)$/);
    await shot(guestPage, '04-guest-token');

    // Back to the administrator: the invitation is used, the audit log has the registration.
    await page.reload();
    await invites.getByRole('row').filter({ hasText: 'guest@example.com' }).getByText('used').waitFor();
    await page
      .getByRole('navigation', { name: 'Administration' })
      .getByRole('link', { name: 'Audit log' })
      .click();
    const audit = page.getByRole('table', { name: 'Audit log' });
    await audit.getByText('user.registered').first().waitFor();
    await page.getByLabel('Action').selectOption('user.registered');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const actions = () => audit.locator('tbody code').allTextContents();
    // Only registrations: the administrator's and the guest's.
    await expect.poll(actions, { timeout: UI_TIMEOUT }).toEqual(['user.registered', 'user.registered']);
    const row = audit.getByRole('row').filter({ hasText: 'guest@example.com' });
    const time = (await row.locator('time').textContent()) ?? '';
    // Paris in winter or summer, named as the browser names it.
    expect(time).toMatch(/\d{4}.*\d{2}:\d{2}:\d{2} (CET|CEST|GMT\+1|GMT\+2)$/);
    await shot(page, '05-admin-audit');

    // Everything about the guest: the registration, never the administrator's own sign-in.
    await page.getByLabel('User').selectOption({ label: 'guest@example.com' });
    await page.getByLabel('Action').selectOption('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(async () => (await actions()).includes('invite.created'), { timeout: UI_TIMEOUT })
      .toBe(false);
    expect(await actions()).toContain('user.registered');
    const rows = await audit.locator('tbody tr').allTextContents();
    expect(rows.every((r) => r.includes('guest@example.com'))).toBe(true);

    await guest.close();
    await admin.close();
  });
});
