import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { scenarioSchema } from '../../src/sim/scenario.js';
import { RunpodSimulator } from '../../src/sim/server.js';

const DOC = readFileSync(new URL('../../docs/simulator.md', import.meta.url), 'utf8');

async function post(url: string, query: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { status: res.status, text: await res.text() };
}

describe('docs/simulator.md', () => {
  it('its scenario examples are valid scenarios', () => {
    const examples = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) expect(scenarioSchema.safeParse(YAML.parse(example)).error).toBeUndefined();
  });

  it('quotes the bodies the simulator sends for a retired GraphQL and for introspection, word for word', async () => {
    const sim = await RunpodSimulator.start({ steps: [{ retire: 'graphql' }] });
    try {
      const introspection = await post(sim.url, '{ __schema { queryType { name } } }');
      expect(introspection.status).toBe(400);
      expect(DOC.replace(/\n\s*/g, '')).toContain(`\`${introspection.text}\``);
      sim.advance();
      const retired = await post(sim.url, '{ gpuTypes { id } }');
      expect(retired.status).toBe(410);
      expect(DOC).toContain(`    ${retired.text}\n`);
    } finally {
      await sim.close();
    }
  });
});
