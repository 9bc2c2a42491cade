// @grafana/data is built for the browser: at load time it reads window.grafanaBootData (10.x) and
// pulls in react-use, whose modules touch document, history and location. These stand-ins are
// enough for the data functions the replay uses (toDataFrame, display names); nothing is rendered.
'use strict';
const element = () => ({
  style: {},
  sheet: { cssRules: [], insertRule: () => 0 },
  setAttribute() {},
  appendChild() {},
  addEventListener() {},
  removeEventListener() {},
});
globalThis.window = globalThis;
globalThis.document = {
  head: element(),
  body: element(),
  documentElement: element(),
  createElement: element,
  createTextNode: element,
  getElementsByTagName: () => [element()],
  querySelector: () => null,
  addEventListener() {},
  removeEventListener() {},
};
globalThis.history = { pushState() {}, replaceState() {} };
globalThis.location = { href: 'http://localhost/', pathname: '/', search: '', hash: '' };
globalThis.addEventListener = () => {};
globalThis.removeEventListener = () => {};
