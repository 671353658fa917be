export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One finding: what was checked, what was found and, unless it passed, how to fix it. */
export type CheckResult = { id: string; title: string; status: CheckStatus; summary: string; fix?: string };

export const pass = (id: string, title: string, summary: string): CheckResult => ({ id, title, status: 'pass', summary });
export const warn = (id: string, title: string, summary: string, fix: string): CheckResult => ({ id, title, status: 'warn', summary, fix });
export const fail = (id: string, title: string, summary: string, fix: string): CheckResult => ({ id, title, status: 'fail', summary, fix });

/** A few names, then how many more: findings stay one line however broken a database is. */
export function someOf(names: string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
