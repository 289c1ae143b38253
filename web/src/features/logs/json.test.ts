import { describe, expect, it } from 'vitest';
import { prettyJson } from './json.ts';

describe('prettyJson', () => {
  it('indents objects and arrays', () => {
    expect(prettyJson('{"level":"info","msg":"started","ctx":{"port":8080}}')).toBe(
      '{\n  "level": "info",\n  "msg": "started",\n  "ctx": {\n    "port": 8080\n  }\n}',
    );
    expect(prettyJson('  [1, {"a": null}]  ')).toBe('[\n  1,\n  {\n    "a": null\n  }\n]');
  });

  it('leaves everything else alone', () => {
    expect(prettyJson('plain text')).toBeNull();
    expect(prettyJson('42')).toBeNull();
    expect(prettyJson('"a string"')).toBeNull();
    expect(prettyJson('{not json}')).toBeNull();
    expect(prettyJson('{"a": 1} trailing')).toBeNull();
    expect(prettyJson('')).toBeNull();
  });
});
