import { describe, expect, it } from 'vitest';
import { TEMPLATES, render } from './templates.js';

const vars = { organization: 'Acme', provider: 'Xero', label: 'default', reason: 'invalid_grant', actionUrl: 'https://k.example/admin' };

describe('notification templates', () => {
  it('every template renders with a subject, text and HTML part', () => {
    const all = { ...vars, email: 'a@b.example', resetUrl: 'https://k.example/r', inviteUrl: 'https://k.example/i', role: 'member', endsOn: '2026-12-01', adminUrl: 'https://k.example/admin', failures: '3', nextAttemptAt: 'soon', host: 'hooks.example' };
    for (const name of TEMPLATES) {
      const r = render(name, all);
      expect(r.subject.length, name).toBeGreaterThan(5);
      expect(r.text, name).not.toMatch(/\{\{/);
      expect(r.html, name).not.toMatch(/\{\{/);
    }
  });

  it('escapes values in the HTML part, keeps them readable in the text part', () => {
    const r = render('connection_needs_reauth', { ...vars, organization: '<img src=x onerror=alert(1)> & "Co"', label: "o'neil" });
    expect(r.html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot;');
    expect(r.html).toContain('o&#39;neil');
    expect(r.html).not.toContain('<img');
    expect(r.text).toContain('<img src=x onerror=alert(1)> & "Co"');
  });

  it('a value cannot add lines or headers: control characters become spaces, in the subject too', () => {
    const r = render('connection_needs_reauth', { ...vars, provider: 'Xero\r\nBcc: victim@example.com' });
    expect(r.subject).toBe('Reconnect Xero Bcc: victim@example.com (default) in Keyhold');
    expect(r.text).not.toContain('\r');
  });

  it('refuses to render with a variable missing', () => {
    expect(() => render('password_reset', { email: 'a@b.example', organization: 'Acme' })).toThrow(/resetUrl/);
  });
});
