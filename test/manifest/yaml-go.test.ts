/** YAML 1.1 as Convox's Go decoder reads it, and the helpers that reproduce Go's parsing. */
import { describe, expect, it } from 'vitest';
import { interpolate } from '../../lib/manifest/source/interpolate';
import { closestKey } from '../../lib/manifest/suggest';
import { isValidCidr, parseGoDuration, parseGoUrl, parseQuantity } from '../../lib/manifest/validate/go-parsers';
import { formatGoFloat } from '../../lib/manifest/yaml/go-value';
import { resolvePlain, resolveTagged } from '../../lib/manifest/yaml/resolve';

describe('YAML 1.1 scalars (gopkg.in/yaml.v2)', () => {
  it.each([
    ['yes', { kind: 'bool', value: true }],
    ['Off', { kind: 'bool', value: false }],
    ['y', { kind: 'bool', value: true }],
    ['~', { kind: 'null' }],
    ['010', { kind: 'int', value: 8 }],
    ['0x1F', { kind: 'int', value: 31 }],
    ['1_000', { kind: 'int', value: 1000 }],
    ['08', { kind: 'float', value: 8 }],
    ['1e3', { kind: 'float', value: 1000 }],
    ['.5', { kind: 'float', value: 0.5 }],
    ['10.10', { kind: 'float', value: 10.1 }],
    ['tRue', { kind: 'string', value: 'tRue' }],
    ['2020-01-02', { kind: 'string', value: '2020-01-02', timestamp: true }],
    ['3000/udp', { kind: 'string', value: '3000/udp' }],
    ['<<', { kind: 'string', value: '<<' }],
  ])('%s', (text, expected) => {
    expect(resolvePlain(text)).toEqual(expected);
  });

  it('checks explicit tags', () => {
    expect(resolveTagged('12', 'tag:yaml.org,2002:str')).toEqual({ kind: 'string', value: '12' });
    expect(resolveTagged('12', 'tag:yaml.org,2002:float')).toEqual({ kind: 'float', value: 12 });
    expect(resolveTagged('abc', 'tag:yaml.org,2002:int')).toEqual({ error: 'cannot decode !!str `abc` as a !!int' });
  });

  it('writes floats back the way Go does', () => {
    expect([10.1, 100, 1e6, 1234567.5, 0.0001, 0.00001, -2.5, NaN, Infinity].map(formatGoFloat)).toEqual([
      '10.1',
      '100',
      '1e+06',
      '1.2345675e+06',
      '0.0001',
      '1e-05',
      '-2.5',
      '.nan',
      '.inf',
    ]);
  });
});

describe('interpolation', () => {
  it('replaces ${NAME} verbatim and unknown names with ""', () => {
    const r = interpolate('a: ${A}\nb: ${ B }\nc: $A\nd: ${X:-y}\n', { A: '1', ' B ': '2' });
    expect(r.text).toBe('a: 1\nb: 2\nc: $A\nd: \n');
    expect(r.substitutions.map((s) => [s.name, s.defined])).toEqual([
      ['A', true],
      [' B ', true],
      ['X:-y', false],
    ]);
  });

  it('maps offsets back to the original text', () => {
    const original = 'x: ${LONG}\ny: 1\n';
    const r = interpolate(original, { LONG: 'a-much-longer-value' });
    const yInInterpolated = r.text.indexOf('y:');
    expect(r.toOriginal(yInInterpolated)).toBe(original.indexOf('y:'));
    expect(r.toOriginal(r.text.indexOf('much'))).toBe(original.indexOf('${'));
  });
});

describe('did you mean', () => {
  it.each([
    ['servicess', 'services'],
    ['enviroment', 'environment'],
    ['heath', 'health'],
    ['internal_router', 'internalRouter'],
    ['Timers', 'timers'],
    ['completely-different', undefined],
  ])('%s → %s', (typed, expected) => {
    expect(closestKey(typed, ['services', 'environment', 'health', 'internalRouter', 'timers', 'resources'])).toBe(expected);
  });
});

describe('Go parsers used by validation', () => {
  it('accepts CIDR ranges as net.ParseCIDR does', () => {
    expect(['10.0.0.0/8', '127.0.0.1/32', '::1/128', '2001:db8::/32'].every(isValidCidr)).toBe(true);
    expect(['1.1.1.1', '10.0.0.0/33', '010.0.0.0/8', 'abc/8', '::1/129'].some(isValidCidr)).toBe(false);
  });

  it('parses durations as time.ParseDuration does', () => {
    expect(parseGoDuration('5m')).toBe(300e9);
    expect(parseGoDuration('1h30m')).toBe(5400e9);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('-1s')).toBe(-1e9);
    expect(parseGoDuration('300')).toBeUndefined();
    expect(parseGoDuration(' 5m')).toBeUndefined();
  });

  it('parses URLs as url.Parse does for the Prometheus check', () => {
    expect(parseGoUrl('http://prometheus:9090')).toEqual({ scheme: 'http', host: 'prometheus:9090' });
    expect(parseGoUrl('HTTPS://p')).toEqual({ scheme: 'https', host: 'p' });
    expect(parseGoUrl('://bad')).toEqual({ error: 'parse "://bad": missing protocol scheme' });
    expect(parseGoUrl('http://')).toEqual({ scheme: 'http', host: '' });
    expect(parseGoUrl('localhost:9090')).toEqual({ scheme: 'localhost', host: '' });
  });

  it('parses Kubernetes quantities', () => {
    expect(parseQuantity('100Gi')).toEqual({ value: 100 * 2 ** 30 });
    expect(parseQuantity('500m')).toEqual({ value: 0.5 });
    expect(parseQuantity('1e3')).toEqual({ value: 1000 });
    expect('error' in parseQuantity('10GB')).toBe(true);
    expect('error' in parseQuantity('lots')).toBe(true);
  });
});
