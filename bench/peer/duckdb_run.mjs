// bench/peer/duckdb_run.mjs - the DuckDB side of the peer comparison (bench/peer/compare.sh).
//
// Three modes, all printing to stdout:
//
//   node duckdb_run.mjs timed --file F --threads N --modules DIR
//       One SQL query over read_csv(F) computing what `assay check -c peer.yaml` computes
//       (per-column count, nulls, approximate distinct, min, max; mean, stddev and
//       approximate p50/p95/p99 of amount; the four rule counts). Prints one JSON object
//       with the answers and `query_seconds`: wall time from just before the query is
//       sent until its result is fully read, so it includes reading and parsing the CSV.
//
//   node duckdb_run.mjs exact --file F --threads N --modules DIR
//       The same query with exact aggregates (count(DISTINCT), quantile_disc): the
//       reference answers. Not part of any timing.
//
//   node duckdb_run.mjs report --assay A.json --duckdb D.json --exact E.json
//                              --assay-walls "s s ..." --duckdb-walls "s s ..."
//                              [--duckdb-process-walls "s ..."] [--json OUT]
//       Prints the side-by-side table (assay, DuckDB, exact) and the wall times; writes
//       the same as JSON to OUT when asked.
//
// How DuckDB reads the file: read_csv with auto-detection off and explicit column
// types. order_id and customer_id are BIGINT (the generator writes only valid integers
// there; a bad one would fail the load, as it should for a benchmark). amount and
// created_at carry deliberately invalid values ("N/A", "20,89", "2026-02-30T..."), so
// they are read as VARCHAR and converted with TRY_CAST in SQL: an invalid value becomes
// NULL there, which is what assay does (it counts it as `invalid` and leaves it out of
// min/max/mean/quantiles and of in_range). Text columns are VARCHAR. Distinct counts are
// over the column as read (BIGINT for the ids, the raw text for all others), which is
// assay's definition for this data (its numeric distinct hashes parsed values plus
// invalid texts; every valid amount is written as %.2f, so text and value agree).
//
// The package @duckdb/node-api is not a dependency of the repository: compare.sh installs
// it into a scratch directory, passed here as --modules DIR (DIR/node_modules/...).

import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const COLUMNS = [
  ['order_id', 'BIGINT'],
  ['customer_id', 'BIGINT'],
  ['email', 'VARCHAR'],
  ['amount', 'VARCHAR'],
  ['currency', 'VARCHAR'],
  ['country', 'VARCHAR'],
  ['status', 'VARCHAR'],
  ['created_at', 'VARCHAR'],
  ['phone', 'VARCHAR'],
  ['note', 'VARCHAR'],
];
// The typed value a column's min/max (and moments) are taken over; NULL when invalid.
const TYPED = {
  amount: 'TRY_CAST(amount AS DOUBLE)',
  created_at: 'TRY_CAST(created_at AS TIMESTAMP)',
};
const EMAIL_RE = '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'];
const QUANTILES = [0.5, 0.95, 0.99];
const RULES = ['bad_email', 'negative_amount', 'bad_currency', 'dup_order_id'];

function args(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[++i];
    else out._.push(argv[i]);
  }
  return out;
}

function sqlString(s) {
  return "'" + s.replaceAll("'", "''") + "'";
}

function buildQuery(file, exact) {
  const sel = ['count(*) AS rows'];
  for (const [c] of COLUMNS) {
    const typed = TYPED[c] ?? c;
    sel.push(`count(${c}) AS "${c}.nonnull"`);
    sel.push(exact ? `count(DISTINCT ${c}) AS "${c}.distinct"`
                   : `approx_count_distinct(${c}) AS "${c}.distinct"`);
    if (TYPED[c]) sel.push(`count(${typed}) AS "${c}.valid"`);
    if (c === 'created_at') {
      sel.push(`strftime(min(${typed}), '%Y-%m-%dT%H:%M:%S.%gZ') AS "${c}.min"`);
      sel.push(`strftime(max(${typed}), '%Y-%m-%dT%H:%M:%S.%gZ') AS "${c}.max"`);
    } else {
      sel.push(`min(${typed}) AS "${c}.min"`, `max(${typed}) AS "${c}.max"`);
    }
  }
  const a = TYPED.amount;
  sel.push(`avg(${a}) AS "amount.mean"`, `stddev_samp(${a}) AS "amount.stddev"`);
  const qs = '[' + QUANTILES.join(', ') + ']';
  sel.push(exact ? `quantile_disc(${a}, ${qs}) AS "amount.quantiles"`
                 : `approx_quantile(${a}, ${qs}) AS "amount.quantiles"`);
  sel.push(`count(*) FILTER (WHERE email IS NOT NULL AND NOT regexp_matches(email, ${sqlString(EMAIL_RE)})) AS "rule.bad_email"`);
  sel.push(`count(*) FILTER (WHERE ${a} < 0) AS "rule.negative_amount"`);
  sel.push(`count(*) FILTER (WHERE currency IS NOT NULL AND currency NOT IN (${CURRENCIES.map(sqlString).join(', ')})) AS "rule.bad_currency"`);
  sel.push(`count(order_id) - count(DISTINCT order_id) AS "rule.dup_order_id"`);
  const cols = COLUMNS.map(([c, t]) => `${sqlString(c)}: ${sqlString(t)}`).join(', ');
  const src = `read_csv(${sqlString(file)}, header = true, delim = ',', quote = '"', escape = '"', ` +
              `auto_detect = false, columns = {${cols}})`;
  return `WITH t AS (SELECT * FROM ${src})\nSELECT\n  ${sel.join(',\n  ')}\nFROM t`;
}

