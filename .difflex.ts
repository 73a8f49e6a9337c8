import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { lex } from './common/sql/lexer';
const esc = (s: string) => [...s].map((c) => c.codePointAt(0)!.toString(16) + '.').join('');
function ours(q: string): string {
  try {
    return 'OK ' + lex(q).map((t) => (['star','eq','arrow','lparen','rparen','lbracket','rbracket','dot','comma','colon','doubleColon','semicolon'].includes(t.kind) ? t.kind : t.kind === 'word' ? `ident:${esc(t.value)}` : `${t.kind}:${esc(t.value)}`) + '@' + Buffer.byteLength(q.slice(0, t.start))).join(' ');
  } catch (e) { return 'ERR ' + (e as Error).message; }
}
const frag = fc.constantFrom("'", "''", "e'", "E'", "x'", "X'", '\\', "\\'", '\\\\', '$', '$$', '$a$', '$1', '"', '""', '--', '/*', '*/', '\n', '\r', ' ', '\t', '\f', '\v', ';', '(', ')', '[', ']', '.', ',', ':', '::', '=', '=>', '!=', '+', '-', '*', '/', '<', '>', '@', '#', '~', '?', '|', '&', '`', '^', '%', '!', 'a', 'E', 'e', 'x', 'SELECT', 'TO', 'WITH', '1', '0', '9', '.5', '1e', 'e-', 'e+', '\\u0041', '\\U0001F600', '\\u+041', '\\x', '\\0', '\\n', 'é', '😀', '\u00a0', '_', 'b', '{', 'ß', 'İ', 'Σ');
const inputs = fc.sample(fc.array(frag, { maxLength: 25 }).map((a) => a.join('')), { numRuns: Number(process.argv[2] ?? 20000), seed: 42 });
inputs.push(...fc.sample(fc.string({ unit: 'binary', maxLength: 30 }).filter(s => !s.includes('\u0001') && !s.includes('\0') && !/\p{Cs}/u.test(s)), { numRuns: 5000, seed: 7 }));
const out = execFileSync('/tmp/mzlex/target/release/mzlex', { input: inputs.join('\u0001'), maxBuffer: 1 << 28 }).toString().split('\n');
let bad = 0;
inputs.forEach((q, i) => { const o = ours(q); if (o !== out[i]) { if (bad++ < 10) console.log(JSON.stringify(q), '\n  mz: ', out[i], '\n  us: ', o); } });
console.log(`${inputs.length} inputs, ${bad} differ`);
const errs = out.filter((l) => l.startsWith('ERR')).length;
console.log('errors', errs, 'ok', out.filter((l) => l.startsWith('OK')).length, [...new Set(out.filter(l=>l.startsWith('ERR')))].join(' | '));
