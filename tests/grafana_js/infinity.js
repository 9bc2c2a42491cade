// What Infinity's backend parser (`parser: "backend"`) makes of a JSON answer, ported from the plugin's
// Go source (our own code; the rules, not the text):
// - grafana/grafana-infinity-datasource pkg/infinity/jsonBackend.go: frame named after the refId;
//   root selector, then the query's columns.
// - grafana/infinity-libs lib/go/jsonframer/jsonframer.go (getColumnValuesFromResponseString): each
//   item becomes an object keyed by the column's text (else its selector), missing values null.
// - grafana/infinity-libs lib/go/gframer/gframer.go + field.go: fields in sorted key order; types
//   string, number (strings parsed as floats), boolean, timestamp (RFC 3339 string), timestamp_epoch
//   (milliseconds), timestamp_epoch_s (seconds); all nullable.
// - grafana/grafana-infinity-datasource pkg/infinity/postprocess.go: with `format: "timeseries"` a
//   long frame (a time field plus string/boolean fields) is converted to wide with the plugin SDK's
//   LongToWide; if that fails the error is dropped and the frame stays long. Backend-parser frames
//   that fit are marked numeric-long / numeric-wide (pkg/dataplane/dataplane.go).
// - grafana/grafana-plugin-sdk-go data/time_series.go (TimeSeriesSchema, LongToWide): time must be
//   non-null and ascending (else "long series must be sorted ascending by time to be converted");
//   one wide field per distinct combination of the string/boolean fields, which become its labels;
//   fields then sorted by name and labels.
'use strict';

const FieldType = { time: 'time', number: 'number', string: 'string', boolean: 'boolean' };

function select(value, path) {
  // gjson paths as the dashboards use them: dotted keys ("" = the whole document).
  if (!path) return value;
  let out = value;
  for (const key of path.split('.')) {
    if (out === null || typeof out !== 'object' || !(key in out)) return null;
    out = out[key];
  }
  return out;
}

function convert(value, type) {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'string':
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
    case 'number':
      if (typeof value === 'number') return value;
      if (typeof value === 'string') {
        const n = Number(value);
        return value.trim() !== '' && Number.isFinite(n) ? n : null;
      }
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'timestamp_epoch':
      if (typeof value === 'number') return Math.trunc(value);
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
      return null;
    case 'timestamp_epoch_s':
      if (typeof value === 'number') return Math.trunc(value) * 1000;
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value) * 1000;
      return null;
    case 'timestamp': {
      const t = typeof value === 'string' ? Date.parse(value) : NaN;
      return Number.isFinite(t) ? t : null;
    }
    default:
      return value;
  }
}

function fieldType(type) {
  if (type.startsWith('timestamp')) return FieldType.time;
  if (type === 'number') return FieldType.number;
  if (type === 'boolean') return FieldType.boolean;
  return FieldType.string;
}

/** The frame jsonBackend.go builds from `answer` for `query` (before post-processing). */
function toFrame(answer, query) {
  let root = select(answer, query.root_selector || '');
  const columns = query.columns || [];
  const frame = { name: query.refId, refId: query.refId, fields: [], meta: {} };
  if (root !== null && !Array.isArray(root) && typeof root === 'object') root = [root];
  if (!Array.isArray(root) || root.length === 0) return frame;
  const byName = new Map();
  for (const column of columns) byName.set(column.text || column.selector, column);
  for (const name of [...byName.keys()].sort()) {
    const column = byName.get(name);
    const values = root.map((item) => convert(select(item, column.selector), column.type));
    frame.fields.push({ name, type: fieldType(column.type), values, labels: undefined, config: {} });
  }
  return frame;
}

function schema(frame) {
  const time = frame.fields.findIndex((f) => f.type === FieldType.time);
  if (time < 0) return { type: 'not' };
  const factors = [];
  const values = [];
  frame.fields.forEach((f, i) => {
    if (i === time) return;
    if (f.type === FieldType.string || f.type === FieldType.boolean) factors.push(i);
    else values.push(i);
  });
  if (values.length === 0) return { type: 'not' };
  return { type: factors.length ? 'long' : 'wide', time, factors, values };
}

function labelsKey(labels) {
  return JSON.stringify(Object.entries(labels).sort());
}

/** The plugin SDK's LongToWide with FillMissing null; throws where the SDK returns an error. */
function longToWide(frame) {
  const s = schema(frame);
  if (s.type !== 'long') throw new Error('expected long format series');
  const times = frame.fields[s.time].values;
  if (times.length === 0) throw new Error('input fields have no rows');
  const wideTimes = [];
  const wide = new Map(); // value field index + factor key -> wide field
  let last = null;
  times.forEach((t, row) => {
    if (t === null) throw new Error('unable to process the data to wide series because input has null time values');
    if (last === null || t > last) {
      wideTimes.push(t);
      for (const f of wide.values()) f.values.push(null);
      last = t;
    } else if (t < last) {
      throw new Error('long series must be sorted ascending by time to be converted');
    }
    const labels = {};
    for (const i of s.factors) {
      const v = frame.fields[i].values[row];
      labels[frame.fields[i].name] = v === null ? '' : String(v);
    }
    const key = labelsKey(labels);
    for (const i of s.values) {
      const id = `${i}|${key}`;
      if (!wide.has(id)) {
        const src = frame.fields[i];
        wide.set(id, { name: src.name, type: src.type, labels, config: {}, values: wideTimes.map(() => null) });
      }
      wide.get(id).values[wideTimes.length - 1] = frame.fields[i].values[row];
    }
  });
  const fields = [...wide.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || labelsKey(a.labels).localeCompare(labelsKey(b.labels)),
  );
  const timeField = { ...frame.fields[s.time], values: wideTimes, labels: undefined };
  return { ...frame, fields: [timeField, ...fields], meta: { type: 'timeseries-wide' } };
}

function isNumericLong(frame) {
  // pkg/dataplane: no time field, at least one number field (strings become labels row by row).
  return frame.fields.length > 0 && !frame.fields.some((f) => f.type === FieldType.time) &&
    frame.fields.some((f) => f.type === FieldType.number);
}

/** postprocess.go: the frames Grafana receives for one Infinity backend query. */
function infinityFrames(answer, query) {
  let frame = toFrame(answer, query);
  if (query.format === 'timeseries' && schema(frame).type === 'long') {
    try {
      return [longToWide(frame)];
    } catch (err) {
      frame = { ...frame, meta: { ...frame.meta, longToWideError: err.message } };
    }
  }
  if (isNumericLong(frame)) frame.meta = { ...frame.meta, type: 'numeric-long' };
  return [frame];
}

module.exports = { infinityFrames, longToWide, schema, toFrame, FieldType };
