/**
 * Dates in the engine's default REST format, `yyyy-MM-dd'T'HH:mm:ss.SSSZ`
 * (Java's SimpleDateFormat, e.g. `2026-01-31T09:30:00.000+0100`). The engine
 * stores a `java.util.Date`: an instant with millisecond precision, so the
 * offset written only decides how the instant is spelled.
 */

/** An ISO-8601 date-time with an offset: `Z`, `+hh:mm`, `+hhmm` or `+hh`; seconds and fraction optional. */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * Formats a Date, or an ISO-8601 date-time string with an offset, in the
 * engine's format, keeping the string's offset. Digits past milliseconds are
 * dropped, as the engine keeps none. Returns undefined for an invalid Date,
 * a string without an offset, and impossible dates such as February 30.
 */
export function formatEngineDate(value: unknown): string | undefined {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? undefined : value.toISOString().replace(/Z$/, '+0000');
  }
  if (typeof value !== 'string') {
    return undefined;
  }

  const match = ISO_DATE_TIME.exec(value);
  if (match === null) {
    return undefined;
  }
  const [, year, month, day, hour, minute, second = '00', fraction = '', offset = 'Z'] = match as unknown as string[];
  const zone = engineOffset(offset);
  if (!isCalendarTime(Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second)) || zone === undefined) {
    return undefined;
  }
  const milliseconds = fraction.padEnd(3, '0').slice(0, 3);
  return `${year}-${month}-${day}T${hour}:${minute}:${second}.${milliseconds}${zone}`;
}

function isCalendarTime(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return date.getUTCFullYear() === year
    && date.getUTCMonth() === month - 1
    && date.getUTCDate() === day
    && date.getUTCHours() === hour
    && date.getUTCMinutes() === minute
    && date.getUTCSeconds() === second;
}

/** `Z` → `+0000`, `+01:00` → `+0100`, `+01` → `+0100`; undefined past ±18:00, the range Java accepts. */
function engineOffset(offset: string): string | undefined {
  if (offset === 'Z') {
    return '+0000';
  }
  const digits = offset.slice(1).replace(':', '').padEnd(4, '0');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (minutes > 59 || hours * 60 + minutes > 18 * 60) {
    return undefined;
  }
  return `${offset[0]}${digits}`;
}
