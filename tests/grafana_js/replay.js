// Replays every variable, panel and annotation query of the generated dashboards, and every alert
// rule query, against a running grafana-proxy, the way the dashboard's plugin sends it; turns each
// answer into data frames the way Grafana does (SimpleJSON: @grafana/data's getProcessedDataFrames;
// Infinity: the backend parser's rules in infinity.js) and checks what the panel type needs, with
// every @grafana/data version in package.json.
//
// Usage: node replay.js CONFIG.json   (CONFIG: {url, key, dashboards: [paths], rules: [alert rules],
// plugin: "simpod" to send the SimpleJSON dashboards' queries as the simPod JSON datasource does})
// Prints a JSON report {checks, failures: [{where, problem}]}; exits 1 when anything failed.
'use strict';
require('./browser_shim');
const fs = require('fs');
const path = require('path');
const { infinityFrames, schema } = require('./infinity');

const PREFIX = '/api/grafana-proxy/model-endpoints';
const HEADER = 'X-V3io-Session-Key';
const INTERVAL_MS = 60000;
const MAX_POINTS = 1000;
const LIBRARIES = Object.keys(require('./package.json').dependencies).filter((n) => n.startsWith('grafana-data-'));

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const libs = LIBRARIES.map((name) => ({ name, version: require(`${name}/package.json`).version, data: require(name) }));
for (const lib of libs) registerTransformers(lib);

function registerTransformers(lib) {
  // Grafana's app registers @grafana/data's standard transformers at start; 13.x registers loaders.
  const lazy = Number(lib.version.split('.')[0]) >= 13;
  const items = new Map();
  for (const t of Object.values(lib.data.standardTransformers)) {
    if (t && t.id && !items.has(t.id)) {
      items.set(t.id, { id: t.id, name: t.name, description: t.description, transformation: lazy ? () => t : t });
    }
  }
  lib.data.standardTransformersRegistry.setInit(() => [...items.values()]);
}

function transform(lib, transformations, frames) {
  if (!transformations || !transformations.length) return Promise.resolve(frames);
  return new Promise((resolve, reject) => {
    let last = frames;
    lib.data.transformDataFrame(transformations, frames).subscribe({
      next: (out) => { last = out; },
      error: reject,
      complete: () => resolve(last),
    });
  });
}
const report = { libraries: libs.map((l) => l.version), checks: 0, failures: [] };
const fail = (where, problem) => report.failures.push({ where, problem });
const check = (ok, where, problem) => {
  report.checks += 1;
  if (!ok) fail(where, problem);
  return ok;
};

// --- requests ---------------------------------------------------------------------------------

