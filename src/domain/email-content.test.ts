import { describe, expect, it } from 'vitest';
import { escapeHtml, renderEmail } from './email-content.ts';

const base = {
  content: {
    kind: 'ERROR' as const,
    title: 'Job failed',
    message: 'A job of "nightly <backup>" failed (HTTP 503): HTTP_STATUS: endpoint answered 503.',
    action_url: '/workflows/wf-1/jobs/job-1',
  },
  event: 'job.failed',
  publicUrl: 'https://cv.example.com/',
  workflowName: 'nightly <backup>',
  workflowPath: '/workflows/wf-1',
};

describe('renderEmail', () => {
  it('writes the subject from the title and the workflow name', () => {
    expect(renderEmail(base).subject).toBe('[Chronoverse] Job failed: nightly <backup>');
    expect(renderEmail({ ...base, workflowName: null }).subject).toBe('[Chronoverse] Job failed');
    expect(renderEmail({ ...base, workflowName: 'a\n\tb' }).subject).toBe('[Chronoverse] Job failed: a b');
  });

  it('puts the message and absolute links (no double slash) in the text', () => {
    const { text } = renderEmail(base);
    expect(text).toContain(base.content.message);
    expect(text).toContain('Open it: https://cv.example.com/workflows/wf-1/jobs/job-1');
    expect(text).toContain('Change or stop them: https://cv.example.com/workflows/wf-1');
    expect(text).toContain('subscribed to job.failed');
  });

  it('escapes everything it puts in HTML', () => {
    const { html } = renderEmail(base);
    expect(html).toContain('nightly &lt;backup&gt;');
    expect(html).not.toContain('<backup>');
    expect(html).toContain('href="https://cv.example.com/workflows/wf-1/jobs/job-1"');
    expect(escapeHtml(`"'&<>`)).toBe('&quot;&#39;&amp;&lt;&gt;');
  });

  it('gives a subscriber who does not own the workflow no deep link, and says who subscribed them', () => {
    const { text, html } = renderEmail({
      ...base,
      content: { ...base.content, action_url: null },
      workflowPath: null,
    });
    expect(text).toContain(base.content.message);
    expect(text).not.toContain('/workflows/');
    expect(text).not.toContain('Open it');
    expect(text).toContain('an administrator subscribed you to job.failed');
    expect(text).toContain('https://cv.example.com/api/v1/subscriptions');
    expect(html).not.toContain('/workflows/');
    expect(html).toContain('href="https://cv.example.com/api/v1/subscriptions"');
  });

  it('clips a long subject', () => {
    const { subject } = renderEmail({ ...base, workflowName: 'x'.repeat(500) });
    expect(subject.length).toBe(200);
    expect(subject.endsWith('…')).toBe(true);
  });
});
