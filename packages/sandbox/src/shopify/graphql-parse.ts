/**
 * A small GraphQL parser for the subset the Admin API clients send: one or more operations
 * (`query` only), variables with defaults, aliases, arguments of every literal kind and nested
 * selections. Fragments and directives are refused with a GraphQL error (the sandbox's limit).
 */
export type Value = { kind: 'var'; name: string } | { kind: 'lit'; value: unknown } | { kind: 'list'; items: Value[] } | { kind: 'obj'; fields: Record<string, Value> };
export type Field = { alias: string; name: string; args: Record<string, Value>; selections: Field[] | null; line: number; column: number };
export type Operation = { type: string; name: string | null; variables: Record<string, { type: string; default?: Value }>; selections: Field[] };

export class GraphqlSyntaxError extends Error {
  constructor(message: string, readonly line: number, readonly column: number) {
    super(message);
  }
}

type Token = { kind: 'punct' | 'name' | 'int' | 'float' | 'string' | 'eof'; value: string; line: number; column: number };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = () => ({ line, column: i - lineStart + 1 });
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') { line++; i++; lineStart = i; continue; }
    if (c === ' ' || c === '\t' || c === '\r' || c === ',' || c === '\ufeff') { i++; continue; }
    if (c === '#') { while (i < src.length && src[i] !== '\n') i++; continue; }
    const pos = at();
    if (src.startsWith('...', i)) { tokens.push({ kind: 'punct', value: '...', ...pos }); i += 3; continue; }
    if ('{}()[]:!$=@|&'.includes(c)) { tokens.push({ kind: 'punct', value: c, ...pos }); i++; continue; }
    if (c === '"') {
      if (src.startsWith('"""', i)) {
        const end = src.indexOf('"""', i + 3);
        if (end < 0) throw new GraphqlSyntaxError('Unterminated string', pos.line, pos.column);
        tokens.push({ kind: 'string', value: src.slice(i + 3, end), ...pos });
        i = end + 3;
        continue;
      }
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new GraphqlSyntaxError('Unterminated string', pos.line, pos.column);
      tokens.push({ kind: 'string', value: JSON.parse(src.slice(i, j + 1)) as string, ...pos });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) { tokens.push({ kind: num[1] || num[2] ? 'float' : 'int', value: num[0], ...pos }); i += num[0].length; continue; }
    const name = /^[_A-Za-z][_0-9A-Za-z]*/.exec(src.slice(i));
    if (name) { tokens.push({ kind: 'name', value: name[0], ...pos }); i += name[0].length; continue; }
    throw new GraphqlSyntaxError(`Parse error on "${c}"`, pos.line, pos.column);
  }
  tokens.push({ kind: 'eof', value: '', ...at() });
  return tokens;
}

export function parse(src: string): Operation[] {
  const t = tokenize(src);
  let p = 0;
  const peek = () => t[p]!;
  const fail = (tok = peek()): never => { throw new GraphqlSyntaxError(`Parse error on "${tok.value || 'end of document'}" (${tok.kind.toUpperCase()})`, tok.line, tok.column); };
  const expect = (value: string) => (peek().value === value && peek().kind !== 'string' ? t[p++]! : fail());
  const name = () => (peek().kind === 'name' ? t[p++]!.value : fail());
  const is = (value: string) => peek().kind === 'punct' && peek().value === value;

  function value(): Value {
    const tok = peek();
    if (is('$')) { p++; return { kind: 'var', name: name() }; }
    if (is('[')) { p++; const items: Value[] = []; while (!is(']')) items.push(value()); p++; return { kind: 'list', items }; }
    if (is('{')) { p++; const fields: Record<string, Value> = {}; while (!is('}')) { const k = name(); expect(':'); fields[k] = value(); } p++; return { kind: 'obj', fields }; }
    p++;
    switch (tok.kind) {
      case 'int': return { kind: 'lit', value: Number.parseInt(tok.value, 10) };
      case 'float': return { kind: 'lit', value: Number(tok.value) };
      case 'string': return { kind: 'lit', value: tok.value };
      case 'name': return { kind: 'lit', value: tok.value === 'true' ? true : tok.value === 'false' ? false : tok.value === 'null' ? null : tok.value };
      default: return fail(tok);
    }
  }
  function typeRef(): string {
    let s = is('[') ? (p++, `[${typeRef()}${(expect(']'), ']')}`) : name();
    if (is('!')) { p++; s += '!'; }
    return s;
  }
  function selectionSet(): Field[] {
    expect('{');
    const fields: Field[] = [];
    while (!is('}')) {
      if (is('...')) throw new GraphqlSyntaxError('Fragments are not supported by the Keyhold sandbox', peek().line, peek().column);
      const tok = peek();
      let alias = name();
      let fieldName = alias;
      if (is(':')) { p++; fieldName = name(); }
      const args: Record<string, Value> = {};
      if (is('(')) { p++; while (!is(')')) { const k = name(); expect(':'); args[k] = value(); } p++; }
      if (is('@')) throw new GraphqlSyntaxError('Directives are not supported by the Keyhold sandbox', peek().line, peek().column);
      fields.push({ alias, name: fieldName, args, selections: is('{') ? selectionSet() : null, line: tok.line, column: tok.column });
      alias = '';
    }
    p++;
    if (fields.length === 0) fail();
    return fields;
  }
  const ops: Operation[] = [];
  while (peek().kind !== 'eof') {
    if (is('{')) { ops.push({ type: 'query', name: null, variables: {}, selections: selectionSet() }); continue; }
    const type = name();
    if (type === 'fragment') throw new GraphqlSyntaxError('Fragments are not supported by the Keyhold sandbox', peek().line, peek().column);
    const opName = peek().kind === 'name' ? name() : null;
    const variables: Operation['variables'] = {};
    if (is('(')) {
      p++;
      while (!is(')')) {
        expect('$');
        const v = name();
        expect(':');
        const ty = typeRef();
        variables[v] = { type: ty, ...(is('=') ? (p++, { default: value() }) : {}) };
      }
      p++;
    }
    ops.push({ type, name: opName, variables, selections: selectionSet() });
  }
  if (ops.length === 0) fail();
  return ops;
}