function num(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (v.items) return v.items.map(num);  // DuckDBListValue
  return String(v);
}

// Shape one result row as {rows, columns: {NAME: {count, nulls, distinct, ...}}, amount, rules}.
function shape(row) {
  const out = { rows: num(row.rows), columns: {}, amount: {}, rules: {} };
  for (const [c] of COLUMNS) {
    const nonnull = num(row[`${c}.nonnull`]);
    const col = {
      count: out.rows,
      nulls: out.rows - nonnull,
      distinct: num(row[`${c}.distinct`]),
      min: num(row[`${c}.min`]),
      max: num(row[`${c}.max`]),
    };
    if (TYPED[c]) col.invalid = nonnull - num(row[`${c}.valid`]);
    out.columns[c] = col;
  }
  out.amount.mean = num(row['amount.mean']);
  out.amount.stddev = num(row['amount.stddev']);
  const q = num(row['amount.quantiles']);
  QUANTILES.forEach((p, i) => { out.amount['p' + Math.round(p * 100)] = q[i]; });
  for (const r of RULES) out.rules[r] = num(row['rule.' + r]);
  return out;
}

async function runQuery(opt, exact) {
  const threads = parseInt(opt.threads ?? '2', 10);
  if (!opt.file || !(threads > 0)) throw new Error('need --file F and --threads N (N >= 1)');
  const req = createRequire(path.join(path.resolve(opt.modules ?? '.'), 'node_modules', 'x.js'));
  let entry;
  try {
    entry = req.resolve('@duckdb/node-api');
  } catch {
    throw new Error(`@duckdb/node-api not found under ${opt.modules}/node_modules ` +
                    `(npm install --prefix ${opt.modules} @duckdb/node-api)`);
  }
  const { DuckDBInstance } = await import(pathToFileURL(entry).href);
  const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const conn = await inst.connect();
  await conn.run(`SET threads = ${threads}`);
  const version = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjects()[0].v;
  const sql = buildQuery(path.resolve(opt.file), exact);
  const t0 = process.hrtime.bigint();
  const reader = await conn.runAndReadAll(sql);
  const rows = reader.getRowObjects();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = shape(rows[0]);
  out.engine = `duckdb ${version} (@duckdb/node-api)`;
  out.threads = threads;
  out.mode = exact ? 'exact' : 'timed';
  out.query_seconds = seconds;
  out.sql = sql;
  return out;
}

// ---- report -------------------------------------------------------------------------

function fromAssay(j) {
  const out = { rows: j.rows, columns: {}, amount: {}, rules: {} };
  for (const c of j.columns) {
    out.columns[c.name] = {
      count: c.count, nulls: c.nulls, distinct: c.distinct, min: c.min, max: c.max,
    };
    if (TYPED[c.name]) out.columns[c.name].invalid = c.invalid;
    if (c.name === 'amount') {
      out.amount = { mean: c.mean, stddev: c.stddev, p50: c.quantiles?.p50,
                     p95: c.quantiles?.p95, p99: c.quantiles?.p99 };
    }
  }
  for (const r of j.rules) out.rules[r.name] = r.failed;
  return out;
}

function fmt(v) {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return Number(v.toPrecision(8)).toString();
  }
  // control characters (a note's embedded newline) would break the table: escape them
  return String(v).replace(/[\u0000-\u001f\u007f]/g, (ch) => JSON.stringify(ch).slice(1, -1));
}

function errPct(v, exact) {
  if (typeof v !== 'number' || typeof exact !== 'number' || exact === 0) return null;
  return (100 * (v - exact)) / exact;
}

function fmtErr(e) {
  if (e === null) return '';
  const s = (e >= 0 ? '+' : '') + e.toFixed(3) + '%';
  return s.replace('-', '\u2212');
}

function minOf(list) {
  return list.length ? Math.min(...list) : null;
}

