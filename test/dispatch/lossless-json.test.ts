import { describe, expect, test } from '@jest/globals';

import { parseJson, stringifyJson } from '../../src/lossless-json.ts';

describe('lossless JSON', () => {
  test('unsafe integers become bigint', () => {
    expect(parseJson('{"id":9007199254740993,"small":42,"negative":-9007199254740993}')).toEqual({
      id: 9_007_199_254_740_993n,
      small: 42,
      negative: -9_007_199_254_740_993n,
    });
  });

  test('decimals and exponents stay numbers', () => {
    expect(parseJson('[1.5, 1e300, 12345678901234567890.5]')).toEqual([1.5, 1e300, 12_345_678_901_234_567_890.5]);
  });

  test('bigint is written as its digits', () => {
    expect(stringifyJson({ id: 12_345_678_901_234_567_890n, nested: [1n] })).toBe('{"id":12345678901234567890,"nested":[1]}');
  });

  test('round trip keeps the digits', () => {
    const text = '{"a":{"b":[18446744073709551615,"x",null,true]}}';

    expect(stringifyJson(parseJson(text))).toBe(text);
  });

  test('invalid JSON still throws', () => {
    expect(() => parseJson('{')).toThrow(SyntaxError);
  });
});
