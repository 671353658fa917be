/** A money figure in the company's currency (or a plain number when it is not known). */
export function money(value: number | null | undefined, currency: string | null | undefined) {
  if (value === null || value === undefined) return '—';
  if (!currency) return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  try {
    return value.toLocaleString(undefined, { style: 'currency', currency });
  } catch {
    return `${value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
  }
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : 'never');
