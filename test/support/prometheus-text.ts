import { request } from 'undici';

/** Reads one sample's value from Prometheus text, matching the name and every given label; undefined when absent. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) {
      continue;
    }
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

/** GETs `/metrics` of a daemon's server on 127.0.0.1 and returns the text. */
export async function scrapeMetrics(port: number): Promise<string> {
  const response = await request(`http://127.0.0.1:${port}/metrics`);
  return response.body.text();
}