async function post(route, body) {
  const response = await fetch(config.url + PREFIX + route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', [HEADER]: config.key },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${route} -> ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const escapeRegex = (v) => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
const formats = {
  // templateSrv's formats: SimpleJSON interpolates targets with "regex", Infinity bodies with "glob".
  regex: (vs) => (vs.length === 1 ? escapeRegex(vs[0]) : `(${vs.map(escapeRegex).join('|')})`),
  glob: (vs) => (vs.length === 1 ? vs[0] : `{${vs.join(',')}}`),
};

function interpolate(text, vars, format) {
  const names = Object.keys(vars).sort((a, b) => b.length - a.length);
  for (const name of names) {
    const value = formats[format](vars[name].map((o) => o.value));
    text = text.split('${' + name + '}').join(value).split('$' + name).join(value);
  }
  return text;
}

function range(dash) {
  const to = Date.now();
  const m = /^now-(\d+)([hd])$/.exec(dash.time.from);
  const hours = Number(m[1]) * (m[2] === 'd' ? 24 : 1);
  return { from: to - hours * 3600000, to, raw: { from: dash.time.from, to: dash.time.to } };
}

function infinityBody(query, r, vars) {
  const text = query.url_options.data
    .split('${__from}').join(String(r.from))
    .split('${__to}').join(String(r.to))
    .split('${__interval_ms}').join(String(INTERVAL_MS));
  return interpolate(text, vars, 'glob');
}

function simplejsonRequest(dash, panel, r, vars) {
  const iso = (ms) => new Date(ms).toISOString();
  const scopedVars = { __interval: { text: '1m', value: '1m' }, __interval_ms: { text: '60000', value: INTERVAL_MS } };
  for (const [name, opts] of Object.entries(vars)) {
    scopedVars[name] = { text: opts.map((o) => o.text), value: opts.map((o) => o.value) };
  }
  return {
    app: 'dashboard',
    requestId: `SQR${panel.id}`,
    timezone: 'browser',
    panelId: panel.id,
    dashboardUID: dash.uid,
    range: { from: iso(r.from), to: iso(r.to), raw: r.raw },
    rangeRaw: r.raw,
    interval: '1m',
    intervalMs: INTERVAL_MS,
    maxDataPoints: MAX_POINTS,
    targets: panel.targets.map((t) => ({
      target: interpolate(t.target, vars, 'regex'),
      refId: t.refId,
      hide: false,
      type: t.type || 'timeserie',
    })),
    scopedVars,
    startTime: r.to,
    adhocFilters: [],
  };
}

function simpodRequest(dash, panel, r, vars) {
  // simPod sends each saved query whole (no `type`), a payload object, and ad hoc filters as `filters`.
  const request = simplejsonRequest(dash, panel, r, vars);
  delete request.adhocFilters;
  request.filters = [];
  request.targets = panel.targets.map((t) => ({
    refId: t.refId,
    datasource: { type: 'simpod-json-datasource', uid: t.datasource.uid },
    editorMode: 'code',
    target: interpolate(t.target, vars, 'regex'),
    payload: {},
    hide: false,
  }));
  return request;
}

// --- frames -----------------------------------------------------------------------------------

/** Infinity's frames as @grafana/data DataFrames (what the frontend receives from the backend). */
function toGrafanaFrames(lib, frames) {
  return frames.map((f) =>
    lib.data.toDataFrame({
      name: f.name,
      refId: f.refId,
      meta: f.meta,
      fields: f.fields.map((x) => ({ name: x.name, type: x.type, values: x.values, labels: x.labels, config: {} })),
    }),
  );
}

const values = (field) => Array.from(field.values.toArray ? field.values.toArray() : field.values);
const rows = (frame) => (frame.fields.length ? values(frame.fields[0]).length : 0);

function applyDisplayName(frames, defaults) {
  // The panel's fieldConfig.defaults.displayName with ${__field.labels.X} filled in, as Grafana does.
  if (!defaults.displayName) return;
  for (const frame of frames) {
    for (const field of frame.fields) {
      if (field.type === 'time') continue;
      field.config = {
        ...field.config,
        displayName: defaults.displayName.replace(/\$\{__field\.labels\.([\w]+)\}/g, (_, k) => (field.labels || {})[k] ?? ''),
      };
    }
  }
}

// --- what each panel type needs --------------------------------------------------------------

function checkSeries(lib, frames, where, { wide }) {
  const numbers = [];
  for (const frame of frames) {
    const kinds = frame.fields.map((f) => f.type);
    if (!kinds.includes('number')) continue;
    check(kinds.includes('time'), where, `frame ${frame.name || frame.refId} has numbers but no time field`);
    if (wide && kinds.includes('string')) {
      const series = new Set(values(frame.fields.find((f) => f.type === 'string')));
      check(false, where, `frame stayed long (${series.size} series in one number field; ${frame.meta?.longToWideError || 'string field present'}): the panel draws one line`);
    }
    for (const field of frame.fields) {
      if (field.type === 'number') numbers.push(lib.data.getFieldDisplayName(field, frame, frames));
    }
  }
  check(numbers.length > 0, where, 'no number field');
  const dupes = numbers.filter((n, i) => numbers.indexOf(n) !== i);
  check(dupes.length === 0, where, `series names not distinct: ${[...new Set(dupes)].join(', ')}`);
  const filled = frames.some((f) => f.fields.some((x) => x.type === 'number' && values(x).some((v) => v !== null)));
  check(filled, where, 'no value in any series');
}

function checkTable(frames, panel, where) {
  const names = new Set(frames.flatMap((f) => f.fields.map((x) => x.name)));
  const wanted = new Set(panel.fieldConfig.overrides.map((o) => o.matcher.options));
  for (const t of panel.transformations || []) {
    for (const key of ['indexByName', 'excludeByName', 'renameByName']) Object.keys(t.options?.[key] || {}).forEach((n) => wanted.add(n));
  }
  for (const name of wanted) check(names.has(name), where, `field ${name} named by an override/transformation is missing`);
  check(frames.some((f) => rows(f) > 0), where, 'table has no rows');
}

function checkStat(lib, frames, panel, where) {
  const spec = panel.options?.reduceOptions?.fields || '';
  const m = /^\/(.*)\/$/.exec(spec);
  const re = m ? new RegExp(m[1]) : null;
  const matching = frames.flatMap((frame) =>
    frame.fields.filter((f) => f.type === 'number' && (!re || re.test(f.name) || re.test(lib.data.getFieldDisplayName(f, frame, frames)))),
  );
  check(matching.length > 0, where, `no number field matches ${spec || 'any'}`);
  check(matching.some((f) => values(f).some((v) => typeof v === 'number')), where, 'no number to show');
}

function checkPanel(lib, raw, frames, panel, where) {
  switch (panel.type) {
    case 'timeseries':
    case 'state-timeline':
      return checkSeries(lib, frames, where, { wide: true });
    case 'heatmap':
      return checkSeries(lib, frames, where, { wide: false });
    case 'table':
      return checkTable(raw, panel, where); // the fields the transformations and overrides name
    case 'stat':
    case 'bargauge':
    case 'piechart':
    case 'gauge':
      return checkStat(lib, frames, panel, where);
    default:
      return check(false, where, `no check for panel type ${panel.type}`);
  }
}

// --- variables --------------------------------------------------------------------------------

async function variableOptions(variable, flavour, vars, r) {
  if (flavour === 'simpod') {
    // simPod's variable: POST /variable {payload: {target}, range}; answers {__text, __value}.
    const r2 = { from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString(), raw: r.raw };
    const answer = await post('/variable', { payload: { target: interpolate(variable.query, vars, 'regex') }, range: r2 });
    return answer.map((d) => ({ text: String(d.__text), value: String(d.__value) }));
  }
  if (flavour === 'simplejson') {
    const answer = await post('/search', { target: interpolate(variable.query, vars, 'regex') });
    // SimpleJSON's mapToTextValue: strings are text and value; objects need both keys.
    return answer.map((d) => (typeof d === 'object' && d !== null && 'text' in d && 'value' in d ? { text: String(d.text), value: String(d.value) } : { text: String(d), value: String(d) }));
  }
  const query = variable.query.infinityQuery;
  const answer = await post(query.url, infinityBody(query, r, vars));
  const [frame] = infinityFrames(answer, query);
  // Infinity's variable support: __text/__value fields when present, else the first field.
  const valueField = frame.fields.find((f) => f.name === '__value') || frame.fields[0];
  const textField = frame.fields.find((f) => f.name === '__text') || valueField;
  if (!valueField) return [];
  return valueField.values.map((v, i) => ({ text: String(textField.values[i]), value: String(v) }));
}

async function resolveVariables(dash, flavour, where) {
  const vars = {};
  const r = range(dash);
  for (const variable of dash.templating.list) {
    const at = `${where} variable ${variable.name}`;
    let options = [];
    try {
      options = await variableOptions(variable, flavour, vars, r);
    } catch (err) {
      check(false, at, err.message);
    }
    check(options.length > 0 && options.every((o) => o.value), at, 'no options, or an empty value');
    if (variable.name === 'MODELENDPOINT') {
      check(options.every((o) => o.text !== o.value), at, `endpoint options must show names, not uids: ${JSON.stringify(options.slice(0, 2))}`);
    }
    vars[variable.name] = variable.multi ? options : options.slice(0, 1);
    vars[variable.name].all = options;
  }
  return vars;
}

// --- dashboards -------------------------------------------------------------------------------

async function panelFrames(dash, panel, flavour, vars, lib, cache) {
  const r = range(dash);
  if (flavour === 'simplejson' || flavour === 'simpod') {
    const key = `sj:${panel.id}:${JSON.stringify(vars)}`;
    const body = flavour === 'simplejson' ? simplejsonRequest(dash, panel, r, vars) : simpodRequest(dash, panel, r, vars);
    if (!cache.has(key)) cache.set(key, await post('/query', body));
    // What Grafana does with a frontend datasource's answer.
    return lib.data.getProcessedDataFrames(cache.get(key));
  }
  const frames = [];
  for (const query of panel.targets) {
    const key = `inf:${panel.id}:${query.refId}:${JSON.stringify(vars)}`;
    if (!cache.has(key)) cache.set(key, infinityFrames(await post(query.url, infinityBody(query, r, vars)), query));
    frames.push(...toGrafanaFrames(lib, cache.get(key)));
  }
  applyDisplayName(frames, panel.fieldConfig.defaults || {});
  return frames;
}

async function checkAnnotations(dash, flavour, vars, where) {
  const r = range(dash);
  for (const annotation of dash.annotations.list) {
    if (annotation.builtIn) continue;
    const at = `${where} annotation ${annotation.name}`;
    if (flavour === 'simpod') continue; // simPod reads annotations through /query: not replayed
    let events = [];
    if (flavour === 'simplejson') {
      const body = {
        range: { from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString(), raw: r.raw },
        rangeRaw: r.raw,
        annotation: { ...annotation, query: interpolate(annotation.query, vars, 'glob') },
      };
      events = (await post('/annotations', body)).map((e) => ({ time: e.time, timeEnd: e.timeEnd, title: e.title, tags: e.tags }));
    } else {
      const query = annotation.target;
      const [frame] = infinityFrames(await post(query.url, infinityBody(query, r, vars)), query);
      // Grafana's annotation support maps fields by name: time, timeEnd, title, text, tags (comma list).
      const field = (n) => frame.fields.find((f) => f.name === n);
      if (frame.fields.length) {
        check(field('time') && field('timeEnd') && field('title'), at, 'annotation frame needs time, timeEnd and title');
      }
      events = (field('time')?.values || []).map((t, i) => ({
        time: t,
        timeEnd: field('timeEnd')?.values[i],
        title: field('title')?.values[i],
        tags: (field('tags')?.values[i] || '').split(',').filter(Boolean),
      }));
    }
    check(events.every((e) => typeof e.time === 'number' && e.title), at, 'annotation without time or title');
    check(events.every((e) => typeof e.timeEnd === 'number' && e.timeEnd >= e.time), at, 'annotations must be regions with an end time');
    report.annotations = (report.annotations || 0) + events.length;
    // One region per episode of one endpoint's application result: regions of the same one never touch.
    const byResult = new Map();
    for (const e of events) {
      const key = e.tags && e.tags.length ? `${e.tags[0]} ${e.tags[1]} on ${e.tags[e.tags.length - 1]}` : e.title;
      byResult.set(key, [...(byResult.get(key) || []), e]);
    }
    for (const [title, list] of byResult) {
      list.sort((a, b) => a.time - b.time);
      const touching = list.some((e, i) => i > 0 && e.time <= list[i - 1].timeEnd);
      check(!touching, at, `regions of "${title}" overlap: one region per detection episode`);
    }
  }
}

async function replayDashboard(file) {
  const dash = JSON.parse(fs.readFileSync(file, 'utf8'));
  let flavour = dash.panels[0].datasource.type === 'yesoreyeram-infinity-datasource' ? 'infinity' : 'simplejson';
  // The SimpleJSON dashboards' targets as the simPod JSON datasource would send them.
  if (flavour === 'simplejson' && config.plugin === 'simpod') flavour = 'simpod';
  const where = `${flavour}/${path.basename(file, '.json')}`;
  const vars = await resolveVariables(dash, flavour, where);
  const cache = new Map();
  // Row headers hold no query; a collapsed row keeps its panels inside it.
  const panels = dash.panels.flatMap((p) => (p.type === 'row' ? p.panels || [] : [p]));
  for (const panel of panels) {
    for (const lib of libs) {
      const at = `${where} panel "${panel.title}" (@grafana/data ${lib.version})`;
      try {
        const raw = await panelFrames(dash, panel, flavour, vars, lib, cache);
        checkPanel(lib, raw, await transform(lib, panel.transformations, raw), panel, at);
      } catch (err) {
        check(false, at, err.message);
      }
    }
  }
  await checkEveryOption(dash, flavour, vars, where);
  await checkAnnotations(dash, flavour, vars, where);
}

function panelText(panel) {
  return JSON.stringify(panel.targets);
}

async function checkEveryOption(dash, flavour, vars, where) {
  // A variable offers only what its panels can draw: each option alone gives every panel that uses
  // it a value (checked with the newest data library).
  const lib = libs[libs.length - 1];
  for (const variable of dash.templating.list.filter((v) => v.multi)) {
    const panels = dash.panels.filter((p) => panelText(p).includes('$' + variable.name));
    for (const option of vars[variable.name].all) {
      const chosen = { ...vars, [variable.name]: [option] };
      for (const panel of panels) {
        const at = `${where} panel "${panel.title}" with ${variable.name}=${option.text}`;
        try {
          const frames = await transform(lib, panel.transformations, await panelFrames(dash, panel, flavour, chosen, lib, new Map()));
          const filled = frames.some((f) => f.fields.some((x) => x.type === 'number' && values(x).some((v) => v !== null)));
          check(filled, at, 'No data: the variable offers an option this panel cannot draw');
        } catch (err) {
          check(false, at, err.message);
        }
      }
    }
  }
}

// --- alert rules (Grafana-managed, Infinity backend) -------------------------------------------

function alertSeries(frames) {
  // What Grafana's expression engine can evaluate: numbers each identified by a distinct label set.
  const sets = [];
  for (const frame of frames) {
    const s = schema(frame);
    if (s.type === 'long') throw new Error('frame cannot uniquely be identified by its labels (long frame: time goes backwards)');
    if (s.type === 'wide') {
      for (const i of s.values) sets.push({ labels: frame.fields[i].labels || {}, values: frame.fields[i].values });
      continue;
    }
    const strings = frame.fields.filter((f) => f.type === 'string');
    for (const field of frame.fields.filter((f) => f.type === 'number')) {
      field.values.forEach((v, row) => {
        const labels = Object.fromEntries(strings.map((f) => [f.name, f.values[row]]));
        sets.push({ labels, values: [v] });
      });
    }
  }
  return sets;
}

async function replayRule(rule) {
  const at = `alert rule "${rule.title}"`;
  for (const item of rule.data.filter((d) => d.datasourceUid !== '__expr__')) {
    const model = item.model;
    try {
      const frames = infinityFrames(await post(model.url, model.url_options.data), model);
      const series = alertSeries(frames);
      check(series.length > 0, at, 'no series to evaluate');
      const keys = series.map((s) => JSON.stringify(Object.entries(s.labels).sort()));
      check(new Set(keys).size === keys.length, at, `series not uniquely labelled: ${keys.slice(0, 3).join(' ')}`);
      for (const label of rule.requiredLabels || []) {
        check(series.every((s) => s.labels[label]), at, `every series needs the label ${label}`);
      }
      // The rule's expressions: reduce "last" (dropping nulls), then the threshold "gt".
      const threshold = rule.data.find((d) => d.model.type === 'threshold');
      const limit = threshold.model.conditions[0].evaluator.params[0];
      const last = (vs) => [...vs].reverse().find((v) => v !== null && v !== undefined);
      const firing = series.filter((s) => last(s.values) > limit).map((s) => s.labels);
      report.firing = { ...(report.firing || {}), [rule.uid]: firing };
      report.series = { ...(report.series || {}), [rule.uid]: series.map((x) => x.labels) };
    } catch (err) {
      check(false, at, err.message);
    }
  }
}

(async () => {
  for (const file of config.dashboards) await replayDashboard(file);
  for (const rule of config.rules || []) await replayRule(rule);
  process.stdout.write(JSON.stringify(report, null, 1) + '\n');
  process.exit(report.failures.length ? 1 : 0);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(2);
});