function report(opt) {
  const assayRaw = JSON.parse(readFileSync(opt.assay, 'utf8'));
  const A = fromAssay(assayRaw);
  const D = JSON.parse(readFileSync(opt.duckdb, 'utf8'));
  const E = JSON.parse(readFileSync(opt.exact, 'utf8'));
  const walls = (s) => (s ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  const aw = walls(opt['assay-walls']);
  const dw = walls(opt['duckdb-walls']);
  const pw = walls(opt['duckdb-process-walls']);

  // rows: [metric, assay, duckdb, exact, assay err, duckdb err]
  const rows = [];
  const add = (metric, a, d, e, withErr) => {
    const ea = withErr ? errPct(a, e) : null;
    const ed = withErr ? errPct(d, e) : null;
    rows.push({ metric, assay: a ?? null, duckdb: d ?? null, exact: e ?? null,
                assay_error_pct: ea, duckdb_error_pct: ed,
                same: !withErr && String(fmt(a)) === String(fmt(d)) && String(fmt(d)) === String(fmt(e)) });
  };
  add('rows', A.rows, D.rows, E.rows);
  for (const [c] of COLUMNS) {
    const a = A.columns[c] ?? {}, d = D.columns[c], e = E.columns[c];
    add(`${c}.nulls`, a.nulls, d.nulls, e.nulls);
    if ('invalid' in e) add(`${c}.invalid`, a.invalid, d.invalid, e.invalid);
    add(`${c}.distinct`, a.distinct, d.distinct, e.distinct, true);
    add(`${c}.min`, a.min, d.min, e.min);
    add(`${c}.max`, a.max, d.max, e.max);
  }
  add('amount.mean', A.amount.mean, D.amount.mean, E.amount.mean, true);
  add('amount.stddev', A.amount.stddev, D.amount.stddev, E.amount.stddev, true);
  for (const p of ['p50', 'p95', 'p99']) add(`amount.${p}`, A.amount[p], D.amount[p], E.amount[p], true);
  for (const r of RULES) add(`rule ${r}`, A.rules[r], D.rules[r], E.rules[r]);

  const head = ['metric', 'assay', 'DuckDB', 'exact (untimed)', 'assay err', 'DuckDB err'];
  const cells = rows.map((r) => [r.metric, fmt(r.assay), fmt(r.duckdb), fmt(r.exact),
                                 fmtErr(r.assay_error_pct), fmtErr(r.duckdb_error_pct)]);
  const width = head.map((h, i) => Math.min(34, Math.max(h.length, ...cells.map((c) => [...c[i]].length))));
  const cut = (s, w) => ([...s].length > w ? [...s].slice(0, w - 1).join('') + '\u2026' : s);
  const line = (c) => c.map((s, i) => {
    s = cut(s, width[i]);
    const pad = ' '.repeat(width[i] - [...s].length);
    return i === 0 ? s + pad : pad + s;
  }).join('  ');
  console.log(line(head));
  console.log(width.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));

  const amin = minOf(aw), dmin = minOf(dw), pmin = minOf(pw);
  const ratio = amin && dmin ? dmin / amin : null;
  console.log('');
  console.log(`wall times over ${aw.length} run(s), threads = ${D.threads}, minimum:`);
  console.log(`  assay  (process, check --json)         ${amin?.toFixed(3)} s   runs: ${aw.map((x) => x.toFixed(3)).join(' ')}`);
  console.log(`  DuckDB (query incl. CSV read)          ${dmin?.toFixed(3)} s   runs: ${dw.map((x) => x.toFixed(3)).join(' ')}`);
  if (assayRaw.seconds !== undefined) console.log(`  assay  (its own "seconds", last run)    ${Number(assayRaw.seconds).toFixed(3)} s`);
  if (pw.length) console.log(`  DuckDB (node process, for reference)   ${pmin?.toFixed(3)} s   runs: ${pw.map((x) => x.toFixed(3)).join(' ')}`);
  if (ratio) console.log(`  ratio DuckDB / assay = ${ratio.toFixed(2)}`);
  console.log(`  ${D.engine}; exact answers: ${E.engine}, count(DISTINCT), quantile_disc`);

  if (opt.json) {
    const out = {
      file: assayRaw.files?.[0], rows: A.rows, bytes: assayRaw.bytes, threads: D.threads,
      engines: { assay: 'assay check --json', duckdb: D.engine },
      quantiles: { duckdb: 'approx_quantile', exact: 'quantile_disc' },
      metrics: rows.map(({ same, ...r }) => r),
      wall_seconds: { assay: aw, duckdb_query: dw, duckdb_process: pw,
                      assay_min: amin, duckdb_min: dmin, ratio_duckdb_over_assay: ratio },
      answers: { assay: A, duckdb: { ...D, sql: undefined }, exact: { ...E, sql: undefined } },
    };
    writeFileSync(opt.json, JSON.stringify(out, null, 2) + '\n');
  }
}

const opt = args(process.argv.slice(2));
const mode = opt._[0];
try {
  if (mode === 'timed' || mode === 'exact') {
    console.log(JSON.stringify(await runQuery(opt, mode === 'exact')));
  } else if (mode === 'report') {
    report(opt);
  } else {
    throw new Error('usage: duckdb_run.mjs timed|exact --file F --threads N --modules DIR | report ...');
  }
} catch (e) {
  console.error(`duckdb_run.mjs: ${e.message}`);
  process.exit(2);
}
